// Headers (WHATWG Fetch §5.2).
//
// The header list is a flat array [name0, value0, name1, value1, ...] in insertion order, names
// lower-cased (the case a name was first given with is not observable through this API, and the
// host writes lower-case names). Iteration runs over the "sort and combine" form: names sorted,
// values of one name joined with ", ", except `set-cookie`, whose values stay separate. That form
// is cached until the next change.
//
// Guards: "none" (new Headers), "request", "request-no-cors" (a Request with `mode: 'no-cors'`),
// "response" and "immutable" (incoming requests, Response.error(), Response.redirect()). Like
// Workers, Deno and Node, and unlike a browser, the "request"/"response" guards do not drop
// forbidden header names (Host, Set-Cookie, ...): a server runtime forwards and sets them
// deliberately. Names and values are still validated. "request-no-cors" ignores changes that would
// leave a header outside the no-CORS safelist, as the standard says.

import {isNoCorsSafelisted, isNoCorsSafelistedName} from './cors_safelist.js';
import {isObject, requiredArguments, toByteString} from './webidl.js';

// RFC 9110 token characters.
const tokenRe = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// HTTP whitespace at either end of a value.
const trimRe = /^[\t\n\r ]+|[\t\n\r ]+$/g;
const edgeWhitespaceRe = /^[\t\n\r ]|[\t\n\r ]$/;
// After trimming, a value must not contain NUL, CR or LF.
const invalidValueRe = /[\0\r\n]/;
const upperRe = /[A-Z]/;

export function isToken(s) {
  return tokenRe.test(s);
}

function lowerName(name) {
  return upperRe.test(name) ? name.toLowerCase() : name;
}

function normalizeValue(value) {
  return edgeWhitespaceRe.test(value) ? value.replace(trimRe, '') : value;
}

function checkName(name, op) {
  if (!tokenRe.test(name)) {
    throw new TypeError(`Failed to execute '${op}' on 'Headers': Invalid name: '${name}'.`);
  }
}

function checkValue(value, op) {
  if (invalidValueRe.test(value)) {
    throw new TypeError(`Failed to execute '${op}' on 'Headers': Invalid value.`);
  }
}

// Module-private access to a Headers object's state, for Request, Response and the dispatcher.
export const headersInternals = {
  create: undefined,  // (flatList, guard) -> Headers, list trusted (lower-case, valid)
  fromHost: undefined,  // (flat list from the host) -> immutable Headers
  list: undefined,  // (headers) -> flat list (live; do not modify)
  guard: undefined,
  setGuard: undefined,
  sorted: undefined,  // (headers) -> sorted and combined flat list
  fill: undefined,  // (headers, init) appends init
  hasName: undefined,  // (headers, lower-case name) -> bool, bypassing validation
  appendTrusted: undefined,
  copy: undefined,  // (headers, guard) -> Headers with a copy of the list
};

const kTrusted = {};

export class Headers {
  #list;
  #guard = 'none';
  #sorted = null;

  constructor(init = undefined) {
    if (init === kTrusted) {
      this.#list = arguments[1];
      this.#guard = arguments[2];
      return;
    }
    this.#list = [];
    if (init !== undefined) fill(this, init);
  }

  append(name, value) {
    requiredArguments(arguments.length, 2, `Failed to execute 'append' on 'Headers'`);
    name = toByteString(name, 'Header name');
    value = normalizeValue(toByteString(value, 'Header value'));
    checkName(name, 'append');
    checkValue(value, 'append');
    this.#checkMutable('append');
    const lname = lowerName(name);
    if (this.#guard === 'request-no-cors') {
      const current = this.#combined(lname);
      if (!isNoCorsSafelisted(lname, current === null ? value : `${current}, ${value}`)) return;
    }
    this.#list.push(lname, value);
    this.#sorted = null;
  }

  delete(name) {
    requiredArguments(arguments.length, 1, `Failed to execute 'delete' on 'Headers'`);
    name = toByteString(name, 'Header name');
    checkName(name, 'delete');
    this.#checkMutable('delete');
    const lname = lowerName(name);
    // "range", the one privileged no-CORS header, never gets into such a list.
    if (this.#guard === 'request-no-cors' && !isNoCorsSafelistedName(lname)) return;
    const list = this.#list;
    let w = 0;
    for (let r = 0; r < list.length; r += 2) {
      if (list[r] !== lname) {
        list[w++] = list[r];
        list[w++] = list[r + 1];
      }
    }
    if (w !== list.length) {
      list.length = w;
      this.#sorted = null;
    }
  }

  get(name) {
    requiredArguments(arguments.length, 1, `Failed to execute 'get' on 'Headers'`);
    name = toByteString(name, 'Header name');
    checkName(name, 'get');
    return this.#combined(lowerName(name));
  }

  // Fetch "get": the values of a lower-case name joined with ", ", or null.
  #combined(lname) {
    const list = this.#list;
    let out = null;
    for (let i = 0; i < list.length; i += 2) {
      if (list[i] === lname) out = out === null ? list[i + 1] : `${out}, ${list[i + 1]}`;
    }
    return out;
  }

  getSetCookie() {
    const list = this.#list;
    const out = [];
    for (let i = 0; i < list.length; i += 2) {
      if (list[i] === 'set-cookie') out.push(list[i + 1]);
    }
    return out;
  }

  has(name) {
    requiredArguments(arguments.length, 1, `Failed to execute 'has' on 'Headers'`);
    name = toByteString(name, 'Header name');
    checkName(name, 'has');
    const lname = lowerName(name);
    const list = this.#list;
    for (let i = 0; i < list.length; i += 2) {
      if (list[i] === lname) return true;
    }
    return false;
  }

  set(name, value) {
    requiredArguments(arguments.length, 2, `Failed to execute 'set' on 'Headers'`);
    name = toByteString(name, 'Header name');
    value = normalizeValue(toByteString(value, 'Header value'));
    checkName(name, 'set');
    checkValue(value, 'set');
    this.#checkMutable('set');
    const lname = lowerName(name);
    if (this.#guard === 'request-no-cors' && !isNoCorsSafelisted(lname, value)) return;
    const list = this.#list;
    // Replace the first occurrence in place and drop the others (Fetch "set").
    let found = false;
    let w = 0;
    for (let r = 0; r < list.length; r += 2) {
      if (list[r] === lname) {
        if (found) continue;
        found = true;
        list[w++] = lname;
        list[w++] = value;
      } else {
        list[w++] = list[r];
        list[w++] = list[r + 1];
      }
    }
    list.length = w;
    if (!found) list.push(lname, value);
    this.#sorted = null;
  }

  forEach(callback, thisArg = undefined) {
    requiredArguments(arguments.length, 1, `Failed to execute 'forEach' on 'Headers'`);
    if (typeof callback !== 'function') {
      throw new TypeError(
          `Failed to execute 'forEach' on 'Headers': parameter 1 is not of type 'Function'.`);
    }
    // The list is re-read at every step, as Web IDL's default forEach does.
    for (let i = 0;; i += 2) {
      const pairs = this.#sortedList();
      if (i >= pairs.length) break;
      callback.call(thisArg, pairs[i + 1], pairs[i], this);
    }
  }

  entries() {
    return new HeadersIterator(this, 'key+value');
  }
  keys() {
    return new HeadersIterator(this, 'key');
  }
  values() {
    return new HeadersIterator(this, 'value');
  }

  #checkMutable(op) {
    if (this.#guard === 'immutable') {
      throw new TypeError(`Failed to execute '${op}' on 'Headers': Headers are immutable.`);
    }
  }

  // Fetch "sort and combine", as a flat list.
  #sortedList() {
    if (this.#sorted !== null) return this.#sorted;
    const list = this.#list;
    const n = list.length >> 1;
    let out;
    if (n === 0) {
      out = [];
    } else if (n === 1) {
      out = [list[0], list[1]];
    } else {
      // Stable sort of indices by name, then combine runs of one name (set-cookie kept apart).
      const order = new Array(n);
      for (let i = 0; i < n; i++) order[i] = i;
      order.sort((a, b) => {
        const x = list[2 * a], y = list[2 * b];
        return x < y ? -1 : x > y ? 1 : a - b;
      });
      out = [];
      for (let k = 0; k < n; k++) {
        const name = list[2 * order[k]];
        const value = list[2 * order[k] + 1];
        if (name !== 'set-cookie' && out.length > 0 && out[out.length - 2] === name) {
          out[out.length - 1] = `${out[out.length - 1]}, ${value}`;
        } else {
          out.push(name, value);
        }
      }
    }
    this.#sorted = out;
    return out;
  }

  static {
    headersInternals.create = (list, guard) => new Headers(kTrusted, list, guard);
    // The host's header names are as received: lower-case them here, once.
    headersInternals.fromHost = (flat) => {
      const list = flat == null ? [] : flat;
      for (let i = 0; i < list.length; i += 2) list[i] = lowerName(list[i]);
      return new Headers(kTrusted, list, 'immutable');
    };
    headersInternals.list = (h) => h.#list;
    headersInternals.guard = (h) => h.#guard;
    headersInternals.setGuard = (h, guard) => {
      h.#guard = guard;
    };
    headersInternals.sorted = (h) => h.#sortedList();
    headersInternals.fill = fill;
    headersInternals.hasName = (h, lname) => {
      const list = h.#list;
      for (let i = 0; i < list.length; i += 2) {
        if (list[i] === lname) return true;
      }
      return false;
    };
    headersInternals.appendTrusted = (h, lname, value) => {
      h.#list.push(lname, value);
      h.#sorted = null;
    };
    headersInternals.copy = (h, guard) => new Headers(kTrusted, h.#list.slice(), guard);
    headersInternals.is = (value) => isObject(value) && #list in value;
  }
}
Object.defineProperty(Headers.prototype, Symbol.iterator, {
  value: Headers.prototype.entries,
  writable: true,
  enumerable: false,
  configurable: true,
});

// Fetch "fill": a sequence of [name, value] pairs, or a record of name -> value.
function fill(headers, init) {
  if (!isObject(init)) {
    throw new TypeError(`Failed to construct 'Headers': The provided value is not of type` +
                        ` '(record<ByteString, ByteString> or sequence<sequence<ByteString>>)'.`);
  }
  const iteratorMethod = init[Symbol.iterator];
  if (iteratorMethod !== undefined && iteratorMethod !== null) {
    if (typeof iteratorMethod !== 'function') {
      throw new TypeError(`Failed to construct 'Headers': @@iterator is not callable.`);
    }
    // Convert the whole sequence first (Web IDL), then append.
    const pairs = [];
    for (const pair of {[Symbol.iterator]: () => iteratorMethod.call(init)}) {
      if (!isObject(pair) || typeof pair[Symbol.iterator] !== 'function') {
        throw new TypeError(
            `Failed to construct 'Headers': The provided value cannot be converted to a sequence.`);
      }
      const items = Array.from(pair);
      if (items.length !== 2) {
        throw new TypeError(`Failed to construct 'Headers': a header must be a [name, value] pair` +
                            ` (got ${items.length} items).`);
      }
      pairs.push(toByteString(items[0], 'Header name'), toByteString(items[1], 'Header value'));
    }
    for (let i = 0; i < pairs.length; i += 2) headers.append(pairs[i], pairs[i + 1]);
    return;
  }
  const pairs = [];
  for (const key of Reflect.ownKeys(init)) {
    const desc = Reflect.getOwnPropertyDescriptor(init, key);
    if (desc === undefined || !desc.enumerable) continue;
    pairs.push(toByteString(key, 'Header name'), toByteString(init[key], 'Header value'));
  }
  for (let i = 0; i < pairs.length; i += 2) headers.append(pairs[i], pairs[i + 1]);
}

const IteratorPrototype = Object.getPrototypeOf(Object.getPrototypeOf([][Symbol.iterator]()));

class HeadersIterator {
  #headers;
  #kind;
  #index = 0;

  constructor(headers, kind) {
    this.#headers = headers;
    this.#kind = kind;
  }

  next() {
    const pairs = headersInternals.sorted(this.#headers);
    const i = this.#index;
    if (i >= pairs.length) return {value: undefined, done: true};
    this.#index = i + 2;
    const kind = this.#kind;
    const value = kind === 'key' ? pairs[i] : kind === 'value' ? pairs[i + 1] : [pairs[i], pairs[i + 1]];
    return {value, done: false};
  }
}
Object.setPrototypeOf(HeadersIterator.prototype, IteratorPrototype);
delete HeadersIterator.prototype.constructor;
Object.defineProperty(HeadersIterator.prototype, 'next', {enumerable: true});
Object.defineProperty(HeadersIterator.prototype, Symbol.toStringTag,
                      {value: 'Headers Iterator', configurable: true});
