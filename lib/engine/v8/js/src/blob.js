// Blob and File (File API §3-4).
//
// A blob's bytes are one Uint8Array it never hands out: slices share it (blobs are immutable),
// and the reading methods return copies. `stream()` is a byte stream of them.

import {utf8Decode, utf8Encode} from './encoding.js';
import {NativeHostObject} from './native.js';
import {streams} from './lazy.js';
import {bufferSourceBytes, isObject, requiredArguments, toDictionary, toDOMString,
        toUSVString} from './webidl.js';

const kInternal = {};
const printableAscii = /^[\x20-\x7E]*$/;

// A type attribute value: lower-cased, or '' when it has a character outside U+0020-U+007E.
function normalizeType(type) {
  return printableAscii.test(type) ? type.toLowerCase() : '';
}

// File API "convert line endings to native": LF on this platform.
function toNativeLineEndings(s) {
  return s.replace(/\r\n?/g, '\n');
}

// BlobPropertyBag / FilePropertyBag members, read in lexicographic order.
function readPropertyBag(options, where, withLastModified) {
  const dict = toDictionary(options, `${where}: options`);
  let endings = 'transparent', type = '', lastModified;
  if (dict !== undefined) {
    const e = dict.endings;
    if (e !== undefined) {
      endings = toDOMString(e);
      if (endings !== 'transparent' && endings !== 'native') {
        throw new TypeError(`${where}: The provided value '${endings}' is not a valid enum value` +
                            ` of type EndingType.`);
      }
    }
    if (withLastModified) {
      const lm = dict.lastModified;
      if (lm !== undefined) lastModified = toLongLong(lm);
    }
    const t = dict.type;
    if (t !== undefined) type = normalizeType(toDOMString(t));
  }
  return {endings, type, lastModified};
}

// Web IDL long long (no [EnforceRange]): modulo 2^64 into the signed range; here bounded to what
// a Number holds exactly, which every date does.
function toLongLong(value) {
  const x = Number(value);
  if (!Number.isFinite(x)) return 0;
  return Math.trunc(x);
}

// Web IDL [Clamp] long long.
function toClampedLongLong(value) {
  const x = Number(value);
  if (Number.isNaN(x)) return 0;
  const clamped = Math.min(Math.max(x, -Number.MAX_SAFE_INTEGER), Number.MAX_SAFE_INTEGER);
  // Round half to even, as [Clamp] does.
  const f = Math.floor(clamped);
  const d = clamped - f;
  const r = d < 0.5 ? f : d > 0.5 ? f + 1 : (f % 2 === 0 ? f : f + 1);
  return r === 0 ? 0 : r;  // no -0
}

export const blobInternals = {
  is: undefined,  // (value) -> whether it is a Blob (or File)
  isFile: undefined,  // (value) -> whether it is a File
  bytes: undefined,  // (blob) -> its bytes (shared; do not modify)
  type: undefined,  // (blob) -> its type
  // (bytes, type) -> Blob owning `bytes`
  create: undefined,
  // (bytes, name, type, lastModified) -> File owning `bytes`
  createFile: undefined,
  // (blob) -> what structuredClone writes for it; (placeholder, that) makes the placeholder
  // nativeDeserialize returned for it the copy
  serialize: undefined,
  deserialize: undefined,
};

// Blobs derive from the host's HostObject so that V8's serializer hands them (and Files) to
// structuredClone's hooks, wherever they sit in the value.
export class Blob extends NativeHostObject {
  #bytes;
  #type;

  // new Blob(kInternal, bytes, type, placeholder?): the runtime's own construction; with a
  // placeholder of structuredClone's, that object becomes the Blob.
  constructor(blobParts = undefined, options = undefined) {
    super(blobParts === kInternal ? arguments[3] : undefined);
    if (blobParts === kInternal) {
      this.#bytes = arguments[1];
      this.#type = arguments[2];
      return;
    }
    const where = `Failed to construct 'Blob'`;
    // Arguments are converted in order: the parts, then the options.
    const collected = [];
    if (blobParts !== undefined) collectParts(blobParts, collected, where);
    const bag = readPropertyBag(options, where, false);
    this.#bytes = finishParts(collected, bag.endings);
    this.#type = bag.type;
  }

  get size() {
    return this.#bytes.byteLength;
  }

  get type() {
    return this.#type;
  }

  slice(start = undefined, end = undefined, contentType = undefined) {
    const size = this.#bytes.byteLength;
    let from = start === undefined ? 0 : toClampedLongLong(start);
    let to = end === undefined ? size : toClampedLongLong(end);
    from = from < 0 ? Math.max(size + from, 0) : Math.min(from, size);
    to = to < 0 ? Math.max(size + to, 0) : Math.min(to, size);
    const type = contentType === undefined ? '' : normalizeType(toDOMString(contentType));
    return new Blob(kInternal, this.#bytes.subarray(from, Math.max(from, to)), type);
  }

  text() {
    try {
      return Promise.resolve(utf8Decode(this.#bytes));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  arrayBuffer() {
    try {
      return Promise.resolve(this.#bytes.slice().buffer);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  bytes() {
    try {
      return Promise.resolve(this.#bytes.slice());
    } catch (e) {
      return Promise.reject(e);
    }
  }

  stream() {
    // A copy: a byte stream takes over (detaches) the buffers it is given.
    return streams().streamOfBytes(this.#bytes.slice());
  }

  static {
    blobInternals.is = (value) => isObject(value) && #bytes in value;
    blobInternals.bytes = (blob) => blob.#bytes;
    blobInternals.type = (blob) => blob.#type;
    blobInternals.create = (bytes, type) => new Blob(kInternal, bytes, type);
  }
}

// Web IDL `sequence<BlobPart>`: each element converted as the sequence is iterated. Strings stay
// strings until finishParts(), since the line endings are an option read after the parts.
function collectParts(parts, collected, where) {
  if (!isObject(parts)) {
    throw new TypeError(`${where}: The provided value cannot be converted to a sequence.`);
  }
  const method = parts[Symbol.iterator];
  if (typeof method !== 'function') {
    throw new TypeError(`${where}: The object must have a callable @@iterator property.`);
  }
  const iterator = method.call(parts);
  for (;;) {
    const step = iterator.next();
    if (!isObject(step)) throw new TypeError(`${where}: iterator result is not an object.`);
    if (step.done) break;
    const part = step.value;
    if (isObject(part) && blobInternals.is(part)) {
      collected.push(blobInternals.bytes(part));
      continue;
    }
    const bytes = isObject(part) ? bufferSourceBytes(part, false) : undefined;
    collected.push(bytes !== undefined ? bytes.slice() : toUSVString(part));
  }
  return null;
}

// File API "process blob parts": the parts' bytes, concatenated, in a new buffer.
function finishParts(collected, endings) {
  const chunks = collected.map((c) => {
    if (typeof c !== 'string') return c;
    return utf8Encode(endings === 'native' ? toNativeLineEndings(c) : c);
  });
  return chunks.length === 1 ? chunks[0] : concatBytes(chunks);
}

// The chunks (Uint8Arrays) one after another in a new Uint8Array.
export function concatBytes(chunks) {
  let total = 0;
  for (const c of chunks) total += c.byteLength;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.byteLength;
  }
  return out;
}

export class File extends Blob {
  #name;
  #lastModified;

  constructor(fileBits, fileName, options = undefined) {
    // new File(kInternal, bytes, name, type, lastModified, placeholder?)
    if (fileBits === kInternal) {
      super(kInternal, arguments[1], arguments[3], arguments[5]);
      this.#name = arguments[2];
      this.#lastModified = arguments[4];
      return;
    }
    requiredArguments(arguments.length, 2, `Failed to construct 'File'`);
    const where = `Failed to construct 'File'`;
    const collected = [];
    collectParts(fileBits, collected, where);
    const name = toUSVString(fileName);
    const bag = readPropertyBag(options, where, true);
    super(kInternal, finishParts(collected, bag.endings), bag.type);
    this.#name = name;
    this.#lastModified = bag.lastModified === undefined ? Date.now() : bag.lastModified;
  }

  get name() {
    return this.#name;
  }

  get lastModified() {
    return this.#lastModified;
  }

  static {
    blobInternals.isFile = (value) => isObject(value) && #name in value;
    blobInternals.createFile = (bytes, name, type, lastModified = Date.now()) =>
        new File(kInternal, bytes, name, type, lastModified);
    // A copy of the bytes: a slice's view would take its whole buffer along.
    blobInternals.serialize = (blob) => {
      const bytes = blobInternals.bytes(blob).slice();
      const type = blobInternals.type(blob);
      return #name in blob ? ['File', bytes, type, blob.#name, blob.#lastModified] :
                             ['Blob', bytes, type];
    };
    blobInternals.deserialize = (placeholder, [kind, bytes, type, name, lastModified]) => {
      if (kind === 'File') new File(kInternal, bytes, name, type, lastModified, placeholder);
      else new Blob(kInternal, bytes, type, placeholder);
    };
  }
}
// The interface objects' prototype chain is as if Blob had no base (HostObject is not exposed):
// only Object.getPrototypeOf(Blob) shows it.
Object.setPrototypeOf(Blob.prototype, Object.prototype);
