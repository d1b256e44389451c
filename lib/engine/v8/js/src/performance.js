// performance (High Resolution Time): now(), timeOrigin and toJSON(); an EventTarget, as the
// standard makes it, with no events of its own.

import {EventTarget} from './events.js';
import {monotonicNow, timeOrigin} from './performance_clock.js';

const kInternal = {};

export class Performance extends EventTarget {
  constructor(token = undefined) {
    if (token !== kInternal) throw new TypeError('Illegal constructor');
    super();
  }

  now() {
    return monotonicNow();
  }

  get timeOrigin() {
    return timeOrigin();
  }

  toJSON() {
    return {timeOrigin: this.timeOrigin};
  }
}

export const performance = new Performance(kInternal);
