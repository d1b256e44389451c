// SubtleCrypto and CryptoKey (W3C Web Cryptography API, with the Secure Curves draft's Ed25519,
// X25519, Ed448 and X448), plus workerd's crypto.subtle.timingSafeEqual.
//
// This layer is the WebIDL and the spec's checks: algorithm normalization, usages, formats, JWK
// members, and the DOMException each failure is. The cryptography and the key material are in
// C++ (lib/engine/v8/crypto): a CryptoKey holds only an opaque handle in a private field. Every
// operation runs synchronously on the request's thread and returns a settled promise, as the spec
// lets an implementation do; long PBKDF2 runs and large digests are computed in bounded steps so
// that the CPU limit can stop them (docs/javascript.md).

import {atob, btoa} from './base64.js';
import {DOMException} from './dom_exception.js';
import {TextDecoder, TextEncoder} from './encoding.js';
import {
  nativeCryptoAes, nativeCryptoDeriveShared, nativeCryptoDigest, nativeCryptoDigestFinal,
  nativeCryptoDigestNew, nativeCryptoDigestUpdate, nativeCryptoExportJwk, nativeCryptoExportKey,
  nativeCryptoGenerateKeyPair, nativeCryptoHkdf, nativeCryptoHmac, nativeCryptoImportJwk,
  nativeCryptoImportKey, nativeCryptoKeyDetails, nativeCryptoPbkdf2New, nativeCryptoPbkdf2Run,
  nativeCryptoRsaOaep, nativeCryptoSecretExport, nativeCryptoSecretKey, nativeCryptoSign,
  nativeCryptoTimingSafeEqual, nativeCryptoVerify, nativeRandomFill,
} from './native.js';
import {bufferSourceBytes, isObject, requiredArguments, toDOMString} from './webidl.js';

const kInternal = {};

// ---- Errors ----

const domErrorNames = new Set(
    ['OperationError', 'DataError', 'NotSupportedError', 'InvalidAccessError', 'SyntaxError']);

function fail(name, message) {
  return new DOMException(message, name);
}

// Natives throw Errors named after DOMExceptions; they become the real thing here.
function translate(e) {
  if (e instanceof Error && domErrorNames.has(e.name) && !(e instanceof DOMException)) {
    return new DOMException(e.message, e.name);
  }
  return e;
}

function callNative(fn, ...args) {
  try {
    return fn(...args);
  } catch (e) {
    throw translate(e);
  }
}

// ---- WebIDL conversions ----

// A BufferSource argument as a Uint8Array over its bytes. The spec takes a copy because its
// operations finish "in parallel"; here every operation finishes before the method returns, so
// the bytes cannot change under it and a view does (a large input is not held twice).
function copyBytes(value, what) {
  const view = bufferSourceBytes(value, false);
  if (view === undefined) {
    throw new TypeError(`${what} is not of type '(ArrayBuffer or ArrayBufferView)'.`);
  }
  return view;
}

function toEnforceRange(value, what, max) {
  const x = Number(value);
  if (!Number.isFinite(x)) throw new TypeError(`${what} is not a finite number.`);
  const t = Math.trunc(x);
  if (t < 0 || t > max) throw new TypeError(`${what} is outside the accepted range.`);
  return t;
}

function required(dict, member, what) {
  const value = dict[member];
  if (value === undefined) {
    throw new TypeError(`Failed to read the '${member}' property from '${what}': Required member` +
                        ` is undefined.`);
  }
  return value;
}

// ---- Algorithms ----

const hashNames = ['SHA-1', 'SHA-256', 'SHA-384', 'SHA-512'];
const curveNames = ['P-256', 'P-384', 'P-521'];

// Per operation, the registered algorithm names and the dictionary each takes.
const ops = {
  digest: {'SHA-1': null, 'SHA-256': null, 'SHA-384': null, 'SHA-512': null},
  generateKey: {
    'RSASSA-PKCS1-v1_5': 'RsaHashedKeyGenParams', 'RSA-PSS': 'RsaHashedKeyGenParams',
    'RSA-OAEP': 'RsaHashedKeyGenParams', 'ECDSA': 'EcKeyGenParams', 'ECDH': 'EcKeyGenParams',
    'AES-CTR': 'AesKeyGenParams', 'AES-CBC': 'AesKeyGenParams', 'AES-GCM': 'AesKeyGenParams',
    'AES-KW': 'AesKeyGenParams', 'HMAC': 'HmacKeyGenParams', 'Ed25519': null, 'X25519': null,
    'Ed448': null, 'X448': null,
  },
  importKey: {
    'RSASSA-PKCS1-v1_5': 'RsaHashedImportParams', 'RSA-PSS': 'RsaHashedImportParams',
    'RSA-OAEP': 'RsaHashedImportParams', 'ECDSA': 'EcKeyImportParams', 'ECDH': 'EcKeyImportParams',
    'AES-CTR': null, 'AES-CBC': null, 'AES-GCM': null, 'AES-KW': null,
    'HMAC': 'HmacImportParams', 'PBKDF2': null, 'HKDF': null, 'Ed25519': null, 'X25519': null,
    'Ed448': null, 'X448': null,
  },
  sign: {
    'RSASSA-PKCS1-v1_5': null, 'RSA-PSS': 'RsaPssParams', 'ECDSA': 'EcdsaParams', 'HMAC': null,
    'Ed25519': null, 'Ed448': 'Ed448Params',
  },
  encrypt: {
    'RSA-OAEP': 'RsaOaepParams', 'AES-CTR': 'AesCtrParams', 'AES-CBC': 'AesCbcParams',
    'AES-GCM': 'AesGcmParams',
  },
  deriveBits: {
    'ECDH': 'EcdhKeyDeriveParams', 'X25519': 'EcdhKeyDeriveParams',
    'X448': 'EcdhKeyDeriveParams', 'HKDF': 'HkdfParams', 'PBKDF2': 'Pbkdf2Params',
  },
  getKeyLength: {
    'AES-CTR': 'AesDerivedKeyParams', 'AES-CBC': 'AesDerivedKeyParams',
    'AES-GCM': 'AesDerivedKeyParams', 'AES-KW': 'AesDerivedKeyParams',
    'HMAC': 'HmacImportParams', 'HKDF': null, 'PBKDF2': null,
  },
  wrapKey: {'AES-KW': null},
};
ops.verify = ops.sign;
ops.decrypt = ops.encrypt;
ops.unwrapKey = ops.wrapKey;
ops.exportKey = ops.importKey;

const upperNames = {};
for (const table of Object.values(ops)) {
  for (const name of Object.keys(table)) upperNames[name.toUpperCase()] = name;
}

// Dictionary members in the order WebIDL reads them (alphabetical within a dictionary).
const dictionaries = {
  RsaHashedKeyGenParams(d, out) {
    out.hash = normalizeHash(required(d, 'hash', 'RsaHashedKeyGenParams'));
    out.modulusLength = toEnforceRange(required(d, 'modulusLength', 'RsaHashedKeyGenParams'),
                                       'modulusLength', 0xFFFFFFFF);
    const e = required(d, 'publicExponent', 'RsaHashedKeyGenParams');
    if (!(e instanceof Uint8Array)) throw new TypeError('publicExponent is not a Uint8Array.');
    out.publicExponent = new Uint8Array(e);
  },
  EcKeyGenParams(d, out) {
    out.namedCurve = toDOMString(required(d, 'namedCurve', 'EcKeyGenParams'));
  },
  AesKeyGenParams(d, out) {
    out.length = toEnforceRange(required(d, 'length', 'AesKeyGenParams'), 'length', 0xFFFF);
  },
  HmacKeyGenParams(d, out) {
    out.hash = normalizeHash(required(d, 'hash', 'HmacKeyGenParams'));
    if (d.length !== undefined) out.length = toEnforceRange(d.length, 'length', 0xFFFFFFFF);
  },
  RsaHashedImportParams(d, out) {
    out.hash = normalizeHash(required(d, 'hash', 'RsaHashedImportParams'));
  },
  EcKeyImportParams(d, out) {
    out.namedCurve = toDOMString(required(d, 'namedCurve', 'EcKeyImportParams'));
  },
  HmacImportParams(d, out) {
    out.hash = normalizeHash(required(d, 'hash', 'HmacImportParams'));
    if (d.length !== undefined) out.length = toEnforceRange(d.length, 'length', 0xFFFFFFFF);
  },
  RsaPssParams(d, out) {
    out.saltLength =
        toEnforceRange(required(d, 'saltLength', 'RsaPssParams'), 'saltLength', 0xFFFFFFFF);
  },
  Ed448Params(d, out) {
    if (d.context !== undefined) out.context = copyBytes(d.context, 'context');
  },
  EcdsaParams(d, out) {
    out.hash = normalizeHash(required(d, 'hash', 'EcdsaParams'));
  },
  RsaOaepParams(d, out) {
    if (d.label !== undefined) out.label = copyBytes(d.label, 'label');
  },
  AesCtrParams(d, out) {
    out.counter = copyBytes(required(d, 'counter', 'AesCtrParams'), 'counter');
    out.length = toEnforceRange(required(d, 'length', 'AesCtrParams'), 'length', 0xFF);
  },
  AesCbcParams(d, out) {
    out.iv = copyBytes(required(d, 'iv', 'AesCbcParams'), 'iv');
  },
  AesGcmParams(d, out) {
    if (d.additionalData !== undefined) {
      out.additionalData = copyBytes(d.additionalData, 'additionalData');
    }
    out.iv = copyBytes(required(d, 'iv', 'AesGcmParams'), 'iv');
    if (d.tagLength !== undefined) out.tagLength = toEnforceRange(d.tagLength, 'tagLength', 0xFF);
  },
  EcdhKeyDeriveParams(d, out) {
    const key = required(d, 'public', 'EcdhKeyDeriveParams');
    if (!(key instanceof CryptoKey)) throw new TypeError(`'public' is not a CryptoKey.`);
    out.public = key;
  },
  HkdfParams(d, out) {
    out.hash = normalizeHash(required(d, 'hash', 'HkdfParams'));
    out.info = copyBytes(required(d, 'info', 'HkdfParams'), 'info');
    out.salt = copyBytes(required(d, 'salt', 'HkdfParams'), 'salt');
  },
  Pbkdf2Params(d, out) {
    out.hash = normalizeHash(required(d, 'hash', 'Pbkdf2Params'));
    out.iterations =
        toEnforceRange(required(d, 'iterations', 'Pbkdf2Params'), 'iterations', 0xFFFFFFFF);
    out.salt = copyBytes(required(d, 'salt', 'Pbkdf2Params'), 'salt');
  },
  AesDerivedKeyParams(d, out) {
    out.length = toEnforceRange(required(d, 'length', 'AesDerivedKeyParams'), 'length', 0xFFFF);
  },
};

// WebCrypto §18.4 "normalize an algorithm".
function normalizeAlgorithm(algorithm, op) {
  if (typeof algorithm === 'string') return normalizeAlgorithm({name: algorithm}, op);
  if (!isObject(algorithm)) {
    // (object or DOMString): anything else converts to a string.
    return normalizeAlgorithm({name: toDOMString(algorithm)}, op);
  }
  const name = toDOMString(required(algorithm, 'name', 'Algorithm'));
  const registered = upperNames[name.toUpperCase()];
  const table = ops[op];
  if (registered === undefined || !Object.prototype.hasOwnProperty.call(table, registered)) {
    throw fail('NotSupportedError', `Unrecognized algorithm name: ${name}`);
  }
  const out = {name: registered};
  const dictionary = table[registered];
  if (dictionary !== null) dictionaries[dictionary](algorithm, out);
  return out;
}

// wrapKey/unwrapKey: the algorithm normalized for `op` (AES-KW), or else, as the standard says,
// for `cipherOp` (a cipher that wraps by encrypting). -> [algorithm, the op it was normalized for]
function normalizeWrapping(algorithm, op, cipherOp) {
  try {
    return [normalizeAlgorithm(algorithm, op), op];
  } catch (e) {
    if (!(e instanceof DOMException && e.name === 'NotSupportedError')) throw e;
    return [normalizeAlgorithm(algorithm, cipherOp), cipherOp];
  }
}

function normalizeHash(hash) {
  return normalizeAlgorithm(hash, 'digest');
}

// ---- CryptoKey ----

const usageOrder = ['encrypt', 'decrypt', 'sign', 'verify', 'deriveKey', 'deriveBits', 'wrapKey',
                    'unwrapKey'];

export class CryptoKey {
  #type;
  #extractable;
  #algorithm;
  #usages;
  #handle;
  #algorithmView = null;
  #usagesView = null;

  constructor(token = undefined, type, extractable, algorithm, usages, handle) {
    if (token !== kInternal) throw new TypeError('Illegal constructor');
    this.#type = type;
    this.#extractable = extractable;
    this.#algorithm = algorithm;
    this.#usages = usages;
    this.#handle = handle;
  }

  get type() {
    return keyInternals.check(this).#type;
  }
  get extractable() {
    return keyInternals.check(this).#extractable;
  }
  get algorithm() {
    const key = keyInternals.check(this);
    if (key.#algorithmView === null) key.#algorithmView = algorithmView(key.#algorithm);
    return key.#algorithmView;
  }
  get usages() {
    const key = keyInternals.check(this);
    if (key.#usagesView === null) key.#usagesView = [...key.#usages];
    return key.#usagesView;
  }

  static internals() {
    return {
      check(key) {
        if (!(isObject(key) && #type in key)) throw new TypeError('Illegal invocation');
        return key;
      },
      is: (key) => isObject(key) && #type in key,
      type: (key) => key.#type,
      extractable: (key) => key.#extractable,
      algorithm: (key) => key.#algorithm,
      usages: (key) => key.#usages,
      handle: (key) => key.#handle,
    };
  }
}
const keyInternals = CryptoKey.internals();
delete CryptoKey.internals;

// The key's algorithm as scripts see it: a fresh object, with hash as {name} and the exponent as
// a Uint8Array of its own.
function algorithmView(algorithm) {
  const out = {};
  for (const [k, v] of Object.entries(algorithm)) {
    if (k === 'hash') {
      out.hash = {name: v.name};
    } else if (v instanceof Uint8Array) {
      out[k] = new Uint8Array(v);
    } else {
      out[k] = v;
    }
  }
  return out;
}

function newKey(type, extractable, algorithm, usages, handle) {
  return new CryptoKey(kInternal, type, extractable, algorithm, usages, handle);
}

// Usages as a sorted list without repeats; SyntaxError for one the key type does not allow.
function checkUsages(usages, allowed) {
  const list = [];
  for (const usage of usages) {
    if (!allowed.includes(usage)) {
      throw fail('SyntaxError', `Cannot create a key with usage '${usage}' here`);
    }
    if (!list.includes(usage)) list.push(usage);
  }
  return usageOrder.filter((u) => list.includes(u));
}

function toUsages(value) {
  if (!isObject(value) || typeof value[Symbol.iterator] !== 'function') {
    throw new TypeError('keyUsages is not a sequence.');
  }
  const out = [];
  for (const item of value) {
    const usage = toDOMString(item);
    if (!usageOrder.includes(usage)) {
      throw new TypeError(`The provided value '${usage}' is not a valid enum value of type` +
                          ` KeyUsage.`);
    }
    out.push(usage);
  }
  return out;
}

const formats = ['raw', 'spki', 'pkcs8', 'jwk'];
function toFormat(value) {
  const format = toDOMString(value);
  if (!formats.includes(format)) {
    throw new TypeError(`The provided value '${format}' is not a valid enum value of type` +
                        ` KeyFormat.`);
  }
  return format;
}

// ---- Base64url and JWK ----

function base64urlEncode(bytes) {
  const u8 = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let binary = '';
  for (let i = 0; i < u8.length; i += 0x8000) {
    binary += String.fromCharCode.apply(null, u8.subarray(i, i + 0x8000));
  }
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function base64urlDecode(text, what) {
  if (typeof text !== 'string' || !/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) {
    throw fail('DataError', `The JWK member '${what}' is not valid base64url`);
  }
  const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; ++i) out[i] = binary.charCodeAt(i);
  return out;
}

// JsonWebKey as WebIDL converts it: known members only, each with its type.
const jwkStringMembers = ['kty', 'use', 'alg', 'crv', 'x', 'y', 'd', 'n', 'e', 'p', 'q', 'dp',
                          'dq', 'qi', 'k'];
function toJwk(value) {
  if (value !== undefined && value !== null && !isObject(value)) {
    throw new TypeError('keyData is not a JsonWebKey dictionary.');
  }
  const d = value ?? {};
  const jwk = {};
  for (const member of ['alg', 'crv', 'd', 'dp', 'dq', 'e', 'ext', 'k', 'key_ops', 'kty', 'n',
                        'oth', 'p', 'q', 'qi', 'use', 'x', 'y']) {
    const v = d[member];
    if (v === undefined) continue;
    if (member === 'ext') {
      jwk.ext = !!v;
    } else if (member === 'key_ops') {
      jwk.key_ops = Array.from(v, toDOMString);
    } else if (member === 'oth') {
      jwk.oth = v;
    } else if (jwkStringMembers.includes(member)) {
      jwk[member] = toDOMString(v);
    }
  }
  return jwk;
}

// The checks every JWK import shares (kty aside): use, key_ops and ext.
function checkJwkCommon(jwk, usages, extractable, use) {
  if (jwk.use !== undefined && usages.length > 0 && jwk.use !== use) {
    throw fail('DataError', `The JWK 'use' member must be '${use}'`);
  }
  if (jwk.key_ops !== undefined) {
    const seen = new Set();
    for (const op of jwk.key_ops) {
      if (seen.has(op)) throw fail('DataError', `The JWK 'key_ops' member repeats '${op}'`);
      seen.add(op);
    }
    for (const usage of usages) {
      if (!seen.has(usage)) {
        throw fail('DataError', `The JWK 'key_ops' member does not allow '${usage}'`);
      }
    }
  }
  if (jwk.ext === false && extractable) {
    throw fail('DataError', 'The JWK is not extractable, but an extractable key was asked for');
  }
}

function jwkField(jwk, name) {
  if (jwk[name] === undefined) throw fail('DataError', `The JWK member '${name}' is missing`);
  return base64urlDecode(jwk[name], name);
}

// ---- Algorithm families ----

const aesJwkSuffix = {'AES-CTR': 'CTR', 'AES-CBC': 'CBC', 'AES-GCM': 'GCM', 'AES-KW': 'KW'};
const rsaJwkAlg = {
  'RSASSA-PKCS1-v1_5': {'SHA-1': 'RS1', 'SHA-256': 'RS256', 'SHA-384': 'RS384', 'SHA-512': 'RS512'},
  'RSA-PSS': {'SHA-1': 'PS1', 'SHA-256': 'PS256', 'SHA-384': 'PS384', 'SHA-512': 'PS512'},
  'RSA-OAEP': {
    'SHA-1': 'RSA-OAEP', 'SHA-256': 'RSA-OAEP-256', 'SHA-384': 'RSA-OAEP-384',
    'SHA-512': 'RSA-OAEP-512',
  },
};
const hashBlockBits = {'SHA-1': 512, 'SHA-256': 512, 'SHA-384': 1024, 'SHA-512': 1024};

// For each algorithm: usages of its key types, and its import/export/generate.
const family = {};

// A secret key as raw bytes or an "oct" JWK whose `alg` is jwkAlg(raw).
function exportSecret(format, key, jwkAlg) {
  const raw = nativeCryptoSecretExport(keyInternals.handle(key));
  if (format === 'raw') return raw;
  if (format === 'jwk') {
    return {
      kty: 'oct', k: base64urlEncode(raw), alg: jwkAlg(raw),
      key_ops: [...keyInternals.usages(key)], ext: keyInternals.extractable(key),
    };
  }
  throw fail('NotSupportedError',
             `${keyInternals.algorithm(key).name} keys cannot be exported as ${format}`);
}

function isAes(name) {
  return name.startsWith('AES-');
}

// AES (§§ 26-29)
for (const name of ['AES-CTR', 'AES-CBC', 'AES-GCM', 'AES-KW']) {
  const usages = name === 'AES-KW' ? ['wrapKey', 'unwrapKey'] :
                                     ['encrypt', 'decrypt', 'wrapKey', 'unwrapKey'];
  family[name] = {
    generate(alg, extractable, keyUsages) {
      const list = checkUsages(keyUsages, usages);
      if (![128, 192, 256].includes(alg.length)) {
        throw fail('OperationError', 'AES key length must be 128, 192 or 256 bits');
      }
      const bytes = new Uint8Array(alg.length / 8);
      nativeRandomFill(bytes);
      return newKey('secret', extractable, {name, length: alg.length}, list,
                    nativeCryptoSecretKey(bytes));
    },
    import(format, data, alg, extractable, keyUsages) {
      const list = checkUsages(keyUsages, usages);
      let bytes;
      if (format === 'raw') {
        bytes = data;
      } else if (format === 'jwk') {
        if (data.kty !== 'oct') throw fail('DataError', `The JWK 'kty' member must be 'oct'`);
        bytes = jwkField(data, 'k');
        if (![16, 24, 32].includes(bytes.length)) {
          throw fail('DataError', 'AES key length must be 128, 192 or 256 bits');
        }
        const expected = `A${bytes.length * 8}${aesJwkSuffix[name]}`;
        if (data.alg !== undefined && data.alg !== expected) {
          throw fail('DataError', `The JWK 'alg' member must be '${expected}'`);
        }
        checkJwkCommon(data, list, extractable, 'enc');
      } else {
        throw fail('NotSupportedError', `${name} keys cannot be imported as ${format}`);
      }
      if (![16, 24, 32].includes(bytes.length)) {
        throw fail('DataError', 'AES key length must be 128, 192 or 256 bits');
      }
      return newKey('secret', extractable, {name, length: bytes.length * 8}, list,
                    nativeCryptoSecretKey(bytes));
    },
    export(format, key) {
      return exportSecret(format, key, (raw) => `A${raw.byteLength * 8}${aesJwkSuffix[name]}`);
    },
  };
}

// HMAC (§31)
family.HMAC = {
  generate(alg, extractable, keyUsages) {
    const list = checkUsages(keyUsages, ['sign', 'verify']);
    let length = alg.length;
    if (length === undefined) {
      length = hashBlockBits[alg.hash.name];
    } else if (length === 0) {
      throw fail('OperationError', 'HMAC key length must not be zero');
    }
    const bytes = new Uint8Array(Math.ceil(length / 8));
    nativeRandomFill(bytes);
    if (length % 8 !== 0) bytes[bytes.length - 1] &= (0xFF << (8 - (length % 8))) & 0xFF;
    return newKey('secret', extractable, {name: 'HMAC', length, hash: alg.hash}, list,
                  nativeCryptoSecretKey(bytes));
  },
  import(format, data, alg, extractable, keyUsages) {
    const list = checkUsages(keyUsages, ['sign', 'verify']);
    let bytes;
    if (format === 'raw') {
      bytes = data;
    } else if (format === 'jwk') {
      if (data.kty !== 'oct') throw fail('DataError', `The JWK 'kty' member must be 'oct'`);
      bytes = jwkField(data, 'k');
      const expected = `HS${alg.hash.name.slice(4)}`;
      if (data.alg !== undefined && data.alg !== expected) {
        throw fail('DataError', `The JWK 'alg' member must be '${expected}'`);
      }
      checkJwkCommon(data, list, extractable, 'sig');
    } else {
      throw fail('NotSupportedError', `HMAC keys cannot be imported as ${format}`);
    }
    let length = bytes.length * 8;
    if (length === 0) throw fail('DataError', 'HMAC key data must not be empty');
    if (alg.length !== undefined) {
      if (alg.length > length || alg.length <= length - 8) {
        throw fail('DataError', 'The HMAC length does not match the key data');
      }
      length = alg.length;
    }
    return newKey('secret', extractable, {name: 'HMAC', length, hash: alg.hash}, list,
                  nativeCryptoSecretKey(bytes));
  },
  export(format, key) {
    return exportSecret(format, key, () => `HS${keyInternals.algorithm(key).hash.name.slice(4)}`);
  },
};

// PBKDF2 and HKDF (§§ 33, 34): raw import only, never extractable.
for (const name of ['PBKDF2', 'HKDF']) {
  family[name] = {
    import(format, data, alg, extractable, keyUsages) {
      if (format !== 'raw') {
        throw fail('NotSupportedError', `${name} keys can only be imported as raw`);
      }
      const list = checkUsages(keyUsages, ['deriveKey', 'deriveBits']);
      if (extractable) throw fail('SyntaxError', `${name} keys cannot be extractable`);
      return newKey('secret', false, {name}, list, nativeCryptoSecretKey(data));
    },
  };
}

// Asymmetric families: RSA, EC, and the OKP curves.
const asymmetric = {
  'RSASSA-PKCS1-v1_5': {kind: 'RSA', public: ['verify'], private: ['sign'], use: 'sig'},
  'RSA-PSS': {kind: 'RSA', public: ['verify'], private: ['sign'], use: 'sig'},
  'RSA-OAEP': {
    kind: 'RSA', public: ['encrypt', 'wrapKey'], private: ['decrypt', 'unwrapKey'], use: 'enc',
  },
  'ECDSA': {kind: 'EC', public: ['verify'], private: ['sign'], use: 'sig'},
  'ECDH': {kind: 'EC', public: [], private: ['deriveKey', 'deriveBits'], use: 'enc'},
  'Ed25519': {kind: 'Ed25519', public: ['verify'], private: ['sign'], use: 'sig'},
  'X25519': {kind: 'X25519', public: [], private: ['deriveKey', 'deriveBits'], use: 'enc'},
  'Ed448': {kind: 'Ed448', public: ['verify'], private: ['sign'], use: 'sig'},
  'X448': {kind: 'X448', public: [], private: ['deriveKey', 'deriveBits'], use: 'enc'},
};

function asymmetricAlgorithm(name, alg, details) {
  const spec = asymmetric[name];
  if (spec.kind === 'RSA') {
    return {
      name, modulusLength: details.modulusLength,
      publicExponent: new Uint8Array(details.publicExponent), hash: alg.hash,
    };
  }
  if (spec.kind === 'EC') return {name, namedCurve: details.curve};
  return {name};
}

const ecJwkAlg = {'P-256': 'ES256', 'P-384': 'ES384', 'P-521': 'ES512'};

for (const [name, spec] of Object.entries(asymmetric)) {
  const allUsages = [...spec.private, ...spec.public];
  family[name] = {
    generate(alg, extractable, keyUsages) {
      const all = checkUsages(keyUsages, allUsages);
      const privateUsages = all.filter((u) => spec.private.includes(u));
      const publicUsages = all.filter((u) => spec.public.includes(u));
      let pair;
      if (spec.kind === 'RSA') {
        const e = alg.publicExponent;
        let exponent = 0;
        for (const b of e) exponent = exponent * 256 + b;
        if (exponent !== 3 && exponent !== 65537) {
          throw fail('OperationError', 'The public exponent must be 3 or 65537');
        }
        if (alg.modulusLength < 256 || alg.modulusLength > 16384 || alg.modulusLength % 8 !== 0) {
          throw fail('OperationError', 'The modulus length must be a multiple of 8 from 256 to' +
                                       ' 16384');
        }
        pair = callNative(nativeCryptoGenerateKeyPair, 'RSA', alg.modulusLength, e);
      } else if (spec.kind === 'EC') {
        if (!curveNames.includes(alg.namedCurve)) {
          throw fail('NotSupportedError', `Unsupported curve: ${alg.namedCurve}`);
        }
        pair = callNative(nativeCryptoGenerateKeyPair, 'EC', alg.namedCurve);
      } else {
        pair = callNative(nativeCryptoGenerateKeyPair, spec.kind);
      }
      const details = nativeCryptoKeyDetails(pair[1]);
      const algorithm = asymmetricAlgorithm(name, alg, details);
      if (privateUsages.length === 0) {
        throw fail('SyntaxError', 'A private key must have at least one usage');
      }
      return {
        publicKey: newKey('public', true, algorithm, publicUsages, pair[1]),
        privateKey: newKey('private', extractable, algorithm, privateUsages, pair[0]),
      };
    },
    import(format, data, alg, extractable, keyUsages) {
      if (spec.kind === 'EC' && !curveNames.includes(alg.namedCurve)) {
        throw fail('NotSupportedError', `Unsupported curve: ${alg.namedCurve}`);
      }
      let result;
      if (format === 'spki' || format === 'raw') {
        if (format === 'raw' && spec.kind === 'RSA') {
          throw fail('NotSupportedError', `${name} keys cannot be imported as raw`);
        }
        checkUsages(keyUsages, spec.public);
        result = callNative(nativeCryptoImportKey, spec.kind, format, data, alg.namedCurve ?? '');
      } else if (format === 'pkcs8') {
        checkUsages(keyUsages, spec.private);
        result = callNative(nativeCryptoImportKey, spec.kind, format, data, alg.namedCurve ?? '');
      } else {
        result = importJwk(name, spec, data, alg, extractable, keyUsages);
      }
      const [handle, isPrivate] = result;
      const usages = checkUsages(keyUsages, isPrivate ? spec.private : spec.public);
      const details = nativeCryptoKeyDetails(handle);
      return newKey(isPrivate ? 'private' : 'public', extractable,
                    asymmetricAlgorithm(name, alg, details), usages, handle);
    },
    export(format, key) {
      const handle = keyInternals.handle(key);
      const type = keyInternals.type(key);
      if (format === 'spki' || format === 'raw') {
        if (type !== 'public') {
          throw fail('InvalidAccessError', `Only a public key can be exported as ${format}`);
        }
        if (format === 'raw' && spec.kind === 'RSA') {
          throw fail('NotSupportedError', `${name} keys cannot be exported as raw`);
        }
        return callNative(nativeCryptoExportKey, handle, format);
      }
      if (format === 'pkcs8') {
        if (type !== 'private') {
          throw fail('InvalidAccessError', 'Only a private key can be exported as pkcs8');
        }
        return callNative(nativeCryptoExportKey, handle, format);
      }
      const fields = callNative(nativeCryptoExportJwk, handle);
      const algorithm = keyInternals.algorithm(key);
      const jwk = {};
      if (spec.kind === 'RSA') {
        jwk.kty = 'RSA';
        jwk.alg = rsaJwkAlg[name][algorithm.hash.name];
      } else if (spec.kind === 'EC') {
        jwk.kty = 'EC';
        jwk.crv = algorithm.namedCurve;
      } else {
        jwk.kty = 'OKP';
        jwk.crv = spec.kind;
      }
      for (const [k, v] of Object.entries(fields)) jwk[k] = base64urlEncode(v);
      jwk.key_ops = [...keyInternals.usages(key)];
      jwk.ext = keyInternals.extractable(key);
      return jwk;
    },
  };
}

function importJwk(name, spec, jwk, alg, extractable, keyUsages) {
  const isPrivate = jwk.d !== undefined;
  const list = checkUsages(keyUsages, isPrivate ? spec.private : spec.public);
  const fields = {};
  if (spec.kind === 'RSA') {
    if (jwk.kty !== 'RSA') throw fail('DataError', `The JWK 'kty' member must be 'RSA'`);
    const expected = rsaJwkAlg[name][alg.hash.name];
    if (jwk.alg !== undefined && jwk.alg !== expected) {
      throw fail('DataError', `The JWK 'alg' member must be '${expected}'`);
    }
    checkJwkCommon(jwk, list, extractable, spec.use);
    if (jwk.oth !== undefined) {
      throw fail('NotSupportedError', 'RSA keys with more than two primes are not supported');
    }
    const names = isPrivate ? ['n', 'e', 'd', 'p', 'q', 'dp', 'dq', 'qi'] : ['n', 'e'];
    for (const n of names) fields[n] = jwkField(jwk, n);
  } else if (spec.kind === 'EC') {
    if (jwk.kty !== 'EC') throw fail('DataError', `The JWK 'kty' member must be 'EC'`);
    if (jwk.crv !== alg.namedCurve) {
      throw fail('DataError', `The JWK 'crv' member must be '${alg.namedCurve}'`);
    }
    if (name === 'ECDSA' && jwk.alg !== undefined && jwk.alg !== ecJwkAlg[alg.namedCurve]) {
      throw fail('DataError', `The JWK 'alg' member must be '${ecJwkAlg[alg.namedCurve]}'`);
    }
    checkJwkCommon(jwk, list, extractable, spec.use);
    fields.x = jwkField(jwk, 'x');
    fields.y = jwkField(jwk, 'y');
    if (isPrivate) fields.d = jwkField(jwk, 'd');
  } else {
    if (jwk.kty !== 'OKP') throw fail('DataError', `The JWK 'kty' member must be 'OKP'`);
    if (jwk.crv !== spec.kind) throw fail('DataError', `The JWK 'crv' member must be '${spec.kind}'`);
    checkJwkCommon(jwk, list, extractable, spec.use);
    fields.x = jwkField(jwk, 'x');
    if (isPrivate) fields.d = jwkField(jwk, 'd');
  }
  return callNative(nativeCryptoImportJwk, spec.kind, alg.namedCurve ?? '', fields);
}

// ---- Operations ----

function checkKey(key, normalized, usage) {
  if (keyInternals.algorithm(key).name !== normalized.name) {
    throw fail('InvalidAccessError', `The key is not a ${normalized.name} key`);
  }
  if (!keyInternals.usages(key).includes(usage)) {
    throw fail('InvalidAccessError', `The key does not allow '${usage}'`);
  }
}

// PBKDF2 iterations per native step: a few milliseconds of work, so that a CPU-limit
// termination lands between steps promptly.
const kPbkdf2Step = 4096;
// Digest input per native step, for the same reason.
const kDigestStep = 1 << 20;

function digestBytes(hash, bytes) {
  if (bytes.length <= kDigestStep) return nativeCryptoDigest(hash, bytes);
  const handle = nativeCryptoDigestNew(hash);
  for (let at = 0; at < bytes.length; at += kDigestStep) {
    nativeCryptoDigestUpdate(handle, bytes.subarray(at, at + kDigestStep));
  }
  return nativeCryptoDigestFinal(handle);
}

function truncateBits(buffer, length) {
  const bytes = Math.ceil(length / 8);
  const out = new Uint8Array(buffer.slice(0, bytes));
  if (length % 8 !== 0) out[bytes - 1] &= (0xFF << (8 - (length % 8))) & 0xFF;
  return out.buffer;
}

function deriveBitsOp(alg, key, length) {
  const handle = keyInternals.handle(key);
  switch (alg.name) {
    case 'ECDH':
    case 'X25519':
    case 'X448': {
      const peer = alg.public;
      if (keyInternals.type(key) !== 'private') {
        throw fail('InvalidAccessError', 'The base key must be a private key');
      }
      if (keyInternals.type(peer) !== 'public') {
        throw fail('InvalidAccessError', `The 'public' key must be a public key`);
      }
      const mine = keyInternals.algorithm(key), theirs = keyInternals.algorithm(peer);
      if (theirs.name !== mine.name) {
        throw fail('InvalidAccessError', `The 'public' key is not a ${mine.name} key`);
      }
      if (mine.namedCurve !== theirs.namedCurve) {
        throw fail('InvalidAccessError', 'The keys are on different curves');
      }
      const secret = callNative(nativeCryptoDeriveShared, handle, keyInternals.handle(peer));
      if (length === null) return secret;
      if (length > secret.byteLength * 8) {
        throw fail('OperationError', 'The requested length is longer than the shared secret');
      }
      return truncateBits(secret, length);
    }
    case 'HKDF':
      if (length === null || length % 8 !== 0) {
        throw fail('OperationError', 'HKDF length must be a multiple of 8');
      }
      return callNative(nativeCryptoHkdf, alg.hash.name, handle, alg.salt, alg.info, length / 8);
    case 'PBKDF2': {
      if (length === null || length === 0 || length % 8 !== 0) {
        throw fail('OperationError', 'PBKDF2 length must be a positive multiple of 8');
      }
      if (alg.iterations === 0) throw fail('OperationError', 'PBKDF2 iterations must not be 0');
      const job =
          callNative(nativeCryptoPbkdf2New, alg.hash.name, handle, alg.salt, alg.iterations,
                     length / 8);
      for (;;) {
        const result = callNative(nativeCryptoPbkdf2Run, job, kPbkdf2Step);
        if (result !== undefined) return result;
      }
    }
  }
  throw fail('NotSupportedError', 'Unsupported algorithm');
}

// WebCrypto "get key length" for deriveKey's derived key type: bits, or null.
function keyLength(alg) {
  if (isAes(alg.name)) {
    if (![128, 192, 256].includes(alg.length)) {
      throw fail('OperationError', 'AES key length must be 128, 192 or 256 bits');
    }
    return alg.length;
  }
  if (alg.name === 'HMAC') {
    if (alg.length === undefined) return hashBlockBits[alg.hash.name];
    if (alg.length === 0) throw new TypeError('HMAC key length must not be zero');
    return alg.length;
  }
  return null;
}

function encryptOp(alg, key, data, encrypt) {
  const handle = keyInternals.handle(key);
  switch (alg.name) {
    case 'AES-CBC':
      if (alg.iv.length !== 16) throw fail('OperationError', 'AES-CBC iv must be 16 bytes');
      return callNative(nativeCryptoAes, 'AES-CBC', encrypt, handle, data, alg.iv, 0, undefined);
    case 'AES-CTR':
      if (alg.counter.length !== 16) {
        throw fail('OperationError', 'AES-CTR counter must be 16 bytes');
      }
      if (alg.length === 0 || alg.length > 128) {
        throw fail('OperationError', 'AES-CTR length must be 1 to 128 bits');
      }
      return callNative(nativeCryptoAes, 'AES-CTR', encrypt, handle, data, alg.counter, alg.length,
                        undefined);
    case 'AES-GCM': {
      const tagLength = alg.tagLength ?? 128;
      if (![32, 64, 96, 104, 112, 120, 128].includes(tagLength)) {
        throw fail('OperationError', 'AES-GCM tagLength is not valid');
      }
      if (!encrypt && data.length < tagLength / 8) {
        throw fail('OperationError', 'The ciphertext is shorter than the tag');
      }
      return callNative(nativeCryptoAes, 'AES-GCM', encrypt, handle, data, alg.iv, tagLength,
                        alg.additionalData);
    }
    case 'RSA-OAEP':
      if (keyInternals.type(key) !== (encrypt ? 'public' : 'private')) {
        throw fail('InvalidAccessError', `RSA-OAEP needs a ${encrypt ? 'public' : 'private'} key`);
      }
      return callNative(nativeCryptoRsaOaep, encrypt, handle, keyInternals.algorithm(key).hash.name,
                        alg.label, data);
  }
  throw fail('NotSupportedError', 'Unsupported algorithm');
}

function signOp(alg, key, data, signature) {
  const handle = keyInternals.handle(key);
  const verify = signature !== undefined;
  const type = keyInternals.type(key);
  if (alg.name === 'HMAC') {
    const mac = nativeCryptoHmac(keyInternals.algorithm(key).hash.name, handle, data);
    if (!verify) return mac;
    return signature.length === mac.byteLength &&
        nativeCryptoTimingSafeEqual(new Uint8Array(mac), signature);
  }
  if (type !== (verify ? 'public' : 'private')) {
    throw fail('InvalidAccessError', `${alg.name} needs a ${verify ? 'public' : 'private'} key`);
  }
  if (alg.name === 'Ed448' && alg.context !== undefined && alg.context.length > 0) {
    // OpenSSL 3.0 signs Ed448 with the empty context only.
    throw fail('NotSupportedError', 'Ed448 contexts are not supported');
  }
  const hash = alg.name === 'ECDSA' ? alg.hash.name :
      alg.name.startsWith('Ed')     ? '' :
                                      keyInternals.algorithm(key).hash.name;
  const param = alg.name === 'RSA-PSS' ? alg.saltLength : 0;
  if (verify) return callNative(nativeCryptoVerify, alg.name, handle, hash, signature, data, param);
  return callNative(nativeCryptoSign, alg.name, handle, hash, data, param);
}

function importKeyOp(format, keyData, alg, extractable, usages) {
  const impl = family[alg.name];
  if (impl === undefined || impl.import === undefined) {
    throw fail('NotSupportedError', `${alg.name} keys cannot be imported`);
  }
  const key = impl.import(format, keyData, alg, extractable, usages);
  if ((key.type === 'secret' || key.type === 'private') && keyInternals.usages(key).length === 0) {
    throw fail('SyntaxError', 'The key must have at least one usage');
  }
  return key;
}

function exportKeyOp(format, key) {
  const name = keyInternals.algorithm(key).name;
  const impl = family[name];
  if (impl === undefined || impl.export === undefined) {
    throw fail('NotSupportedError', `${name} keys cannot be exported`);
  }
  if (!keyInternals.extractable(key)) {
    throw fail('InvalidAccessError', 'The key is not extractable');
  }
  return impl.export(format, key);
}

// importKey's keyData conversion: a JsonWebKey for jwk, a copy of a BufferSource otherwise.
function toKeyData(format, keyData) {
  if (format === 'jwk') {
    if (bufferSourceBytes(keyData, true) !== undefined) {
      throw new TypeError('keyData must be a JsonWebKey for the jwk format.');
    }
    return toJwk(keyData);
  }
  const bytes = bufferSourceBytes(keyData, false);
  if (bytes === undefined) throw new TypeError('keyData must be a BufferSource.');
  return bytes;
}

function toCryptoKey(value, what) {
  if (!keyInternals.is(value)) throw new TypeError(`${what} is not of type 'CryptoKey'.`);
  return value;
}

function utf8(text) {
  return new TextEncoder().encode(text);
}

function parseJwkBytes(bytes) {
  let value;
  try {
    value = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw fail('DataError', 'The unwrapped key is not a JSON Web Key');
  }
  try {
    return toJwk(value);
  } catch {
    throw fail('DataError', 'The unwrapped key is not a JSON Web Key');
  }
}

// Runs `body` now and settles a promise with its result: SubtleCrypto's methods never throw.
function settle(body) {
  try {
    return Promise.resolve(body());
  } catch (e) {
    return Promise.reject(translate(e));
  }
}

// The steps encrypt, decrypt, sign and verify share: the key and data arguments, the algorithm
// normalized for `op`, and the key checked against both.
function prepare(algorithm, key, data, op) {
  toCryptoKey(key, 'key');
  const bytes = copyBytes(data, 'data');
  const alg = normalizeAlgorithm(algorithm, op);
  checkKey(key, alg, op);
  return [alg, bytes];
}

function cryptOp(self, given, op, algorithm, key, data) {
  checkThis(self);
  requiredArguments(given, 3, `Failed to execute '${op}' on 'SubtleCrypto'`);
  const [alg, bytes] = prepare(algorithm, key, data, op);
  return encryptOp(alg, key, bytes, op === 'encrypt');
}

function checkThis(self) {
  if (!(isObject(self) && self instanceof SubtleCrypto)) throw new TypeError('Illegal invocation');
}

export class SubtleCrypto {
  constructor(token = undefined) {
    if (token !== kInternal) throw new TypeError('Illegal constructor');
  }

  encrypt(algorithm, key, data) {
    return settle(() => cryptOp(this, arguments.length, 'encrypt', algorithm, key, data));
  }

  decrypt(algorithm, key, data) {
    return settle(() => cryptOp(this, arguments.length, 'decrypt', algorithm, key, data));
  }

  sign(algorithm, key, data) {
    return settle(() => {
      checkThis(this);
      requiredArguments(arguments.length, 3, `Failed to execute 'sign' on 'SubtleCrypto'`);
      const [alg, bytes] = prepare(algorithm, key, data, 'sign');
      return signOp(alg, key, bytes, undefined);
    });
  }

  verify(algorithm, key, signature, data) {
    return settle(() => {
      checkThis(this);
      requiredArguments(arguments.length, 4, `Failed to execute 'verify' on 'SubtleCrypto'`);
      toCryptoKey(key, 'key');
      const sig = copyBytes(signature, 'signature');
      const [alg, bytes] = prepare(algorithm, key, data, 'verify');
      return signOp(alg, key, bytes, sig);
    });
  }

  digest(algorithm, data) {
    return settle(() => {
      checkThis(this);
      requiredArguments(arguments.length, 2, `Failed to execute 'digest' on 'SubtleCrypto'`);
      const bytes = copyBytes(data, 'data');
      const alg = normalizeAlgorithm(algorithm, 'digest');
      return digestBytes(alg.name, bytes);
    });
  }

  generateKey(algorithm, extractable, keyUsages) {
    return settle(() => {
      checkThis(this);
      requiredArguments(arguments.length, 3, `Failed to execute 'generateKey' on 'SubtleCrypto'`);
      const usages = toUsages(keyUsages);
      const alg = normalizeAlgorithm(algorithm, 'generateKey');
      const result = family[alg.name].generate(alg, !!extractable, usages);
      if (keyInternals.is(result) && keyInternals.usages(result).length === 0) {
        throw fail('SyntaxError', 'The key must have at least one usage');
      }
      return result;
    });
  }

  deriveKey(algorithm, baseKey, derivedKeyType, extractable, keyUsages) {
    return settle(() => {
      checkThis(this);
      requiredArguments(arguments.length, 5, `Failed to execute 'deriveKey' on 'SubtleCrypto'`);
      toCryptoKey(baseKey, 'baseKey');
      const usages = toUsages(keyUsages);
      const alg = normalizeAlgorithm(algorithm, 'deriveBits');
      const importAlg = normalizeAlgorithm(derivedKeyType, 'importKey');
      const lengthAlg = normalizeAlgorithm(derivedKeyType, 'getKeyLength');
      checkKey(baseKey, alg, 'deriveKey');
      const length = keyLength(lengthAlg);
      const secret = deriveBitsOp(alg, baseKey, length);
      return importKeyOp('raw', new Uint8Array(secret), importAlg, !!extractable, usages);
    });
  }

  deriveBits(algorithm, baseKey, length = null) {
    return settle(() => {
      checkThis(this);
      requiredArguments(arguments.length, 2, `Failed to execute 'deriveBits' on 'SubtleCrypto'`);
      toCryptoKey(baseKey, 'baseKey');
      const bits = length === null || length === undefined ?
          null :
          toEnforceRange(length, 'length', 0xFFFFFFFF);
      const alg = normalizeAlgorithm(algorithm, 'deriveBits');
      checkKey(baseKey, alg, 'deriveBits');
      return deriveBitsOp(alg, baseKey, bits);
    });
  }

  importKey(format, keyData, algorithm, extractable, keyUsages) {
    return settle(() => {
      checkThis(this);
      requiredArguments(arguments.length, 5, `Failed to execute 'importKey' on 'SubtleCrypto'`);
      const fmt = toFormat(format);
      const data = toKeyData(fmt, keyData);
      const usages = toUsages(keyUsages);
      const alg = normalizeAlgorithm(algorithm, 'importKey');
      return importKeyOp(fmt, data, alg, !!extractable, usages);
    });
  }

  exportKey(format, key) {
    return settle(() => {
      checkThis(this);
      requiredArguments(arguments.length, 2, `Failed to execute 'exportKey' on 'SubtleCrypto'`);
      const fmt = toFormat(format);
      toCryptoKey(key, 'key');
      return exportKeyOp(fmt, key);
    });
  }

  wrapKey(format, key, wrappingKey, wrapAlgorithm) {
    return settle(() => {
      checkThis(this);
      requiredArguments(arguments.length, 4, `Failed to execute 'wrapKey' on 'SubtleCrypto'`);
      const fmt = toFormat(format);
      toCryptoKey(key, 'key');
      toCryptoKey(wrappingKey, 'wrappingKey');
      const [alg, op] = normalizeWrapping(wrapAlgorithm, 'wrapKey', 'encrypt');
      checkKey(wrappingKey, alg, 'wrapKey');
      const exported = exportKeyOp(fmt, key);
      const bytes = fmt === 'jwk' ? utf8(JSON.stringify(exported)) : new Uint8Array(exported);
      if (op === 'wrapKey') {
        return callNative(nativeCryptoAes, 'AES-KW', true, keyInternals.handle(wrappingKey), bytes,
                          undefined, 0, undefined);
      }
      return encryptOp(alg, wrappingKey, bytes, true);
    });
  }

  unwrapKey(format, wrappedKey, unwrappingKey, unwrapAlgorithm, unwrappedKeyAlgorithm,
            extractable, keyUsages) {
    return settle(() => {
      checkThis(this);
      requiredArguments(arguments.length, 7, `Failed to execute 'unwrapKey' on 'SubtleCrypto'`);
      const fmt = toFormat(format);
      const wrapped = copyBytes(wrappedKey, 'wrappedKey');
      toCryptoKey(unwrappingKey, 'unwrappingKey');
      const usages = toUsages(keyUsages);
      const [alg, op] = normalizeWrapping(unwrapAlgorithm, 'unwrapKey', 'decrypt');
      const importAlg = normalizeAlgorithm(unwrappedKeyAlgorithm, 'importKey');
      checkKey(unwrappingKey, alg, 'unwrapKey');
      const bytes = new Uint8Array(op === 'unwrapKey' ?
          callNative(nativeCryptoAes, 'AES-KW', false, keyInternals.handle(unwrappingKey),
                     wrapped, undefined, 0, undefined) :
          encryptOp(alg, unwrappingKey, wrapped, false));
      const data = fmt === 'jwk' ? parseJwkBytes(bytes) : bytes;
      return importKeyOp(fmt, data, importAlg, !!extractable, usages);
    });
  }

  // workerd's extension: constant-time comparison of two equal-length buffers.
  timingSafeEqual(a, b) {
    checkThis(this);
    requiredArguments(arguments.length, 2,
                      `Failed to execute 'timingSafeEqual' on 'SubtleCrypto'`);
    const x = bufferSourceBytes(a, false), y = bufferSourceBytes(b, false);
    if (x === undefined || y === undefined) {
      throw new TypeError('timingSafeEqual: both arguments must be ArrayBuffers or views.');
    }
    if (x.byteLength !== y.byteLength) {
      throw new RangeError('timingSafeEqual: the buffers must have the same byte length.');
    }
    return nativeCryptoTimingSafeEqual(x, y);
  }
}

export const subtle = new SubtleCrypto(kInternal);

// What DigestStream (digest_stream.js) shares with digest().
export const digestInternals = {
  normalize: (algorithm) => normalizeAlgorithm(algorithm, 'digest').name,
  begin: (name) => nativeCryptoDigestNew(name),
  update(handle, bytes) {
    for (let at = 0; at < bytes.length; at += kDigestStep) {
      nativeCryptoDigestUpdate(handle, bytes.subarray(at, at + kDigestStep));
    }
  },
  end: (handle) => nativeCryptoDigestFinal(handle),
};
