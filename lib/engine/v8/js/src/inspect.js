// A Node-style `util.inspect` (short form: depth 2, line width 80, up to three inner levels on one
// line, arrays of short items in columns), used by console. It follows the shape of Node's output
// so that logs read the same as on the developer's machine; it is written for this runtime and
// reads objects only through ECMAScript reflection (so a Promise's state, which needs the
// engine's internals, shows as <unknown>).

const kDepth = 2;
const kBreakLength = 80;
const kCompact = 3;
const kMaxArrayLength = 100;
const kMaxStringLength = 10000;
const kMaxBufferBytes = 50;

// Objects of the runtime's own classes describe themselves through this symbol: a function
// (value) -> {name, entries: [[key, value], ...], kind: 'object' | 'map'} or undefined.
export const inspectHook = Symbol('cosmo.inspect');
const customInspectSymbol = Symbol.for('nodejs.util.inspect.custom');

const identifierRe = /^[a-zA-Z_][a-zA-Z_0-9]*$/;
const needsEscapeRe = /[\x00-\x1f\x27\x5c\x7f-\x9f\uD800-\uDFFF]/;
const escapeMap = {'\b': '\\b', '\t': '\\t', '\n': '\\n', '\f': '\\f', '\r': '\\r', '\\': '\\\\'};

const objectToString = Object.prototype.toString;
const fnToString = Function.prototype.toString;
const errorToString = Error.prototype.toString;
const mapSize = Object.getOwnPropertyDescriptor(Map.prototype, 'size').get;
const setSize = Object.getOwnPropertyDescriptor(Set.prototype, 'size').get;
const typedArrayProto = Object.getPrototypeOf(Uint8Array.prototype);
const typedArrayTag = Object.getOwnPropertyDescriptor(typedArrayProto, Symbol.toStringTag).get;
const typedArrayLength = Object.getOwnPropertyDescriptor(typedArrayProto, 'length').get;
const abByteLength = Object.getOwnPropertyDescriptor(ArrayBuffer.prototype, 'byteLength').get;
const dataViewByteLength = Object.getOwnPropertyDescriptor(DataView.prototype, 'byteLength').get;

function is(getter, value) {
  try {
    getter.call(value);
    return true;
  } catch {
    return false;
  }
}
const isMap = (v) => is(mapSize, v);
const isSet = (v) => is(setSize, v);
const isArrayBuffer = (v) => is(abByteLength, v);
const isDataView = (v) => is(dataViewByteLength, v);
const isDate = (v) => is(Date.prototype.getTime, v);
const regExpSource = Object.getOwnPropertyDescriptor(RegExp.prototype, 'source').get;
const isRegExp = (v) => v !== RegExp.prototype && is(regExpSource, v);
const isError = (v) => objectToString.call(v) === '[object Error]' || v instanceof Error;
// Without the engine's internals, by tag: calling `then` would mark a rejection as handled.
const isPromise = (v) => objectToString.call(v) === '[object Promise]';
const isWeakMap = (v) => is(WeakMap.prototype.has, v);
const isWeakSet = (v) => is(WeakSet.prototype.has, v);

function boxedPrimitive(v) {
  for (const [C, name] of [[Number, 'Number'], [String, 'String'], [Boolean, 'Boolean'],
                           [Symbol, 'Symbol'], [BigInt, 'BigInt']]) {
    try {
      return [name, C.prototype.valueOf.call(v)];
    } catch {}
  }
  return undefined;
}

export function quoteString(s) {
  if (s.length > kMaxStringLength) {
    const extra = s.length - kMaxStringLength;
    return `${quoteString(s.slice(0, kMaxStringLength))}... ${extra} more character${extra > 1 ? 's' : ''}`;
  }
  let quote = "'";
  if (s.includes("'")) {
    if (!s.includes('"')) quote = '"';
    else if (!s.includes('`') && !s.includes('${')) quote = '`';
  }
  if (!needsEscapeRe.test(s) && !(quote !== "'" && s.includes(quote))) return quote + s + quote;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    const c = s.charCodeAt(i);
    if (ch === quote) {
      out += `\\${quote}`;
    } else if (escapeMap[ch] !== undefined) {
      out += escapeMap[ch];
    } else if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) {
      out += `\\x${c.toString(16).toUpperCase().padStart(2, '0')}`;
    } else if (c >= 0xD800 && c <= 0xDFFF) {
      const next = s.charCodeAt(i + 1);
      if (c <= 0xDBFF && next >= 0xDC00 && next <= 0xDFFF) {
        out += ch + s[i + 1];
        i++;
      } else {
        out += `\\u${c.toString(16).toUpperCase()}`;
      }
    } else {
      out += ch;
    }
  }
  return quote + out + quote;
}

function formatNumber(n) {
  return Object.is(n, -0) ? '-0' : `${n}`;
}

function formatPrimitive(v) {
  switch (typeof v) {
    case 'string':
      return quoteString(v);
    case 'number':
      return formatNumber(v);
    case 'bigint':
      return `${v}n`;
    case 'symbol':
      return Symbol.prototype.toString.call(v);
    default:
      return `${v}`;  // undefined, null, boolean
  }
}

function formatKey(key) {
  if (typeof key === 'symbol') return `[${Symbol.prototype.toString.call(key)}]`;
  return identifierRe.test(key) ? key : quoteString(key);
}

// The name of the nearest constructor on the prototype chain, or null for none.
function constructorName(obj) {
  let o = obj;
  while (o !== null && o !== undefined) {
    const desc = Object.getOwnPropertyDescriptor(o, 'constructor');
    if (desc !== undefined && typeof desc.value === 'function' && desc.value.name !== '') {
      return desc.value.name;
    }
    o = Object.getPrototypeOf(o);
  }
  return null;
}

function prefix(name, tag, fallback, size = '') {
  if (name === null) {
    if (tag !== '' && tag !== fallback) return `[${fallback}${size}: null prototype] [${tag}] `;
    return `[${fallback}${size}: null prototype] `;
  }
  if (tag !== '' && tag !== name) return `${name}${size} [${tag}] `;
  return `${name}${size} `;
}

function functionBase(fn, name) {
  let source = '';
  try {
    source = fnToString.call(fn);
  } catch {}
  if (source.startsWith('class') && /^class\s*[{\s\w$]/.test(source)) {
    let base = `[class ${fn.name || '(anonymous)'}`;
    const m = /^class\s+[\w$]*\s*extends\s+([\w$.]+)/.exec(source);
    if (m !== null) base += ` extends ${m[1]}`;
    return `${base}]`;
  }
  let type = 'Function';
  const tag = objectToString.call(fn);
  if (tag === '[object AsyncFunction]') type = 'AsyncFunction';
  else if (tag === '[object GeneratorFunction]') type = 'GeneratorFunction';
  else if (tag === '[object AsyncGeneratorFunction]') type = 'AsyncGeneratorFunction';
  let base = `[${type}`;
  if (name === null) base += ' (null prototype)';
  base += fn.name === '' || typeof fn.name !== 'string' ? ' (anonymous)' : `: ${fn.name}`;
  return `${base}]`;
}

function errorBase(err, ctx) {
  let stack;
  try {
    stack = err.stack;
  } catch {}
  let text;
  if (typeof stack === 'string' && stack !== '') {
    text = stack;
  } else {
    try {
      text = `[${errorToString.call(err)}]`;
    } catch {
      text = '[Error]';
    }
  }
  if (ctx.indentationLvl !== 0) {
    const indent = ' '.repeat(ctx.indentationLvl);
    text = text.split('\n').join(`\n${indent}`);
  }
  return text;
}

export function inspect(value, options = undefined) {
  const ctx = {
    depth: options !== undefined && options.depth !== undefined ? options.depth : kDepth,
    showHidden: options !== undefined && !!options.showHidden,
    seen: [],
    circular: new Map(),
    indentationLvl: 0,
    currentDepth: 0,
  };
  return formatValue(ctx, value, 0, true);
}

function formatValue(ctx, value, recurseTimes, typedArrayIsTop) {
  if (typeof value !== 'object' && typeof value !== 'function') return formatPrimitive(value);
  if (value === null) return 'null';

  if (ctx.seen.includes(value)) {
    let index = ctx.circular.get(value);
    if (index === undefined) {
      index = ctx.circular.size + 1;
      ctx.circular.set(value, index);
    }
    return `[Circular *${index}]`;
  }
  const custom = value[customInspectSymbol];
  if (typeof custom === 'function' && custom !== inspect) {
    const r = custom.call(value, ctx.depth - recurseTimes, {depth: ctx.depth - recurseTimes}, inspect);
    if (r !== value) return typeof r === 'string' ? r : formatValue(ctx, r, recurseTimes);
  }
  return formatRaw(ctx, value, recurseTimes, typedArrayIsTop);
}

function ownKeys(ctx, value, filterIndices) {
  let keys = Reflect.ownKeys(value);
  if (filterIndices) {
    keys = keys.filter((k) => typeof k !== 'string' || !(String(+k >>> 0) === k && +k !== 4294967295));
  }
  if (ctx.showHidden) return keys;
  return keys.filter((k) => {
    const d = Object.getOwnPropertyDescriptor(value, k);
    return d !== undefined && d.enumerable;
  });
}

function formatRaw(ctx, value, recurseTimes, typedArrayIsTop) {
  const name = constructorName(value);
  let tag = value[Symbol.toStringTag];
  // A tag that is an own enumerable property is listed with the keys instead.
  if (typeof tag !== 'string' || Object.prototype.propertyIsEnumerable.call(value, Symbol.toStringTag)) {
    tag = '';
  }
  let base = '';
  let braces;
  let keys;
  let formatter = () => [];
  let isArrayLike = false;
  let noEntriesText = null;  // for an empty body: `${prefix}{}` etc.

  const hook = value[inspectHook];
  if (typeof hook === 'function') {
    const described = hook(value);
    if (described !== undefined) {
      if (recurseTimes > ctx.depth) return `[${described.name}]`;
      const entries = described.entries;
      braces = [`${described.name} {`, '}'];
      keys = [];
      if (described.kind === 'map') {
        formatter = (c, v, r) => entries.map(
            ([k, val]) => `${formatValue(c, k, r + 1)} => ${formatValue(c, val, r + 1)}`);
      } else {
        formatter = (c, v, r) => entries.map(
            ([k, val]) => `${formatKey(k)}: ${formatValue(c, val, r + 1)}`);
      }
      if (entries.length === 0) return `${described.name} {}`;
      return finish(ctx, value, recurseTimes, base, braces, keys, formatter, false);
    }
  }

  if (Array.isArray(value)) {
    const p = name !== 'Array' || tag !== '' ? prefix(name, tag, 'Array', `(${value.length})`) : '';
    keys = ownKeys(ctx, value, true);
    if (ctx.showHidden) keys = keys.filter((k) => k !== 'length').concat(['length']);
    braces = [`${p}[`, ']'];
    if (value.length === 0 && keys.length === 0) return `${braces[0]}]`;
    isArrayLike = true;
    formatter = formatArray;
  } else if (typedArrayTag.call(value) !== undefined) {
    const length = typedArrayLength.call(value);
    const fallback = typedArrayTag.call(value);
    braces = [`${prefix(name, tag === fallback ? '' : tag, fallback, `(${length})`)}[`, ']'];
    keys = ownKeys(ctx, value, true);
    if (length === 0 && keys.length === 0) return `${braces[0]}]`;
    isArrayLike = true;
    formatter = formatTypedArray;
  } else if (isMap(value)) {
    const size = mapSize.call(value);
    keys = ownKeys(ctx, value, false);
    const p = prefix(name, tag === 'Map' ? '' : tag, 'Map', `(${size})`);
    if (size === 0 && keys.length === 0) return `${p}{}`;
    braces = [`${p}{`, '}'];
    formatter = formatMap;
  } else if (isSet(value)) {
    const size = setSize.call(value);
    keys = ownKeys(ctx, value, false);
    const p = prefix(name, tag === 'Set' ? '' : tag, 'Set', `(${size})`);
    if (size === 0 && keys.length === 0) return `${p}{}`;
    braces = [`${p}{`, '}'];
    formatter = formatSet;
  } else {
    keys = ownKeys(ctx, value, false);
    braces = ['{', '}'];
    if (typeof value === 'function') {
      base = functionBase(value, name);
      if (keys.length === 0) return base;
    } else if (isError(value)) {
      base = errorBase(value, ctx);
      keys = keys.filter((k) => k !== 'stack' && k !== 'message');
      for (const k of ['cause', 'errors']) {
        const d = Object.getOwnPropertyDescriptor(value, k);
        if (d !== undefined && !d.enumerable && !keys.includes(k)) keys.push(k);
      }
      if (keys.length === 0) return base;
    } else if (isRegExp(value)) {
      base = RegExp.prototype.toString.call(value);
      const p = prefix(name, tag, 'RegExp');
      if (p !== 'RegExp ') base = `${p}${base}`;
      keys = keys.filter((k) => k !== 'lastIndex');
      if (keys.length === 0) return base;
    } else if (isDate(value)) {
      const t = Date.prototype.getTime.call(value);
      base = Number.isNaN(t) ? 'Invalid Date' : Date.prototype.toISOString.call(value);
      const p = prefix(name, tag, 'Date');
      if (p !== 'Date ') base = `${p}${base}`;
      if (keys.length === 0) return base;
    } else if (isArrayBuffer(value)) {
      braces[0] = `${prefix(name, tag === 'ArrayBuffer' ? '' : tag, 'ArrayBuffer')}{`;
      formatter = formatArrayBuffer;
    } else if (isDataView(value)) {
      braces[0] = `${prefix(name, tag === 'DataView' ? '' : tag, 'DataView')}{`;
      formatter = (c, v, r) => [
        `byteLength: ${formatValue(c, v.byteLength, r)}`,
        `byteOffset: ${formatValue(c, v.byteOffset, r)}`,
        `buffer: ${formatValue(c, v.buffer, r + 1)}`,
      ];
    } else if (isPromise(value)) {
      braces[0] = `${prefix(name, tag === 'Promise' ? '' : tag, 'Promise')}{`;
      formatter = () => ['<unknown>'];
    } else if (isWeakMap(value) || isWeakSet(value)) {
      const kind = isWeakMap(value) ? 'WeakMap' : 'WeakSet';
      braces[0] = `${prefix(name, tag === kind ? '' : tag, kind)}{`;
      formatter = () => ['<items unknown>'];
    } else {
      const boxed = boxedPrimitive(value);
      if (boxed !== undefined) {
        const [type, prim] = boxed;
        base = `[${type}: ${formatPrimitive(prim)}]`;
        if (type === 'String') {
          keys = keys.filter((k) => typeof k !== 'string' || !(String(+k >>> 0) === k && +k < prim.length));
          if (ctx.showHidden) keys = keys.filter((k) => k !== 'length');
        }
        if (keys.length === 0) return base;
      } else {
        if (name === 'Object') {
          if (tag !== '') braces[0] = `${prefix(name, tag, 'Object')}{`;
        } else {
          braces[0] = `${prefix(name, tag, 'Object')}{`;
        }
        if (keys.length === 0) noEntriesText = `${braces[0]}}`;
      }
    }
  }
  if (noEntriesText !== null) return noEntriesText;

  if (recurseTimes > ctx.depth && ctx.depth !== null) {
    return name === null ? '[Object: null prototype]' : `[${name}]`;
  }
  return finish(ctx, value, recurseTimes, base, braces, keys, formatter, isArrayLike);
}

function finish(ctx, value, recurseTimes, base, braces, keys, formatter, isArrayLike) {
  recurseTimes += 1;
  ctx.seen.push(value);
  ctx.currentDepth = recurseTimes;
  let output;
  try {
    output = formatter(ctx, value, recurseTimes);
    for (const key of keys) output.push(formatProperty(ctx, value, recurseTimes, key, isArrayLike));
  } finally {
    ctx.seen.pop();
  }
  const index = ctx.circular.get(value);
  if (index !== undefined) {
    const ref = `<ref *${index}>`;
    if (base === '') braces[0] = `${ref} ${braces[0]}`;
    else base = `${ref} ${base}`;
  }
  return reduceToSingleString(ctx, output, base, braces, isArrayLike, recurseTimes, value);
}

function formatProperty(ctx, value, recurseTimes, key, isArrayLike) {
  const desc = Object.getOwnPropertyDescriptor(value, key) || {value: value[key], enumerable: true};
  let str;
  if (desc.value !== undefined || !('get' in desc)) {
    ctx.indentationLvl += 2;
    str = formatValue(ctx, desc.value, recurseTimes);
    ctx.indentationLvl -= 2;
  } else if (desc.get !== undefined) {
    str = desc.set !== undefined ? '[Getter/Setter]' : '[Getter]';
  } else {
    str = desc.set !== undefined ? '[Setter]' : 'undefined';
  }
  let name = formatKey(key);
  if (!desc.enumerable) name = `[${name}]`;
  return `${name}: ${str}`;
}

function formatArray(ctx, value, recurseTimes) {
  const output = [];
  const length = value.length;
  let listed = 0;  // indices covered by the entries so far (a run of holes covers several)
  let holes = 0;
  const flushHoles = () => {
    output.push(`<${holes} empty item${holes > 1 ? 's' : ''}>`);
    listed += holes;
    holes = 0;
  };
  for (let i = 0; i < length && output.length < kMaxArrayLength; i++) {
    const desc = Object.getOwnPropertyDescriptor(value, i);
    if (desc === undefined) {
      holes++;
      continue;
    }
    if (holes > 0) {
      flushHoles();
      if (output.length >= kMaxArrayLength) break;
    }
    let str;
    if ('value' in desc) {
      ctx.indentationLvl += 2;
      str = formatValue(ctx, desc.value, recurseTimes);
      ctx.indentationLvl -= 2;
    } else {
      str = desc.get !== undefined ? (desc.set !== undefined ? '[Getter/Setter]' : '[Getter]') :
                                     '[Setter]';
    }
    output.push(str);
    listed++;
  }
  if (holes > 0 && output.length < kMaxArrayLength) flushHoles();
  if (listed < length) {
    const rest = length - listed;
    output.push(`... ${rest} more item${rest > 1 ? 's' : ''}`);
  }
  return output;
}

function formatTypedArray(ctx, value, recurseTimes) {
  const length = typedArrayLength.call(value);
  const shown = Math.min(length, kMaxArrayLength);
  const output = new Array(shown);
  for (let i = 0; i < shown; i++) output[i] = formatPrimitive(value[i]);
  if (length > shown) {
    const rest = length - shown;
    output.push(`... ${rest} more item${rest > 1 ? 's' : ''}`);
  }
  if (ctx.showHidden) {
    ctx.indentationLvl += 2;
    for (const key of ['BYTES_PER_ELEMENT', 'length', 'byteLength', 'byteOffset', 'buffer']) {
      output.push(`[${key}]: ${formatValue(ctx, value[key], recurseTimes, true)}`);
    }
    ctx.indentationLvl -= 2;
  }
  return output;
}

function formatArrayBuffer(ctx, value) {
  const bytes = new Uint8Array(value);
  const shown = Math.min(bytes.length, kMaxBufferBytes);
  let hex = '';
  for (let i = 0; i < shown; i++) hex += (i ? ' ' : '') + bytes[i].toString(16).padStart(2, '0');
  if (bytes.length > shown) hex += ` ... ${bytes.length - shown} more byte${bytes.length - shown > 1 ? 's' : ''}`;
  return [`[Uint8Contents]: <${hex}>`, `byteLength: ${formatNumber(bytes.length)}`];
}

function formatMap(ctx, value, recurseTimes) {
  const output = [];
  ctx.indentationLvl += 2;
  for (const [k, v] of Map.prototype.entries.call(value)) {
    output.push(`${formatValue(ctx, k, recurseTimes)} => ${formatValue(ctx, v, recurseTimes)}`);
  }
  ctx.indentationLvl -= 2;
  return output;
}

function formatSet(ctx, value, recurseTimes) {
  const output = [];
  ctx.indentationLvl += 2;
  for (const v of Set.prototype.values.call(value)) output.push(formatValue(ctx, v, recurseTimes));
  ctx.indentationLvl -= 2;
  return output;
}

// Arrays of more than six short items are laid out in columns, about as wide as they are high
// (a character being some 2.5 times taller than wide), right-aligned when all are numbers.
function groupArrayElements(ctx, output, value) {
  const hasMore = output.length > 0 && output[output.length - 1].startsWith('... ') &&
      / more items?$/.test(output[output.length - 1]);
  const count = hasMore ? output.length - 1 : output.length;
  const separator = 2;
  let total = 0;
  let widest = 0;
  const widths = [];
  for (let i = 0; i < count; i++) {
    const w = output[i].length;
    widths.push(w);
    total += w + separator;
    if (w > widest) widest = w;
  }
  const cell = widest + separator;
  if (cell * 3 + ctx.indentationLvl >= kBreakLength || !(total / cell > 5 || widest <= 6)) {
    return output;
  }
  const bias = Math.sqrt(cell - total / output.length);
  const biasedCell = Math.max(cell - 3 - bias, 1);
  const columns = Math.min(Math.round(Math.sqrt(2.5 * biasedCell * count) / biasedCell),
                           Math.floor((kBreakLength - ctx.indentationLvl) / cell), kCompact * 4, 15);
  if (columns <= 1) return output;
  const columnWidths = [];
  for (let c = 0; c < columns; c++) {
    let w = 0;
    for (let j = c; j < count; j += columns) w = Math.max(w, widths[j]);
    columnWidths.push(w + separator);
  }
  let numeric = true;
  if (value !== undefined) {
    for (let i = 0; i < output.length; i++) {
      const t = typeof value[i];
      if (t !== 'number' && t !== 'bigint') {
        numeric = false;
        break;
      }
    }
  }
  const rows = [];
  for (let start = 0; start < count; start += columns) {
    const end = Math.min(start + columns, count);
    let row = '';
    for (let j = start; j < end; j++) {
      const last = j === end - 1;
      const text = last ? output[j] : `${output[j]}, `;
      const width = last ? columnWidths[j - start] - separator : columnWidths[j - start];
      if (numeric) row += text.padStart(width, ' ');
      else row += last ? text : text.padEnd(width, ' ');
    }
    rows.push(row);
  }
  if (hasMore) rows.push(output[output.length - 1]);
  return rows;
}

function fitsOnOneLine(ctx, output, start, base) {
  let total = output.length + start;
  if (total + output.length > kBreakLength) return false;
  for (const entry of output) {
    total += entry.length;
    if (total > kBreakLength) return false;
  }
  return base === '' || !base.includes('\n');
}

function reduceToSingleString(ctx, output, base, braces, isArrayLike, recurseTimes, value) {
  const entries = output.length;
  if (isArrayLike && entries > 6) output = groupArrayElements(ctx, output, value);
  if (ctx.currentDepth - recurseTimes < kCompact && entries === output.length) {
    const start = output.length + ctx.indentationLvl + braces[0].length + base.length + 10;
    if (fitsOnOneLine(ctx, output, start, base)) {
      const joined = output.join(', ');
      if (!joined.includes('\n')) {
        return `${base ? `${base} ` : ''}${braces[0]} ${joined} ${braces[1]}`;
      }
    }
  }
  const indentation = `\n${' '.repeat(ctx.indentationLvl)}`;
  return `${base ? `${base} ` : ''}${braces[0]}${indentation}  ${
      output.join(`,${indentation}  `)}${indentation}${braces[1]}`;
}
