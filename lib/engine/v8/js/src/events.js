// Event, CustomEvent and EventTarget (DOM Standard §2), for targets that are not nodes.
//
// A non-node target has no parent, so an event's path is its target alone: dispatch runs the
// target's capturing listeners and then its other listeners (both at AT_TARGET), and `bubbles`
// changes nothing that can be observed but the attribute. Listener exceptions are reported (logged
// as "Uncaught ...", like a timer callback's) and never reach dispatchEvent()'s caller.
// Events the runtime itself fires (AbortSignal's abort) are trusted; dispatchEvent() makes any
// event untrusted.

import {DOMException} from './dom_exception.js';
import {inspect} from './inspect.js';
import {nativeLog} from './native.js';
import {monotonicNow} from './performance_clock.js';
import {isObject, requiredArguments, toBoolean, toDictionary, toDOMString} from './webidl.js';

const NONE = 0;
const CAPTURING_PHASE = 1;
const AT_TARGET = 2;
const BUBBLING_PHASE = 3;

// [LegacyUnforgeable] isTrusted: one getter shared by every instance, installed on each.
let isTrustedGetter;
// (event, trusted): the dispatch machinery's access to an event's private state.
let eventInternals;

export class Event {
  #type;
  #bubbles = false;
  #cancelable = false;
  #composed = false;
  #target = null;
  #currentTarget = null;
  #phase = NONE;
  #stopPropagation = false;
  #stopImmediate = false;
  #canceled = false;
  #inPassiveListener = false;
  #initialized = true;
  #dispatching = false;
  #trusted = false;
  #timeStamp;

  constructor(type, eventInitDict = undefined) {
    requiredArguments(arguments.length, 1, `Failed to construct '${new.target?.name ?? 'Event'}'`);
    this.#type = toDOMString(type);
    const dict = toDictionary(eventInitDict, `Failed to construct 'Event': eventInitDict`);
    if (dict !== undefined) {
      this.#bubbles = toBoolean(dict.bubbles);
      this.#cancelable = toBoolean(dict.cancelable);
      this.#composed = toBoolean(dict.composed);
    }
    this.#timeStamp = monotonicNow();
    Object.defineProperty(this, 'isTrusted',
                          {get: isTrustedGetter, enumerable: true, configurable: false});
  }

  get type() {
    return this.#type;
  }
  get target() {
    return this.#target;
  }
  get srcElement() {
    return this.#target;
  }
  get currentTarget() {
    return this.#currentTarget;
  }
  composedPath() {
    return this.#dispatching && this.#currentTarget !== null ? [this.#currentTarget] : [];
  }
  get eventPhase() {
    return this.#phase;
  }
  stopPropagation() {
    this.#stopPropagation = true;
  }
  get cancelBubble() {
    return this.#stopPropagation;
  }
  set cancelBubble(value) {
    if (toBoolean(value)) this.#stopPropagation = true;
  }
  stopImmediatePropagation() {
    this.#stopPropagation = true;
    this.#stopImmediate = true;
  }
  get bubbles() {
    return this.#bubbles;
  }
  get cancelable() {
    return this.#cancelable;
  }
  get returnValue() {
    return !this.#canceled;
  }
  set returnValue(value) {
    if (!toBoolean(value)) this.#setCanceled();
  }
  preventDefault() {
    this.#setCanceled();
  }
  get defaultPrevented() {
    return this.#canceled;
  }
  get composed() {
    return this.#composed;
  }
  get timeStamp() {
    return this.#timeStamp;
  }

  initEvent(type, bubbles = false, cancelable = false) {
    requiredArguments(arguments.length, 1, `Failed to execute 'initEvent' on 'Event'`);
    if (this.#dispatching) return;
    this.#initialized = true;
    this.#stopPropagation = false;
    this.#stopImmediate = false;
    this.#canceled = false;
    this.#trusted = false;
    this.#target = null;
    this.#type = toDOMString(type);
    this.#bubbles = toBoolean(bubbles);
    this.#cancelable = toBoolean(cancelable);
  }

  #setCanceled() {
    if (this.#cancelable && !this.#inPassiveListener) this.#canceled = true;
  }

  static {
    isTrustedGetter = {
      get isTrusted() {
        return #trusted in this ? this.#trusted : false;
      },
    };
    isTrustedGetter = Object.getOwnPropertyDescriptor(isTrustedGetter, 'isTrusted').get;
    eventInternals = {
      is: (e) => isObject(e) && #type in e,
      // The first steps of "dispatch": false (with the event untouched) when it cannot be.
      begin(e, target, trusted) {
        if (e.#dispatching || !e.#initialized) return false;
        e.#trusted = trusted;
        e.#dispatching = true;
        e.#target = target;
        e.#currentTarget = target;
        e.#phase = AT_TARGET;
        return true;
      },
      stopped: (e) => e.#stopPropagation,
      stoppedImmediately: (e) => e.#stopImmediate,
      setPassive(e, passive) {
        e.#inPassiveListener = passive;
      },
      end(e) {
        e.#phase = NONE;
        e.#currentTarget = null;
        e.#dispatching = false;
        e.#stopPropagation = false;
        e.#stopImmediate = false;
        return !e.#canceled;
      },
    };
  }
}

for (const [name, value] of [['NONE', NONE], ['CAPTURING_PHASE', CAPTURING_PHASE],
                             ['AT_TARGET', AT_TARGET], ['BUBBLING_PHASE', BUBBLING_PHASE]]) {
  const desc = {value, writable: false, enumerable: true, configurable: false};
  Object.defineProperty(Event, name, desc);
  Object.defineProperty(Event.prototype, name, desc);
}

export class CustomEvent extends Event {
  #detail = null;

  constructor(type, eventInitDict = undefined) {
    requiredArguments(arguments.length, 1, `Failed to construct 'CustomEvent'`);
    super(type, eventInitDict);
    const dict = toDictionary(eventInitDict, `Failed to construct 'CustomEvent': eventInitDict`);
    if (dict !== undefined) {
      const detail = dict.detail;
      this.#detail = detail === undefined ? null : detail;
    }
  }

  get detail() {
    return this.#detail;
  }

  initCustomEvent(type, bubbles = false, cancelable = false, detail = null) {
    requiredArguments(arguments.length, 1, `Failed to execute 'initCustomEvent' on 'CustomEvent'`);
    if (this.eventPhase !== NONE) return;  // being dispatched
    this.initEvent(type, bubbles, cancelable);
    this.#detail = detail;
  }
}

// Listener options: a boolean is `capture`; a dictionary has capture, once, passive, signal.
function flattenOptions(options) {
  if (isObject(options)) return toBoolean(options.capture);
  return toBoolean(options);
}

let abortSignalHooks = null;  // set by abort.js: {isSignal, aborted, addAlgorithm}
export function setAbortSignalHooks(hooks) {
  abortSignalHooks = hooks;
}

// ErrorEvent (HTML §8.1.4.6), the event "report an exception" fires at the global scope.
export class ErrorEvent extends Event {
  #message = '';
  #filename = '';
  #lineno = 0;
  #colno = 0;
  #error = undefined;

  constructor(type, eventInitDict = undefined) {
    requiredArguments(arguments.length, 1, `Failed to construct 'ErrorEvent'`);
    super(type, eventInitDict);
    const dict = toDictionary(eventInitDict, `Failed to construct 'ErrorEvent': eventInitDict`);
    if (dict !== undefined) {
      const {colno, error, filename, lineno, message} = dict;
      this.#colno = colno === undefined ? 0 : Number(colno) >>> 0;
      this.#error = error;
      this.#filename = filename === undefined ? '' : toDOMString(filename);
      this.#lineno = lineno === undefined ? 0 : Number(lineno) >>> 0;
      this.#message = message === undefined ? '' : toDOMString(message);
    }
  }

  get message() {
    return this.#message;
  }
  get filename() {
    return this.#filename;
  }
  get lineno() {
    return this.#lineno;
  }
  get colno() {
    return this.#colno;
  }
  get error() {
    return this.#error;
  }
}

// The global scope's listeners (index.js makes addEventListener & co. global).
export const globalEventTarget = {target: null};
let reporting = false;

// HTML "report an exception": an `error` event at the global scope (trusted, cancelable); unless
// a listener cancels it, the exception is logged as "Uncaught ...". An exception thrown while
// reporting one is only logged.
export function reportException(e) {
  const target = globalEventTarget.target;
  if (!reporting && target !== null && eventTargetInternals.hasListeners(target, 'error')) {
    reporting = true;
    let notCanceled;
    try {
      let message = '';
      try {
        message = isObject(e) && 'message' in e ? String(e.message) : String(e);
      } catch {}
      notCanceled = eventTargetInternals.dispatchTrusted(
          target, new ErrorEvent('error', {message, error: e, cancelable: true}));
    } finally {
      reporting = false;
    }
    if (!notCanceled) return;
  }
  nativeLog(4, `Uncaught ${inspect(e)}`);
}

// Dispatches `event` at `target` (a target with no parent); returns whether the event was not
// canceled. `trusted` marks events the runtime fires itself.
let dispatch;
export const eventTargetInternals = {
  // (target, event) -> not canceled; the event is trusted.
  dispatchTrusted: undefined,
  // (target) -> whether any listener for `type` is registered.
  hasListeners: undefined,
};

export class EventTarget {
  // type -> array of listener records {callback, capture, once, passive, removed}.
  #listeners = null;

  constructor() {}

  addEventListener(type, callback, options = undefined) {
    requiredArguments(arguments.length, 2, `Failed to execute 'addEventListener' on 'EventTarget'`);
    type = toDOMString(type);
    let capture = false, once = false, passive = false, signal;
    if (isObject(options)) {
      // Dictionary members in lexicographic order.
      capture = toBoolean(options.capture);
      once = toBoolean(options.once);
      const p = options.passive;
      passive = p === undefined ? false : toBoolean(p);
      signal = options.signal;
      if (signal !== undefined &&
          (abortSignalHooks === null || !abortSignalHooks.isSignal(signal))) {
        throw new TypeError(`Failed to execute 'addEventListener' on 'EventTarget': member signal` +
                            ` is not of type AbortSignal.`);
      }
    } else {
      capture = toBoolean(options);
    }
    if (callback === null || callback === undefined) return;
    if (!isObject(callback)) {
      throw new TypeError(`Failed to execute 'addEventListener' on 'EventTarget': The callback` +
                          ` provided as parameter 2 is not an object.`);
    }
    if (signal !== undefined && abortSignalHooks.aborted(signal)) return;
    if (this.#listeners === null) this.#listeners = new Map();
    let list = this.#listeners.get(type);
    if (list === undefined) {
      list = [];
      this.#listeners.set(type, list);
    }
    for (const l of list) {
      if (l.callback === callback && l.capture === capture) return;
    }
    const listener = {callback, capture, once, passive, removed: false};
    list.push(listener);
    if (type === 'abort' && abortSignalHooks !== null && abortSignalHooks.isSignal(this)) {
      abortSignalHooks.listenerAdded(this, type);
    }
    if (signal !== undefined) {
      abortSignalHooks.addAlgorithm(signal, () => this.#remove(type, listener));
    }
  }

  removeEventListener(type, callback, options = undefined) {
    requiredArguments(arguments.length, 2,
                      `Failed to execute 'removeEventListener' on 'EventTarget'`);
    type = toDOMString(type);
    const capture = flattenOptions(options);
    if (this.#listeners === null || !isObject(callback)) return;
    const list = this.#listeners.get(type);
    if (list === undefined) return;
    for (const l of list) {
      if (l.callback === callback && l.capture === capture) {
        this.#remove(type, l);
        return;
      }
    }
  }

  dispatchEvent(event) {
    requiredArguments(arguments.length, 1, `Failed to execute 'dispatchEvent' on 'EventTarget'`);
    if (!eventInternals.is(event)) {
      throw new TypeError(`Failed to execute 'dispatchEvent' on 'EventTarget': parameter 1 is not` +
                          ` of type 'Event'.`);
    }
    return dispatch(this, event, false);
  }

  #remove(type, listener) {
    listener.removed = true;
    const list = this.#listeners?.get(type);
    if (list === undefined) return;
    const i = list.indexOf(listener);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.#listeners.delete(type);
  }

  static {
    // DOM "dispatch" with a path of one: the capturing then the non-capturing listeners at target.
    dispatch = (target, event, trusted) => {
      if (!eventInternals.begin(event, target, trusted)) {
        throw new DOMException(`Failed to execute 'dispatchEvent' on 'EventTarget': The event is` +
                               ` already being dispatched or was not initialized.`,
                               'InvalidStateError');
      }
      {
        const listeners = target.#listeners?.get(event.type);
        if (listeners !== undefined && listeners.length > 0) {
          // A snapshot: listeners added during dispatch do not run; removed ones are skipped.
          const snapshot = listeners.slice();
          for (const capturing of [true, false]) {
            if (eventInternals.stopped(event)) break;
            for (const listener of snapshot) {
              if (listener.removed || listener.capture !== capturing) continue;
              if (listener.once) target.#remove(event.type, listener);
              const callback = listener.callback;
              if (listener.passive) eventInternals.setPassive(event, true);
              try {
                if (typeof callback === 'function') {
                  callback.call(target, event);
                } else {
                  const handleEvent = callback.handleEvent;
                  if (typeof handleEvent !== 'function') {
                    throw new TypeError(`'handleEvent' property of the event listener is not` +
                                        ` callable.`);
                  }
                  handleEvent.call(callback, event);
                }
              } catch (e) {
                reportException(e);
              }
              eventInternals.setPassive(event, false);
              if (eventInternals.stoppedImmediately(event)) break;
            }
            if (eventInternals.stoppedImmediately(event)) break;
          }
        }
      }
      return eventInternals.end(event);
    };
    eventTargetInternals.dispatchTrusted = (target, event) => dispatch(target, event, true);
    eventTargetInternals.hasListeners = (target, type) =>
        (target.#listeners?.get(type)?.length ?? 0) > 0;
  }
}

// An event handler IDL attribute (`onabort`): setting it registers one listener, in the place of
// the first setting, that calls whatever handler is current; null (or a non-object) removes it.
export function defineEventHandler(proto, name) {
  const type = name.slice(2);
  const handlers = new WeakMap();  // target -> {value, listener}
  Object.defineProperty(proto, name, {
    get() {
      return handlers.get(this)?.value ?? null;
    },
    set(value) {
      let record = handlers.get(this);
      if (!isObject(value)) {
        if (record !== undefined) {
          this.removeEventListener(type, record.listener);
          handlers.delete(this);
        }
        return;
      }
      if (record === undefined) {
        record = {value, listener: null};
        record.listener = function(event) {
          const handler = record.value;
          if (typeof handler !== 'function') return;
          // HTML "process the return value": false cancels the event.
          if (handler.call(this, event) === false) event.preventDefault();
        };
        handlers.set(this, record);
        this.addEventListener(type, record.listener);
      } else {
        record.value = value;
      }
    },
    enumerable: true,
    configurable: true,
  });
}
