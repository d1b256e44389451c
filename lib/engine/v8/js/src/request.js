// Request (WHATWG Fetch §5.4).
//
// Requests the host hands to a handler are built lazily: the URL string is kept as the host gave it
// and only parsed when it is not already in the form the URL serializer would produce, and the
// flat header array becomes a Headers object only when `headers` is first read. Incoming requests'
// headers are immutable, as in a service worker's fetch event and in Workers; `new Request(req)`
// makes a mutable copy.
//
// `body` is a ReadableStream made on first read for a buffered body (body.js); `new Request(url,
// {body: stream})` takes a stream (with or without `duplex: 'half'`, as in Workers). `signal`
// follows the init's signal (or the input request's) as a dependent AbortSignal, made only when
// there is one to follow or when a script reads it. Not provided: the browser-only members (mode,
// credentials, cache, referrer, integrity, ...), which mean nothing on a server.

import {AbortSignal, abortSignalInternals} from './abort.js';
import {
  cloneSource,
  defineBodyMethods,
  extractBody,
  isStreamSource,
  sourceStream,
  sourceUsed,
} from './body.js';
import {Headers, headersInternals, isToken} from './headers.js';
import {nativeReadBody} from './native.js';
import {streamOfArrivingBytes} from './streams.js';
import {isCanonicalHttpUrl, parseURL, serializeURL, urlHasCredentials} from './url.js';
import {isObject, toByteString, toDictionary, toUSVString} from './webidl.js';

const normalizedMethods = new Map(
    ['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT'].map((m) => [m.toLowerCase(), m]));
const forbiddenMethods = new Set(['connect', 'trace', 'track']);
const redirectModes = new Set(['follow', 'error', 'manual']);

function normalizeMethod(method) {
  if (!isToken(method)) {
    throw new TypeError(`Failed to construct 'Request': '${method}' is not a valid HTTP method.`);
  }
  const lower = method.toLowerCase();
  if (forbiddenMethods.has(lower)) {
    throw new TypeError(`Failed to construct 'Request': '${method}' HTTP method is unsupported.`);
  }
  return normalizedMethods.get(lower) ?? method;
}

export const requestInternals = {
  fromHost: undefined,  // (method, url, flatHeaders, body) -> Request
  is: undefined,
  headerList: undefined,  // (request) -> flat header list (live; do not modify)
  // (request) -> body source (string | Uint8Array | ReadableStream | null); marks it used
  takeBody: undefined,
  signal: undefined,  // (request) -> its AbortSignal, or null when it has none to follow
  abort: undefined,  // (request, reason): aborts its signal (the client went away)
};

const kHost = {};

export class Request {
  #method;
  #url;
  #urlChecked;
  #headers = null;
  #rawHeaders = null;  // the host's flat header list until `headers` is read
  #body;
  #bodyUsed = false;
  #redirect = 'follow';
  #signal = null;

  constructor(input, init = undefined) {
    if (input === kHost) {
      this.#method = arguments[1];
      this.#url = arguments[2];
      this.#urlChecked = false;
      this.#rawHeaders = arguments[3];
      const body = arguments[4];
      // true: the body is still arriving, and is read as the script reads the stream.
      this.#body = body === undefined ? null :
          body === true                  ? streamOfArrivingBytes(nativeReadBody) :
                                           body;
      return;
    }
    if (arguments.length < 1) {
      throw new TypeError(`Failed to construct 'Request': 1 argument required, but only 0 present.`);
    }
    const dict = toDictionary(init, `Failed to construct 'Request': init`);

    let inputRequest = null;
    if (isObject(input) && #method in input) {
      inputRequest = input;
      this.#url = input.url;
      this.#urlChecked = true;
      this.#method = input.#method;
      this.#redirect = input.#redirect;
    } else {
      const s = toUSVString(input);
      const record = parseURL(s);
      if (record === null) {
        throw new TypeError(`Failed to construct 'Request': Invalid URL '${s}'.`);
      }
      if (urlHasCredentials(record)) {
        throw new TypeError(
            `Failed to construct 'Request': Request cannot be constructed from a URL that` +
            ` includes credentials: '${s}'.`);
      }
      this.#url = serializeURL(record);
      this.#urlChecked = true;
      this.#method = 'GET';
    }

    // Dictionary members in lexicographic order, each read once.
    let initBody, initHeaders, initMethod, initRedirect, initSignal;
    if (dict !== undefined) {
      initBody = dict.body;
      initHeaders = dict.headers;
      initMethod = dict.method;
      initRedirect = dict.redirect;
      initSignal = dict.signal;
      if (initSignal !== undefined && initSignal !== null && !abortSignalInternals.is(initSignal)) {
        throw new TypeError(`Failed to construct 'Request': member signal is not of type` +
                            ` AbortSignal.`);
      }
    }
    if (initMethod !== undefined) {
      this.#method = normalizeMethod(toByteString(initMethod, 'method'));
    }
    if (initRedirect !== undefined) {
      const mode = String(initRedirect);
      if (!redirectModes.has(mode)) {
        throw new TypeError(`Failed to construct 'Request': The provided value '${mode}' is not a` +
                            ` valid enum value of type RequestRedirect.`);
      }
      this.#redirect = mode;
    }

    const followed = initSignal !== undefined ? initSignal :
                                                inputRequest !== null ? inputRequest.#signal : null;
    if (followed !== null) this.#signal = AbortSignal.any([followed]);

    let headers;
    if (initHeaders !== undefined) {
      headers = headersInternals.create([], 'request');
      headersInternals.fill(headers, initHeaders);
    } else if (inputRequest !== null) {
      headers = headersInternals.create(inputRequest.#headerList().slice(), 'request');
    } else {
      headers = headersInternals.create([], 'request');
    }
    this.#headers = headers;

    const inputBody = inputRequest !== null ? inputRequest.#body : null;
    const hasInitBody = initBody !== undefined && initBody !== null;
    if ((hasInitBody || inputBody !== null) &&
        (this.#method === 'GET' || this.#method === 'HEAD')) {
      throw new TypeError(
          `Failed to construct 'Request': Request with GET/HEAD method cannot have body.`);
    }
    if (hasInitBody) {
      const [source, type] = extractBody(initBody);
      this.#body = source;
      if (type !== null && !headersInternals.hasName(headers, 'content-type')) {
        headersInternals.appendTrusted(headers, 'content-type', type);
      }
    } else if (inputBody !== null) {
      if (sourceUsed(inputBody, inputRequest.#bodyUsed)) {
        throw new TypeError(
            `Failed to construct 'Request': Cannot construct a Request with a Request object` +
            ` that has already been used.`);
      }
      // The new request takes the body over: the input counts as read from now on.
      this.#body = inputBody;
      inputRequest.#bodyUsed = true;
    } else {
      this.#body = null;
    }
  }

  get method() {
    return this.#method;
  }

  get url() {
    if (!this.#urlChecked) {
      this.#urlChecked = true;
      if (!isCanonicalHttpUrl(this.#url)) {
        const record = parseURL(this.#url);
        if (record !== null) this.#url = serializeURL(record);
      }
    }
    return this.#url;
  }

  get headers() {
    let headers = this.#headers;
    if (headers === null) {
      headers = headersInternals.fromHost(this.#rawHeaders);
      this.#rawHeaders = null;
      this.#headers = headers;
    }
    return headers;
  }

  get redirect() {
    return this.#redirect;
  }

  get body() {
    const source = this.#body;
    if (source === null || isStreamSource(source)) return source;
    return this.#body = sourceStream(source, this.#bodyUsed);
  }

  get bodyUsed() {
    return sourceUsed(this.#body, this.#bodyUsed);
  }

  get signal() {
    if (this.#signal === null) this.#signal = AbortSignal.any([]);
    return this.#signal;
  }

  clone() {
    if (this.bodyUsed) {
      throw new TypeError(`Failed to execute 'clone' on 'Request': Request body is already used`);
    }
    let body;
    [this.#body, body] = cloneSource(this.#body);
    const copy = new Request(kHost, this.#method, this.url, null, body);
    copy.#urlChecked = true;
    copy.#redirect = this.#redirect;
    if (this.#signal !== null) copy.#signal = AbortSignal.any([this.#signal]);
    copy.#headers = headersInternals.copy(this.headers, headersInternals.guard(this.headers));
    return copy;
  }

  #headerList() {
    return headersInternals.list(this.headers);
  }

  static {
    const takeBody = (r) => {
      const body = r.#body;
      if (body !== null) r.#bodyUsed = true;
      return body;
    };
    defineBodyMethods(this, (r) => sourceUsed(r.#body, r.#bodyUsed), takeBody,
                      (r) => r.headers.get('content-type'));
    requestInternals.is = (value) => isObject(value) && #method in value;
    requestInternals.fromHost = (method, url, headers, body) =>
        new Request(kHost, method, url, headers, body);
    requestInternals.headerList = (r) => r.#headerList();
    requestInternals.signal = (r) => r.#signal;
    requestInternals.abort = (r, reason) => {
      if (r.#signal === null) r.#signal = AbortSignal.any([]);
      abortSignalInternals.abort(r.#signal, reason);
    };
    requestInternals.takeBody = (r) => {
      if (sourceUsed(r.#body, r.#bodyUsed)) {
        throw new TypeError(`Failed to execute 'fetch': the request's body was already read`);
      }
      return takeBody(r);
    };
  }
}
