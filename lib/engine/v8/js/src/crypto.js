// crypto (WebCrypto §10): getRandomValues and randomUUID from the host's CSPRNG, `subtle`
// (subtle_crypto.js, evaluated on first use: lazy.js) and workerd's DigestStream
// (digest_stream.js).

import {DigestStream} from './digest_stream.js';
import {DOMException} from './dom_exception.js';
import {nativeRandomFill} from './native.js';
import {subtleCrypto} from './lazy.js';
import {requiredArguments, typedArrayKind} from './webidl.js';

const integerArrays = new Set([
  'Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array', 'Int32Array',
  'Uint32Array', 'BigInt64Array', 'BigUint64Array',
]);
const kMaxBytes = 65536;
const hex = Array.from({length: 256}, (_, i) => i.toString(16).padStart(2, '0'));

const kInternal = {};

export class Crypto {
  constructor(token = undefined) {
    if (token !== kInternal) throw new TypeError('Illegal constructor');
  }

  getRandomValues(array) {
    requiredArguments(arguments.length, 1, `Failed to execute 'getRandomValues' on 'Crypto'`);
    if (!(this instanceof Crypto)) throw new TypeError('Illegal invocation');
    // A DataView is an ArrayBufferView (so not a TypeError) but not an integer array.
    const kind = ArrayBuffer.isView(array) ? typedArrayKind(array) ?? 'DataView' : undefined;
    if (kind === undefined) {
      throw new TypeError(`Failed to execute 'getRandomValues' on 'Crypto': parameter 1 is not of` +
                          ` type 'ArrayBufferView'.`);
    }
    if (!integerArrays.has(kind)) {
      throw new DOMException(
          `Failed to execute 'getRandomValues' on 'Crypto': The provided ArrayBufferView is of` +
              ` type '${kind}', which is not an integer array type.`,
          'TypeMismatchError');
    }
    if (array.byteLength > kMaxBytes) {
      throw new DOMException(
          `Failed to execute 'getRandomValues' on 'Crypto': The ArrayBufferView's byte length` +
              ` (${array.byteLength}) exceeds the number of bytes of entropy available via this` +
              ` API (${kMaxBytes}).`,
          'QuotaExceededError');
    }
    if (array.byteLength > 0) {
      nativeRandomFill(kind === 'Uint8Array' && array.byteOffset === 0 ?
                           array :
                           new Uint8Array(array.buffer, array.byteOffset, array.byteLength));
    }
    return array;
  }

  get subtle() {
    if (!(this instanceof Crypto)) throw new TypeError('Illegal invocation');
    return subtleCrypto().subtle;
  }

  randomUUID() {
    if (!(this instanceof Crypto)) throw new TypeError('Illegal invocation');
    const b = new Uint8Array(16);
    nativeRandomFill(b);
    b[6] = (b[6] & 0x0f) | 0x40;  // version 4
    b[8] = (b[8] & 0x3f) | 0x80;  // variant 10
    return `${hex[b[0]]}${hex[b[1]]}${hex[b[2]]}${hex[b[3]]}-${hex[b[4]]}${hex[b[5]]}-` +
        `${hex[b[6]]}${hex[b[7]]}-${hex[b[8]]}${hex[b[9]]}-` +
        `${hex[b[10]]}${hex[b[11]]}${hex[b[12]]}${hex[b[13]]}${hex[b[14]]}${hex[b[15]]}`;
  }
}

// workerd exposes DigestStream on the crypto object only.
Object.defineProperty(Crypto.prototype, 'DigestStream',
                      {value: DigestStream, writable: true, enumerable: false, configurable: true});

export const crypto = new Crypto(kInternal);
