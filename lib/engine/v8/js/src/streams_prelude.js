// Loaded just before web-streams-polyfill, which picks its DOMException from the global object
// when it loads (and otherwise makes its own): ours must be global by then, so that the errors
// streams raise (AbortError, ...) are the DOMExceptions scripts see everywhere else.

import {DOMException} from './dom_exception.js';

Object.defineProperty(globalThis, 'DOMException',
                      {value: DOMException, writable: true, enumerable: false, configurable: true});
