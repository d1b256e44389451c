// The parts of the web platform an isolate evaluates only when a script first uses them: WHATWG
// Streams (web-streams-polyfill and the runtime's stream helpers), URL and URLSearchParams
// (whatwg-url; index.js evaluates these into the snapshot all the same), Web Crypto's subtle (SubtleCrypto, CryptoKey, crypto.subtle), URLPattern,
// CompressionStream and DecompressionStream, FileReader and ProgressEvent. Until then a context
// holds none of their classes, prototypes and tables (docs/performance.md, "Where a warm family's
// memory goes" and "Streams and URL off the request path"); their code is only text in the
// engine's shared external source. The require() calls are esbuild's: it turns each into the
// module's one-time initialisation. Only this module may require (or import) streams.js and
// url_impl.js: the rest of the runtime reaches them through streams() and urlImpl(), so that
// streams.loaded() is true exactly when a stream can exist.

import {nativeDefineLazy} from './native.js';
import {platformObjectChecks} from './structured_clone.js';
import {defineInterface} from './webidl.js';

// A function that evaluates a module on its first call (load() requires it) and returns its
// exports. The classes named in `interfaces` then get what index.js gives the eager interfaces:
// Web IDL attributes and @@toStringTag (unless `webIdl` is false: whatwg-url's classes have
// theirs), and structuredClone refuses them as platform objects. `get.loaded()` tells whether it
// has been evaluated; `get.whenLoaded(fn)` has fn(exports) run right after the evaluation.
function lazyModule(load, interfaces, {webIdl = true} = {}) {
  let exports;
  const callbacks = [];
  const get = () => {
    if (exports === undefined) {
      const loaded = load();
      const classes = interfaces.map((name) => loaded[name]);
      if (webIdl) {
        interfaces.forEach(
            (name, i) => defineInterface(globalThis, classes[i], name, {expose: false}));
      }
      platformObjectChecks.push((v) => classes.some((cls) => v instanceof cls));
      exports = loaded;
      for (const fn of callbacks) fn(exports);
    }
    return exports;
  };
  get.loaded = () => exports !== undefined;
  get.whenLoaded = (fn) => {
    if (exports === undefined) {
      callbacks.push(fn);
    } else {
      fn(exports);
    }
  };
  return get;
}

// Runs load() with globalThis[name] = value for each entry, then puts back what was there (or
// nothing): a package that picks a global up while it evaluates (whatwg-url its TextEncoder,
// web-streams-polyfill its DOMException) gets the runtime's even after a script replaced or deleted
// the global. No script runs in between. A global the script made non-configurable (or a frozen
// global object) is left alone: the package then sees what the script left there.
export function withGlobals(entries, load) {
  const saved = [];
  for (const [name, value] of entries) {
    const desc = Object.getOwnPropertyDescriptor(globalThis, name);
    if (desc !== undefined ? !desc.configurable : !Object.isExtensible(globalThis)) continue;
    Object.defineProperty(globalThis, name,
                          {value, writable: true, enumerable: false, configurable: true});
    saved.push([name, desc]);
  }
  try {
    return load();
  } finally {
    for (const [name, desc] of saved) {
      if (desc === undefined) {
        delete globalThis[name];
      } else {
        Object.defineProperty(globalThis, name, desc);
      }
    }
  }
}

export const streamInterfaces = [
  'ReadableStream', 'ReadableStreamDefaultReader', 'ReadableStreamBYOBReader',
  'ReadableStreamBYOBRequest', 'ReadableStreamDefaultController', 'ReadableByteStreamController',
  'WritableStream', 'WritableStreamDefaultWriter', 'WritableStreamDefaultController',
  'TransformStream', 'TransformStreamDefaultController', 'ByteLengthQueuingStrategy',
  'CountQueuingStrategy', 'TextEncoderStream', 'TextDecoderStream',
];
// WHATWG Streams, the encoding streams and the body helpers (streams.js).
export const streams = lazyModule(() => require('./streams.js'), streamInterfaces);
// URL and URLSearchParams (url_impl.js, over whatwg-url).
export const urlImpl =
    lazyModule(() => require('./url_impl.js'), ['URL', 'URLSearchParams'], {webIdl: false});

const subtleInterfaces = ['CryptoKey', 'SubtleCrypto'];
export const subtleCrypto = lazyModule(() => require('./subtle_crypto.js'), subtleInterfaces);
const lazyGlobals = [
  [streams, streamInterfaces],
  [urlImpl, ['URL', 'URLSearchParams']],
  [subtleCrypto, subtleInterfaces],
  [lazyModule(() => require('./url_pattern.js'), ['URLPattern']), ['URLPattern']],
  [
    lazyModule(() => require('./compression.js'), ['CompressionStream', 'DecompressionStream']),
    ['CompressionStream', 'DecompressionStream'],
  ],
  [
    lazyModule(() => require('./file_reader.js'), ['FileReader', 'ProgressEvent']),
    ['FileReader', 'ProgressEvent'],
  ],
];

// The interfaces above as globals: data properties (writable, configurable, not enumerable) to
// every observer — `in`, enumeration, getOwnPropertyDescriptor, assignment and delete before the
// first read behave as for any other global — whose value is made on first read.
export function defineLazyGlobals() {
  for (const [module, names] of lazyGlobals) {
    for (const name of names) nativeDefineLazy(name, () => module()[name], false);
  }
}
