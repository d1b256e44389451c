// fetch() (WHATWG Fetch §5.6) for a server: outbound HTTP and HTTPS through the engine.
//
// The engine makes one HTTP exchange per call of the native (no redirects), after checking the
// destination (no loopback, private, link-local, metadata, multicast addresses unless the operator
// allowed the host) and the request's subrequest budget; every hop of a redirect chain goes
// through it again. Redirect modes: 'follow' (at most 20, 303 and POST-after-301/302 become GET
// without a body, Authorization dropped across origins), 'error' (a redirect rejects) and
// 'manual' (the 3xx response is returned as it came, like Workers). Bodies are buffered both
// ways. A data: URL is answered from the URL itself (data_url.js). Every failure rejects with a
// TypeError whose message says why.
//
// A request's AbortSignal (init.signal, or the input Request's) rejects the promise with the
// signal's reason: at once when it is already aborted, else when it aborts, which also abandons
// the transfer under way (the engine closes its connection).

import {abortSignalInternals} from './abort.js';
import {isStreamSource} from './body.js';
import {processDataURL} from './data_url.js';
import {nativeCancelFetch, nativeFetch} from './native.js';
import {Request, requestInternals} from './request.js';
import {responseInternals} from './response.js';
import {streams, urlImpl} from './lazy.js';

const kMaxRedirects = 20;
const redirectStatuses = new Set([301, 302, 303, 307, 308]);

function headerValue(flat, name) {
  for (let i = 0; i < flat.length; i += 2) {
    if (flat[i] === name) return flat[i + 1];
  }
  return null;
}

function withoutNames(flat, names) {
  const out = [];
  for (let i = 0; i < flat.length; i += 2) {
    if (!names.has(flat[i])) out.push(flat[i], flat[i + 1]);
  }
  return out;
}

export function fetch(input, init = undefined) {
  let request, signal;
  try {
    if (arguments.length < 1) {
      throw new TypeError(`Failed to execute 'fetch': 1 argument required, but only 0 present.`);
    }
    request = new Request(input, init);
    signal = requestInternals.signal(request);
    if (signal !== null && signal.aborted) throw abortSignalInternals.reason(signal);
  } catch (e) {
    return Promise.reject(e);
  }
  if (signal === null) return exchange(request, null);
  return new Promise((resolve, reject) => {
    const transfer = {pending: null};
    const onAbort = () => {
      if (transfer.pending !== null) nativeCancelFetch(transfer.pending);
      reject(abortSignalInternals.reason(signal));
    };
    abortSignalInternals.add(signal, onAbort);
    exchange(request, transfer).then(resolve, reject).finally(() => {
      abortSignalInternals.remove(signal, onAbort);
    });
  });
}

// The request's exchanges, redirects followed. `transfer.pending`, when given, is kept set to the
// native promise of the exchange under way.
async function exchange(request, transfer) {
  const mode = request.redirect;
  let method = request.method;
  let url = request.url;
  let headers = requestInternals.headerList(request).slice();
  let body = requestInternals.takeBody(request);
  // The engine's client sends bodies whole: a stream is read to its end first.
  if (isStreamSource(body)) body = (await streams().readAllBytes(body)).bytes;
  if (url.startsWith('data:')) {
    // A data: URL needs no network (Fetch "scheme fetch"): its own bytes, as the standard parses
    // them; a HEAD request gets no body.
    const data = processDataURL(url);
    if (data === null) throw new TypeError(`fetch: ${url.slice(0, 64)} is not a valid data: URL`);
    return responseInternals.fromNetwork(200, 'OK', ['content-type', data.mimeType],
                                         method === 'HEAD' ? new Uint8Array(0) : data.body, url, false);
  }
  for (let redirects = 0;; redirects++) {
    const pending = nativeFetch(method, url, headers, body);
    if (transfer !== null) transfer.pending = pending;
    const [status, statusText, responseHeaders, bytes] = await pending;
    if (transfer !== null) transfer.pending = null;
    const location = redirectStatuses.has(status) ? headerValue(responseHeaders, 'location') : null;
    if (location === null || mode === 'manual') {
      return responseInternals.fromNetwork(status, statusText, responseHeaders, bytes, url,
                                           redirects > 0);
    }
    if (mode === 'error') {
      throw new TypeError(`fetch: ${url} redirected (${status}) and the redirect mode is 'error'`);
    }
    if (redirects >= kMaxRedirects) {
      throw new TypeError(`fetch: too many redirects (more than ${kMaxRedirects}) from ${request.url}`);
    }
    let next;
    try {
      next = new (urlImpl().URL)(location, url);
    } catch {
      throw new TypeError(`fetch: ${url} redirected to an invalid URL '${location}'`);
    }
    if (next.protocol !== 'http:' && next.protocol !== 'https:') {
      throw new TypeError(`fetch: ${url} redirected to an unsupported scheme '${next.protocol}'`);
    }
    if (status === 303 ? method !== 'GET' && method !== 'HEAD' :
                         (status === 301 || status === 302) && method === 'POST') {
      method = 'GET';
      body = null;
      headers = withoutNames(
          headers,
          new Set(['content-type', 'content-length', 'content-encoding', 'content-language',
                   'content-location']));
    }
    if (next.origin !== new (urlImpl().URL)(url).origin) {
      headers = withoutNames(headers, new Set(['authorization', 'cookie']));
    }
    url = next.href;
  }
}
