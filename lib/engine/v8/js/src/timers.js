// setTimeout/clearTimeout and setInterval/clearInterval (HTML §8.6), on the engine's per-request
// event loop. Timers live as long as the request that set them: the request ends when its
// response is ready and its ctx.waitUntil work is done, and pending timers are dropped then (they
// never fire in a later request). They exist only while a request is handled; at a module's top
// level they throw, as in Workers. A callback's exception is reported (an `error` event at the
// global scope, logged as uncaught unless a listener cancels it).

import {reportException} from './events.js';
import {nativeClearTimer, nativeSetTimer} from './native.js';

function schedule(name, handler, timeout, args, repeat) {
  if (typeof handler !== 'function') {
    throw new TypeError(`Failed to execute '${name}': parameter 1 is not a function` +
                        ' (code strings are not evaluated).');
  }
  // The timeout is a Web IDL `long`: 2 ** 32 wraps to 0 and fires at once, as in browsers.
  // The callback is an anonymous argument, not a named const: the bundle keeps function names
  // (esbuild's keepNames), which for a named closure means an Object.defineProperty of its
  // `name` on every call, turning each closure into a dictionary-mode object (a streamed chunk
  // paced by setTimeout paid that once per chunk).
  return nativeSetTimer(() => {
    try {
      handler(...args);
    } catch (e) {
      reportException(e);
    }
  }, Number(timeout) | 0, repeat);
}

export function setTimeout(handler, timeout = 0, ...args) {
  return schedule('setTimeout', handler, timeout, args, false);
}

export function setInterval(handler, timeout = 0, ...args) {
  return schedule('setInterval', handler, timeout, args, true);
}

export function clearTimeout(id = undefined) {
  if (typeof id === 'number') nativeClearTimer(id);
}

export function clearInterval(id = undefined) {
  if (typeof id === 'number') nativeClearTimer(id);
}
