// crypto.DigestStream, as workerd has it: a WritableStream that hashes what is written to it;
// its `digest` promise resolves with the hash (an ArrayBuffer) when the stream closes and rejects
// when it is aborted. Chunks are BufferSources or strings (hashed as UTF-8).

import {utf8Encode} from './encoding.js';
import {WritableStream} from './streams.js';
import {subtleCrypto} from './lazy.js';
import {bufferSourceBytes, requiredArguments} from './webidl.js';

export class DigestStream extends WritableStream {
  #digest;
  #bytesWritten = 0;

  constructor(algorithm) {
    requiredArguments(arguments.length, 1, `Failed to construct 'DigestStream'`);
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
        const bytes = typeof chunk === 'string' ? utf8Encode(chunk) : bufferSourceBytes(chunk, false);
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

  get digest() {
    return this.#digest;
  }
  get bytesWritten() {
    return this.#bytesWritten;
  }
}
