// The clock behind performance.now() and Event.timeStamp: milliseconds since the time origin, on
// the host's monotonic clock (never stepped by wall-clock changes), in steps of 100 µs. The origin
// is the time the host process started its engine, so it is the same for every isolate and the
// values are comparable across a family's requests. 100 µs is the resolution browsers give pages
// that are not cross-origin isolated: tenants share a process, and a finer timer would help
// timing side channels between them.

import {nativeMonotonicNow, nativeTimeOrigin} from './native.js';

export function monotonicNow() {
  return nativeMonotonicNow();
}

export function timeOrigin() {
  return nativeTimeOrigin();
}
