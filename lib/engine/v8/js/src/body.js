// The Body mixin's machinery (WHATWG Fetch §5.3), shared by Request and Response.
//
// Bodies are buffered: a body is null, a string (kept as given until someone needs its bytes, so
// `new Response("hi")` costs nothing) or a Uint8Array the body owns. `body` as a ReadableStream is
// not provided (no streams in this runtime yet); text(), json(), arrayBuffer(), bytes(), blob()
// and formData() are.
// A body can be consumed once; clones share the immutable buffer.

import {blobInternals} from './blob.js';
import {utf8Decode, utf8Encode} from './encoding.js';
import {formDataInternals, parseFormBody, parseMimeType, serializeMimeType,
        serializeMultipart} from './form_data.js';
import {bufferSourceBytes, toUSVString, toWellFormedString} from './webidl.js';
import {isURLSearchParams} from './url.js';

export const kTextPlain = 'text/plain;charset=UTF-8';
const kFormUrlEncoded = 'application/x-www-form-urlencoded;charset=UTF-8';

// Fetch "extract a body" for the body types of this runtime: returns [source, contentType].
// BodyInit is (ReadableStream or Blob or BufferSource or FormData or URLSearchParams or
// USVString); without streams here, any other object converts to a string. A FormData becomes
// multipart/form-data with a fresh boundary; a Blob's type (when not empty) is the content type.
export function extractBody(init) {
  if (typeof init === 'string') return [init, kTextPlain];
  if (typeof init === 'object' && init !== null) {
    const bytes = bufferSourceBytes(init, false);
    if (bytes !== undefined) return [bytes.slice(), null];
    if (isURLSearchParams(init)) return [init.toString(), kFormUrlEncoded];
    if (blobInternals.is(init)) {
      return [blobInternals.bytes(init).slice(), init.type === '' ? null : init.type];
    }
    if (formDataInternals.is(init)) return serializeMultipart(init);
  }
  return [toUSVString(init), kTextPlain];
}

function bodyUsedError(what) {
  return new TypeError(`Failed to execute '${what}': body stream already read`);
}

// Defines arrayBuffer(), blob(), bytes(), formData(), json() and text() on `cls.prototype` as a
// class would (methods, not constructors; defineInterface() then gives them Web IDL's
// attributes). `isUsed(object)` and `take(object)` read and take the object's body;
// `contentType(object)` is its Content-Type header value or null. They throw a TypeError for an
// object that is not a `cls` (their private-field access does), which the methods turn into a
// rejected promise, as Web IDL wants of promise-returning operations.
export function defineBodyMethods(cls, isUsed, take, contentType) {
  for (const kind of ['arrayBuffer', 'blob', 'bytes', 'formData', 'json', 'text']) {
    const method = {
      [kind]() {
        try {
          if (isUsed(this)) return Promise.reject(bodyUsedError(`${kind}' on '${cls.name}`));
          if (kind === 'blob' || kind === 'formData') {
            const type = contentType(this);
            const bytes = bodyBytes(take(this));
            return Promise.resolve(kind === 'blob' ? blobInternals.create(bytes, blobType(type)) :
                                                     parseFormBody(bytes, type));
          }
          return Promise.resolve(readBody(take(this), kind));
        } catch (e) {
          return Promise.reject(e);
        }
      },
    }[kind];
    Object.defineProperty(
        cls.prototype, kind, {value: method, writable: true, enumerable: false, configurable: true});
  }
}

// Fetch "get the MIME type", serialized, or '' when there is none.
function blobType(contentType) {
  const mime = contentType === null ? null : parseMimeType(contentType);
  return mime === null ? '' : serializeMimeType(mime);
}

// The value of one of the body-reading methods, from a body's source.
function readBody(source, kind) {
  switch (kind) {
    case 'text':
      return bodyText(source);
    case 'json':
      return JSON.parse(bodyText(source));
    case 'arrayBuffer': {
      const bytes = bodyBytes(source);
      return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ?
          bytes.buffer :
          bytes.slice().buffer;
    }
    case 'bytes':
      return bodyBytes(source);
  }
  throw new TypeError(`${kind}() is not supported by this runtime`);
}

function bodyText(source) {
  if (source === null) return '';
  if (typeof source === 'string') return toWellFormedString(source);
  return utf8Decode(source);
}

// A fresh Uint8Array the caller owns.
function bodyBytes(source) {
  if (source === null) return new Uint8Array(0);
  if (typeof source === 'string') return utf8Encode(source);
  return source.slice();
}
