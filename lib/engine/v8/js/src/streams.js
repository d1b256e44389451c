// WHATWG Streams: the npm package web-streams-polyfill (built from the Streams standard's
// reference implementation) bundled in, plus TextEncoderStream and TextDecoderStream (WHATWG
// Encoding §5) on top of TransformStream, and the helpers Request and Response use for bodies.
// Evaluated on first use (lazy.js's streams(), the only importer): a request whose body is a
// string or bytes never makes a stream unless a script reads `body`.
//
// The package takes DOMException from the global object when it loads (ours is put there for the
// duration, whatever a script did to the global), uses ArrayBuffer.prototype.transfer
// (es_shims.js) to hand byte-stream chunks over, and accepts as a pipe's `signal` anything with a
// boolean `aborted` and addEventListener.

import {DOMException} from './dom_exception.js';
import {TextDecoder, utf8Encode} from './encoding.js';
import {withGlobals} from './lazy.js';
import {bufferSourceBytes, toDOMString} from './webidl.js';

const polyfill =
    withGlobals([['DOMException', DOMException]], () => require('web-streams-polyfill'));
export const {
  ByteLengthQueuingStrategy,
  CountQueuingStrategy,
  ReadableByteStreamController,
  ReadableStream,
  ReadableStreamBYOBReader,
  ReadableStreamBYOBRequest,
  ReadableStreamDefaultController,
  ReadableStreamDefaultReader,
  TransformStream,
  TransformStreamDefaultController,
  WritableStream,
  WritableStreamDefaultController,
  WritableStreamDefaultWriter,
} = polyfill;

// The stream async iterators' prototype must inherit from %AsyncIteratorPrototype% (Web IDL); the
// package's build makes it a plain object.
{
  const iteratorProto =
      Object.getPrototypeOf(ReadableStream.prototype.values.call(new ReadableStream()));
  const asyncIteratorProto =
      Object.getPrototypeOf(Object.getPrototypeOf(async function* () {}).prototype);
  if (Object.getPrototypeOf(iteratorProto) !== asyncIteratorProto) {
    Object.setPrototypeOf(iteratorProto, asyncIteratorProto);
  }
}

// Captured when the classes are made, before any script can reach them to replace their methods.
export const getReader = ReadableStream.prototype.getReader;
export const tee = ReadableStream.prototype.tee;
export const pipeThrough = ReadableStream.prototype.pipeThrough;
const readerRead = ReadableStreamDefaultReader.prototype.read;
const promiseThen = Promise.prototype.then;
const readerRelease = ReadableStreamDefaultReader.prototype.releaseLock;
const readerCancel = ReadableStreamDefaultReader.prototype.cancel;
const lockedGetter = Object.getOwnPropertyDescriptor(ReadableStream.prototype, 'locked').get;
const resolvedPromise = Promise.resolve();

export function isReadableStream(value) {
  if (typeof value !== 'object' || value === null) return false;
  try {
    lockedGetter.call(value);
    return true;
  } catch {
    return false;
  }
}

export function isStreamLocked(stream) {
  return lockedGetter.call(stream);
}

// Whether the stream has been read from or cancelled (Fetch's "disturbed"). The reference
// implementation keeps it in the `_disturbed` slot.
export function isStreamDisturbed(stream) {
  return stream._disturbed === true;
}

// A ReadableStream of one chunk (a body's buffered bytes), made only when a script asks for
// `body`. A byte stream, so that BYOB readers work on bodies as they do in browsers.
export function streamOfBytes(bytes) {
  return new ReadableStream({
    type: 'bytes',
    start(controller) {
      if (bytes.byteLength > 0) controller.enqueue(bytes);
      controller.close();
    },
  });
}

// A ReadableStream of a request body still arriving from the client: each pull takes what has
// come (`read(max)` -> Uint8Array, or null at the end; it waits for the client and throws a
// TypeError when the body cannot be read, which errors the stream). Nothing is read before the
// script asks, so a handler that reads slowly holds the client back (TCP backpressure) instead of
// the host buffering for it. A byte stream, like streamOfBytes.
export function streamOfArrivingBytes(read) {
  return new ReadableStream({
    type: 'bytes',
    pull(controller) {
      const piece = read(65536);
      if (piece === null) {
        controller.close();
        // A BYOB read waiting on the closed stream resolves done once given back empty.
        const byob = controller.byobRequest;
        if (byob) byob.respond(0);
        return;
      }
      controller.enqueue(piece);
    },
  });
}

// The Streams standard's "read request" (chunk, close and error steps) is how Fetch reads a body
// ("fully read"): unlike reader.read(), whose promise resolves with a {value, done} object, no
// script can step in between (a `then` on Object.prototype would see every such result). The
// package keeps it internal; its readers and controllers still carry the reference
// implementation's slots, and the controllers' pull steps are a symbol-keyed method, found here
// once by its description.
const kPullSteps = (() => {
  const symbol = Object.getOwnPropertySymbols(ReadableStreamDefaultController.prototype)
                     .find((s) => s.description === '[[PullSteps]]');
  if (symbol === undefined || !(symbol in ReadableByteStreamController.prototype)) {
    throw new Error('web-streams-polyfill: no [[PullSteps]] on its controllers; update streams.js');
  }
  return symbol;
})();

// ReadableStreamDefaultReaderRead(reader, readRequest).
function readWithRequest(reader, readRequest) {
  const stream = reader._ownerReadableStream;
  stream._disturbed = true;
  if (stream._state === 'closed') {
    readRequest._closeSteps();
  } else if (stream._state === 'errored') {
    readRequest._errorSteps(stream._storedError);
  } else {
    stream._readableStreamController[kPullSteps](readRequest);
  }
}

// Reads with one read request until a read finds nothing queued: chunks already queued arrive
// synchronously, inside readWithRequest, and the loop reads again for them instead of the chunk
// steps recursing, so a long queue does not deepen the stack.
class QueuedReads {
  constructor(reader, readRequest) {
    this.reader = reader;
    this.readRequest = readRequest;
    this.reading = false;
    this.again = false;
  }

  run() {
    this.reading = true;
    do {
      this.again = false;
      readWithRequest(this.reader, this.readRequest);
    } while (this.again);
    this.reading = false;
  }

  // For the chunk steps: true when the chunk came inside run(), which then reads again; false
  // when it came later (from the source's enqueue()), and reading on is up to the caller.
  chunkArrived() {
    if (!this.reading) return false;
    this.again = true;
    return true;
  }
}

// Reads a stream to its end: a Promise of {bytes} (one Uint8Array) in a record without a
// prototype, since resolving a promise with the Uint8Array itself would let a `then` on
// Object.prototype take the bytes over. Chunks must be Uint8Arrays (Fetch's rule for bodies); more
// than maxBytes rejects with a TypeError naming the limit and cancels the stream.
export function readAllBytes(stream, maxBytes = Infinity) {
  let reader;
  try {
    reader = getReader.call(stream);
  } catch (e) {
    return Promise.reject(e);
  }
  return new Promise((resolve, reject) => {
    const chunks = [];
    let total = 0;
    const fail = (error) => {
      readerCancel.call(reader, error).catch(() => {});
      reject(error);
    };
    const readRequest = {
      _chunkSteps(chunk) {
        if (!(chunk instanceof Uint8Array)) {
          fail(new TypeError('Body stream chunks must be Uint8Arrays'));
          return;
        }
        total += chunk.byteLength;
        if (total > maxBytes) {
          fail(new TypeError(`The body stream exceeds the limit of ${maxBytes} bytes`));
          return;
        }
        chunks.push(chunk.slice());
        if (!reads.chunkArrived()) reads.run();
      },
      // The reader stays: a fully read body's stream remains locked, as the standard's does.
      _closeSteps() {
        let bytes = chunks.length === 1 ? chunks[0] : null;
        if (bytes === null) {
          bytes = new Uint8Array(total);
          let offset = 0;
          for (const chunk of chunks) {
            bytes.set(chunk, offset);
            offset += chunk.byteLength;
          }
        }
        resolve({__proto__: null, bytes});
      },
      _errorSteps(error) {
        reject(error);
      },
    };
    const reads = new QueuedReads(reader, readRequest);
    reads.run();
  });
}

// Reads `stream` to its end, handing each chunk (a Uint8Array) to `write` as it arrives; `write`
// returns true (taken), false (stop) or a promise of one of those (read on once it settles).
// Resolves true at the end, false when `write` returned false or is null, or when
// `control.cancel()` was called (the stream is then cancelled); rejects, cancelling the stream,
// when it errors or yields something other than a Uint8Array.
//
// Fetch's "incrementally read" with a read request, as readAllBytes does, rather than
// reader.read(): a chunk costs no read promise, no {value, done} result and no promise chained
// per chunk (a chain that would hold every earlier step's promise until the body ends, which
// made each chunk medium-lived garbage). A chunk is handed to `write` in its chunk steps, which
// copies it at once (Fetch copies the bytes there too); the next read then waits for a microtask
// when the chunk came from the source's enqueue(), so that, as Fetch's queued task does, the
// source's pull() is never re-entered from inside its own enqueue(). Chunks already queued are
// read in a loop (QueuedReads), not recursively.
export function pumpBytes(stream, write, control = {}) {
  let reader;
  try {
    reader = getReader.call(stream);
  } catch (e) {
    return Promise.reject(e);
  }
  let cancelled = false;
  const stop = (reason) => {
    cancelled = true;
    readerCancel.call(reader, reason).catch(() => {});
  };
  control.cancel = () => stop(new TypeError('The client closed the connection'));
  if (write === null) {
    control.cancel();
    return Promise.resolve(false);
  }
  return new Promise((resolve, reject) => {
    const readOn = () => {
      if (cancelled) {
        resolve(false);
      } else {
        reads.run();
      }
    };
    const afterHeld = (taken) => {
      if (cancelled) {
        resolve(false);
      } else if (!taken) {
        control.cancel();
        resolve(false);
      } else {
        readOn();
      }
    };
    const readRequest = {
      _chunkSteps(chunk) {
        if (cancelled) {
          resolve(false);
          return;
        }
        if (!(chunk instanceof Uint8Array)) {
          const error = new TypeError('Body stream chunks must be Uint8Arrays');
          stop(error);
          reject(error);
          return;
        }
        if (chunk.byteLength > 0) {
          let taken;
          try {
            taken = write(chunk);
          } catch (e) {
            reject(e);
            return;
          }
          if (taken === false) {
            control.cancel();
            resolve(false);
            return;
          }
          // A detached response (the host's writer cannot take the piece yet) gives a promise
          // that settles once it did (true) or its receiver left (false): nothing more is read
          // meanwhile, so the stream's pull() stops once its queue is full.
          if (taken !== true) {
            promiseThen.call(taken, afterHeld);
            return;
          }
        }
        if (!reads.chunkArrived()) promiseThen.call(resolvedPromise, readOn);
      },
      _closeSteps() {
        if (cancelled) {
          resolve(false);
          return;
        }
        readerRelease.call(reader);
        resolve(true);
      },
      _errorSteps(error) {
        if (cancelled) {
          resolve(false);
        } else {
          reject(error);
        }
      },
    };
    const reads = new QueuedReads(reader, readRequest);
    reads.run();
  });
}

// TextEncoderStream (Encoding §5.4.5): strings in, UTF-8 bytes out. A high surrogate that ends a
// chunk waits for the next one; one left at the end becomes U+FFFD.
export class TextEncoderStream {
  #transform;
  #pendingHighSurrogate = null;

  constructor() {
    this.#transform = new TransformStream({
      transform: (chunk, controller) => {
        let input = toDOMString(chunk);
        if (this.#pendingHighSurrogate !== null) {
          input = this.#pendingHighSurrogate + input;
          this.#pendingHighSurrogate = null;
        }
        const last = input.charCodeAt(input.length - 1);
        if (last >= 0xD800 && last <= 0xDBFF) {
          this.#pendingHighSurrogate = input[input.length - 1];
          input = input.slice(0, -1);
        }
        if (input !== '') controller.enqueue(utf8Encode(input));
      },
      flush: (controller) => {
        if (this.#pendingHighSurrogate !== null) {
          controller.enqueue(new Uint8Array([0xEF, 0xBF, 0xBD]));
        }
      },
    });
  }

  get encoding() {
    this.#transform;  // brand check
    return 'utf-8';
  }
  get readable() {
    return this.#transform.readable;
  }
  get writable() {
    return this.#transform.writable;
  }
}

// TextDecoderStream (Encoding §5.4.4): BufferSource chunks in, strings out, through a streaming
// TextDecoder.
export class TextDecoderStream {
  #decoder;
  #transform;

  constructor(label = 'utf-8', options = undefined) {
    let decoder;
    try {
      decoder = new TextDecoder(label, options);
    } catch (e) {
      if (e instanceof RangeError) {
        throw new RangeError(e.message.replace(`'TextDecoder'`, `'TextDecoderStream'`));
      }
      throw e;
    }
    this.#decoder = decoder;
    this.#transform = new TransformStream({
      transform: (chunk, controller) => {
        const bytes = bufferSourceBytes(chunk, true);
        if (bytes === undefined) {
          throw new TypeError(`TextDecoderStream: the chunk is not an ArrayBuffer or ArrayBufferView`);
        }
        const text = decoder.decode(bytes, {stream: true});
        if (text !== '') controller.enqueue(text);
      },
      flush: (controller) => {
        const text = decoder.decode();
        if (text !== '') controller.enqueue(text);
      },
    });
  }

  get encoding() {
    return this.#decoder.encoding;
  }
  get fatal() {
    return this.#decoder.fatal;
  }
  get ignoreBOM() {
    return this.#decoder.ignoreBOM;
  }
  get readable() {
    return this.#transform.readable;
  }
  get writable() {
    return this.#transform.writable;
  }
}
