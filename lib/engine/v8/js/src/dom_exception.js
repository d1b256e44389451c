// DOMException, as Web IDL defines it: (message = "", name = "Error"), a legacy `code` looked up
// from the name, the legacy code constants on the interface and its prototype, and
// Error.prototype as the prototype's prototype so that instances are Errors to scripts.

import {toDOMString} from './webidl.js';

const legacyCodes = {
  IndexSizeError: 1,
  HierarchyRequestError: 3,
  WrongDocumentError: 4,
  InvalidCharacterError: 5,
  NoModificationAllowedError: 7,
  NotFoundError: 8,
  NotSupportedError: 9,
  InUseAttributeError: 10,
  InvalidStateError: 11,
  SyntaxError: 12,
  InvalidModificationError: 13,
  NamespaceError: 14,
  InvalidAccessError: 15,
  TypeMismatchError: 17,
  SecurityError: 18,
  NetworkError: 19,
  AbortError: 20,
  URLMismatchError: 21,
  QuotaExceededError: 22,
  TimeoutError: 23,
  InvalidNodeTypeError: 24,
  DataCloneError: 25,
};

const constants = [
  ['INDEX_SIZE_ERR', 1], ['DOMSTRING_SIZE_ERR', 2], ['HIERARCHY_REQUEST_ERR', 3],
  ['WRONG_DOCUMENT_ERR', 4], ['INVALID_CHARACTER_ERR', 5], ['NO_DATA_ALLOWED_ERR', 6],
  ['NO_MODIFICATION_ALLOWED_ERR', 7], ['NOT_FOUND_ERR', 8], ['NOT_SUPPORTED_ERR', 9],
  ['INUSE_ATTRIBUTE_ERR', 10], ['INVALID_STATE_ERR', 11], ['SYNTAX_ERR', 12],
  ['INVALID_MODIFICATION_ERR', 13], ['NAMESPACE_ERR', 14], ['INVALID_ACCESS_ERR', 15],
  ['VALIDATION_ERR', 16], ['TYPE_MISMATCH_ERR', 17], ['SECURITY_ERR', 18], ['NETWORK_ERR', 19],
  ['ABORT_ERR', 20], ['URL_MISMATCH_ERR', 21], ['QUOTA_EXCEEDED_ERR', 22], ['TIMEOUT_ERR', 23],
  ['INVALID_NODE_TYPE_ERR', 24], ['DATA_CLONE_ERR', 25],
];

export class DOMException {
  #name;
  #message;

  constructor(message = undefined, name = undefined) {
    this.#message = message === undefined ? '' : toDOMString(message);
    this.#name = name === undefined ? 'Error' : toDOMString(name);
    // A stack like any Error's, so that console output and the host's error reports show where.
    if (Error.captureStackTrace) Error.captureStackTrace(this, new.target || DOMException);
  }

  get name() {
    return this.#name;
  }
  get message() {
    return this.#message;
  }
  get code() {
    const name = this.#name;
    return Object.prototype.hasOwnProperty.call(legacyCodes, name) ? legacyCodes[name] : 0;
  }

  static isDOMException(value) {
    return value !== null && typeof value === 'object' && #name in value;
  }
}

// Object.setPrototypeOf keeps DOMException.prototype's own properties; Error.prototype.toString
// then prints "Name: message" through the getters above.
Object.setPrototypeOf(DOMException.prototype, Error.prototype);
for (const [name, value] of constants) {
  const desc = {value, writable: false, enumerable: true, configurable: false};
  Object.defineProperty(DOMException, name, desc);
  Object.defineProperty(DOMException.prototype, name, desc);
}
export const isDOMException = DOMException.isDOMException;
delete DOMException.isDOMException;
