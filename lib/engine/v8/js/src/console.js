// console (WHATWG Console): log, info, warn, error, debug and the rest of the namespace, each
// call formatted into one line of text and handed to the host with its level. Formatting follows
// Node's util.format: %s %d %i %f %j %o %O %c %% in a leading string, other arguments inspected
// (strings as they are) and joined with spaces.

import {nativeLog} from './native.js';
import {inspect} from './inspect.js';

const kDebug = 0, kInfo = 1, kLog = 2, kWarn = 3, kError = 4;

function hasBuiltInToString(value) {
  // A user-defined toString (own or on a user class's prototype) is used by %s; built-in ones
  // (Object, Array, Error, Date, ...) are not, the value is inspected instead.
  let o = value;
  while (o !== null) {
    const desc = Object.getOwnPropertyDescriptor(o, 'toString');
    if (desc !== undefined) {
      const fn = desc.value;
      if (typeof fn !== 'function') return true;
      const src = Function.prototype.toString.call(fn);
      return src.endsWith('{ [native code] }');
    }
    o = Object.getPrototypeOf(o);
  }
  return true;
}

function formatNumber(n) {
  return Object.is(n, -0) ? '-0' : `${n}`;
}

function jsonStringify(value) {
  try {
    return JSON.stringify(value);
  } catch (e) {
    if (e instanceof TypeError && /circular/i.test(e.message)) return '[Circular]';
    throw e;
  }
}

export function format(args) {
  const first = args[0];
  let a = 0;
  let out = '';
  if (typeof first === 'string') {
    if (args.length === 1) return first;
    let last = 0;
    for (let i = 0; i < first.length - 1; i++) {
      if (first.charCodeAt(i) !== 37) continue;  // '%'
      const next = first.charCodeAt(i + 1);
      if (a + 1 !== args.length) {
        let text;
        switch (next) {
          case 115: {  // s
            const arg = args[++a];
            if (typeof arg === 'number') text = formatNumber(arg);
            else if (typeof arg === 'bigint') text = `${arg}n`;
            else if (typeof arg !== 'object' || arg === null || !hasBuiltInToString(arg)) text = String(arg);
            else text = inspect(arg, {depth: 0});
            break;
          }
          case 106:  // j
            text = jsonStringify(args[++a]);
            break;
          case 100: {  // d
            const arg = args[++a];
            if (typeof arg === 'bigint') text = `${arg}n`;
            else if (typeof arg === 'symbol') text = 'NaN';
            else text = formatNumber(Number(arg));
            break;
          }
          case 79:  // O
            text = inspect(args[++a]);
            break;
          case 111:  // o
            text = inspect(args[++a], {showHidden: true, depth: 4});
            break;
          case 105: {  // i
            const arg = args[++a];
            if (typeof arg === 'bigint') text = `${arg}n`;
            else if (typeof arg === 'symbol') text = 'NaN';
            else text = formatNumber(parseInt(arg));
            break;
          }
          case 102: {  // f
            const arg = args[++a];
            text = typeof arg === 'symbol' ? 'NaN' : formatNumber(parseFloat(arg));
            break;
          }
          case 99:  // c: CSS, which has no meaning in a log line
            ++a;
            text = '';
            break;
          case 37:  // %
            out += first.slice(last, i);
            last = i + 1;
            continue;
          default:
            continue;
        }
        if (last !== i) out += first.slice(last, i);
        out += text;
        last = i + 2;
        i++;
      } else if (next === 37) {
        out += first.slice(last, i);
        last = i + 1;
      }
    }
    if (last !== 0) {
      a++;
      if (last < first.length) out += first.slice(last);
    }
  }
  while (a < args.length) {
    const v = args[a];
    out += a > 0 ? ' ' : '';
    out += typeof v === 'string' ? v : inspect(v);
    a++;
  }
  return out;
}

let groupIndent = '';
const counts = new Map();
const timers = new Map();

function emit(level, text) {
  if (groupIndent !== '') text = groupIndent + text.split('\n').join(`\n${groupIndent}`);
  nativeLog(level, text);
}

function labelOf(label) {
  return label === undefined ? 'default' : `${label}`;
}

function elapsed(label) {
  const ms = Date.now() - timers.get(label);
  return ms >= 1000 ? `${(ms / 1000).toFixed(3)}s` : `${ms}ms`;
}

export const console = {
  debug(...data) {
    emit(kDebug, format(data));
  },
  error(...data) {
    emit(kError, format(data));
  },
  info(...data) {
    emit(kInfo, format(data));
  },
  log(...data) {
    emit(kLog, format(data));
  },
  warn(...data) {
    emit(kWarn, format(data));
  },
  trace(...data) {
    const holder = {};
    Error.captureStackTrace(holder, console.trace);
    const stack = String(holder.stack).split('\n').slice(1).join('\n');
    const message = data.length > 0 ? format(data) : '';
    emit(kLog, `Trace${message !== '' ? `: ${message}` : ''}\n${stack}`);
  },
  assert(condition = false, ...data) {
    if (condition) return;
    if (data.length === 0) {
      emit(kError, 'Assertion failed');
    } else if (typeof data[0] === 'string') {
      data[0] = `Assertion failed: ${data[0]}`;
      emit(kError, format(data));
    } else {
      emit(kError, `Assertion failed ${format(data)}`);
    }
  },
  dir(item = undefined, options = undefined) {
    emit(kLog, inspect(item, options !== null && typeof options === 'object' ? options : undefined));
  },
  dirxml(...data) {
    emit(kLog, format(data));
  },
  // Tabular output is not rendered; the standard allows logging the data as they are.
  table(...data) {
    emit(kLog, format(data));
  },
  count(label = undefined) {
    const key = labelOf(label);
    const n = (counts.get(key) || 0) + 1;
    counts.set(key, n);
    emit(kInfo, `${key}: ${n}`);
  },
  countReset(label = undefined) {
    const key = labelOf(label);
    if (counts.has(key)) counts.set(key, 0);
    else emit(kWarn, `Count for '${key}' does not exist`);
  },
  group(...data) {
    if (data.length > 0) emit(kLog, format(data));
    groupIndent += '  ';
  },
  groupCollapsed(...data) {
    if (data.length > 0) emit(kLog, format(data));
    groupIndent += '  ';
  },
  groupEnd() {
    groupIndent = groupIndent.slice(0, -2);
  },
  time(label = undefined) {
    const key = labelOf(label);
    if (timers.has(key)) {
      emit(kWarn, `Timer '${key}' already exists`);
      return;
    }
    timers.set(key, Date.now());
  },
  timeLog(label = undefined, ...data) {
    const key = labelOf(label);
    if (!timers.has(key)) {
      emit(kWarn, `Timer '${key}' does not exist`);
      return;
    }
    const extra = data.length > 0 ? ` ${format(data)}` : '';
    emit(kInfo, `${key}: ${elapsed(key)}${extra}`);
  },
  timeEnd(label = undefined) {
    const key = labelOf(label);
    if (!timers.has(key)) {
      emit(kWarn, `Timer '${key}' does not exist`);
      return;
    }
    emit(kInfo, `${key}: ${elapsed(key)}`);
    timers.delete(key);
  },
};

// A Web IDL namespace: its [[Prototype]] is an empty object inheriting from Object.prototype,
// operations are enumerable.
Object.setPrototypeOf(console, Object.create(Object.prototype));
Object.defineProperty(console, Symbol.toStringTag,
                      {value: 'console', writable: false, enumerable: false, configurable: true});
