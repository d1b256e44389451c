// ECMAScript 2024 methods missing from V8 10.2 that whatwg-url, the streams implementation (and
// Workers scripts) use: String.prototype.isWellFormed and String.prototype.toWellFormed, and
// ArrayBuffer.prototype.transfer, transferToFixedLength and detached, with the attributes of
// built-in methods. Nothing else of ECMAScript is patched.

import {nativeTransferArrayBuffer} from './native.js';
import {isWellFormedString, named, toWellFormedString} from './webidl.js';

function thisString(value, method) {
  if (value === undefined || value === null) {
    throw new TypeError(`String.prototype.${method} called on null or undefined`);
  }
  return String(value);
}

const shims = {
  isWellFormed() {
    return isWellFormedString(thisString(this, 'isWellFormed'));
  },
  toWellFormed() {
    return toWellFormedString(thisString(this, 'toWellFormed'));
  },
};

for (const name of Object.keys(shims)) {
  if (typeof String.prototype[name] !== 'function') {
    Object.defineProperty(String.prototype, name, {
      value: named(shims[name], name),
      writable: true,
      enumerable: false,
      configurable: true,
    });
  }
}

const arrayBufferByteLength =
    Object.getOwnPropertyDescriptor(ArrayBuffer.prototype, 'byteLength').get;
const ArrayBufferCtor = ArrayBuffer;
const Uint8ArrayCtor = Uint8Array;

function thisArrayBuffer(value, method) {
  try {
    return arrayBufferByteLength.call(value);
  } catch {
    throw new TypeError(`ArrayBuffer.prototype.${method} called on an incompatible receiver`);
  }
}

// A zero-length buffer may be detached or not; only a detached one refuses a view.
function isDetached(buffer, byteLength) {
  if (byteLength !== 0) return false;
  try {
    new Uint8ArrayCtor(buffer);
    return false;
  } catch {
    return true;
  }
}

// ArrayBuffer.prototype.transfer(newLength) and transferToFixedLength (ES2024 §25.1.6.8-9). Every
// buffer of V8 10.2 has a fixed length, so the two are the same.
function transferBuffer(buffer, newLength, method) {
  const length = thisArrayBuffer(buffer, method);
  if (isDetached(buffer, length)) {
    throw new TypeError(`ArrayBuffer.prototype.${method}: the buffer is detached`);
  }
  let size = length;
  if (newLength !== undefined) {
    size = Math.trunc(Number(newLength)) || 0;
    if (size < 0 || size > Number.MAX_SAFE_INTEGER) {
      throw new RangeError(`ArrayBuffer.prototype.${method}: invalid length`);
    }
  }
  if (size === length) return nativeTransferArrayBuffer(buffer);
  const copy = new ArrayBufferCtor(size);
  new Uint8ArrayCtor(copy).set(new Uint8ArrayCtor(buffer, 0, Math.min(size, length)));
  nativeTransferArrayBuffer(buffer);  // detaches it
  return copy;
}

const bufferShims = {
  transfer(newLength = undefined) {
    return transferBuffer(this, newLength, 'transfer');
  },
  transferToFixedLength(newLength = undefined) {
    return transferBuffer(this, newLength, 'transferToFixedLength');
  },
};
for (const name of Object.keys(bufferShims)) {
  if (typeof ArrayBuffer.prototype[name] !== 'function') {
    Object.defineProperty(ArrayBuffer.prototype, name, {
      value: named(bufferShims[name], name),
      writable: true,
      enumerable: false,
      configurable: true,
    });
  }
}
if (Object.getOwnPropertyDescriptor(ArrayBuffer.prototype, 'detached') === undefined) {
  Object.defineProperty(ArrayBuffer.prototype, 'detached', {
    get: named(function() {
      return isDetached(this, thisArrayBuffer(this, 'detached'));
    }, 'get detached'),
    enumerable: false,
    configurable: true,
  });
}
