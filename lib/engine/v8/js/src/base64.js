// atob and btoa (HTML §8.3): forgiving-base64 decode and base64 encode of binary strings, with
// InvalidCharacterError DOMExceptions as the standard prescribes.

import {DOMException} from './dom_exception.js';
import {requiredArguments, toDOMString} from './webidl.js';

const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const decodeTable = new Int16Array(256).fill(-1);
for (let i = 0; i < alphabet.length; i++) decodeTable[alphabet.charCodeAt(i)] = i;

const asciiWhitespace = /[\t\n\f\r ]/g;
const chunk = 8192;

function invalidCharacter(message) {
  return new DOMException(message, 'InvalidCharacterError');
}

function fromCodes(codes, length) {
  if (length <= chunk) return String.fromCharCode.apply(null, codes.subarray(0, length));
  let out = '';
  for (let i = 0; i < length; i += chunk) {
    out += String.fromCharCode.apply(null, codes.subarray(i, Math.min(i + chunk, length)));
  }
  return out;
}

export function atob(data) {
  requiredArguments(arguments.length, 1, `Failed to execute 'atob'`);
  let s = toDOMString(data);
  s = s.replace(asciiWhitespace, '');
  if (s.length % 4 === 0) {
    if (s.endsWith('==')) s = s.slice(0, -2);
    else if (s.endsWith('=')) s = s.slice(0, -1);
  }
  if (s.length % 4 === 1) {
    throw invalidCharacter('The string to be decoded is not correctly encoded.');
  }
  const n = s.length;
  const out = new Uint8Array(Math.floor(n * 3 / 4));
  let buffer = 0, bits = 0, o = 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    const v = c < 256 ? decodeTable[c] : -1;
    if (v < 0) throw invalidCharacter('The string to be decoded is not correctly encoded.');
    buffer = (buffer << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (buffer >> bits) & 0xFF;
    }
  }
  return fromCodes(out, o);
}

export function btoa(data) {
  requiredArguments(arguments.length, 1, `Failed to execute 'btoa'`);
  const s = toDOMString(data);
  const n = s.length;
  const out = new Uint8Array(Math.ceil(n / 3) * 4);
  let o = 0;
  let i = 0;
  const byteAt = (k) => {
    const c = s.charCodeAt(k);
    if (c > 0xFF) {
      throw invalidCharacter(
          'The string to be encoded contains characters outside of the Latin1 range.');
    }
    return c;
  };
  for (; i + 2 < n; i += 3) {
    const x = (byteAt(i) << 16) | (byteAt(i + 1) << 8) | byteAt(i + 2);
    out[o++] = alphabet.charCodeAt(x >> 18);
    out[o++] = alphabet.charCodeAt((x >> 12) & 63);
    out[o++] = alphabet.charCodeAt((x >> 6) & 63);
    out[o++] = alphabet.charCodeAt(x & 63);
  }
  if (n - i === 1) {
    const x = byteAt(i) << 16;
    out[o++] = alphabet.charCodeAt(x >> 18);
    out[o++] = alphabet.charCodeAt((x >> 12) & 63);
    out[o++] = 61;
    out[o++] = 61;
  } else if (n - i === 2) {
    const x = (byteAt(i) << 16) | (byteAt(i + 1) << 8);
    out[o++] = alphabet.charCodeAt(x >> 18);
    out[o++] = alphabet.charCodeAt((x >> 12) & 63);
    out[o++] = alphabet.charCodeAt((x >> 6) & 63);
    out[o++] = 61;
  }
  return fromCodes(out, o);
}
