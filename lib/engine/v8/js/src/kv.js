// KVNamespace: the object a KV binding puts in `env` (env.BINDING), with the Workers KV API over
// the host's KvStore (include/cosmo/kv.h) through the natives kvGet, kvPut, kvDelete and kvList.
//
// Methods return promises, as in Workers; the natives answer synchronously (a put returns once its
// group commit is durable), so each promise is settled when the method returns. Argument errors
// reject with a TypeError, and every limit breach with the host's message naming the limit.

import {utf8Decode, utf8Encode} from './encoding.js';
import {nativeKvDelete, nativeKvGet, nativeKvList, nativeKvPut} from './native.js';
import {streams} from './lazy.js';

const kInternal = {};
const kTypes = ['text', 'json', 'arrayBuffer', 'stream'];
// Values larger than this are refused while a stream is read, before the host sees them.
const kMaxValueBytes = 25 * 1024 * 1024;
// Pieces a `stream` get hands out, so a large value does not arrive as one huge chunk.
const kStreamChunkBytes = 64 * 1024;
const JSONParse = JSON.parse;
const JSONStringify = JSON.stringify;
const isView = ArrayBuffer.isView;
const arrayBufferByteLength =
    Object.getOwnPropertyDescriptor(ArrayBuffer.prototype, 'byteLength').get;

function isArrayBuffer(value) {
  try {
    arrayBufferByteLength.call(value);
    return true;
  } catch {
    return false;
  }
}

function keyString(key, method) {
  if (key === undefined) {
    throw new TypeError(`KV ${method}: a key is required`);
  }
  return String(key);
}

function typeOf(options, method) {
  let type = 'text';
  if (typeof options === 'string') {
    type = options;
  } else if (typeof options === 'object' && options !== null && options.type !== undefined) {
    type = String(options.type);
  } else if (options !== undefined && options !== null && typeof options !== 'object') {
    throw new TypeError(`KV ${method}: options must be a type string or an object`);
  }
  if (!kTypes.includes(type)) {
    throw new TypeError(
        `KV ${method}: unknown type "${type}"; use "text", "json", "arrayBuffer" or "stream"`);
  }
  return type;
}

function convert(bytes, type) {
  switch (type) {
    case 'json':
      return JSONParse(utf8Decode(bytes));
    case 'arrayBuffer':
      return bytes.buffer;
    case 'stream': {
      let offset = 0;
      return new (streams().ReadableStream)({
        type: 'bytes',
        pull(controller) {
          if (offset >= bytes.byteLength) {
            controller.close();
            return;
          }
          const end = Math.min(offset + kStreamChunkBytes, bytes.byteLength);
          controller.enqueue(bytes.slice(offset, end));
          offset = end;
        },
      });
    }
    default:
      return utf8Decode(bytes);
  }
}

// A whole number of seconds, or 0 when absent.
function seconds(value, name) {
  if (value === undefined || value === null) return 0;
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0) {
    throw new TypeError(`KV put: ${name} must be a positive number of seconds, got ${value}`);
  }
  return Math.floor(number);
}

async function valueBytes(value) {
  if (typeof value === 'string') return utf8Encode(value);
  if (isView(value)) {
    return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  }
  if (isArrayBuffer(value)) return new Uint8Array(value);
  // No stream can exist before streams.js is evaluated.
  if (streams.loaded() && streams().isReadableStream(value)) {
    return (await streams().readAllBytes(value, kMaxValueBytes)).bytes;
  }
  throw new TypeError(
      'KV put: the value must be a string, ArrayBuffer, ArrayBufferView or ReadableStream');
}

export class KVNamespace {
  #ns;

  constructor(token, ns) {
    if (token !== kInternal) throw new TypeError('Illegal constructor');
    this.#ns = ns;
  }

  async get(key, options) {
    const type = typeOf(options, 'get');
    const entry = nativeKvGet(this.#ns, keyString(key, 'get'));
    return entry === null ? null : convert(entry[0], type);
  }

  // For the Liquid runtime, whose templates render synchronously: the text value at `key`, or
  // null, read at once (the natives answer synchronously anyway). One operation, counted and
  // limited like get(). Scripts can reach it too; for them it is get() without the promise.
  [Symbol.for('cosmo.kv.readTextSync')](key) {
    const entry = nativeKvGet(this.#ns, keyString(key, 'get'));
    return entry === null ? null : utf8Decode(entry[0]);
  }

  async getWithMetadata(key, options) {
    const type = typeOf(options, 'getWithMetadata');
    const entry = nativeKvGet(this.#ns, keyString(key, 'getWithMetadata'));
    if (entry === null) return {value: null, metadata: null};
    return {value: convert(entry[0], type), metadata: entry[1] === null ? null : JSONParse(entry[1])};
  }

  async put(key, value, options = undefined) {
    const name = keyString(key, 'put');
    if (options !== undefined && options !== null && typeof options !== 'object') {
      throw new TypeError('KV put: options must be an object');
    }
    const expiration = seconds(options?.expiration, 'expiration');
    const expirationTtl = seconds(options?.expirationTtl, 'expirationTtl');
    let metadata = null;
    if (options?.metadata !== undefined && options?.metadata !== null) {
      metadata = JSONStringify(options.metadata);
      if (metadata === undefined) throw new TypeError('KV put: metadata must be serializable to JSON');
    }
    const bytes = await valueBytes(value);
    nativeKvPut(this.#ns, name, bytes, expiration, expirationTtl, metadata);
  }

  async delete(key) {
    nativeKvDelete(this.#ns, keyString(key, 'delete'));
  }

  async list(options = undefined) {
    if (options !== undefined && options !== null && typeof options !== 'object') {
      throw new TypeError('KV list: options must be an object');
    }
    const prefix = options?.prefix == null ? '' : String(options.prefix);
    let limit = 0;
    if (options?.limit !== undefined && options?.limit !== null) {
      limit = Number(options.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
        throw new TypeError(`KV list: limit must be an integer from 1 to 1000, got ${options.limit}`);
      }
    }
    const cursor = options?.cursor == null ? '' : String(options.cursor);
    const [flat, complete, next] = nativeKvList(this.#ns, prefix, limit, cursor);
    const keys = [];
    for (let i = 0; i < flat.length; i += 3) {
      const key = {name: flat[i]};
      if (flat[i + 1] !== 0) key.expiration = flat[i + 1];
      if (flat[i + 2] !== null) key.metadata = JSONParse(flat[i + 2]);
      keys.push(key);
    }
    const result = {keys, list_complete: complete};
    if (!complete) result.cursor = next;
    result.cacheStatus = null;
    return result;
  }
}

Object.defineProperty(KVNamespace.prototype, Symbol.toStringTag,
                      {value: 'KvNamespace', configurable: true});


// The env value of one binding to namespace `ns`.
export function makeKvNamespace(ns) {
  return new KVNamespace(kInternal, ns);
}
