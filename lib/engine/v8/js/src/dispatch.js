// The surface the C++ engine calls, installed as the non-enumerable global
// `__cosmo_dispatch` (scripts can see it but it holds nothing of theirs):
//
//   invokeFast(handler, env, method, url, headers, body, streaming) -> undefined | value
//       The request path's one call into JavaScript: builds the Request and the ExecutionContext,
//       calls handler.fetch(request, env, ctx) and, when the result is a string or a Response,
//       hands what responseParts(result) would return to the native respond() and returns
//       undefined. Anything else is returned as it is (a Promise, to be settled by the event loop
//       and then given to responseParts; or a value responseParts rejects). A handler that
//       returns an array gets responseParts' TypeError here. A synchronous result is converted before the
//       microtask checkpoint that follows the handler, so a change that a microtask queued by
//       the handler makes to the returned Response is not seen.
//   invoke(handler, env, ctx, method, url, headers, body, streaming)
//       Builds the Request (lazily: see request.js) and calls handler.fetch(request, env, ctx);
//       returns what it returns (a Response, a string, a Promise, or anything else, which
//       responseParts then rejects). headers is a flat [name0, value0, ...] array the runtime takes
//       over; body is a string, a Uint8Array, true (the body is still arriving: request.body
//       reads it through native readBody as the script reads) or undefined (no body).
//   responseParts(value) -> [status, flatHeaders, body]
//       For a Response: its status, its headers in iteration order (lower-case names, sorted,
//       combined, set-cookie kept apart) and its body as a string or Uint8Array ('' for none).
//       A string becomes 200 text/plain;charset=UTF-8. Anything else throws
//       TypeError('invalid response: ...').
//   streamHead(value) -> [status, flatHeaders] for a Response whose body is a stream, else
//       undefined
//   pumpBody(response, cancelled) -> [pumped, cancel]: pumped is a Promise of true when the body
//       was written to the host to its end (native writeBody, piece by piece), false when the
//       client went away (the stream is cancelled; at once when `cancelled`); it rejects when the
//       stream errors. cancel() cancels the body (the client went away meanwhile). Several bodies
//       may be pumped at once in one isolate (detached streams, docs/javascript.md).
//   abortRequest() -> aborts the running request's `signal` with an AbortError DOMException
//       (the client went away while the handler was still working)
//   scheduled(handler, env, cron, scheduledTime, noRetry) -> what
//       handler.scheduled(controller, env, ctx) returns (a Promise or anything else); the
//       controller carries cron, scheduledTime (epoch ms) and type 'scheduled', and its
//       noRetry() calls the native `noRetry` once (docs/cron.md)
//   makeContext() -> ctx with waitUntil(promise) and passThroughOnException()
//   makeKvNamespace(ns) -> the env value of a KV binding to namespace ns (kv.js)
//   waitUntilPromises(ctx) -> the promises given to ctx.waitUntil, in order
//
// ctx.waitUntil also hands each promise to the engine's event loop (native waitUntil), which
// keeps the request alive until they settle, within the wall limit.
//
// A Response whose body is a ReadableStream is sent as it is produced when the host says it can
// (`streaming`): the host then takes its head with streamHead and its body with pumpBody.
// Otherwise it is read to its end first (at most kMaxStreamedResponseBytes): invoke and
// invokeFast then return a Promise that settles with the Response once its body is buffered, so
// the host receives response parts with a whole body.

import {kTextPlain} from './body.js';
import {DOMException} from './dom_exception.js';
import {makeKvNamespace} from './kv.js';
import {nativeRespond, nativeWaitUntil, nativeWriteBody} from './native.js';
import {requestInternals} from './request.js';
import {responseInternals} from './response.js';

const kInternal = {};
// Captured before any script runs: scripts may replace Array.isArray and Promise's methods.
const isArray = Array.isArray;
const PromiseCtor = Promise;
const promiseThen = Promise.prototype.then;
const kMaxStreamedResponseBytes = 32 * 1024 * 1024;
// (Weakly, so that an idle isolate does not keep it) the request being handled when the host can
// tell that its client left: one handler at a time runs in an isolate.
let hostRequest = null;
const WeakRefCtor = WeakRef;
const weakRefDeref = WeakRef.prototype.deref;
// Reads an ExecutionContext's promises; defined inside the class, where it can.
let waitUntilPromises;

export class ExecutionContext {
  #promises = [];
  #passThrough = false;

  constructor(token = undefined) {
    if (token !== kInternal) throw new TypeError('Illegal constructor');
  }

  waitUntil(promise) {
    if (arguments.length < 1) {
      throw new TypeError(`Failed to execute 'waitUntil': 1 argument required, but only 0 present.`);
    }
    const settled = Promise.resolve(promise);
    this.#promises.push(promise);
    nativeWaitUntil(settled);
  }

  // Accepted for compatibility with Workers; there is no origin to pass through to, so an
  // exception still ends the request in an error.
  passThroughOnException() {
    this.#passThrough = true;
  }

  static {
    waitUntilPromises = (ctx) => ctx.#promises;
  }
}

// The first argument of scheduled(controller, env, ctx), as in Workers.
class ScheduledController {
  #cron;
  #scheduledTime;
  #noRetry;

  constructor(token, cron, scheduledTime, noRetry) {
    if (token !== kInternal) throw new TypeError('Illegal constructor');
    this.#cron = cron;
    this.#scheduledTime = scheduledTime;
    this.#noRetry = noRetry;
  }

  get cron() {
    return this.#cron;
  }

  get scheduledTime() {
    return this.#scheduledTime;
  }

  get type() {
    return 'scheduled';
  }

  // Tells the host at once, so that the tick is not run again even if this server dies before
  // the run ends.
  noRetry() {
    const tell = this.#noRetry;
    this.#noRetry = null;
    if (tell !== null) tell();
  }

  get [Symbol.toStringTag]() {
    return 'ScheduledController';
  }
}

function describe(value) {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined (did the handler forget to return?)';
  if (typeof value === 'object') {
    const ctor = value.constructor;
    const name = typeof ctor === 'function' && typeof ctor.name === 'string' && ctor.name !== '' ?
        ctor.name :
        'Object';
    return `an object (${name})`;
  }
  return `a ${typeof value}`;
}

// A Promise of `value` once a streamed Response's body is buffered; `value` itself otherwise.
function bufferStreamedResponse(value) {
  if (!responseInternals.is(value) || !responseInternals.streamed(value)) return value;
  return promiseThen.call(responseInternals.collect(value, kMaxStreamedResponseBytes), () => value);
}

// What the host waits for when the handler returned `value` (not a string or response parts).
function settled(value, streaming) {
  if (streaming) return value;
  if (value instanceof PromiseCtor) return promiseThen.call(value, bufferStreamedResponse);
  return bufferStreamedResponse(value);
}

function responseParts(value) {
  if (typeof value === 'string') return [200, ['content-type', kTextPlain], value];
  if (responseInternals.is(value)) return responseInternals.parts(value);
  throw new TypeError(
      `invalid response: the handler must return a Response or a string, got ${describe(value)}`);
}

export const dispatch = {
  invokeFast(handler, env, method, url, headers, body, streaming) {
    const request = requestInternals.fromHost(method, url, headers, body);
    hostRequest = streaming ? new WeakRefCtor(request) : null;
    const value = handler.fetch(request, env, new ExecutionContext(kInternal));
    if (typeof value === 'string') {
      nativeRespond(200, value, 'content-type', kTextPlain);
      return undefined;
    }
    if (responseInternals.is(value) && !responseInternals.streamed(value)) {
      responseInternals.respond(value, nativeRespond);
      return undefined;
    }
    if (isArray(value)) return responseParts(value);  // throws its TypeError
    return settled(value, streaming);
  },

  invoke(handler, env, ctx, method, url, headers, body, streaming) {
    const request = requestInternals.fromHost(method, url, headers, body);
    hostRequest = streaming ? new WeakRefCtor(request) : null;
    return settled(handler.fetch(request, env, ctx), streaming);
  },

  scheduled(handler, env, cron, scheduledTime, noRetry) {
    hostRequest = null;
    const controller = new ScheduledController(kInternal, cron, scheduledTime, noRetry);
    return handler.scheduled(controller, env, new ExecutionContext(kInternal));
  },

  responseParts,

  streamHead(value) {
    if (!responseInternals.is(value) || !responseInternals.streamed(value)) return undefined;
    return responseInternals.head(value);
  },

  pumpBody(response, cancelled) {
    const control = {__proto__: null, cancel: undefined};
    const pumped = responseInternals.pump(response, cancelled ? null : nativeWriteBody, control);
    const cancel = () => {
      if (typeof control.cancel === 'function') control.cancel();
    };
    return [pumped, cancel];
  },

  abortRequest() {
    const request = hostRequest === null ? undefined : weakRefDeref.call(hostRequest);
    if (request === undefined) return;
    requestInternals.abort(
        request, new DOMException('The client closed the connection', 'AbortError'));
  },

  makeKvNamespace,

  makeContext() {
    return new ExecutionContext(kInternal);
  },

  waitUntilPromises(ctx) {
    return waitUntilPromises(ctx).slice();
  },
};
Object.freeze(dispatch);
