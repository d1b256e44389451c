// Request (WHATWG Fetch §5.4).
//
// Requests the host hands to a handler are built lazily: the URL string is kept as the host gave it
// and only parsed when it is not already in the form the URL serializer would produce, and the
// flat header array becomes a Headers object only when `headers` is first read. Incoming requests'
// headers are immutable, as in a service worker's fetch event and in Workers; `new Request(req)`
// makes a mutable copy.
//
// `body` is a ReadableStream made on first read for a buffered body (body.js); `new Request(url,
// {body: stream})` takes a stream (with or without `duplex: 'half'`, as in Workers). A body the
// host is still receiving is kArrivingBody until a script reads `body`, clones the request or hands
// it on: text(), json() and the other readers read it natively, without making a stream (so a
// handler that reads its POST body as JSON never evaluates the streams, lazy.js). `signal`
// follows the init's signal (or the input request's) as a dependent AbortSignal, made only when
// there is one to follow or when a script reads it.
//
// The members a browser acts on (mode, credentials, cache, referrer, referrerPolicy, integrity,
// keepalive, priority) are checked and kept as the standard says, so that code written against it
// sees what it expects; outgoing fetch() does not act on them. `mode: 'no-cors'` restricts the
// headers (headers.js). A handler has no origin of its own, so every referrer URL counts as
// cross-origin ("about:client"). They live in one shared record until an init sets one, so a
// request that uses none of them costs nothing more.

import {AbortSignal, abortSignalInternals} from './abort.js';
import {
  cloneSource,
  defineBodyMethods,
  extractBody,
  kArrivingBody,
  isStreamSource,
  proxySource,
  sourceStream,
  sourceUnusable,
  sourceUsed,
} from './body.js';
import {Headers, headersInternals, isToken} from './headers.js';
import {nativeReadBody} from './native.js';
import {streams} from './lazy.js';
import {isCanonicalHttpUrl, parseAndSerializeURL} from './url.js';
import {isObject, toByteString, toDictionary, toUSVString} from './webidl.js';

const normalizedMethods = new Map(
    ['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT'].map((m) => [m.toLowerCase(), m]));
const forbiddenMethods = new Set(['connect', 'trace', 'track']);
const corsSafelistedMethods = new Set(['GET', 'HEAD', 'POST']);
const redirectModes = new Set(['follow', 'error', 'manual']);
const requestModes = new Set(['navigate', 'same-origin', 'no-cors', 'cors']);
const credentialsModes = new Set(['omit', 'same-origin', 'include']);
const cacheModes =
    new Set(['default', 'no-store', 'reload', 'no-cache', 'force-cache', 'only-if-cached']);
const referrerPolicies = new Set([
  '', 'no-referrer', 'no-referrer-when-downgrade', 'same-origin', 'origin', 'strict-origin',
  'origin-when-cross-origin', 'strict-origin-when-cross-origin', 'unsafe-url',
]);
const priorities = new Set(['high', 'low', 'auto']);
const duplexModes = new Set(['half']);

// The standard's defaults for the members above. `referrer` is "client", "no-referrer" or a URL.
const kDefaultOptions = Object.freeze({
  mode: 'cors',
  credentials: 'same-origin',
  cache: 'default',
  referrer: 'client',
  referrerPolicy: '',
  integrity: '',
  keepalive: false,
});

// A Web IDL enum member of RequestInit.
function toEnum(value, allowed, type) {
  const s = String(value);
  if (!allowed.has(s)) {
    throw new TypeError(`Failed to construct 'Request': The provided value '${s}' is not a valid` +
                        ` enum value of type ${type}.`);
  }
  return s;
}

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
  #options = kDefaultOptions;

  constructor(input, init = undefined) {
    if (input === kHost) {
      this.#method = arguments[1];
      this.#url = arguments[2];
      this.#urlChecked = false;
      this.#rawHeaders = arguments[3];
      const body = arguments[4];
      // true: the body is still arriving, and is read as the script reads it.
      this.#body = body === undefined ? null : body === true ? kArrivingBody : body;
      return;
    }
    if (arguments.length < 1) {
      throw new TypeError(`Failed to construct 'Request': 1 argument required, but only 0 present.`);
    }
    const dict = toDictionary(init, `Failed to construct 'Request': init`);

    let inputRequest = null;
    let fallbackMode = null;
    if (isObject(input) && #method in input) {
      inputRequest = input;
      this.#url = input.url;
      this.#urlChecked = true;
      this.#method = input.#method;
      this.#redirect = input.#redirect;
      this.#options = input.#options;
    } else {
      const s = toUSVString(input);
      const credentials = {has: false};
      const href = parseAndSerializeURL(s, credentials);
      if (href === null) {
        throw new TypeError(`Failed to construct 'Request': Invalid URL '${s}'.`);
      }
      if (credentials.has) {
        throw new TypeError(
            `Failed to construct 'Request': Request cannot be constructed from a URL that` +
            ` includes credentials: '${s}'.`);
      }
      this.#url = href;
      this.#urlChecked = true;
      this.#method = 'GET';
      fallbackMode = 'cors';
    }

    // Dictionary members in lexicographic order, each read once and converted as Web IDL does.
    let initBody, initCache, initCredentials, initDuplex, initHeaders, initIntegrity, initKeepalive,
        initMethod, initMode, initPriority, initRedirect, initReferrer, initReferrerPolicy,
        initSignal, initWindow;
    let initEmpty = true;
    if (dict !== undefined) {
      initBody = dict.body;
      initCache = dict.cache;
      if (initCache !== undefined) initCache = toEnum(initCache, cacheModes, 'RequestCache');
      initCredentials = dict.credentials;
      if (initCredentials !== undefined) {
        initCredentials = toEnum(initCredentials, credentialsModes, 'RequestCredentials');
      }
      initDuplex = dict.duplex;
      if (initDuplex !== undefined) initDuplex = toEnum(initDuplex, duplexModes, 'RequestDuplex');
      initHeaders = dict.headers;
      initIntegrity = dict.integrity;
      if (initIntegrity !== undefined) initIntegrity = `${initIntegrity}`;  // DOMString
      initKeepalive = dict.keepalive;
      if (initKeepalive !== undefined) initKeepalive = !!initKeepalive;
      initMethod = dict.method;
      if (initMethod !== undefined) initMethod = toByteString(initMethod, 'method');
      initMode = dict.mode;
      if (initMode !== undefined) initMode = toEnum(initMode, requestModes, 'RequestMode');
      initPriority = dict.priority;
      if (initPriority !== undefined) {
        initPriority = toEnum(initPriority, priorities, 'RequestPriority');
      }
      initRedirect = dict.redirect;
      if (initRedirect !== undefined) {
        initRedirect = toEnum(initRedirect, redirectModes, 'RequestRedirect');
      }
      initReferrer = dict.referrer;
      if (initReferrer !== undefined) initReferrer = toUSVString(initReferrer);
      initReferrerPolicy = dict.referrerPolicy;
      if (initReferrerPolicy !== undefined) {
        initReferrerPolicy = toEnum(initReferrerPolicy, referrerPolicies, 'ReferrerPolicy');
      }
      initSignal = dict.signal;
      if (initSignal !== undefined && initSignal !== null && !abortSignalInternals.is(initSignal)) {
        throw new TypeError(`Failed to construct 'Request': member signal is not of type` +
                            ` AbortSignal.`);
      }
      initWindow = dict.window;
      initEmpty = initBody === undefined && initCache === undefined &&
          initCredentials === undefined && initDuplex === undefined && initHeaders === undefined &&
          initIntegrity === undefined && initKeepalive === undefined && initMethod === undefined &&
          initMode === undefined && initPriority === undefined && initRedirect === undefined &&
          initReferrer === undefined && initReferrerPolicy === undefined &&
          initSignal === undefined && initWindow === undefined;
    }
    if (initWindow !== undefined && initWindow !== null) {
      throw new TypeError(`Failed to construct 'Request': 'window' must be null.`);
    }

    // The browser-facing members: a new record only when an init may change them.
    if (!initEmpty) {
      const o = this.#options;
      let referrer = initEmpty ? o.referrer : 'client';
      if (initReferrer !== undefined) {
        if (initReferrer === '') {
          referrer = 'no-referrer';
        } else if (parseAndSerializeURL(initReferrer) === null) {
          throw new TypeError(`Failed to construct 'Request': Referrer '${initReferrer}' is not a` +
                              ` valid URL.`);
        }
        // Else "client": a handler has no origin that any URL could be same-origin with.
      }
      const mode = initMode ?? fallbackMode ?? (o.mode === 'navigate' ? 'same-origin' : o.mode);
      if (mode === 'navigate') {
        throw new TypeError(`Failed to construct 'Request': Cannot construct a Request with a` +
                            ` RequestInit whose mode member is set as 'navigate'.`);
      }
      const cache = initCache ?? o.cache;
      if (cache === 'only-if-cached' && mode !== 'same-origin') {
        throw new TypeError(`Failed to construct 'Request': 'only-if-cached' can be set only with` +
                            ` 'same-origin' mode`);
      }
      const options = {
        mode,
        credentials: initCredentials ?? o.credentials,
        cache,
        referrer,
        referrerPolicy: initEmpty ? o.referrerPolicy : initReferrerPolicy ?? '',
        integrity: initIntegrity ?? o.integrity,
        keepalive: initKeepalive ?? o.keepalive,
      };
      let same = true;
      for (const key in kDefaultOptions) same &&= options[key] === kDefaultOptions[key];
      this.#options = same ? kDefaultOptions : Object.freeze(options);
    }
    if (initMethod !== undefined) this.#method = normalizeMethod(initMethod);
    if (initRedirect !== undefined) this.#redirect = initRedirect;

    const followed = initSignal !== undefined ? initSignal :
                                                inputRequest !== null ? inputRequest.#signal : null;
    if (followed !== null) this.#signal = AbortSignal.any([followed]);

    const noCors = this.#options.mode === 'no-cors';
    if (noCors && !corsSafelistedMethods.has(this.#method)) {
      throw new TypeError(`Failed to construct 'Request': '${this.#method}' is unsupported in` +
                          ` no-cors mode.`);
    }
    const guard = noCors ? 'request-no-cors' : 'request';
    let headers;
    if (initHeaders !== undefined) {
      headers = headersInternals.create([], guard);
      headersInternals.fill(headers, initHeaders);
    } else if (inputRequest !== null && noCors && !initEmpty) {
      // Re-appended through the guard, which keeps only what no-cors allows.
      headers = headersInternals.create([], guard);
      const list = inputRequest.#headerList();
      const pairs = [];
      for (let i = 0; i < list.length; i += 2) pairs.push([list[i], list[i + 1]]);
      headersInternals.fill(headers, pairs);
    } else if (inputRequest !== null) {
      headers = headersInternals.create(inputRequest.#headerList().slice(), guard);
    } else {
      headers = headersInternals.create([], guard);
    }
    this.#headers = headers;

    const inputBody = inputRequest !== null ? inputRequest.#source() : null;
    const hasInitBody = initBody !== undefined && initBody !== null;
    if ((hasInitBody || inputBody !== null) &&
        (this.#method === 'GET' || this.#method === 'HEAD')) {
      throw new TypeError(
          `Failed to construct 'Request': Request with GET/HEAD method cannot have body.`);
    }
    if (hasInitBody) {
      const [source, type] = extractBody(initBody);
      if (isStreamSource(source)) {
        if (this.#options.keepalive) {
          throw new TypeError(`Failed to construct 'Request': keepalive cannot be used with a` +
                              ` ReadableStream body.`);
        }
        // Workers accepts a stream without `duplex: 'half'`, and so does this runtime.
        if (noCors) {
          throw new TypeError(`Failed to construct 'Request': a ReadableStream body needs mode` +
                              ` 'cors' or 'same-origin'.`);
        }
      }
      this.#body = source;
      if (type !== null && !headersInternals.hasName(headers, 'content-type')) {
        headersInternals.appendTrusted(headers, 'content-type', type);
      }
      // The input's body is replaced, and disturbed all the same (as browsers do).
      if (inputBody !== null) inputRequest.#bodyUsed = true;
    } else if (inputBody !== null) {
      if (sourceUnusable(inputBody, inputRequest.#bodyUsed)) {
        throw new TypeError(
            `Failed to construct 'Request': Cannot construct a Request with a Request object` +
            ` whose body has been used or is locked.`);
      }
      if (noCors && isStreamSource(inputBody)) {
        throw new TypeError(`Failed to construct 'Request': a ReadableStream body needs mode` +
                            ` 'cors' or 'same-origin'.`);
      }
      // The new request takes the body over (a stream through a proxy, as the standard says,
      // so that the input keeps its own, now disturbed, stream): the input counts as read.
      this.#body = proxySource(inputBody);
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
        const href = parseAndSerializeURL(this.#url);
        if (href !== null) this.#url = href;
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

  get destination() {
    return '';
  }

  get referrer() {
    const referrer = this.#options.referrer;
    return referrer === 'client' ? 'about:client' : referrer === 'no-referrer' ? '' : referrer;
  }

  get referrerPolicy() {
    return this.#options.referrerPolicy;
  }

  get mode() {
    return this.#options.mode;
  }

  get credentials() {
    return this.#options.credentials;
  }

  get cache() {
    return this.#options.cache;
  }

  get integrity() {
    return this.#options.integrity;
  }

  get keepalive() {
    return this.#options.keepalive;
  }

  get isReloadNavigation() {
    return false;
  }

  get isHistoryNavigation() {
    return false;
  }

  get duplex() {
    return 'half';
  }

  get body() {
    const source = this.#source();
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
    [this.#body, body] = cloneSource(this.#source());
    const copy = new Request(kHost, this.#method, this.url, null, body);
    copy.#urlChecked = true;
    copy.#redirect = this.#redirect;
    copy.#options = this.#options;
    if (this.#signal !== null) copy.#signal = AbortSignal.any([this.#signal]);
    copy.#headers = headersInternals.copy(this.headers, headersInternals.guard(this.headers));
    return copy;
  }

  // The body source, with a body still arriving turned into the stream that reads it (which loads
  // the streams), or into a disturbed empty one once a reader method took it: for the members that
  // hand the source on or expose it.
  #source() {
    if (this.#body === kArrivingBody) {
      this.#body = this.#bodyUsed ? sourceStream(null, true) :
                                    streams().streamOfArrivingBytes(nativeReadBody);
    }
    return this.#body;
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
      r.#source();
      return takeBody(r);
    };
  }
}
