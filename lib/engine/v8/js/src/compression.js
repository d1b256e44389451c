// CompressionStream and DecompressionStream (the Compression standard) for the formats "gzip",
// "deflate" and "deflate-raw": a TransformStream whose transform and flush hand BufferSource
// chunks to zlib in C++ (zlib_stream.h). The natives return the output as Uint8Arrays of at most
// 64 KiB, each charged to the isolate's memory budget; a stream whose output outgrows the budget
// stops the script with the memory-limit outcome.

import {nativeZlibFlush, nativeZlibNew, nativeZlibWrite} from './native.js';
import {streams} from './lazy.js';
import {bufferSourceBytes, requiredArguments, toDOMString} from './webidl.js';

const formats = ['deflate', 'deflate-raw', 'gzip'];

// Input goes to zlib in slices of this size. A native call cannot be interrupted, so the CPU
// watchdog's termination lands between slices: a huge chunk still stops near the CPU limit.
const sliceBytes = 256 * 1024;

// The CompressionFormat enum of the standard's IDL.
function toFormat(value, interfaceName) {
  const format = toDOMString(value);
  if (!formats.includes(format)) {
    throw new TypeError(
        `Failed to construct '${interfaceName}': The provided value '${format}' is not a valid` +
        ` enum value of type CompressionFormat.`);
  }
  return format;
}

function zlibTransform(format, decompress, interfaceName) {
  const handle = nativeZlibNew(format, decompress);
  const enqueueAll = (controller, pieces) => {
    for (const piece of pieces) controller.enqueue(piece);
  };
  return new (streams().TransformStream)({
    transform(chunk, controller) {
      // BufferSource, which excludes SharedArrayBuffer and views of one.
      const bytes = bufferSourceBytes(chunk, false);
      if (bytes === undefined) {
        throw new TypeError(
            `${interfaceName}: the chunk is not an ArrayBuffer or an ArrayBufferView`);
      }
      for (let at = 0; at < bytes.length; at += sliceBytes) {
        enqueueAll(controller, nativeZlibWrite(handle, bytes.subarray(at, at + sliceBytes)));
      }
    },
    flush(controller) {
      enqueueAll(controller, nativeZlibFlush(handle));
    },
  });
}

export class CompressionStream {
  #transform;

  constructor(format) {
    requiredArguments(arguments.length, 1, `Failed to construct 'CompressionStream'`);
    this.#transform = zlibTransform(toFormat(format, 'CompressionStream'), false, 'CompressionStream');
  }

  get readable() {
    return this.#transform.readable;
  }
  get writable() {
    return this.#transform.writable;
  }
}

export class DecompressionStream {
  #transform;

  constructor(format) {
    requiredArguments(arguments.length, 1, `Failed to construct 'DecompressionStream'`);
    this.#transform =
        zlibTransform(toFormat(format, 'DecompressionStream'), true, 'DecompressionStream');
  }

  get readable() {
    return this.#transform.readable;
  }
  get writable() {
    return this.#transform.writable;
  }
}
