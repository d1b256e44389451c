// TextEncoder and TextDecoder (WHATWG Encoding).
//
// UTF-8, the encoding nearly every caller uses, is native (V8's own UTF-8 code); this file keeps
// the standard's state machine around it: label lookup, BOM handling and streaming decode, where
// the bytes of a code point split across chunks are held back until the next call. Every other
// encoding of the standard (UTF-16, the single-byte and the legacy multi-byte ones) is decoded by
// the npm package @exodus/bytes, which implements the standard's decoders and index tables; its
// multi-byte tables are read on first use (tools/build.mjs keeps them off the heap until then).

import {
  normalizeEncoding,
  TextDecoder as StandardTextDecoder,
} from '@exodus/bytes/encoding.js';

import {nativeUtf8Decode, nativeUtf8Encode, nativeUtf8EncodeInto} from './native.js';
import {bufferSourceBytes, toDictionary, toDOMString, toUSVString, typedArrayKind} from './webidl.js';

export function utf8Encode(string) {
  return nativeUtf8Encode(string);
}

// UTF-8 decode (BOM stripped, errors replaced) of a whole byte sequence.
export function utf8Decode(bytes) {
  return nativeUtf8Decode(bytes, false, false);
}

// V8 keeps typed arrays up to this many bytes on its heap (--typed-array-max-size-in-heap).
const kOnHeapBytes = 64;

export class TextEncoder {
  constructor() {}

  get encoding() {
    return 'utf-8';
  }

  // Lone surrogates become U+FFFD (USVString conversion) in the native encoder's own pass. A
  // short ASCII string is copied here instead: a Uint8Array of at most 64 bytes lives on V8's heap
  // (no backing store to allocate, register and free, as the native ArrayBuffer needs), which is
  // what a streamed response's chunk of a line or two usually is.
  encode(input = '') {
    const s = toDOMString(input);
    const n = s.length;
    if (n > kOnHeapBytes) return nativeUtf8Encode(s);
    const bytes = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) return nativeUtf8Encode(s);
      bytes[i] = c;
    }
    return bytes;
  }

  encodeInto(source, destination) {
    if (arguments.length < 2) {
      throw new TypeError(`Failed to execute 'encodeInto' on 'TextEncoder': 2 arguments required.`);
    }
    const s = toUSVString(source);
    if (typedArrayKind(destination) !== 'Uint8Array') {
      throw new TypeError(
          `Failed to execute 'encodeInto' on 'TextEncoder': parameter 2 is not of type 'Uint8Array'.`);
    }
    const [read, written] = nativeUtf8EncodeInto(s, destination);
    return {read, written};
  }
}

// The labels of UTF-8 in the Encoding standard's table.
const utf8Labels = new Set(
    ['unicode-1-1-utf-8', 'unicode11utf8', 'unicode20utf8', 'utf-8', 'utf8', 'x-unicode20utf8']);
const asciiWhitespace = /^[\t\n\f\r ]+|[\t\n\f\r ]+$/g;

// How many bytes at the end of `bytes` form the valid beginning of an unfinished UTF-8 sequence
// (0 to 3). Those bytes wait for the next chunk; anything else is decoded now, so errors surface in
// the chunk where the standard's decoder would report them.
function incompleteTailLength(bytes) {
  const n = bytes.length;
  for (let back = 1; back <= 3 && back <= n; back++) {
    const b = bytes[n - back];
    if ((b & 0xC0) === 0x80) continue;  // continuation byte: keep looking for the lead
    let need;
    if (b >= 0xC2 && b <= 0xDF) need = 2;
    else if (b >= 0xE0 && b <= 0xEF) need = 3;
    else if (b >= 0xF0 && b <= 0xF4) need = 4;
    else return 0;
    if (back >= need) return 0;  // the sequence is complete
    if (back >= 2) {
      // The second byte's range depends on the lead byte (no overlongs, surrogates or > U+10FFFF).
      const second = bytes[n - back + 1];
      let lo = 0x80, hi = 0xBF;
      if (b === 0xE0) lo = 0xA0;
      else if (b === 0xED) hi = 0x9F;
      else if (b === 0xF0) lo = 0x90;
      else if (b === 0xF4) hi = 0x8F;
      if (second < lo || second > hi) return 0;
    }
    return back;
  }
  return 0;
}

export class TextDecoder {
  #encoding = 'utf-8';
  #fatal;
  #ignoreBOM;
  // The package's decoder for an encoding other than UTF-8 (made on first decode), else null.
  #other = null;
  // Streaming state: bytes of an unfinished sequence, and whether the stream's start (where a BOM
  // may be) has been decoded already.
  #pending = null;
  #started = false;

  constructor(label = 'utf-8', options = undefined) {
    const text = toDOMString(label);
    const normalized = text.replace(asciiWhitespace, '').toLowerCase();
    if (!utf8Labels.has(normalized)) {
      // The standard's label table; 'replacement' is a name no label may select for decoding.
      const encoding = /^[\x21-\x7e]+$/.test(normalized) ? normalizeEncoding(normalized) : null;
      if (encoding === null || encoding === 'replacement') {
        throw new RangeError(`Failed to construct 'TextDecoder': The encoding label provided` +
                             ` ('${text}') is invalid.`);
      }
      this.#encoding = encoding;
    }
    const dict = toDictionary(options, 'TextDecoder options');
    this.#fatal = dict !== undefined && !!dict.fatal;
    this.#ignoreBOM = dict !== undefined && !!dict.ignoreBOM;
  }

  get encoding() {
    return this.#encoding;
  }
  get fatal() {
    return this.#fatal;
  }
  get ignoreBOM() {
    return this.#ignoreBOM;
  }

  decode(input = undefined, options = undefined) {
    let bytes;
    if (input === undefined) {
      bytes = new Uint8Array(0);
    } else {
      bytes = bufferSourceBytes(input, true);
      if (bytes === undefined) {
        throw new TypeError(
            `Failed to execute 'decode' on 'TextDecoder': The provided value is not of type` +
            ` '(ArrayBuffer or ArrayBufferView)'.`);
      }
    }
    const dict = toDictionary(options, 'TextDecodeOptions');
    const stream = dict !== undefined && !!dict.stream;
    if (this.#encoding !== 'utf-8') return this.#decodeOther(bytes, stream);

    // Fast path: a whole message in one call.
    if (!stream && this.#pending === null && !this.#started) {
      return nativeUtf8Decode(bytes, this.#fatal, this.#ignoreBOM);
    }

    if (this.#pending !== null) {
      const joined = new Uint8Array(this.#pending.length + bytes.length);
      joined.set(this.#pending, 0);
      joined.set(bytes, this.#pending.length);
      bytes = joined;
      this.#pending = null;
    } else if (stream) {
      // The caller may change its buffer before the next call: work on a copy of what is kept.
      bytes = bytes.slice();
    }
    let complete = bytes;
    if (stream) {
      const keep = incompleteTailLength(bytes);
      if (keep > 0) {
        this.#pending = bytes.slice(bytes.length - keep);
        complete = bytes.subarray(0, bytes.length - keep);
      }
    }
    // A BOM is only stripped at the very start of the stream.
    const ignoreBOM = this.#ignoreBOM || this.#started;
    let out;
    try {
      out = nativeUtf8Decode(complete, this.#fatal, ignoreBOM);
    } catch (e) {
      this.#pending = null;
      this.#started = false;
      throw e;
    }
    if (stream) {
      // The start is decided once any bytes were decoded (a lone partial BOM stays pending).
      if (complete.length > 0) this.#started = true;
    } else {
      this.#started = false;
      this.#pending = null;
    }
    return out;
  }

  #decodeOther(bytes, stream) {
    if (this.#other === null) {
      this.#other = new StandardTextDecoder(this.#encoding,
                                            {fatal: this.#fatal, ignoreBOM: this.#ignoreBOM});
    }
    try {
      return this.#other.decode(bytes, {stream});
    } catch (e) {
      // A fatal decoder's error; the package keeps its own state as the standard says.
      if (e instanceof TypeError) {
        throw new TypeError(`Failed to execute 'decode' on 'TextDecoder': The encoded data was` +
                            ` not valid for encoding ${this.#encoding}.`);
      }
      throw e;
    }
  }
}
