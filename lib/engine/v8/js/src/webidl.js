// Small pieces of Web IDL: argument conversions and the shape of interface objects.
//
// Only what the runtime's interfaces need. Conversions follow the Web IDL standard (ToString for
// DOMString, surrogate repair for USVString, the byte check for ByteString), and install() gives
// classes the property attributes Web IDL prescribes, so that scripts see the same shapes they
// would see in a browser or in Workers.

export function requiredArguments(given, required, where) {
  if (given < required) {
    throw new TypeError(
        `${where}: ${required} argument${required === 1 ? '' : 's'} required, but only ${given} present.`);
  }
}

export function toDOMString(value) {
  if (typeof value === 'string') return value;
  if (typeof value === 'symbol') throw new TypeError('Cannot convert a Symbol value to a string');
  return String(value);
}

// Lone surrogates are replaced by U+FFFD. Spelled out for V8 10.2, which predates
// String.prototype.toWellFormed (installed by es_shims.js for scripts; the runtime keeps its own).
const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const anySurrogate = /[\uD800-\uDFFF]/;
export function toWellFormedString(s) {
  if (!anySurrogate.test(s)) return s;
  return s.replace(loneSurrogate, '\uFFFD');
}
export function isWellFormedString(s) {
  if (!anySurrogate.test(s)) return true;
  loneSurrogate.lastIndex = 0;
  const found = loneSurrogate.test(s);
  loneSurrogate.lastIndex = 0;
  return !found;
}

export function toUSVString(value) {
  return toWellFormedString(toDOMString(value));
}

const nonByte = /[^\x00-\xFF]/;
export function toByteString(value, what) {
  const s = toDOMString(value);
  if (nonByte.test(s)) {
    throw new TypeError(`${what} is not a valid ByteString: it contains a character above U+00FF.`);
  }
  return s;
}

export function isObject(value) {
  return (typeof value === 'object' && value !== null) || typeof value === 'function';
}

// Dictionary member access: undefined or null dictionaries are empty, other non-objects are errors.
export function toDictionary(value, what) {
  if (value === undefined || value === null) return undefined;
  if (!isObject(value)) throw new TypeError(`${what} must be an object.`);
  return value;
}

export function toBoolean(value) {
  return !!value;
}

// [EnforceRange] unsigned short.
export function toUnsignedShortEnforceRange(value, what) {
  const x = Number(value);
  if (!Number.isFinite(x)) throw new TypeError(`${what} is not a finite number.`);
  const t = Math.trunc(x);
  if (t < 0 || t > 0xFFFF) throw new TypeError(`${what} is outside the range of an unsigned short.`);
  return t;
}

const typedArrayTag = Object.getOwnPropertyDescriptor(
    Object.getPrototypeOf(Uint8Array.prototype), Symbol.toStringTag).get;
export function typedArrayKind(value) {
  return typedArrayTag.call(value);  // undefined for anything but a TypedArray
}

const arrayBufferByteLength =
    Object.getOwnPropertyDescriptor(ArrayBuffer.prototype, 'byteLength').get;
export function isArrayBuffer(value) {
  try {
    arrayBufferByteLength.call(value);
    return true;
  } catch {
    return false;
  }
}
// Looked up on first use, not while the runtime initialises: the snapshot's context has only a
// stand-in SharedArrayBuffer, and the real one is added to contexts made from the snapshot.
let sharedArrayBufferByteLength = null;
export function isSharedArrayBuffer(value) {
  if (sharedArrayBufferByteLength === null) {
    const SAB = globalThis.SharedArrayBuffer;
    if (typeof SAB !== 'function') return false;
    sharedArrayBufferByteLength = Object.getOwnPropertyDescriptor(SAB.prototype, 'byteLength').get;
  }
  try {
    sharedArrayBufferByteLength.call(value);
    return true;
  } catch {
    return false;
  }
}

// BufferSource (with [AllowShared] when allowShared) to a Uint8Array view of the same bytes, or
// undefined when value is not a buffer source.
export function bufferSourceBytes(value, allowShared) {
  if (ArrayBuffer.isView(value)) {
    if (!allowShared && isSharedArrayBuffer(value.buffer)) return undefined;
    return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  }
  if (isArrayBuffer(value) || (allowShared && isSharedArrayBuffer(value))) {
    return new Uint8Array(value);
  }
  return undefined;
}

// Gives a class the property attributes of a Web IDL interface: operations and attributes on the
// prototype are enumerable, the prototype carries @@toStringTag, and the interface object is
// installed on the global as writable, configurable and not enumerable.
export function defineInterface(global, cls, name = cls.name, {expose = true} = {}) {
  for (const target of [cls.prototype, cls]) {
    for (const key of Reflect.ownKeys(target)) {
      if (key === 'constructor' || key === 'prototype' || key === 'length' || key === 'name') {
        continue;
      }
      const desc = Object.getOwnPropertyDescriptor(target, key);
      if (typeof key === 'string' && desc.configurable) {
        desc.enumerable = true;
        Object.defineProperty(target, key, desc);
      }
    }
  }
  Object.defineProperty(cls.prototype, Symbol.toStringTag,
                        {value: name, writable: false, enumerable: false, configurable: true});
  if (expose) {
    Object.defineProperty(global, name,
                          {value: cls, writable: true, enumerable: false, configurable: true});
  }
}

// A global operation (atob, btoa, ...): writable, enumerable, configurable.
export function defineGlobalFunction(global, name, fn) {
  Object.defineProperty(global, name,
                        {value: fn, writable: true, enumerable: true, configurable: true});
}

// Renames a function (for stack traces and inspection) without changing anything else.
export function named(fn, name) {
  Object.defineProperty(fn, 'name', {value: name, configurable: true});
  return fn;
}
