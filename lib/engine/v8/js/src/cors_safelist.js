// The header checks of a Request made with `mode: 'no-cors'` (Fetch §2.2.2): its Headers (guard
// "request-no-cors") only ever hold no-CORS-safelisted request headers. A browser needs this to
// keep a no-cors request within what a form could send; a server gets the same observable
// behaviour, so that code written against the standard sees what it expects.

import {parseMimeType} from './form_data.js';

// Bytes a safelisted value must not contain: controls other than tab, DEL and "():<>?@[\]{}.
const corsUnsafeByteRe = /[\x00-\x08\x0a-\x1f"():<>?@[\\\]{}\x7f]/;
const languageValueRe = /^[0-9A-Za-z *,\-.;=]*$/;
const safelistedContentTypes =
    new Set(['application/x-www-form-urlencoded', 'multipart/form-data', 'text/plain']);

// Fetch "no-CORS-safelisted request-header name" (lower-case names).
export function isNoCorsSafelistedName(name) {
  return name === 'accept' || name === 'accept-language' || name === 'content-language' ||
      name === 'content-type';
}

// Fetch "no-CORS-safelisted request-header": a lower-case name and its (normalized) value.
export function isNoCorsSafelisted(name, value) {
  if (!isNoCorsSafelistedName(name) || value.length > 128) return false;
  switch (name) {
    case 'accept':
      return !corsUnsafeByteRe.test(value);
    case 'accept-language':
    case 'content-language':
      return languageValueRe.test(value);
    default: {  // content-type
      if (corsUnsafeByteRe.test(value)) return false;
      const mime = parseMimeType(value);
      return mime !== null && safelistedContentTypes.has(mime.essence);
    }
  }
}
