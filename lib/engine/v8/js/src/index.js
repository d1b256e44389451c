// CosmoCompute's JavaScript runtime: the web APIs docs/javascript.md lists, evaluated once into
// the V8 startup snapshot's context (which holds only ECMAScript's builtins), as one classic
// script.
//
// Order matters only at the top: native.js takes the host's natives off the global object first.
// Streams, URL and URLSearchParams, and the rarely used interfaces, are evaluated on first use
// (lazy.js).

import './native.js';
import './es_shims.js';
import {AbortController, AbortSignal} from './abort.js';
import {atob, btoa} from './base64.js';
import {Blob, File, blobInternals} from './blob.js';
import {console} from './console.js';
import {Crypto, crypto} from './crypto.js';
import {dispatch} from './dispatch.js';
import {DOMException, isDOMException} from './dom_exception.js';
import {TextDecoder, TextEncoder} from './encoding.js';
import {CustomEvent, ErrorEvent, Event, EventTarget, globalEventTarget} from './events.js';
import {fetch} from './fetch.js';
import {FormData, formDataInternals} from './form_data.js';
import {Headers, headersInternals} from './headers.js';
import {inspectHook} from './inspect.js';
import {defineLazyGlobals, urlImpl} from './lazy.js';
import {queueMicrotask} from './microtask.js';
import {Navigator, navigator} from './navigator.js';
import {Performance, performance} from './performance.js';
import {Request, requestInternals} from './request.js';
import {Response, responseInternals} from './response.js';
import {platformObjectChecks, structuredClone} from './structured_clone.js';
import {clearInterval, clearTimeout, setInterval, setTimeout} from './timers.js';
import {defineGlobalFunction, defineInterface} from './webidl.js';

const global = globalThis;

defineInterface(global, DOMException);
defineInterface(global, Headers);
defineInterface(global, Request);
defineInterface(global, Response);
defineInterface(global, TextEncoder);
defineInterface(global, TextDecoder);
defineInterface(global, Crypto);
defineInterface(global, Event);
defineInterface(global, CustomEvent);
defineInterface(global, ErrorEvent);
defineInterface(global, EventTarget);
defineInterface(global, AbortController);
defineInterface(global, AbortSignal);
defineInterface(global, Blob);
defineInterface(global, File);
defineInterface(global, FormData);
defineInterface(global, Performance);
defineInterface(global, Navigator);

defineGlobalFunction(global, 'atob', atob);
defineGlobalFunction(global, 'btoa', btoa);
defineGlobalFunction(global, 'queueMicrotask', queueMicrotask);
defineGlobalFunction(global, 'structuredClone', structuredClone);
defineGlobalFunction(global, 'fetch', fetch);
defineGlobalFunction(global, 'setTimeout', setTimeout);
defineGlobalFunction(global, 'clearTimeout', clearTimeout);
defineGlobalFunction(global, 'setInterval', setInterval);
defineGlobalFunction(global, 'clearInterval', clearInterval);
Object.defineProperty(global, 'console',
                      {value: console, writable: true, enumerable: false, configurable: true});
Object.defineProperty(global, 'crypto',
                      {value: crypto, writable: true, enumerable: true, configurable: true});
// The global scope is an EventTarget in workers and in Workers; its listeners live on a hidden
// target, since the global object itself cannot inherit from EventTarget.prototype here.
const globalTarget = new EventTarget();
globalEventTarget.target = globalTarget;
for (const name of ['addEventListener', 'removeEventListener', 'dispatchEvent']) {
  const method = EventTarget.prototype[name];
  defineGlobalFunction(global, name, {
    [name](...args) {
      return method.apply(globalTarget, args);
    },
  }[name]);
}
// [Replaceable] readonly attributes of the global scope.
for (const [name, value] of [['performance', performance], ['navigator', navigator]]) {
  Object.defineProperty(global, name, {value, writable: true, enumerable: true, configurable: true});
}
// Configurable so that the engine, once it has taken the functions it calls, can delete it.
Object.defineProperty(global, '__cosmo_dispatch',
                      {value: dispatch, writable: false, enumerable: false, configurable: true});

platformObjectChecks.push(
    headersInternals.is, responseInternals.is, (v) => requestInternals.is(v),
    (v) => v instanceof TextEncoder || v instanceof TextDecoder || v instanceof Crypto ||
        isDOMException(v),
    (v) => v instanceof EventTarget || v instanceof Event || v instanceof AbortController ||
        formDataInternals.is(v));

// Streams, URL and URLSearchParams, and the rarely used interfaces, evaluated on first use
// (lazy.js), which also makes structuredClone refuse their instances.
defineLazyGlobals();

// How console shows the runtime's objects (Node shows its own in the same way).
function hook(proto, describe) {
  Object.defineProperty(proto, inspectHook, {value: describe, enumerable: false});
}
hook(Headers.prototype, (h) => {
  if (!headersInternals.is(h)) return undefined;
  const entries = [];
  const list = headersInternals.sorted(h);
  for (let i = 0; i < list.length; i += 2) entries.push([list[i], list[i + 1]]);
  return {name: 'Headers', entries};
});
hook(Request.prototype, (r) => {
  try {
    return {
      name: 'Request',
      entries: [['method', r.method], ['url', r.url], ['headers', r.headers],
                ['redirect', r.redirect], ['bodyUsed', r.bodyUsed]],
    };
  } catch {
    return undefined;
  }
});
hook(Response.prototype, (r) => {
  if (!responseInternals.is(r)) return undefined;
  return {
    name: 'Response',
    entries: [['status', r.status], ['statusText', r.statusText], ['headers', r.headers],
              ['ok', r.ok], ['type', r.type], ['bodyUsed', r.bodyUsed]],
  };
});
hook(Blob.prototype, (b) => {
  if (!blobInternals.is(b)) return undefined;
  const entries = [['size', b.size], ['type', b.type]];
  if (blobInternals.isFile(b)) entries.push(['name', b.name], ['lastModified', b.lastModified]);
  return {name: blobInternals.isFile(b) ? 'File' : 'Blob', entries};
});
hook(FormData.prototype, (f) => {
  if (!formDataInternals.is(f)) return undefined;
  return {name: 'FormData', entries: formDataInternals.entries(f).slice(), kind: 'map'};
});
hook(Event.prototype, (e) => {
  try {
    return {
      name: e.constructor?.name || 'Event',
      entries: [['type', e.type], ['defaultPrevented', e.defaultPrevented],
                ['cancelable', e.cancelable], ['timeStamp', e.timeStamp]],
    };
  } catch {
    return undefined;
  }
});
hook(AbortSignal.prototype, (s) => {
  try {
    return {name: 'AbortSignal', entries: [['aborted', s.aborted], ['reason', s.reason]]};
  } catch {
    return undefined;
  }
});
urlImpl.whenLoaded(({URL, URLSearchParams}) => {
  hook(URL.prototype, (u) => {
    try {
      return {
        name: 'URL',
        entries: ['href', 'origin', 'protocol', 'username', 'password', 'host', 'hostname', 'port',
                  'pathname', 'search', 'searchParams', 'hash'].map((k) => [k, u[k]]),
      };
    } catch {
      return undefined;
    }
  });
  hook(URLSearchParams.prototype, (p) => {
    try {
      return {name: 'URLSearchParams', entries: Array.from(URLSearchParams.prototype.entries.call(p)), kind: 'map'};
    } catch {
      return undefined;
    }
  });
});

// URL and URLSearchParams are evaluated into the snapshot after all, though they stay lazy globals
// in form: `new URL(request.url)` is how most Workers route, and evaluating whatwg-url on a
// context's first use costs several milliseconds of CPU (docs/performance.md, "Streams and URL off
// the request path") — a cliff on every cold start of such a family — against ~280 KB a context.
urlImpl();
