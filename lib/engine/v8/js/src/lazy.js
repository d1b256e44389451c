// The parts of the web platform an isolate evaluates only when a script first uses them: Web
// Crypto's subtle (SubtleCrypto, CryptoKey, crypto.subtle), URLPattern, CompressionStream and
// DecompressionStream, FileReader and ProgressEvent. Until then a context holds none of their
// classes, prototypes and tables (docs/performance.md, "Where a warm family's memory goes"); their
// code is only text in the engine's shared external source. The require() calls are esbuild's:
// it turns each into the module's one-time initialisation.

import {nativeDefineLazy} from './native.js';
import {platformObjectChecks} from './structured_clone.js';
import {defineInterface} from './webidl.js';

// A function that evaluates a module on its first call (load() requires it) and returns its
// exports. The classes named in `interfaces` then get what index.js gives the eager interfaces:
// Web IDL attributes and @@toStringTag, and structuredClone refuses them as platform objects.
function lazyModule(load, interfaces) {
  let exports;
  return () => {
    if (exports === undefined) {
      exports = load();
      const classes = interfaces.map((name) => exports[name]);
      interfaces.forEach((name, i) => defineInterface(globalThis, classes[i], name, {expose: false}));
      platformObjectChecks.push((v) => classes.some((cls) => v instanceof cls));
    }
    return exports;
  };
}

const subtleInterfaces = ['CryptoKey', 'SubtleCrypto'];
export const subtleCrypto = lazyModule(() => require('./subtle_crypto.js'), subtleInterfaces);
const lazyGlobals = [
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
