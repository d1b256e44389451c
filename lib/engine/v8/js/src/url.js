// URL parsing for the rest of the runtime, without whatwg-url for the URLs servers see most: a
// canonical absolute http(s) URL (below) is its own serialization, and only other input evaluates
// url_impl.js (whatwg-url; lazy.js's urlImpl(), also behind the URL and URLSearchParams globals).

import {urlImpl} from './lazy.js';

// A fast path for the URLs servers see most: absolute http(s) URLs already in the exact form the
// URL serializer writes (lower-case ASCII host name or canonical IPv4 address, no credentials, no
// default or zero-padded port, a path without dot segments, a query and no fragment made only of
// characters that are never percent-encoded). For those the URL record is built directly; the
// result is the one whatwg-url's state machine produces (checked by the WPT test and by
// tools/dev_harness.js --check-fast-url, which compares it with the state machine on
// generated URLs), at a small fraction of its cost. Everything else goes
// through the state machine.
const canonicalHttpUrl = new RegExp(
    '^(https?)://' +
    '(?:((?:(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)\\.){3}(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d))' +
    '|((?:[a-z0-9_-]+\\.)*[a-z_-][a-z0-9_-]*))' +
    '(?::([1-9]\\d{0,4}))?' +
    '(/[A-Za-z0-9\\-._~!$&\'()*+,;=:@/%]*)' +
    '(?:\\?([A-Za-z0-9\\-._~!$&()*+,;=:@/?%]*))?$');
const dotSegment = /\/(?:\.|%2e){1,2}(?:\/|$)|%2e/i;

// Whether `input` is in that canonical form (then its serialization is `input` itself).
export function isCanonicalHttpUrl(input) {
  return canonicalHttpUrlRecord(input, true) !== null;
}

// The URL record of `input` when it is in canonical form, else null.
export function canonicalHttpUrlRecord(input, checkOnly = false) {
  const m = canonicalHttpUrl.exec(input);
  if (m === null) return null;
  const [, scheme, ipv4, domain, portText, path, query] = m;
  if (domain !== undefined && domain.includes('xn--')) return null;
  let port = null;
  if (portText !== undefined) {
    port = +portText;
    if (port > 65535 || port === (scheme === 'http' ? 80 : 443)) return null;
  }
  if (dotSegment.test(path)) return null;
  if (checkOnly) return true;
  let host = domain;
  if (ipv4 !== undefined) {
    const p = ipv4.split('.');
    host = ((+p[0] * 256 + +p[1]) * 256 + +p[2]) * 256 + +p[3];
  }
  return {
    scheme,
    username: '',
    password: '',
    host,
    port,
    path: path.slice(1).split('/'),
    query: query === undefined ? null : query,
    fragment: null,
  };
}

// The serialization of `input` parsed as an absolute URL (the URL parser, then the URL
// serializer), or null when it does not parse. `credentials`, when given, is an object whose
// `has` becomes whether the URL has a username or password.
export function parseAndSerializeURL(input, credentials = undefined) {
  if (isCanonicalHttpUrl(input)) {
    if (credentials !== undefined) credentials.has = false;
    return input;
  }
  const impl = urlImpl();
  const record = impl.parseURL(input);
  if (record === null) return null;
  if (credentials !== undefined) credentials.has = record.username !== '' || record.password !== '';
  return impl.serializeURL(record);
}

// Whether `value` is a URLSearchParams (none can exist before url_impl.js is evaluated).
export function isURLSearchParams(value) {
  return urlImpl.loaded() && urlImpl().isURLSearchParams(value);
}
