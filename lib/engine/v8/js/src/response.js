// Response (WHATWG Fetch §5.5).
//
// The common case, `new Response(text)` returned from a handler, allocates no Headers: the
// content type the body implies is kept aside and only becomes a header list when `headers` is
// read or the response is handed to the host (responseParts).
//
// `body` is a ReadableStream made on first read for a buffered body (body.js). A response whose
// body is a stream is handed to the host whole: dispatch.js reads the stream to its end first
// (responseInternals.collect). Not provided: `webSocket`.

import {
  cloneSource,
  defineBodyMethods,
  extractBody,
  isStreamSource,
  kTextPlain,
  sourceStream,
  sourceUsed,
} from './body.js';
import {headersInternals} from './headers.js';
import {streams} from './lazy.js';
import {parseAndSerializeURL} from './url.js';
import {toByteString, toDictionary, toUSVString} from './webidl.js';

const nullBodyStatuses = new Set([101, 103, 204, 205, 304]);
const redirectStatuses = new Set([301, 302, 303, 307, 308]);
// reason-phrase = *( HTAB / SP / VCHAR / obs-text )
const reasonPhrase = /^[\t\x20-\x7E\x80-\xFF]*$/;

export const responseInternals = {
  // (response) -> [status, flat sorted lower-case headers, body (string | Uint8Array)]; throws
  // for a response whose body is still a stream (collect it first)
  parts: undefined,
  // (response) -> whether its body is a ReadableStream
  streamed: undefined,
  // (response, maxBytes) -> Promise, settled when the response's stream body has been read into
  // a buffered body (rejects with a TypeError beyond maxBytes)
  collect: undefined,
  // (response) -> [status, flat sorted lower-case headers], for a response sent as a stream
  head: undefined,
  // (response, write, control) -> Promise of pumpBytes over the response's stream body
  pump: undefined,
  is: undefined,
  // (status, statusText, flatHeaders, Uint8Array, url, redirected) -> Response from fetch(),
  // immutable headers, any status the network gave
  fromNetwork: undefined,
};

const kInternal = {};
// Fetch "initialize a response"; defined inside the class, where it can set private state.
let initialize;

// Web IDL `unsigned short` without [EnforceRange]: modulo 2^16.
function toUnsignedShort(value) {
  const x = Number(value);
  if (!Number.isFinite(x)) return 0;
  const t = Math.trunc(x) % 65536;
  return t < 0 ? t + 65536 : t;
}

export class Response {
  #type = 'default';
  #status = 200;
  #statusText = '';
  #headers = null;
  // With #headers null: the content-type header the response has (or null for none).
  #contentType = null;
  #body = null;
  #bodyUsed = false;
  #url = '';
  #redirected = false;

  constructor(body = null, init = undefined) {
    if (body === kInternal) return;
    const dict = toDictionary(init, `Failed to construct 'Response': init`);
    let source = null, type = null;
    if (body !== null && body !== undefined) {
      if (typeof body === 'string') {
        source = body;
        type = kTextPlain;
      } else {
        [source, type] = extractBody(body);
      }
    }
    if (dict === undefined) {
      this.#body = source;
      this.#contentType = type;
      return;
    }
    initialize(this, dict, source, type);
  }

  static error() {
    const r = new Response(kInternal);
    r.#type = 'error';
    r.#status = 0;
    r.#headers = headersInternals.create([], 'immutable');
    return r;
  }

  static redirect(url, status = 302) {
    if (arguments.length < 1) {
      throw new TypeError(
          `Failed to execute 'redirect' on 'Response': 1 argument required, but only 0 present.`);
    }
    const s = toUSVString(url);
    const href = parseAndSerializeURL(s);
    if (href === null) {
      throw new TypeError(`Failed to execute 'redirect' on 'Response': Invalid URL '${s}'.`);
    }
    const code = toUnsignedShort(status);
    if (!redirectStatuses.has(code)) {
      throw new RangeError(
          `Failed to execute 'redirect' on 'Response': Invalid status code ${code}.`);
    }
    const r = new Response(kInternal);
    r.#status = code;
    r.#headers = headersInternals.create(['location', href], 'immutable');
    return r;
  }

  static json(data, init = undefined) {
    const dict = toDictionary(init, `Failed to execute 'json' on 'Response': init`);
    const text = JSON.stringify(data);
    if (text === undefined) {
      throw new TypeError(`Failed to execute 'json' on 'Response': The data is not JSON serializable.`);
    }
    const r = new Response(kInternal);
    if (dict === undefined) {
      r.#body = text;
      r.#contentType = 'application/json';
    } else {
      initialize(r, dict, text, 'application/json');
    }
    return r;
  }

  get type() {
    return this.#type;
  }
  get url() {
    return this.#url;
  }
  get redirected() {
    return this.#redirected;
  }
  get status() {
    return this.#status;
  }
  get ok() {
    return this.#status >= 200 && this.#status <= 299;
  }
  get statusText() {
    return this.#statusText;
  }

  get headers() {
    let headers = this.#headers;
    if (headers === null) {
      const ct = this.#contentType;
      headers = headersInternals.create(ct === null ? [] : ['content-type', ct], 'response');
      this.#headers = headers;
    }
    return headers;
  }

  get body() {
    const source = this.#body;
    if (source === null || isStreamSource(source)) return source;
    return this.#body = sourceStream(source, this.#bodyUsed);
  }

  get bodyUsed() {
    return sourceUsed(this.#body, this.#bodyUsed);
  }

  clone() {
    if (this.bodyUsed) {
      throw new TypeError(`Failed to execute 'clone' on 'Response': Response body is already used`);
    }
    const r = new Response(kInternal);
    r.#type = this.#type;
    r.#status = this.#status;
    r.#statusText = this.#statusText;
    r.#contentType = this.#contentType;
    if (this.#headers !== null) {
      r.#headers = headersInternals.copy(this.#headers, headersInternals.guard(this.#headers));
    }
    [this.#body, r.#body] = cloneSource(this.#body);
    r.#url = this.#url;
    r.#redirected = this.#redirected;
    return r;
  }

  static {
    defineBodyMethods(this, (r) => sourceUsed(r.#body, r.#bodyUsed), (r) => {
      const body = r.#body;
      if (body !== null) r.#bodyUsed = true;
      return body;
    }, (r) => r.headers.get('content-type'));
    responseInternals.is = (value) => typeof value === 'object' && value !== null && #type in value;
    responseInternals.fromNetwork = (status, statusText, headers, bytes, url, redirected) => {
      const r = new Response(kInternal);
      r.#type = 'basic';
      r.#status = status;
      r.#statusText = statusText;
      r.#headers = headersInternals.create(headers, 'immutable');
      r.#body = nullBodyStatuses.has(status) || bytes.length === 0 ? null : bytes;
      r.#url = url;
      r.#redirected = redirected;
      return r;
    };
    // The body of a Response the host is to send whole; throws when it cannot be.
    const wholeBody = (r) => {
      if (r.#type === 'error') {
        throw new TypeError('invalid response: Response.error() is a network error, not an HTTP response');
      }
      if (r.#bodyUsed) throw new TypeError('invalid response: its body was already read');
      const body = r.#body;
      if (isStreamSource(body)) throw new TypeError('invalid response: its body is a stream');
      return body === null ? '' : body;
    };
    // What parts() returns, given to respond(status, body, ...headers) instead (dispatch.js,
    // invokeFast): the host reads arguments without an API call each, where it reads an array's
    // elements one call at a time. A Response whose headers were never touched has at most a
    // content-type; one with a Headers object passes its list as one argument.
    responseInternals.respond = (r, respond) => {
      const body = wholeBody(r);
      if (r.#headers !== null) {
        respond(r.#status, body, headersInternals.sorted(r.#headers).slice());
        return;
      }
      const ct = r.#contentType;
      if (ct === null) respond(r.#status, body);
      else respond(r.#status, body, 'content-type', ct);
    };
    responseInternals.parts = (r) => {
      const body = wholeBody(r);
      let headers;
      if (r.#headers === null) {
        const ct = r.#contentType;
        headers = ct === null ? [] : ['content-type', ct];
      } else {
        headers = headersInternals.sorted(r.#headers).slice();
      }
      return [r.#status, headers, body];
    };
    responseInternals.streamed = (r) => isStreamSource(r.#body);
    responseInternals.head = (r) => {
      if (r.#headers === null) {
        const ct = r.#contentType;
        return [r.#status, ct === null ? [] : ['content-type', ct]];
      }
      return [r.#status, headersInternals.sorted(r.#headers).slice()];
    };
    responseInternals.pump = (r, write, control) => {
      if (sourceUsed(r.#body, r.#bodyUsed)) {
        return Promise.reject(new TypeError('invalid response: its body was already read'));
      }
      return streams().pumpBytes(r.#body, write, control);
    };
    responseInternals.collect = (r, maxBytes) => {
      if (sourceUsed(r.#body, r.#bodyUsed)) {
        return Promise.reject(new TypeError('invalid response: its body was already read'));
      }
      return streams().readAllBytes(r.#body, maxBytes).then(({bytes}) => {
        r.#body = bytes;
      });
    };
    // Fetch "initialize a response".
    initialize = (r, dict, source, type) => {
      const initHeaders = dict.headers;
      const initStatus = dict.status;
      const initStatusText = dict.statusText;
      const status = initStatus === undefined ? 200 : toUnsignedShort(initStatus);
      const statusText = initStatusText === undefined ? '' : toByteString(initStatusText, 'statusText');
      if (status < 200 || status > 599) {
        throw new RangeError(`Failed to construct 'Response': The status provided (${status}) is` +
                             ` outside the range [200, 599].`);
      }
      if (!reasonPhrase.test(statusText)) {
        throw new TypeError(`Failed to construct 'Response': Invalid statusText.`);
      }
      r.#status = status;
      r.#statusText = statusText;
      let headers = null;
      if (initHeaders !== undefined) {
        headers = headersInternals.create([], 'response');
        headersInternals.fill(headers, initHeaders);
      }
      if (source !== null) {
        if (nullBodyStatuses.has(status)) {
          throw new TypeError(
              `Failed to construct 'Response': Response with null body status cannot have body`);
        }
        r.#body = source;
        if (type !== null) {
          if (headers === null) {
            r.#contentType = type;
          } else if (!headersInternals.hasName(headers, 'content-type')) {
            headersInternals.appendTrusted(headers, 'content-type', type);
          }
        }
      }
      r.#headers = headers;
    };
  }
}

