// queueMicrotask (HTML §8.7): runs the callback as a microtask. An exception it throws is
// reported (logged as an uncaught error), not turned into an unhandled rejection.

import {nativeLog} from './native.js';
import {inspect} from './inspect.js';
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
      nativeLog(4, `Uncaught ${inspect(e)}`);
    }
  });
}
