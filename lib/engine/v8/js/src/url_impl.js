// URL and URLSearchParams: the `whatwg-url` package, the WHATWG URL standard's reference
// implementation, bundled in. Evaluated on first use (lazy.js's urlImpl(), the only importer):
// the URL of a request a handler receives is a string, and parsing a canonical http(s) URL takes
// url.js's fast path without this module.

import './es_shims.js';
import {TextDecoder, TextEncoder} from './encoding.js';
import {withGlobals} from './lazy.js';
import {canonicalHttpUrlRecord} from './url.js';

// whatwg-url and its dependency webidl-conversions read, when they load, the getters of
// ArrayBuffer.prototype.resizable and SharedArrayBuffer.prototype.{byteLength,growable}. V8 10.2
// predates resizable buffers, and the engine's contexts have no SharedArrayBuffer at all. For the
// duration of the load only, those getters (and, where it is missing, a SharedArrayBuffer
// placeholder whose byteLength getter rejects every value, as no shared buffer can exist) are
// put in place; they answer what is true of every buffer in this V8 and are removed afterwards,
// so scripts see V8's own objects. String.prototype.toWellFormed, also needed, is installed
// permanently by es_shims.js.
function withBufferShims(load) {
  const undo = [];
  if (typeof globalThis.SharedArrayBuffer !== 'function') {
    function SharedArrayBuffer() {
      throw new TypeError('SharedArrayBuffer is not available');
    }
    Object.defineProperty(SharedArrayBuffer.prototype, 'byteLength', {
      get() {
        throw new TypeError('not a SharedArrayBuffer');
      },
      configurable: true,
    });
    Object.defineProperty(globalThis, 'SharedArrayBuffer',
                          {value: SharedArrayBuffer, writable: true, configurable: true});
    undo.push(() => delete globalThis.SharedArrayBuffer);
  }
  for (const [C, name] of [[ArrayBuffer, 'resizable'], [globalThis.SharedArrayBuffer, 'growable']]) {
    if (Object.getOwnPropertyDescriptor(C.prototype, name) !== undefined) continue;
    Object.defineProperty(C.prototype, name, {
      get() {
        return false;
      },
      configurable: true,
    });
    undo.push(() => delete C.prototype[name]);
  }
  try {
    return load();
  } finally {
    for (const step of undo.reverse()) step();
  }
}

// whatwg-url creates a TextEncoder and a TextDecoder when it loads: ours are global for the
// duration, whatever a script did to the globals.
const whatwgUrl = withGlobals([['TextEncoder', TextEncoder], ['TextDecoder', TextDecoder]],
                              () => withBufferShims(() => require('whatwg-url')));
const wrappers = require('whatwg-url/webidl2js-wrapper');

const stateMachine = require('whatwg-url/lib/url-state-machine');

const stateMachineParse = stateMachine.basicURLParse;
export function basicURLParseWithoutFastPath(input, options) {
  return stateMachineParse(input, options);
}
// URL-impl.js calls the module's export at each use, so this is where url.js's fast path goes in.
stateMachine.basicURLParse = function basicURLParse(input, options = undefined) {
  if (typeof input === 'string' &&
      (options === undefined ||
       (options.url === undefined && options.stateOverride === undefined &&
        options.encoding === undefined))) {
    const record = canonicalHttpUrlRecord(input);
    if (record !== null) return record;
  }
  return stateMachineParse(input, options);
};

export const URL = whatwgUrl.URL;
export const URLSearchParams = whatwgUrl.URLSearchParams;

export function isURLSearchParams(value) {
  return wrappers.URLSearchParams.is(value);
}

export const parseURL = whatwgUrl.parseURL;
export const serializeURL = whatwgUrl.serializeURL;
