// The Body mixin's machinery (WHATWG Fetch §5.3), shared by Request and Response.
//
// A body's source is null, a string (kept as given until someone needs its bytes, so
// `new Response("hi")` costs nothing), a Uint8Array the body owns, or a ReadableStream. Buffered
// sources stay buffered until a script reads `body`: only then is a stream made of them (and it
// replaces the source). text(), json(), arrayBuffer() and bytes() read a buffered source directly
// and a stream to its end; blob() and formData() likewise, then make a Blob or parse the form
// the Content-Type names. A body can be consumed once; clones share an immutable buffer, or tee
// the stream.

import {blobInternals, concatBytes} from './blob.js';
import {utf8Decode, utf8Encode} from './encoding.js';
import {formDataInternals, parseFormBody, parseMimeType, serializeMimeType,
        serializeMultipart} from './form_data.js';
import {streams} from './lazy.js';
import {nativeReadBody} from './native.js';
import {structuredClone} from './structured_clone.js';
import {bufferSourceBytes, toUSVString, toWellFormedString} from './webidl.js';
import {isURLSearchParams} from './url.js';

const isView = ArrayBuffer.isView;

// The source of a request body the host is still receiving, until something needs it as a stream
// (request.js): the body-reading methods read it through the host's readBody native instead.
export const kArrivingBody = Object.freeze({__proto__: null});

// Reads a body still arriving to its end: a fresh Uint8Array; throws the native's TypeError when it
// cannot be read (client gone, malformed framing, over the body limit).
function readArrivingBody() {
  const chunks = [];
  for (let piece = nativeReadBody(65536); piece !== null; piece = nativeReadBody(65536)) {
    chunks.push(piece);
  }
  return chunks.length === 1 ? chunks[0] : concatBytes(chunks);
}

// Whether a source (as this module makes them) is a stream: the other kinds are null, strings and
// Uint8Arrays.
export function isStreamSource(source) {
  return typeof source === 'object' && source !== null && !isView(source) &&
      source !== kArrivingBody;
}

// Whether a body with this source and used flag counts as used (Fetch: its stream is disturbed).
export function sourceUsed(source, usedFlag) {
  return usedFlag || (isStreamSource(source) && streams().isStreamDisturbed(source));
}

// Fetch "unusable": used, or a stream that a reader has locked.
export function sourceUnusable(source, usedFlag) {
  return sourceUsed(source, usedFlag) ||
      (isStreamSource(source) && streams().isStreamLocked(source));
}

// The stream a `body` getter returns for a non-null source (which it then keeps as the source).
export function sourceStream(source, usedFlag) {
  if (isStreamSource(source)) return source;
  const {getReader, streamOfBytes} = streams();
  const stream = streamOfBytes(usedFlag ? new Uint8Array(0) : bodyBytes(source));
  if (usedFlag) {
    // Consumed before: a disturbed stream, still locked by the reader that read it, as the
    // standard's body is after it was fully read.
    getReader.call(stream).read();
  }
  return stream;
}

// Fetch "create a proxy" of a body that moves to a new Request: a stream is piped through an
// identity TransformStream (which disturbs the original); a buffered source is immutable and shared.
export function proxySource(source) {
  if (!isStreamSource(source)) return source;
  const {pipeThrough, TransformStream} = streams();
  return pipeThrough.call(source, new TransformStream());
}

// Clone's half of a body: [source for the original, source for the clone]. A stream is teed, and
// the clone's branch carries copies of the chunks (Fetch tees with cloneForBranch2), so that
// neither side sees the other change a chunk.
export function cloneSource(source) {
  if (!isStreamSource(source)) return [source, source];
  const {pipeThrough, tee, TransformStream} = streams();
  const [original, clone] = tee.call(source);
  const copies = new TransformStream({
    transform(chunk, controller) {
      controller.enqueue(structuredClone(chunk));
    },
  });
  return [original, pipeThrough.call(clone, copies)];
}

export const kTextPlain = 'text/plain;charset=UTF-8';
const kFormUrlEncoded = 'application/x-www-form-urlencoded;charset=UTF-8';

// Fetch "extract a body" for the body types of this runtime: returns [source, contentType].
// BodyInit is (ReadableStream or Blob or BufferSource or FormData or URLSearchParams or
// USVString); any other object converts to a string. A FormData becomes multipart/form-data with a
// fresh boundary; a Blob's type (when not empty) is the content type.
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
    // No stream can exist before streams.js is evaluated.
    if (streams.loaded() && streams().isReadableStream(init)) {
      const {isStreamDisturbed, isStreamLocked} = streams();
      if (isStreamLocked(init) || isStreamDisturbed(init)) {
        throw new TypeError('The body stream is locked or has been read from');
      }
      return [init, null];
    }
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
          const type = kind === 'blob' || kind === 'formData' ? contentType(this) : null;
          const source = take(this);
          if (source === kArrivingBody) {
            return Promise.resolve().then(() => readBody(readArrivingBody(), kind, type));
          }
          if (isStreamSource(source)) {
            const {isStreamLocked, readAllBytes} = streams();
            if (isStreamLocked(source)) {
              return Promise.reject(new TypeError(
                  `Failed to execute '${kind}' on '${cls.name}': body stream is locked`));
            }
            return readAllBytes(source).then(({bytes}) => readBody(bytes, kind, type));
          }
          return Promise.resolve(readBody(source, kind, type));
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

// The value of one of the body-reading methods, from a buffered source (and, for blob() and
// formData(), the Content-Type).
function readBody(source, kind, contentType) {
  switch (kind) {
    case 'blob':
      return blobInternals.create(bodyBytes(source), blobType(contentType));
    case 'formData':
      return parseFormBody(bodyBytes(source), contentType);
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

// A fresh Uint8Array the caller owns, from a buffered source.
export function bodyBytes(source) {
  if (source === null) return new Uint8Array(0);
  if (typeof source === 'string') return utf8Encode(source);
  return source.slice();
}
