// queueMicrotask (HTML §8.7): runs the callback as a microtask. An exception it throws is
// reported (an `error` event at the global scope, logged as uncaught unless a listener cancels
// it), not turned into an unhandled rejection.

import {reportException} from './events.js';
import {requiredArguments} from './webidl.js';

const resolved = Promise.resolve();

export function queueMicrotask(callback) {
  requiredArguments(arguments.length, 1, `Failed to execute 'queueMicrotask'`);
  if (typeof callback !== 'function') {
    throw new TypeError(
        `Failed to execute 'queueMicrotask': The callback provided as parameter 1 is not a function.`);
  }
  resolved.then(() => {
    try {
      callback();
    } catch (e) {
      reportException(e);
    }
  });
}
