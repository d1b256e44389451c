// Fetch's data: URL processor (Fetch §4.2 "data: URL processor"): what fetch() answers for a
// data: URL, without any network: {mimeType (serialized), body (Uint8Array)} or null for failure.

import {atob} from './base64.js';
import {parseMimeType, serializeMimeType} from './form_data.js';

const asciiWhitespaceEdges = /^[\t\n\f\r ]+|[\t\n\f\r ]+$/g;
const base64Suffix = /; *base64$/i;
const hexDigit = /^[0-9A-Fa-f]{2}$/;

// `url` is a serialized URL (ASCII: the URL parser percent-encoded the rest).
export function processDataURL(url) {
  const hash = url.indexOf('#');
  const input = (hash < 0 ? url : url.slice(0, hash)).slice('data:'.length);
  const comma = input.indexOf(',');
  if (comma < 0) return null;
  let mimeType = input.slice(0, comma).replace(asciiWhitespaceEdges, '');
  let body = percentDecode(input.slice(comma + 1));
  if (base64Suffix.test(mimeType)) {
    mimeType = mimeType.replace(base64Suffix, '');
    let binary;
    try {
      binary = atob(String.fromCharCode.apply(null, body));
    } catch {
      return null;
    }
    body = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) body[i] = binary.charCodeAt(i);
  }
  if (mimeType.startsWith(';')) mimeType = `text/plain${mimeType}`;
  const record = parseMimeType(mimeType);
  return {
    mimeType: record === null ? 'text/plain;charset=US-ASCII' : serializeMimeType(record),
    body,
  };
}

// URL "percent-decode" of an ASCII string, to bytes.
function percentDecode(s) {
  const out = new Uint8Array(s.length);
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25 && hexDigit.test(s.slice(i + 1, i + 3))) {
      out[n++] = parseInt(s.slice(i + 1, i + 3), 16);
      i += 2;
    } else {
      out[n++] = c & 0xFF;
    }
  }
  return out.subarray(0, n);
}
