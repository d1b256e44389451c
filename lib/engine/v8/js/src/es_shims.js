// ECMAScript 2024 string methods missing from V8 10.2 that whatwg-url (and Workers scripts) use:
// String.prototype.isWellFormed and String.prototype.toWellFormed, with the attributes of
// built-in methods. Nothing else of ECMAScript is patched.

import {isWellFormedString, named, toWellFormedString} from './webidl.js';

function thisString(value, method) {
  if (value === undefined || value === null) {
    throw new TypeError(`String.prototype.${method} called on null or undefined`);
  }
  return String(value);
}

const shims = {
  isWellFormed() {
    return isWellFormedString(thisString(this, 'isWellFormed'));
  },
  toWellFormed() {
    return toWellFormedString(thisString(this, 'toWellFormed'));
  },
};

for (const name of Object.keys(shims)) {
  if (typeof String.prototype[name] !== 'function') {
    Object.defineProperty(String.prototype, name, {
      value: named(shims[name], name),
      writable: true,
      enumerable: false,
      configurable: true,
    });
  }
}
