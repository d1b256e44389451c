// Development harness: evaluates the bundled runtime in a bare V8 context under Node (Node 18
// runs V8 10.2, like Debian's libnode), with the host natives imitated by Node's Buffer, crypto,
// TextDecoder and v8 serializer. For quick loops while editing; the real tests run through the
// engine (tests/unit/engine/v8/).
//
//   node tools/dev_harness.js [--bundle build/runtime.js] [--wpt DIR] [--eval CODE] [--file F.js]
//
// --eval/--file run a script in the context after the runtime; console output goes to stdout with
// its level.

'use strict';
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
const v8 = require('node:v8');
const nodeCrypto = require('node:crypto');

const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const bundle = opt('--bundle') ?? path.join(__dirname, '..', 'build', 'runtime.js');

function newRuntimeContext() {
  const context = vm.createContext({});
  // The engine's contexts have no SharedArrayBuffer (nor Node's extras); neither does this one.
  vm.runInContext('delete globalThis.SharedArrayBuffer', context);
  const inner = vm.runInContext('({Uint8Array, TypeError, Error, ArrayBuffer})', context);
  const levels = ['debug', 'info', 'log', 'warn', 'error'];
  const logs = [];
  const timers = new Map();
  let nextTimer = 1;
  const origin = performance.now();
  context.__cosmo_native = {
    log(level, text) {
      logs.push([level, text]);
      if (!args.includes('--quiet')) process.stdout.write(`[${levels[level]}] ${text}\n`);
    },
    randomFill(u8) {
      nodeCrypto.randomFillSync(u8);
    },
    transferArrayBuffer(buffer) {
      if (!(buffer instanceof inner.ArrayBuffer)) throw new inner.TypeError('expected an ArrayBuffer');
      // Node's own structuredClone detaches it (the copy belongs to Node's realm; good enough here).
      return structuredClone(buffer, {transfer: [buffer]});
    },
    utf8Encode(s) {
      const b = Buffer.from(String(s), 'utf8');
      const out = new inner.Uint8Array(b.length);
      out.set(b);
      return out;
    },
    utf8EncodeInto(s, u8) {
      const r = new TextEncoder().encodeInto(String(s), u8);
      return vm.runInContext(`[${r.read}, ${r.written}]`, context);
    },
    utf8Decode(u8, fatal, ignoreBOM) {
      try {
        return new TextDecoder('utf-8', {fatal, ignoreBOM}).decode(u8);
      } catch (e) {
        throw new inner.TypeError('The encoded data was not valid for encoding utf-8');
      }
    },
    serialize(value) {
      try {
        const b = v8.serialize(value);
        const ab = new inner.ArrayBuffer(b.length);
        new inner.Uint8Array(ab).set(b);
        return ab;
      } catch (e) {
        if (e && /could not be cloned/.test(e.message)) {
          const err = new inner.Error(e.message);
          err.name = 'DataCloneError';
          throw err;
        }
        throw e;
      }
    },
    deserialize(ab) {
      return v8.deserialize(Buffer.from(ab));
    },
    // Timers on Node's loop (the engine's are per request); ids are Node's timer objects.
    setTimer(callback, delay, repeat) {
      const id = nextTimer++;
      timers.set(id, (repeat ? setInterval : setTimeout)(callback, delay));
      return id;
    },
    clearTimer(id) {
      const t = timers.get(id);
      if (t !== undefined) {
        clearTimeout(t);
        clearInterval(t);
        timers.delete(id);
      }
    },
    monotonicNow() {
      return Math.floor((performance.now() - origin) * 10) / 10;
    },
    timeOrigin() {
      return performance.timeOrigin + origin;
    },
    fetch() {
      throw new inner.TypeError('fetch() is not available in the development harness');
    },
    cancelFetch() {},
    waitUntil() {},
  };
  vm.runInContext(fs.readFileSync(bundle, 'utf8'), context, {filename: 'cosmo-runtime.js'});
  return {context, logs};
}

module.exports = {newRuntimeContext};

if (require.main === module) {
  const {context} = newRuntimeContext();
  if (args.includes('--check-fast-url')) {
    // The canonical-URL fast path (src/url.js) against the state machine: appending '#' sends the
    // same URL through the state machine (a fragment is never in the fast path).
    const result = vm.runInContext(`(() => {
      const hosts = ['a', 'example.com', 'x-y.z_w', '-a.b-', '127.0.0.1', '0.0.0.0', '255.255.255.255',
                     '1.2.3.256', '01.2.3.4', '1.2.3', 'a.1', '1a.b', 'xn--a.com', 'a..b', 'A.com', 'a.0x1'];
      const ports = ['', ':80', ':443', ':8080', ':0', ':65535', ':65536', ':080', ':1'];
      const paths = ['/', '/a/b', '/a/./b', '/a/../b', '/.well-known/x', '/%2e/', '/a%2E', '/%zz', "/it's",
                     '/a;b=c', '/~u/@:!$&()*+,=', '/a//b', '/..', '/.', '/a b', ''];
      const queries = ['', '?', '?a=1&b=2', '?q=%41', "?q='", '?/?:@', '?a b', '??'];
      let checked = 0, fast = 0, bad = [];
      for (const scheme of ['http', 'https', 'ws', 'file'])
        for (const h of hosts) for (const p of ports) for (const pa of paths) for (const q of queries) {
          const s = scheme + '://' + h + p + pa + q;
          let a = null, b = null;
          try { a = new URL(s); } catch {}
          try { b = new URL(s + '#'); } catch {}
          checked++;
          if ((a === null) !== (b === null)) { bad.push(s); continue; }
          if (a === null) continue;
          if (a.href === s) fast++;
          for (const k of ['protocol', 'username', 'password', 'host', 'hostname', 'port', 'pathname', 'search', 'origin']) {
            if (a[k] !== b[k]) { bad.push(s + ' ' + k + ': ' + a[k] + ' vs ' + b[k]); break; }
          }
          if (a.href + '#' !== b.href) bad.push(s + ' href');
        }
      return {checked, canonical: fast, mismatches: bad.slice(0, 20), count: bad.length};
    })()`, context);
    process.stdout.write(`${JSON.stringify(result, null, 1)}\n`);
    if (result.count > 0) process.exitCode = 1;
  }
  const code = opt('--eval') ?? (opt('--file') ? fs.readFileSync(opt('--file'), 'utf8') : undefined);
  if (code !== undefined) {
    const result = vm.runInContext(code, context, {filename: opt('--file') ?? 'eval.js'});
    Promise.resolve(result).then((v) => {
      if (v !== undefined) process.stdout.write(`${typeof v === 'string' ? v : JSON.stringify(v)}\n`);
    }, (e) => {
      process.stdout.write(`rejected: ${e && e.stack}\n`);
      process.exitCode = 1;
    });
  }
}
