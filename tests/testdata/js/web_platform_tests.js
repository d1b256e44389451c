// Tests of the runtime's DOM and File API globals (Event, EventTarget, AbortController,
// AbortSignal, Blob, File, FileReader, FormData, form bodies, URLPattern, performance,
// navigator, CompressionStream, DecompressionStream), run inside the engine by tests/unit/engine/v8/web_platform_test.cc, one group per
// request (test_groups.js). Besides the standards' examples they check the documented outcome of
// hostile input.

import {deepEq, eq, group, groupsHandler, ok, rejects, throws} from './test_groups.js';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const enc = new TextEncoder();

group('Events', (test) => {
  test('capturing listeners run before the others at the target, in order', () => {
    const t = new EventTarget();
    const order = [];
    t.addEventListener('x', () => order.push('bubble1'));
    t.addEventListener('x', () => order.push('capture'), {capture: true});
    t.addEventListener('x', {handleEvent(e) { order.push(`object ${e.eventPhase}`); }});
    eq(t.dispatchEvent(new Event('x')), true);
    deepEq(order, ['capture', 'bubble1', 'object 2']);
  });
  test('the same listener is added once per capture flag; removal matches it', () => {
    const t = new EventTarget();
    let n = 0;
    const f = () => n++;
    t.addEventListener('x', f);
    t.addEventListener('x', f);
    t.addEventListener('x', f, true);
    t.dispatchEvent(new Event('x'));
    eq(n, 2);
    t.removeEventListener('x', f, {capture: true});
    t.dispatchEvent(new Event('x'));
    eq(n, 3);
  });
  test('once, passive and signal options', () => {
    const t = new EventTarget();
    const c = new AbortController();
    let once = 0, signalled = 0, prevented;
    t.addEventListener('x', () => once++, {once: true});
    t.addEventListener('x', () => signalled++, {signal: c.signal});
    t.addEventListener('x', (e) => {
      e.preventDefault();
      prevented = e.defaultPrevented;
    }, {passive: true});
    eq(t.dispatchEvent(new Event('x', {cancelable: true})), true, 'passive cannot cancel');
    eq(prevented, false);
    c.abort();
    t.dispatchEvent(new Event('x'));
    eq(once, 1);
    eq(signalled, 1);
    t.addEventListener('x', () => signalled++, {signal: c.signal});
    t.dispatchEvent(new Event('x'));
    eq(signalled, 1, 'an aborted signal adds nothing');
  });
  test('stopImmediatePropagation, preventDefault and the event after dispatch', () => {
    const t = new EventTarget();
    let second = false, during;
    t.addEventListener('x', (e) => {
      during = [e.target === t, e.currentTarget === t, e.composedPath().length, e.eventPhase];
      e.preventDefault();
      e.stopImmediatePropagation();
    });
    t.addEventListener('x', () => second = true);
    const e = new Event('x', {cancelable: true});
    eq(t.dispatchEvent(e), false);
    eq(second, false);
    deepEq(during, [true, true, 1, Event.AT_TARGET]);
    eq(e.target, t);
    eq(e.currentTarget, null);
    eq(e.eventPhase, Event.NONE);
    deepEq(e.composedPath(), []);
    eq(e.isTrusted, false);
    eq(e.defaultPrevented, true);
  });
  test('a listener exception is reported and dispatch goes on', () => {
    const t = new EventTarget();
    let after = false;
    t.addEventListener('x', () => { throw new Error('listener boom'); });
    t.addEventListener('x', () => after = true);
    t.dispatchEvent(new Event('x'));
    eq(after, true);
  });
  test('an event being dispatched cannot be dispatched again', () => {
    const t = new EventTarget();
    let inner;
    t.addEventListener('x', (e) => {
      inner = throws(() => t.dispatchEvent(e), DOMException, 'InvalidStateError');
    });
    t.dispatchEvent(new Event('x'));
    ok(inner);
    throws(() => t.dispatchEvent({type: 'x'}), TypeError);
  });
  test('CustomEvent carries detail; subclasses of EventTarget work', () => {
    class Counter extends EventTarget {}
    const c = new Counter();
    let got;
    c.addEventListener('n', (e) => got = e.detail);
    c.dispatchEvent(new CustomEvent('n', {detail: {k: 1}}));
    deepEq(got, {k: 1});
    eq(new CustomEvent('n').detail, null);
  });
  test('the global scope is an EventTarget', () => {
    let seen = 0;
    const f = () => seen++;
    addEventListener('cosmo-test', f);
    dispatchEvent(new Event('cosmo-test'));
    removeEventListener('cosmo-test', f);
    dispatchEvent(new Event('cosmo-test'));
    eq(seen, 1);
  });
});

group('Abort', (test) => {
  test('abort() sets reason and fires one trusted abort event', () => {
    const c = new AbortController();
    const seen = [];
    c.signal.onabort = (e) => seen.push(['handler', e.isTrusted]);
    c.signal.addEventListener('abort', () => seen.push('listener'));
    c.abort('why');
    c.abort('again');
    deepEq(seen, [['handler', true], 'listener']);
    eq(c.signal.aborted, true);
    eq(c.signal.reason, 'why');
    try {
      c.signal.throwIfAborted();
      throw new Error('did not throw');
    } catch (e) {
      eq(e, 'why');
    }
  });
  test('the default reason is an AbortError DOMException', () => {
    const s = AbortSignal.abort();
    ok(s.reason instanceof DOMException);
    eq(s.reason.name, 'AbortError');
    throws(() => new AbortSignal(), TypeError);
  });
  test('timeout() aborts with a TimeoutError on the request timers', async () => {
    const s = AbortSignal.timeout(5);
    eq(s.aborted, false);
    await new Promise((resolve) => s.addEventListener('abort', resolve));
    eq(s.reason.name, 'TimeoutError');
    throws(() => AbortSignal.timeout(-1), TypeError);
  });
  test('any() follows its sources, flattened, in order', () => {
    const a = new AbortController(), b = new AbortController();
    const any1 = AbortSignal.any([a.signal, b.signal]);
    const any2 = AbortSignal.any([any1]);
    const order = [];
    any1.onabort = () => order.push(1);
    any2.onabort = () => order.push(2);
    b.abort('b');
    deepEq(order, [1, 2]);
    eq(any2.reason, 'b');
    eq(AbortSignal.any([AbortSignal.abort('x')]).reason, 'x');
    throws(() => AbortSignal.any([{}]), TypeError);
  });
  test('any() of 100,000 signals is linear and aborting does not recurse', () => {
    const controllers = [];
    for (let i = 0; i < 100000; i++) controllers.push(new AbortController());
    const combined = AbortSignal.any(controllers.map((c) => c.signal));
    let fired = 0;
    combined.onabort = () => fired++;
    controllers[99999].abort('last');
    eq(combined.reason, 'last');
    eq(fired, 1);
    // 100,000 dependents of one source, each nested any() of the previous one.
    const root = new AbortController();
    let s = root.signal;
    const chain = [];
    for (let i = 0; i < 100000; i++) {
      s = AbortSignal.any([s]);
      chain.push(s);
    }
    let count = 0;
    chain[99999].onabort = () => count++;
    root.abort();
    eq(count, 1);
    ok(chain.every((x) => x.aborted), 'every dependent aborted');
  });
});

group('Blob', (test) => {
  test('parts, type and size', async () => {
    const b = new Blob(['h\u00e9', new Uint8Array([33]), new Blob(['!'])], {type: 'Text/Plain'});
    eq(b.size, 5);
    eq(b.type, 'text/plain');
    eq(await b.text(), 'h\u00e9!!');
    deepEq(Array.from(await b.bytes()), [104, 195, 169, 33, 33]);
    eq(new Blob([], {type: 'a\u00ff'}).type, '');
    eq(await new Blob(['a\r\nb\rc'], {endings: 'native'}).text(), 'a\nb\nc');
    throws(() => new Blob('abc'), TypeError);
  });
  test('slice shares nothing a script can change', async () => {
    const b = new Blob(['0123456789']);
    eq(await b.slice(2, -2).text(), '234567');
    eq(await b.slice(-3).text(), '789');
    eq(b.slice(5, 2).size, 0);
    const buf = await b.arrayBuffer();
    new Uint8Array(buf)[0] = 65;
    eq(await b.text(), '0123456789');
  });
  test('stream() is a byte stream of a copy', async () => {
    const b = new Blob(['stream me']);
    eq(await new Response(b.stream()).text(), 'stream me');
    const reader = b.stream().getReader({mode: 'byob'});
    const {value} = await reader.read(new Uint8Array(6));
    eq(new TextDecoder().decode(value), 'stream');
    eq(await b.text(), 'stream me', 'the blob keeps its bytes');
  });
  test('File has a name and lastModified', () => {
    const f = new File(['x'], 'a/b.txt', {type: 'text/plain', lastModified: 42});
    eq(f.name, 'a/b.txt');
    eq(f.lastModified, 42);
    ok(f instanceof Blob);
    ok(Math.abs(new File([], 'n').lastModified - Date.now()) < 1000);
  });
  test('FileReader reads text, data URLs and array buffers', async () => {
    const read = (method, blob) => new Promise((resolve, reject) => {
      const r = new FileReader();
      r.onload = () => resolve(r.result);
      r.onerror = () => reject(r.error);
      r[method](blob);
    });
    eq(await read('readAsText', new Blob(['h\u00e9'])), 'h\u00e9');
    eq(await read('readAsDataURL', new Blob(['hi'], {type: 'text/plain'})), 'data:text/plain;base64,aGk=');
    eq((await read('readAsArrayBuffer', new Blob(['abc']))).byteLength, 3);
    // The encoding argument, then the type's charset, then UTF-8; a BOM overrides them all.
    const sjis = new Uint8Array([0x82, 0xa0, 0x41]);
    const readText = (blob, label) => new Promise((resolve) => {
      const r = new FileReader();
      r.onload = () => resolve(r.result);
      r.readAsText(blob, label);
    });
    eq(await readText(new Blob([sjis]), 'shift_jis'), '\u3042A');
    eq(await readText(new Blob([sjis], {type: 'text/plain;charset=sjis'})), '\u3042A');
    eq(await readText(new Blob([new Uint8Array([0x80])], {type: 'text/plain;charset=latin1'})),
       '\u20ac');
    eq(await readText(new Blob([new Uint8Array([0xff, 0xfe, 0x41, 0])]), 'shift_jis'), 'A');
    eq(await readText(new Blob([sjis]), 'no-such-label'), '\ufffd\ufffdA');
  });
  test('Response and Request bodies from blobs take their type', async () => {
    const r = new Response(new Blob(['{"a":1}'], {type: 'application/json'}));
    eq(r.headers.get('content-type'), 'application/json');
    deepEq(await r.json(), {a: 1});
    eq(new Response(new Blob(['x'])).headers.get('content-type'), null);
    const blob = await new Response('abc', {headers: {'content-type': 'Text/HTML; Charset="utf-8"'}}).blob();
    eq(blob.type, 'text/html;charset=utf-8');
    eq(await blob.text(), 'abc');
  });
});

group('FormData', (test) => {
  test('append, get, getAll, has, set, delete and iteration', () => {
    const f = new FormData();
    f.append('a', '1');
    f.append('b', new Blob(['x'], {type: 'text/x'}));
    f.append('a', '2');
    f.append('c', new File(['y'], 'orig.txt'), 'renamed.txt');
    eq(f.get('a'), '1');
    deepEq(f.getAll('a'), ['1', '2']);
    eq(f.get('b').name, 'blob');
    eq(f.get('b').type, 'text/x');
    eq(f.get('c').name, 'renamed.txt');
    eq(f.get('zzz'), null);
    f.set('a', '3');
    deepEq([...f.keys()], ['a', 'b', 'c']);
    f.delete('b');
    eq(f.has('b'), false);
    deepEq([...f].map(([k, v]) => [k, typeof v]), [['a', 'string'], ['c', 'object']]);
    throws(() => f.append('x', 'y', 'name.txt'), TypeError);
    throws(() => new FormData({}), TypeError);
  });
  test('a FormData body is multipart with a fresh boundary, and reads back', async () => {
    const f = new FormData();
    f.append('text', 'line1\nline2');
    f.append('q"uote', 'v');
    f.append('file', new Blob([new Uint8Array([0, 255, 13, 10])], {type: 'application/x-bin'}), 'd\u00e9.bin');
    const r = new Request('https://example.com/', {method: 'POST', body: f});
    const type = r.headers.get('content-type');
    ok(/^multipart\/form-data; boundary=[-A-Za-z0-9]{20,70}$/.test(type), type);
    const raw = await r.clone().text();
    ok(raw.includes('name="q%22uote"'), 'quote escaped');
    ok(raw.includes('line1\r\nline2'), 'newlines normalised');
    const back = await r.formData();
    eq(back.get('text'), 'line1\r\nline2');
    eq(back.get('q"uote'), 'v');
    const file = back.get('file');
    ok(file instanceof File);
    eq(file.name, 'd\u00e9.bin');
    eq(file.type, 'application/x-bin');
    deepEq(Array.from(await file.bytes()), [0, 255, 13, 10]);
    const other = new Response(f).headers.get('content-type');
    ok(other !== type, 'each serialisation gets its own boundary');
  });
  test('urlencoded bodies parse', async () => {
    const r = new Response('a=1&b=%C3%A9&a=2+3', {
      headers: {'content-type': 'application/x-www-form-urlencoded;charset=UTF-8'},
    });
    const f = await r.formData();
    deepEq(f.getAll('a'), ['1', '2 3']);
    eq(f.get('b'), '\u00e9');
    const fromParams = await new Response(new URLSearchParams('x=y')).formData();
    eq(fromParams.get('x'), 'y');
  });
  test('a part without filename is text; with one, a File (text/plain by default)', async () => {
    const body = '--B\r\nContent-Disposition: form-data; name="t"\r\n\r\nhello\r\n' +
        '--B\r\nContent-Disposition: form-data; name="f"; filename="a.txt"\r\n\r\nfile\r\n--B--\r\n';
    const f = await new Response(body, {headers: {'content-type': 'multipart/form-data; boundary=B'}})
                  .formData();
    eq(f.get('t'), 'hello');
    eq(f.get('f').name, 'a.txt');
    eq(f.get('f').type, 'text/plain');
    eq(await f.get('f').text(), 'file');
  });
  test('malformed multipart bodies are TypeErrors', async () => {
    const parse = (body, type = 'multipart/form-data; boundary=B') =>
        new Response(body, {headers: {'content-type': type}}).formData();
    const part = '--B\r\nContent-Disposition: form-data; name="a"\r\n\r\nv\r\n';
    await rejects(parse(part + '--B--', 'multipart/form-data'), TypeError);  // no boundary
    await rejects(parse(part), TypeError);  // truncated: no closing delimiter
    await rejects(parse(part.slice(0, 30)), TypeError);  // truncated in the headers
    await rejects(parse('junk' + part + '--B--'), TypeError);  // not starting with the boundary
    await rejects(parse('--B\r\nX: y\r\n\r\nv\r\n--B--'), TypeError);  // no name
    await rejects(parse('--B\r\nContent-Disposition: form-data; name="a\r\n\r\nv\r\n--B--'), TypeError);
    await rejects(parse(part + '--B--', `multipart/form-data; boundary=${'x'.repeat(71)}`), TypeError);
    await rejects(parse('a=1', 'text/plain'), TypeError);
    await rejects(new Response('a=1').formData(), TypeError);
  });
  test('100,000 parts parse in linear time', async () => {
    const part = '--B\r\nContent-Disposition: form-data; name="k"\r\n\r\nv\r\n';
    const parseParts = async (n) => {
      const body = part.repeat(n) + '--B--\r\n';
      const start = performance.now();
      const f = await new Response(body, {headers: {'content-type': 'multipart/form-data; boundary=B'}})
                    .formData();
      eq(f.getAll('k').length, n);
      return performance.now() - start;
    };
    const small = await parseParts(10000);
    const large = await parseParts(100000);
    // Quadratic work would take ~100 times as long; linear about 10 (the machine is shared).
    ok(large < 30 * Math.max(small, 20), `10,000 parts: ${small} ms, 100,000: ${large} ms`);
  });
  test('huge headers and a huge unterminated part fail without hanging', async () => {
    const type = {'content-type': 'multipart/form-data; boundary=B'};
    const hugeHeader = `--B\r\nContent-Disposition: form-data; name="a"\r\nX-Big: ${'y'.repeat(4 << 20)}\r\n\r\nv\r\n--B--`;
    const f = await new Response(hugeHeader, {headers: type}).formData();
    eq(f.get('a'), 'v');
    const hugeName = `--B\r\nContent-Disposition: form-data; name="${'n'.repeat(4 << 20)}`;
    await rejects(new Response(hugeName, {headers: type}).formData(), TypeError);
    // Almost-delimiters everywhere: each is rejected after at most the boundary's length.
    const boundary = 'b'.repeat(70);
    const nearMisses = `--${boundary}\r\nContent-Disposition: form-data; name="a"\r\n\r\n` +
        `\r\n--${'b'.repeat(69)}x`.repeat(20000);
    await rejects(new Response(nearMisses, {
      headers: {'content-type': `multipart/form-data; boundary=${boundary}`},
    }).formData(), TypeError);
  });
});

group('FetchAbort', (test) => {
  test('an aborted signal rejects fetch at once with its reason', async () => {
    const e = await rejects(fetch('https://example.com/', {signal: AbortSignal.abort()}),
                            DOMException, 'AbortError');
    eq(e.name, 'AbortError');
    const reason = new Error('mine');
    try {
      await fetch('https://example.com/', {signal: AbortSignal.abort(reason)});
      throw new Error('did not reject');
    } catch (err) {
      eq(err, reason);
    }
  });
  test('Request keeps a signal that follows the init signal', () => {
    const c = new AbortController();
    const r = new Request('https://example.com/', {signal: c.signal});
    eq(r.signal.aborted, false);
    c.abort('stop');
    eq(r.signal.aborted, true);
    eq(r.signal.reason, 'stop');
    eq(new Request('https://example.com/').signal.aborted, false);
    throws(() => new Request('https://example.com/', {signal: {}}), TypeError);
  });
});

group('URLPattern', (test) => {
  test('matches and extracts groups', () => {
    const p = new URLPattern({pathname: '/books/:id(\\d+)'});
    eq(p.test('https://example.com/books/12'), true);
    eq(p.test('https://example.com/books/x'), false);
    eq(p.exec('https://example.com/books/12').pathname.groups.id, '12');
    const q = new URLPattern('https://*.example.com/:path*');
    eq(q.exec('https://a.example.com/x/y').hostname.groups[0], 'a');
    throws(() => new URLPattern({pathname: '/(['}), TypeError);
  });
});

group('PerformanceAndNavigator', (test) => {
  test('performance.now() is monotonic and close to Date.now() - timeOrigin', async () => {
    const a = performance.now();
    await sleep(20);
    const b = performance.now();
    ok(b - a >= 19, `waited ${b - a} ms`);
    ok(Math.abs(performance.timeOrigin + b - Date.now()) < 50, 'timeOrigin + now() ~ Date.now()');
    eq(Math.round(b * 10) / 10, b, '100 us steps');
    ok(performance instanceof EventTarget);
    deepEq(Object.keys(performance.toJSON()), ['timeOrigin']);
  });
  test('navigator.userAgent names the product and its version', () => {
    ok(/^CosmoCompute\/\d+\.\d+\.\d+/.test(navigator.userAgent), navigator.userAgent);
  });
});

group('Compression', (test) => {
  // The pieces a transform stream produces from `chunks`, and how it ended.
  async function through(stream, chunks) {
    const writer = stream.writable.getWriter();
    const reader = stream.readable.getReader();
    const pieces = [];
    const reading = (async () => {
      for (;;) {
        const {done, value} = await reader.read();
        if (done) return;
        pieces.push(value);
      }
    })();
    for (const chunk of chunks) writer.write(chunk).catch(() => {});
    writer.close().catch(() => {});
    await reading;
    return pieces;
  }
  const concat = (pieces) => {
    const out = new Uint8Array(pieces.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of pieces) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  };
  // 'expected output' deflated (RFC 1950), from the Compression Standard's tests.
  const deflated = new Uint8Array([120, 156, 75, 173, 40, 72, 77, 46, 73, 77, 81, 200, 47, 45,
                                   41, 40, 45, 1, 0, 48, 173, 6, 36]);

  test('each format round-trips and has its framing', async () => {
    const input = enc.encode('hello compression '.repeat(100));
    for (const format of ['gzip', 'deflate', 'deflate-raw']) {
      const compressed = concat(await through(new CompressionStream(format), [input]));
      ok(compressed.length < input.length / 5, `${format} compresses`);
      if (format === 'gzip') deepEq([compressed[0], compressed[1]], [0x1f, 0x8b]);
      if (format === 'deflate') eq(compressed[0], 0x78);
      const pieces = await through(new DecompressionStream(format), [compressed.buffer]);
      ok(pieces.every((p) => p instanceof Uint8Array), 'Uint8Array chunks');
      eq(new TextDecoder().decode(concat(pieces)), 'hello compression '.repeat(100), format);
    }
  });
  test('decompresses the standard\'s example and pipes through bodies', async () => {
    eq(new TextDecoder().decode(concat(await through(new DecompressionStream('deflate'),
                                                     [deflated]))),
       'expected output');
    const gz = new Blob(['hi there']).stream().pipeThrough(new CompressionStream('gzip'));
    const text = await new Response(gz.pipeThrough(new DecompressionStream('gzip'))).text();
    eq(text, 'hi there');
  });
  test('large output comes in pieces of at most 64 KiB', async () => {
    const zeros = new Uint8Array(1 << 20);
    const compressed = concat(await through(new CompressionStream('deflate-raw'), [zeros]));
    const pieces = await through(new DecompressionStream('deflate-raw'), [compressed]);
    ok(pieces.length >= 16, `${pieces.length} pieces`);
    ok(pieces.every((p) => p.length <= 65536), 'bounded pieces');
    eq(concat(pieces).length, 1 << 20);
  });
  test('corrupt, trailing and truncated input are TypeErrors', async () => {
    const corrupt = deflated.slice();
    corrupt[5] ^= 0xff;
    const withJunk = new Uint8Array([...deflated, 1, 2, 3]);
    const truncated = deflated.slice(0, deflated.length - 4);
    for (const input of [corrupt, withJunk, truncated, new Uint8Array(0)]) {
      const ds = new DecompressionStream('deflate');
      const writer = ds.writable.getWriter();
      const read = new Response(ds.readable).arrayBuffer();
      writer.write(input).catch(() => {});
      writer.close().catch(() => {});
      await rejects(read, TypeError);
    }
    // A second gzip member is data after the end of the first.
    const member = concat(await through(new CompressionStream('gzip'), [enc.encode('a')]));
    await rejects(new Response(new Blob([member, member]).stream().pipeThrough(
        new DecompressionStream('gzip'))).arrayBuffer(), TypeError);
  });
  test('only BufferSource chunks; webidl argument checks', async () => {
    for (const bad of ['text', 42, null, undefined, {}, [1, 2]]) {
      const cs = new CompressionStream('gzip');
      const writer = cs.writable.getWriter();
      const read = cs.readable.getReader().read();
      await rejects(writer.write(bad), TypeError);
      await rejects(read, TypeError);
    }
    for (const Ctor of [CompressionStream, DecompressionStream]) {
      throws(() => new Ctor(), TypeError);
      throws(() => new Ctor('GZIP'), TypeError);
      throws(() => new Ctor('br'), TypeError);
      throws(() => Ctor('gzip'), TypeError);
      const getter = Object.getOwnPropertyDescriptor(Ctor.prototype, 'readable').get;
      throws(() => getter.call({}), TypeError);
      ok(new Ctor('deflate').writable instanceof WritableStream);
      ok(new Ctor('deflate').readable instanceof ReadableStream);
    }
    throws(() => structuredClone(new CompressionStream('gzip')), DOMException, 'DataCloneError');
  });
});

export default groupsHandler;
