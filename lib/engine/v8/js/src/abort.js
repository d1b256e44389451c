// AbortController and AbortSignal (DOM Standard §3.1-3.2), with AbortSignal.abort(),
// AbortSignal.timeout() on the request's timers and AbortSignal.any() as dependent signals.
//
// Dependent signals follow the standard: AbortSignal.any() links the new signal to the
// non-dependent signals behind its inputs (never to another dependent signal), so aborting a
// source aborts all its dependents in one flat loop — no recursion however deeply any() calls
// are nested, and linear work in the number of signals. A source refers to its dependents weakly
// (a long-lived signal that every request combines with its own must not keep them all alive),
// except for dependents something listens to: those the standard says must stay alive while
// their sources can still abort, so a source holds them strongly once they have a listener or an
// abort algorithm.

import {DOMException} from './dom_exception.js';
import {Event, EventTarget, defineEventHandler, eventTargetInternals,
        setAbortSignalHooks} from './events.js';
import {nativeSetTimer} from './native.js';
import {isObject, requiredArguments} from './webidl.js';

const kInternal = {};
// Defined inside AbortSignal, where they can reach its private state.
let createDependentSignal;
let signalAbort;
let runAbortSteps;

// [EnforceRange] unsigned long long.
function toMilliseconds(value) {
  const x = Number(value);
  if (!Number.isFinite(x)) {
    throw new TypeError(`Failed to execute 'timeout' on 'AbortSignal': Value is not a finite number.`);
  }
  const t = Math.trunc(x);
  if (t < 0 || t > Number.MAX_SAFE_INTEGER) {
    throw new TypeError(`Failed to execute 'timeout' on 'AbortSignal': Value is outside the` +
                        ` 'unsigned long long' value range.`);
  }
  return t;
}

export const abortSignalInternals = {
  is: undefined,  // (value) -> whether it is an AbortSignal
  // (signal, algorithm) -> algorithm: runs algorithm() when the signal aborts (before its
  // event). Returns it, for remove().
  add: undefined,
  remove: undefined,  // (signal, algorithm)
  abort: undefined,  // (signal, reason)
  reason: undefined,  // (signal) -> its abort reason (undefined when not aborted)
};

export class AbortSignal extends EventTarget {
  #aborted = false;
  #reason = undefined;
  #algorithms = null;  // Set of functions
  #dependent = false;
  #sources = null;  // Set of source signals (dependent signals only)
  // Of a source signal: WeakRefs of its dependents, in the order they were added, and the
  // dependents it keeps alive (those with listeners or algorithms).
  #dependents = null;
  #dependentsPruneAt = 64;
  #heldDependents = null;

  constructor(token = undefined) {
    if (token !== kInternal) throw new TypeError('Illegal constructor');
    super();
  }

  static abort(reason = undefined) {
    const signal = new AbortSignal(kInternal);
    signal.#aborted = true;
    signal.#reason = reason === undefined ? abortError() : reason;
    return signal;
  }

  static timeout(milliseconds) {
    requiredArguments(arguments.length, 1, `Failed to execute 'timeout' on 'AbortSignal'`);
    const ms = toMilliseconds(milliseconds);
    const signal = new AbortSignal(kInternal);
    try {
      nativeSetTimer(() => {
        signalAbort(signal, new DOMException('signal timed out', 'TimeoutError'));
      }, ms, false);
    } catch (e) {
      // Timers exist only while a request is handled (or the request has too many).
      throw new TypeError(`Failed to execute 'timeout' on 'AbortSignal': ${e.message}`);
    }
    return signal;
  }

  static any(signals) {
    requiredArguments(arguments.length, 1, `Failed to execute 'any' on 'AbortSignal'`);
    // sequence<AbortSignal>: iterate once, checking each element's type.
    if (!isObject(signals) || typeof signals[Symbol.iterator] !== 'function') {
      throw new TypeError(`Failed to execute 'any' on 'AbortSignal': The provided value cannot be` +
                          ` converted to a sequence.`);
    }
    const list = [];
    for (const s of signals) {
      if (!(isObject(s) && #aborted in s)) {
        throw new TypeError(`Failed to execute 'any' on 'AbortSignal': Failed to convert value to` +
                            ` 'AbortSignal'.`);
      }
      list.push(s);
    }
    return createDependentSignal(list);
  }

  get aborted() {
    return this.#aborted;
  }

  get reason() {
    return this.#reason;
  }

  throwIfAborted() {
    if (this.#aborted) throw this.#reason;
  }

  #addDependent(dependent) {
    if (this.#dependents === null) this.#dependents = new Set();
    this.#dependents.add(new WeakRef(dependent));
    if (this.#dependents.size >= this.#dependentsPruneAt) {
      // Drop the references of collected dependents, amortised over the additions.
      for (const ref of this.#dependents) {
        if (ref.deref() === undefined) this.#dependents.delete(ref);
      }
      this.#dependentsPruneAt = Math.max(64, this.#dependents.size * 2);
    }
    if (dependent.#needsKeepingAlive()) this.#hold(dependent);
  }

  #hold(dependent) {
    if (this.#heldDependents === null) this.#heldDependents = new Set();
    this.#heldDependents.add(dependent);
  }

  #needsKeepingAlive() {
    return (this.#algorithms !== null && this.#algorithms.size > 0) ||
        eventTargetInternals.hasListeners(this, 'abort');
  }

  // A dependent signal gained a listener or an algorithm: its sources keep it alive from now on.
  #keepAlive() {
    if (!this.#dependent || this.#aborted || this.#sources === null) return;
    for (const source of this.#sources) source.#hold(this);
  }

  static {
    abortSignalInternals.is = (value) => isObject(value) && #aborted in value;
    abortSignalInternals.add = (signal, algorithm) => {
      if (signal.#aborted) return algorithm;
      if (signal.#algorithms === null) signal.#algorithms = new Set();
      signal.#algorithms.add(algorithm);
      if (signal.#algorithms.size === 1) signal.#keepAlive();
      return algorithm;
    };
    abortSignalInternals.remove = (signal, algorithm) => {
      if (signal.#algorithms === null || !signal.#algorithms.delete(algorithm)) return;
      // A dependent nobody waits on any more need not be kept alive (a long-lived source that
      // every request's fetch() follows would otherwise collect them all).
      if (signal.#dependent && signal.#sources !== null && !signal.#needsKeepingAlive()) {
        for (const source of signal.#sources) source.#heldDependents?.delete(signal);
      }
    };
    abortSignalInternals.reason = (signal) => signal.#reason;

    setAbortSignalHooks({
      isSignal: abortSignalInternals.is,
      aborted: (signal) => signal.#aborted,
      addAlgorithm: abortSignalInternals.add,
      listenerAdded(signal, type) {
        if (type === 'abort') signal.#keepAlive();
      },
    });

    // DOM "create a dependent abort signal".
    createDependentSignal = (signals) => {
      const result = new AbortSignal(kInternal);
      for (const s of signals) {
        if (s.#aborted) {
          result.#aborted = true;
          result.#reason = s.#reason;
          return result;
        }
      }
      result.#dependent = true;
      const sources = new Set();
      for (const s of signals) {
        if (!s.#dependent) {
          sources.add(s);
        } else if (s.#sources !== null) {
          for (const source of s.#sources) sources.add(source);
        }
      }
      result.#sources = sources;
      for (const source of sources) source.#addDependent(result);
      return result;
    };

    // DOM "signal abort".
    signalAbort = (signal, reason) => {
      if (signal.#aborted) return;
      signal.#aborted = true;
      signal.#reason = reason === undefined ? abortError() : reason;
      const toAbort = [];
      if (signal.#dependents !== null) {
        for (const ref of signal.#dependents) {
          const dependent = ref.deref();
          if (dependent === undefined || dependent.#aborted) continue;
          dependent.#aborted = true;
          dependent.#reason = signal.#reason;
          toAbort.push(dependent);
        }
      }
      signal.#dependents = null;
      signal.#heldDependents = null;
      runAbortSteps(signal);
      for (const dependent of toAbort) runAbortSteps(dependent);
    };

    // DOM "run the abort steps".
    runAbortSteps = (signal) => {
      const algorithms = signal.#algorithms;
      signal.#algorithms = null;
      signal.#sources = null;
      if (algorithms !== null) {
        for (const algorithm of algorithms) algorithm();
      }
      eventTargetInternals.dispatchTrusted(signal, new Event('abort'));
    };
    abortSignalInternals.abort = (signal, reason) => signalAbort(signal, reason);
  }
}

function abortError() {
  return new DOMException('signal is aborted without reason', 'AbortError');
}

defineEventHandler(AbortSignal.prototype, 'onabort');

export class AbortController {
  #signal = new AbortSignal(kInternal);

  constructor() {}

  get signal() {
    return this.#signal;
  }

  abort(reason = undefined) {
    signalAbort(this.#signal, reason);
  }
}
