// FileReader (File API §6) and ProgressEvent (XHR §6).
//
// A read runs as tasks on the request's timers, as the standard's read operation queues them:
// loadstart, one progress (blobs are in memory, so the whole blob is one chunk), then load and
// loadend with the result. readAsText decodes every encoding of the Encoding standard (a BOM
// decides first, then the encoding argument, then the blob type's charset, then UTF-8).

import {legacyHookDecode, normalizeEncoding} from '@exodus/bytes/encoding.js';

import {btoa} from './base64.js';
import {blobInternals} from './blob.js';
import {DOMException} from './dom_exception.js';
import {Event, EventTarget, defineEventHandler} from './events.js';
import {nativeSetTimer, nativeUtf8Decode} from './native.js';
import {requiredArguments, toBoolean, toDictionary} from './webidl.js';

export class ProgressEvent extends Event {
  #lengthComputable = false;
  #loaded = 0;
  #total = 0;

  constructor(type, eventInitDict = undefined) {
    requiredArguments(arguments.length, 1, `Failed to construct 'ProgressEvent'`);
    super(type, eventInitDict);
    const dict = toDictionary(eventInitDict, `Failed to construct 'ProgressEvent': eventInitDict`);
    if (dict !== undefined) {
      this.#lengthComputable = toBoolean(dict.lengthComputable);
      const loaded = dict.loaded;
      this.#loaded = loaded === undefined ? 0 : toUnsignedLongLong(loaded);
      const total = dict.total;
      this.#total = total === undefined ? 0 : toUnsignedLongLong(total);
    }
  }

  get lengthComputable() {
    return this.#lengthComputable;
  }
  get loaded() {
    return this.#loaded;
  }
  get total() {
    return this.#total;
  }
}

function toUnsignedLongLong(value) {
  const x = Math.trunc(Number(value));
  return Number.isFinite(x) && x > 0 ? x : 0;
}

const EMPTY = 0;
const LOADING = 1;
const DONE = 2;

// File API "package data" for text: the encoding argument, else the blob type's charset, else
// UTF-8, as the fallback of the Encoding standard's "decode" (a BOM overrides it). UTF-8 is
// decoded natively; every other encoding of the standard by @exodus/bytes (encoding.js).
const charsetRe = /;\s*charset=("?)([^";]*)\1/i;
function decodeText(bytes, label, type) {
  let encoding = label === undefined ? null : normalizeEncoding(label);
  if (encoding === null) {
    const charset = charsetRe.exec(type);
    if (charset !== null) encoding = normalizeEncoding(charset[2]);
  }
  const utf8Bom = bytes.length >= 3 && bytes[0] === 0xEF && bytes[1] === 0xBB && bytes[2] === 0xBF;
  const utf16Bom = bytes.length >= 2 &&
      ((bytes[0] === 0xFE && bytes[1] === 0xFF) || (bytes[0] === 0xFF && bytes[1] === 0xFE));
  if (utf8Bom || (!utf16Bom && (encoding === null || encoding === 'utf-8'))) {
    return nativeUtf8Decode(bytes, false, false);
  }
  return legacyHookDecode(bytes, encoding ?? 'utf-8');
}

// A task: the request's timer with delay 0, or a microtask where there are no timers (a module's
// top level).
function queueTask(fn) {
  try {
    nativeSetTimer(fn, 0, false);
  } catch {
    Promise.resolve().then(fn);
  }
}

function binaryString(bytes) {
  let s = '';
  for (let i = 0; i < bytes.length; i += 8192) {
    s += String.fromCharCode.apply(null, bytes.subarray(i, Math.min(bytes.length, i + 8192)));
  }
  return s;
}

export class FileReader extends EventTarget {
  #state = EMPTY;
  #result = null;
  #error = null;
  #read = 0;  // the current read operation's number; an abort or a new read changes it

  constructor() {
    super();
  }

  get readyState() {
    return this.#state;
  }
  get result() {
    return this.#result;
  }
  get error() {
    return this.#error;
  }

  readAsArrayBuffer(blob) {
    this.#start(blob, 'readAsArrayBuffer', (bytes) => bytes.slice().buffer, arguments.length);
  }

  readAsBinaryString(blob) {
    this.#start(blob, 'readAsBinaryString', binaryString, arguments.length);
  }

  readAsText(blob, encoding = undefined) {
    const label = encoding === undefined ? undefined : String(encoding);
    this.#start(blob, 'readAsText', (bytes) => decodeText(bytes, label, blob.type),
                arguments.length);
  }

  readAsDataURL(blob) {
    this.#start(blob, 'readAsDataURL', (bytes) => {
      const type = blob.type === '' ? 'application/octet-stream' : blob.type;
      return `data:${type};base64,${btoa(binaryString(bytes))}`;
    }, arguments.length);
  }

  abort() {
    if (this.#state === EMPTY || this.#state === DONE) {
      this.#result = null;
      return;
    }
    this.#state = DONE;
    this.#result = null;
    this.#read++;
    this.#fire('abort');
    if (this.#state !== LOADING) this.#fire('loadend');
  }

  #fire(type, loaded = 0, total = 0) {
    this.dispatchEvent(new ProgressEvent(type, {lengthComputable: true, loaded, total}));
  }

  // File API "read operation".
  #start(blob, method, packageData, argc) {
    requiredArguments(argc, 1, `Failed to execute '${method}' on 'FileReader'`);
    if (!blobInternals.is(blob)) {
      throw new TypeError(`Failed to execute '${method}' on 'FileReader': parameter 1 is not of` +
                          ` type 'Blob'.`);
    }
    if (this.#state === LOADING) {
      throw new DOMException(`Failed to execute '${method}' on 'FileReader': The object is` +
                             ` already busy reading Blobs.`, 'InvalidStateError');
    }
    this.#state = LOADING;
    this.#result = null;
    this.#error = null;
    const read = ++this.#read;
    const bytes = blobInternals.bytes(blob);
    const size = bytes.byteLength;
    const live = () => this.#read === read;
    queueTask(() => {
      if (!live()) return;
      this.#fire('loadstart', 0, size);
      queueTask(() => {
        if (!live()) return;
        if (size > 0) this.#fire('progress', size, size);
        queueTask(() => {
          if (!live()) return;
          this.#state = DONE;
          try {
            this.#result = packageData(bytes);
          } catch (e) {
            this.#error = e;
            this.#fire('error');
            if (this.#state !== LOADING) this.#fire('loadend');
            return;
          }
          this.#fire('load', size, size);
          // The standard fires loadend in load's task; browsers run microtasks between the two
          // (each listener is called from the event loop), which a later task reproduces here.
          queueTask(() => {
            if (live() && this.#state !== LOADING) this.#fire('loadend', size, size);
          });
        });
      });
    });
  }
}

for (const [name, value] of [['EMPTY', EMPTY], ['LOADING', LOADING], ['DONE', DONE]]) {
  const desc = {value, writable: false, enumerable: true, configurable: false};
  Object.defineProperty(FileReader, name, desc);
  Object.defineProperty(FileReader.prototype, name, desc);
}
for (const name of ['onloadstart', 'onprogress', 'onload', 'onabort', 'onerror', 'onloadend']) {
  defineEventHandler(FileReader.prototype, name);
}
