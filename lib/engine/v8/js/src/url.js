// URL and URLSearchParams: the `whatwg-url` package, the WHATWG URL standard's reference
// implementation, bundled in. This module loads it and exposes what the rest of the runtime uses.
//
import './es_shims.js';
import {TextDecoder, TextEncoder} from './encoding.js';

// whatwg-url creates a TextEncoder and a TextDecoder when it loads: ours must be global by then.
for (const [name, value] of [['TextEncoder', TextEncoder], ['TextDecoder', TextDecoder]]) {
  Object.defineProperty(globalThis, name,
                        {value, writable: true, enumerable: false, configurable: true});
}

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

const whatwgUrl = withBufferShims(() => require('whatwg-url'));
const wrappers = require('whatwg-url/webidl2js-wrapper');

const stateMachine = require('whatwg-url/lib/url-state-machine');

// A fast path for the URLs servers see most: absolute http(s) URLs already in the exact form the
// URL serializer writes (lower-case ASCII host name or canonical IPv4 address, no credentials, no
// default or zero-padded port, a path without dot segments, a query and no fragment made only of
// characters that are never percent-encoded). For those the URL record is built directly; the
// result is the one whatwg-url's state machine produces (checked by the WPT test and by
// tools/dev_harness.js --check-fast-url, which compares it with the state machine on
// generated URLs), at a small fraction of its cost. Everything else goes
// through the state machine.
const canonicalHttpUrl = new RegExp(
    '^(https?)://' +
    '(?:((?:(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)\\.){3}(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d))' +
    '|((?:[a-z0-9_-]+\\.)*[a-z_-][a-z0-9_-]*))' +
    '(?::([1-9]\\d{0,4}))?' +
    '(/[A-Za-z0-9\\-._~!$&\'()*+,;=:@/%]*)' +
    '(?:\\?([A-Za-z0-9\\-._~!$&()*+,;=:@/?%]*))?$');
const dotSegment = /\/(?:\.|%2e){1,2}(?:\/|$)|%2e/i;

// Whether `input` is in that canonical form (then its serialization is `input` itself).
export function isCanonicalHttpUrl(input) {
  return canonicalHttpUrlRecord(input, true) !== null;
}

// The URL record of `input` when it is in canonical form, else null.
export function canonicalHttpUrlRecord(input, checkOnly = false) {
  const m = canonicalHttpUrl.exec(input);
  if (m === null) return null;
  const [, scheme, ipv4, domain, portText, path, query] = m;
  if (domain !== undefined && domain.includes('xn--')) return null;
  let port = null;
  if (portText !== undefined) {
    port = +portText;
    if (port > 65535 || port === (scheme === 'http' ? 80 : 443)) return null;
  }
  if (dotSegment.test(path)) return null;
  if (checkOnly) return true;
  let host = domain;
  if (ipv4 !== undefined) {
    const p = ipv4.split('.');
    host = ((+p[0] * 256 + +p[1]) * 256 + +p[2]) * 256 + +p[3];
  }
  return {
    scheme,
    username: '',
    password: '',
    host,
    port,
    path: path.slice(1).split('/'),
    query: query === undefined ? null : query,
    fragment: null,
  };
}

const stateMachineParse = stateMachine.basicURLParse;
export function basicURLParseWithoutFastPath(input, options) {
  return stateMachineParse(input, options);
}
// URL-impl.js calls the module's export at each use, so this is where the fast path goes in.
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

// Parses an absolute URL string; null on failure.
export function parseURL(input) {
  return canonicalHttpUrlRecord(input) ?? whatwgUrl.parseURL(input);
}

export function serializeURL(record) {
  return whatwgUrl.serializeURL(record);
}

export function urlHasCredentials(record) {
  return record.username !== '' || record.password !== '';
}
