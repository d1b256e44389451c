// crypto.DigestStream, as workerd has it: a WritableStream that hashes what is written to it;
// its `digest` promise resolves with the hash (an ArrayBuffer) when the stream closes and rejects
// when it is aborted. Chunks are BufferSources or strings (hashed as UTF-8).
//
// WritableStream exists only once streams are evaluated (lazy.js), so DigestStream is a
// constructor that evaluates them when called and builds the instance with the class below, which
// extends WritableStream; when streams are evaluated (by this or any other first use),
// linkDigestStream() makes DigestStream inherit from WritableStream as the class does.

import {utf8Encode} from './encoding.js';
import {streams, subtleCrypto} from './lazy.js';
import {bufferSourceBytes, requiredArguments} from './webidl.js';

let implementation = null;

function digestStreamClass() {
  if (implementation !== null) return implementation;
  implementation = class DigestStream extends streams().WritableStream {
    #digest;
    #bytesWritten = 0;

    constructor(algorithm) {
      const {digestInternals} = subtleCrypto();
      const name = digestInternals.normalize(algorithm);
      const handle = digestInternals.begin(name);
      let resolve, reject;
      const digest = new Promise((res, rej) => {
        resolve = res;
        reject = rej;
      });
      let self = null;
      super({
        write(chunk) {
          const bytes =
              typeof chunk === 'string' ? utf8Encode(chunk) : bufferSourceBytes(chunk, false);
          if (bytes === undefined) {
            throw new TypeError('DigestStream accepts only strings, ArrayBuffers and views.');
          }
          digestInternals.update(handle, bytes);
          self.#bytesWritten += bytes.length;
        },
        close() {
          resolve(digestInternals.end(handle));
        },
        abort(reason) {
          reject(reason);
        },
      });
      self = this;
      // A digest nobody awaits must not report an unhandled rejection when the stream is aborted.
      digest.catch(() => {});
      this.#digest = digest;
    }

    static digestOf(stream) {
      return stream.#digest;
    }
    static bytesWrittenOf(stream) {
      return stream.#bytesWritten;
    }
  };
  return implementation;
}

export class DigestStream {
  constructor(algorithm) {
    requiredArguments(arguments.length, 1, `Failed to construct 'DigestStream'`);
    // An instance of DigestStream.prototype (new.target's), which by then inherits from
    // WritableStream.prototype, with the implementation's private fields.
    return Reflect.construct(digestStreamClass(), [algorithm], new.target);
  }

  get digest() {
    return digestStreamClass().digestOf(this);
  }
  get bytesWritten() {
    return digestStreamClass().bytesWrittenOf(this);
  }
}

// DigestStream extends WritableStream: called when streams are evaluated.
export function linkDigestStream({WritableStream}) {
  Object.setPrototypeOf(DigestStream, WritableStream);
  Object.setPrototypeOf(DigestStream.prototype, WritableStream.prototype);
}
streams.whenLoaded(linkDigestStream);
