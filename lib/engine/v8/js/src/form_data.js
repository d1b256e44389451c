// FormData (XMLHttpRequest Standard §5) and the two form encodings bodies use:
// multipart/form-data (HTML's encoding algorithm; Fetch's parser) and
// application/x-www-form-urlencoded (parsed by URLSearchParams), plus the MIME type parser
// (MIME Sniffing §4.4) that finds a body's boundary and type.
//
// The multipart parser's work is linear in the body: each delimiter search resumes where the last
// one ended and compares at most the boundary's length (1 to 70 bytes, RFC 2046) at each start
// byte it finds. Any malformation is a TypeError.

import {blobInternals, concatBytes} from './blob.js';
import {utf8Encode} from './encoding.js';
import {nativeRandomFill, nativeUtf8Decode} from './native.js';
import {urlImpl} from './lazy.js';
import {isObject, requiredArguments, toUSVString} from './webidl.js';

// ---- MIME types ----

const httpWhitespace = /^[\t\n\r ]+|[\t\n\r ]+$/g;
const tokenRe = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const quotedStringTokenRe = /^[\t\x20-\x7E\x80-\xFF]*$/;

// MIME Sniffing "parse a MIME type": {essence, parameters: Map} or null.
export function parseMimeType(input) {
  const s = input.replace(httpWhitespace, '');
  const slash = s.indexOf('/');
  if (slash <= 0) return null;
  const type = s.slice(0, slash);
  if (!tokenRe.test(type)) return null;
  let semi = s.indexOf(';', slash + 1);
  if (semi < 0) semi = s.length;
  const subtype = s.slice(slash + 1, semi).replace(/[\t\n\r ]+$/, '');
  if (subtype === '' || !tokenRe.test(subtype)) return null;
  const essence = `${type}/${subtype}`.toLowerCase();
  const parameters = new Map();
  let i = semi;
  while (i < s.length) {
    i++;  // past ';'
    while (i < s.length && /[\t\n\r ]/.test(s[i])) i++;
    let j = i;
    while (j < s.length && s[j] !== ';' && s[j] !== '=') j++;
    const name = s.slice(i, j).toLowerCase();
    i = j;
    if (i < s.length) {
      if (s[i] === ';') continue;
      i++;  // past '='
    }
    if (i >= s.length) break;
    let value;
    if (s[i] === '"') {
      // Collect an HTTP quoted string, extracting its value.
      value = '';
      i++;
      while (i < s.length) {
        const c = s[i];
        if (c === '\\') {
          i++;
          if (i >= s.length) {
            value += '\\';
            break;
          }
          value += s[i++];
        } else if (c === '"') {
          i++;
          break;
        } else {
          value += c;
          i++;
        }
      }
      while (i < s.length && s[i] !== ';') i++;
    } else {
      let k = s.indexOf(';', i);
      if (k < 0) k = s.length;
      value = s.slice(i, k).replace(/[\t\n\r ]+$/, '');
      i = k;
      if (value === '') continue;
    }
    if (name !== '' && tokenRe.test(name) && quotedStringTokenRe.test(value) &&
        !parameters.has(name)) {
      parameters.set(name, value);
    }
  }
  return {essence, parameters};
}

export function serializeMimeType(mime) {
  let out = mime.essence;
  for (const [name, value] of mime.parameters) {
    out += `;${name}=`;
    out += tokenRe.test(value) ? value : `"${value.replace(/(["\\])/g, '\\$1')}"`;
  }
  return out;
}

// ---- FormData ----

const IteratorPrototype = Object.getPrototypeOf(Object.getPrototypeOf([][Symbol.iterator]()));

// XHR "create an entry": a Blob value becomes a File (named "blob" unless a filename is given).
function createEntry(name, value, filename) {
  name = toUSVString(name);
  if (typeof value === 'string') return [name, value];
  const isFile = blobInternals.isFile(value);
  if (!isFile || filename !== undefined) {
    const bytes = blobInternals.bytes(value);
    const lastModified = isFile ? value.lastModified : undefined;
    value = blobInternals.createFile(bytes, filename !== undefined ? filename : 'blob',
                                     value.type, lastModified);
  }
  return [name, value];
}

// (name, value[, filename]) as the overloads of append() and set() resolve them.
function entryFromArguments(args, op) {
  requiredArguments(args.length, 2, `Failed to execute '${op}' on 'FormData'`);
  const [name, value] = args;
  if (args.length >= 3 || (isObject(value) && blobInternals.is(value))) {
    if (!(isObject(value) && blobInternals.is(value))) {
      throw new TypeError(`Failed to execute '${op}' on 'FormData': parameter 2 is not of type` +
                          ` 'Blob'.`);
    }
    const n = toUSVString(name);
    const filename = args.length >= 3 && args[2] !== undefined ? toUSVString(args[2]) : undefined;
    return createEntry(n, value, filename);
  }
  const n = toUSVString(name);
  return [n, toUSVString(value)];
}

export const formDataInternals = {
  is: undefined,
  entries: undefined,  // (formData) -> the live [[name, value], ...] list
  fromEntries: undefined,  // (list) -> FormData
};

export class FormData {
  #entries = [];

  constructor(form = undefined, submitter = undefined) {
    if (form !== undefined) {
      throw new TypeError(`Failed to construct 'FormData': parameter 1 is not of type` +
                          ` 'HTMLFormElement' (there are no forms outside a document).`);
    }
  }

  append(name, value, filename = undefined) {
    this.#entries.push(entryFromArguments(arguments, 'append'));
  }

  delete(name) {
    requiredArguments(arguments.length, 1, `Failed to execute 'delete' on 'FormData'`);
    const n = toUSVString(name);
    this.#entries = this.#entries.filter((e) => e[0] !== n);
  }

  get(name) {
    requiredArguments(arguments.length, 1, `Failed to execute 'get' on 'FormData'`);
    const n = toUSVString(name);
    for (const e of this.#entries) {
      if (e[0] === n) return e[1];
    }
    return null;
  }

  getAll(name) {
    requiredArguments(arguments.length, 1, `Failed to execute 'getAll' on 'FormData'`);
    const n = toUSVString(name);
    const out = [];
    for (const e of this.#entries) {
      if (e[0] === n) out.push(e[1]);
    }
    return out;
  }

  has(name) {
    requiredArguments(arguments.length, 1, `Failed to execute 'has' on 'FormData'`);
    const n = toUSVString(name);
    return this.#entries.some((e) => e[0] === n);
  }

  set(name, value, filename = undefined) {
    const entry = entryFromArguments(arguments, 'set');
    const list = this.#entries;
    const i = list.findIndex((e) => e[0] === entry[0]);
    if (i < 0) {
      list.push(entry);
      return;
    }
    list[i] = entry;
    this.#entries = list.filter((e, k) => k <= i || e[0] !== entry[0]);
  }

  forEach(callback, thisArg = undefined) {
    requiredArguments(arguments.length, 1, `Failed to execute 'forEach' on 'FormData'`);
    if (typeof callback !== 'function') {
      throw new TypeError(`Failed to execute 'forEach' on 'FormData': The callback provided as` +
                          ` parameter 1 is not a function.`);
    }
    for (let i = 0; i < this.#entries.length; i++) {
      const [name, value] = this.#entries[i];
      callback.call(thisArg, value, name, this);
    }
  }

  entries() {
    return new FormDataIterator(this, 'key+value');
  }
  keys() {
    return new FormDataIterator(this, 'key');
  }
  values() {
    return new FormDataIterator(this, 'value');
  }

  static {
    formDataInternals.is = (value) => isObject(value) && #entries in value;
    formDataInternals.entries = (f) => f.#entries;
    formDataInternals.fromEntries = (list) => {
      const f = new FormData();
      f.#entries = list;
      return f;
    };
  }
}
Object.defineProperty(FormData.prototype, Symbol.iterator, {
  value: FormData.prototype.entries,
  writable: true,
  enumerable: false,
  configurable: true,
});

class FormDataIterator {
  #form;
  #kind;
  #index = 0;

  constructor(form, kind) {
    this.#form = form;
    this.#kind = kind;
  }

  next() {
    const list = formDataInternals.entries(this.#form);
    const i = this.#index;
    if (i >= list.length) return {value: undefined, done: true};
    this.#index = i + 1;
    const [name, value] = list[i];
    const kind = this.#kind;
    return {value: kind === 'key' ? name : kind === 'value' ? value : [name, value], done: false};
  }
}
Object.setPrototypeOf(FormDataIterator.prototype, IteratorPrototype);
delete FormDataIterator.prototype.constructor;
Object.defineProperty(FormDataIterator.prototype, 'next', {enumerable: true});
Object.defineProperty(FormDataIterator.prototype, Symbol.toStringTag,
                      {value: 'FormData Iterator', configurable: true});

// ---- multipart/form-data encoding ----

const crlfRe = /\r\n|\r|\n/g;
function escapeName(s) {
  return s.replace(/\n/g, '%0A').replace(/\r/g, '%0D').replace(/"/g, '%22');
}

function newBoundary() {
  const random = new Uint8Array(16);
  nativeRandomFill(random);
  let hex = '';
  for (const b of random) hex += b.toString(16).padStart(2, '0');
  return `----CosmoFormBoundary${hex}`;
}

// HTML "multipart/form-data encoding algorithm": [bytes, content type].
export function serializeMultipart(formData) {
  const boundary = newBoundary();
  const chunks = [];
  const add = (bytes) => chunks.push(bytes);
  for (const [rawName, value] of formDataInternals.entries(formData)) {
    const name = escapeName(rawName.replace(crlfRe, '\r\n'));
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${name}"`;
    if (typeof value === 'string') {
      add(utf8Encode(`${head}\r\n\r\n${value.replace(crlfRe, '\r\n')}\r\n`));
      continue;
    }
    const type = value.type === '' ? 'application/octet-stream' : value.type;
    head += `; filename="${escapeName(value.name)}"\r\nContent-Type: ${type}\r\n\r\n`;
    add(utf8Encode(head));
    add(blobInternals.bytes(value));
    add(utf8Encode('\r\n'));
  }
  add(utf8Encode(`--${boundary}--\r\n`));
  return [concatBytes(chunks), `multipart/form-data; boundary=${boundary}`];
}

// ---- parsing bodies as forms ----

function formError(why) {
  return new TypeError(`Failed to parse the body as FormData: ${why}`);
}

// UTF-8 decode without BOM (a leading BOM is kept as U+FEFF), errors replaced.
function decodeWithoutBOM(bytes) {
  return nativeUtf8Decode(bytes, false, true);
}

const CR = 0x0D, LF = 0x0A, DASH = 0x2D, QUOTE = 0x22;

// Index of `needle` in `hay` at or after `from`, or -1.
function indexOfBytes(hay, needle, from) {
  const first = needle[0];
  const last = hay.length - needle.length;
  for (let i = hay.indexOf(first, from); i >= 0 && i <= last; i = hay.indexOf(first, i + 1)) {
    let k = 1;
    while (k < needle.length && hay[i + k] === needle[k]) k++;
    if (k === needle.length) return i;
  }
  return -1;
}

function startsWithAt(hay, needle, at) {
  if (at + needle.length > hay.length) return false;
  for (let k = 0; k < needle.length; k++) {
    if (hay[at + k] !== needle[k]) return false;
  }
  return true;
}

const asciiBytes = (s) => Uint8Array.from(s, (c) => c.charCodeAt(0));
const kDispositionPrefix = asciiBytes('form-data; name="');
const kFilenamePrefix = asciiBytes('; filename="');
const isTabOrSpace = (b) => b === 0x09 || b === 0x20;

// Fetch "parse a multipart/form-data name": from just after the opening quote to just after the
// closing one. Returns [name, position].
function parseName(bytes, pos) {
  const start = pos;
  while (pos < bytes.length && bytes[pos] !== LF && bytes[pos] !== CR && bytes[pos] !== QUOTE) {
    pos++;
  }
  if (bytes[pos] !== QUOTE) throw formError('a name or filename is not terminated by a quote');
  const name = decodeWithoutBOM(bytes.subarray(start, pos))
                   .replace(/%0A/g, '\n')
                   .replace(/%0D/g, '\r')
                   .replace(/%22/g, '"');
  return [name, pos + 1];
}

// Fetch "parse multipart/form-data headers": returns [name, filename, contentType, position] with
// position at the CRLF that ends the headers.
function parseHeaders(bytes, pos) {
  let name = null, filename = null, contentType = null;
  for (;;) {
    if (bytes[pos] === CR && bytes[pos + 1] === LF) {
      if (name === null) throw formError('a part has no Content-Disposition name');
      return [name, filename, contentType, pos];
    }
    let end = pos;
    while (end < bytes.length && bytes[end] !== LF && bytes[end] !== CR && bytes[end] !== 0x3A) {
      end++;
    }
    let a = pos, b = end;
    while (a < b && isTabOrSpace(bytes[a])) a++;
    while (b > a && isTabOrSpace(bytes[b - 1])) b--;
    const headerName = String.fromCharCode.apply(null, bytes.subarray(a, Math.min(b, a + 256)));
    if (b - a > 256 || !tokenRe.test(headerName)) throw formError('a part has a malformed header');
    if (bytes[end] !== 0x3A) throw formError('a part header has no colon');
    pos = end + 1;
    while (pos < bytes.length && isTabOrSpace(bytes[pos])) pos++;
    const lower = headerName.toLowerCase();
    if (lower === 'content-disposition') {
      name = null;
      filename = null;
      if (!startsWithAt(bytes, kDispositionPrefix, pos)) {
        throw formError(`Content-Disposition is not 'form-data; name="..."'`);
      }
      [name, pos] = parseName(bytes, pos + kDispositionPrefix.length);
      if (startsWithAt(bytes, kFilenamePrefix, pos)) {
        [filename, pos] = parseName(bytes, pos + kFilenamePrefix.length);
      }
    } else {
      let v = pos;
      while (v < bytes.length && bytes[v] !== LF && bytes[v] !== CR) v++;
      if (lower === 'content-type') {
        let e = v;
        while (e > pos && isTabOrSpace(bytes[e - 1])) e--;
        // Isomorphic decode, in bounded slices (apply() takes at most ~10^5 arguments).
        let s = '';
        for (let k = pos; k < e; k += 8192) {
          s += String.fromCharCode.apply(null, bytes.subarray(k, Math.min(e, k + 8192)));
        }
        contentType = s;
      }
      pos = v;
    }
    if (bytes[pos] !== CR || bytes[pos + 1] !== LF) throw formError('a part header is not ended by CRLF');
    pos += 2;
  }
}

// Fetch "multipart/form-data parser": a list of [name, string | File].
export function parseMultipart(bytes, boundaryString) {
  if (boundaryString.length === 0 || boundaryString.length > 70 ||
      !/^[\x20-\x7E]+$/.test(boundaryString)) {
    throw formError('the boundary must be 1 to 70 printable ASCII characters');
  }
  const boundary = asciiBytes(boundaryString);
  const delimiter = asciiBytes(`\r\n--${boundaryString}`);
  const entries = [];
  let pos = 0;
  for (;;) {
    if (!(bytes[pos] === DASH && bytes[pos + 1] === DASH && startsWithAt(bytes, boundary, pos + 2))) {
      throw formError(pos === 0 ? 'the body does not start with the boundary' :
                                  'a part is not followed by the boundary');
    }
    pos += 2 + boundary.length;
    if (bytes[pos] === DASH && bytes[pos + 1] === DASH) break;
    if (bytes[pos] !== CR || bytes[pos + 1] !== LF) {
      throw formError('the boundary is not followed by CRLF');
    }
    pos += 2;
    let name, filename, contentType;
    [name, filename, contentType, pos] = parseHeaders(bytes, pos);
    pos += 2;
    const end = indexOfBytes(bytes, delimiter, pos);
    if (end < 0) throw formError('the body ends inside a part (no closing boundary)');
    const body = bytes.subarray(pos, end);
    pos = end + 2;
    let value;
    if (filename !== null) {
      let type = contentType === null ? 'text/plain' : contentType;
      if (!/^[\x00-\x7F]*$/.test(type)) type = '';
      value = blobInternals.createFile(body.slice(), filename, type.toLowerCase());
    } else {
      value = decodeWithoutBOM(body);
    }
    entries.push([toUSVString(name), value]);
  }
  return entries;
}

// Body mixin formData(): a FormData from bytes and the Content-Type header value (or null).
export function parseFormBody(bytes, contentType) {
  const mime = contentType === null ? null : parseMimeType(contentType);
  if (mime !== null && mime.essence === 'multipart/form-data') {
    const boundary = mime.parameters.get('boundary');
    if (boundary === undefined) throw formError('the multipart/form-data type has no boundary');
    return formDataInternals.fromEntries(parseMultipart(bytes, boundary));
  }
  if (mime !== null && mime.essence === 'application/x-www-form-urlencoded') {
    const list = [];
    for (const pair of new (urlImpl().URLSearchParams)(decodeWithoutBOM(bytes))) list.push(pair);
    return formDataInternals.fromEntries(list);
  }
  throw formError(`the Content-Type is not multipart/form-data or` +
                  ` application/x-www-form-urlencoded`);
}
