// Spec-example tests of the web-API runtime, run inside the engine by
// tests/unit/engine/v8/web_api_test.cc: GET /?group=NAME runs one group and answers one line per
// test, "ok TITLE" or "FAIL TITLE: reason" (test_groups.js). Examples follow the WHATWG
// standards, MDN and the web-platform-tests' assertions.

import {deepEq, eq, group, groupsHandler, ok, rejects, throws} from './test_groups.js';

const bytes = (u8) => Array.from(u8);

group('Globals', (test) => {
  test('every global of the runtime exists', () => {
    for (const name of ['Headers', 'Request', 'Response', 'URL', 'URLSearchParams', 'TextEncoder',
                        'TextDecoder', 'DOMException']) {
      eq(typeof globalThis[name], 'function', name);
      const d = Object.getOwnPropertyDescriptor(globalThis, name);
      ok(d.writable && d.configurable && !d.enumerable, `${name} has interface attributes`);
    }
    for (const name of ['atob', 'btoa', 'queueMicrotask', 'structuredClone']) {
      eq(typeof globalThis[name], 'function', name);
    }
    eq(typeof console.log, 'function');
    eq(typeof crypto.getRandomValues, 'function');
    eq(typeof crypto.randomUUID, 'function');
  });
  test('the natives are not reachable from scripts', () => {
    eq(globalThis.__cosmo_native, undefined);
    eq(Object.keys(globalThis).includes('__cosmo_dispatch'), false);
  });
  test('no fetch or timers yet', () => {
    eq(typeof globalThis.require, 'undefined');
    eq(typeof globalThis.process, 'undefined');
  });
  test('interfaces carry their toStringTag', () => {
    eq(Object.prototype.toString.call(new Headers()), '[object Headers]');
    eq(Object.prototype.toString.call(new Response()), '[object Response]');
    eq(Object.prototype.toString.call(new Request('https://a/')), '[object Request]');
    eq(Object.prototype.toString.call(new URL('https://a/')), '[object URL]');
    eq(Object.prototype.toString.call(new TextEncoder()), '[object TextEncoder]');
    eq(Object.prototype.toString.call(new Headers().entries()), '[object Headers Iterator]');
  });
  test('operations are enumerable on prototypes, as Web IDL defines', () => {
    ok(Object.getOwnPropertyDescriptor(Headers.prototype, 'append').enumerable);
    ok(Object.getOwnPropertyDescriptor(Response.prototype, 'status').enumerable);
    ok(Object.getOwnPropertyDescriptor(Response, 'json').enumerable);
  });
  test('String.prototype.isWellFormed and toWellFormed (ES2024)', () => {
    eq('ab\uD800'.isWellFormed(), false);
    eq('ab\uD83D\uDE00'.isWellFormed(), true);
    eq('ab\uD800c\uDC00'.toWellFormed(), 'ab\uFFFDc\uFFFD');
  });
  test('ArrayBuffer is V8s own (no half resizable-buffer shim left behind)', () => {
    eq(Object.getOwnPropertyDescriptor(ArrayBuffer.prototype, 'resizable'), undefined);
  });
});

group('DOMException', (test) => {
  test('defaults and arguments', () => {
    const e = new DOMException();
    eq(e.name, 'Error');
    eq(e.message, '');
    eq(e.code, 0);
    const f = new DOMException('bad thing', 'NotFoundError');
    eq(f.name, 'NotFoundError');
    eq(f.message, 'bad thing');
    eq(f.code, 8);
  });
  test('is an Error with a legacy code table and constants', () => {
    const e = new DOMException('x', 'QuotaExceededError');
    ok(e instanceof Error);
    eq(e.code, 22);
    eq(DOMException.QUOTA_EXCEEDED_ERR, 22);
    eq(DOMException.prototype.INVALID_CHARACTER_ERR, 5);
    eq(new DOMException('m', 'SyntaxError').code, 12);
    eq(String(e), 'QuotaExceededError: x');
    ok(typeof e.stack === 'string' && e.stack.startsWith('QuotaExceededError: x'));
  });
  test('getters are brand checked', () => {
    throws(() => Object.getOwnPropertyDescriptor(DOMException.prototype, 'name').get.call({}), TypeError);
  });
});

group('Headers', (test) => {
  test('case-insensitive get, has, set and delete', () => {
    const h = new Headers();
    h.append('Content-Type', 'text/html');
    eq(h.get('content-type'), 'text/html');
    eq(h.get('CONTENT-TYPE'), 'text/html');
    ok(h.has('Content-type'));
    h.set('CONTENT-type', 'text/plain');
    eq(h.get('content-type'), 'text/plain');
    h.delete('Content-Type');
    eq(h.get('content-type'), null);
    ok(!h.has('content-type'));
  });
  test('append combines values with ", " (MDN example)', () => {
    const h = new Headers();
    h.append('Accept-Encoding', 'deflate');
    h.append('Accept-Encoding', 'gzip');
    eq(h.get('Accept-Encoding'), 'deflate, gzip');
  });
  test('iteration is sorted by lower-case name and combines values', () => {
    const h = new Headers([['B', '1'], ['a', '2'], ['b', '3'], ['C', '4']]);
    deepEq([...h], [['a', '2'], ['b', '1, 3'], ['c', '4']]);
    deepEq([...h.keys()], ['a', 'b', 'c']);
    deepEq([...h.values()], ['2', '1, 3', '4']);
    eq(h[Symbol.iterator], h.entries);
  });
  test('set-cookie values are never combined in iteration (Fetch)', () => {
    const h = new Headers();
    h.append('Set-Cookie', 'a=1');
    h.append('X-Y', 'z');
    h.append('set-cookie', 'b=2');
    deepEq([...h], [['set-cookie', 'a=1'], ['set-cookie', 'b=2'], ['x-y', 'z']]);
    deepEq(h.getSetCookie(), ['a=1', 'b=2']);
    eq(h.get('set-cookie'), 'a=1, b=2');
    deepEq(new Headers().getSetCookie(), []);
  });
  test('init from a record, a sequence and another Headers', () => {
    deepEq([...new Headers({'X-A': '1', 'x-b': '2'})], [['x-a', '1'], ['x-b', '2']]);
    deepEq([...new Headers([['x', '1'], ['x', '2']])], [['x', '1, 2']]);
    const src = new Headers({a: '1'});
    const copy = new Headers(src);
    src.set('a', '2');
    eq(copy.get('a'), '1');
  });
  test('a sequence item that is not a pair is a TypeError', () => {
    throws(() => new Headers([['a']]), TypeError);
    throws(() => new Headers([['a', 'b', 'c']]), TypeError);
    throws(() => new Headers(['ab']), TypeError);
    throws(() => new Headers('a'), TypeError);
  });
  test('values are stripped of leading and trailing HTTP whitespace', () => {
    const h = new Headers({a: ' \t x y \t '});
    eq(h.get('a'), 'x y');
    h.set('b', '\r\n z\n');
    eq(h.get('b'), 'z');
  });
  test('invalid names and values are TypeErrors', () => {
    const h = new Headers();
    throws(() => h.append('bad name', 'x'), TypeError);
    throws(() => h.append('', 'x'), TypeError);
    throws(() => h.append('a:b', 'x'), TypeError);
    throws(() => h.set('x', 'a\nb'), TypeError);
    throws(() => h.set('x', 'a\rb'), TypeError);
    throws(() => h.set('x', 'a\0b'), TypeError);
    throws(() => h.get('bad name'), TypeError);
    throws(() => h.append('x', '\u0100'), TypeError);  // not a ByteString
    h.append('x', '\u00e9');  // Latin-1 is a ByteString
    eq(h.get('x'), '\u00e9');
  });
  test('forEach passes value, name, headers', () => {
    const h = new Headers({b: '2', a: '1'});
    const seen = [];
    h.forEach(function(value, name, object) {
      seen.push([name, value, object === h, this.tag]);
    }, {tag: 't'});
    deepEq(seen, [['a', '1', true, 't'], ['b', '2', true, 't']]);
  });
  test('iterators see changes made during iteration', () => {
    const h = new Headers({a: '1', c: '3'});
    const it = h.keys();
    eq(it.next().value, 'a');
    h.append('b', '2');
    eq(it.next().value, 'b');
    eq(it.next().value, 'c');
    ok(it.next().done);
  });
  test('set replaces the first value in place and drops the others', () => {
    const h = new Headers([['a', '1'], ['b', '2'], ['a', '3']]);
    h.set('A', '9');
    eq(h.get('a'), '9');
    deepEq([...h], [['a', '9'], ['b', '2']]);
  });
  test('methods check their arguments and receiver', () => {
    throws(() => new Headers().append('a'), TypeError);
    throws(() => Headers.prototype.get.call({}, 'a'), TypeError);
    throws(() => Headers(), TypeError);
  });
});

group('Request', (test) => {
  test('defaults from a URL string', async () => {
    const r = new Request('https://example.com/path?q=1');
    eq(r.method, 'GET');
    eq(r.url, 'https://example.com/path?q=1');
    eq(r.redirect, 'follow');
    eq(r.bodyUsed, false);
    eq(await r.text(), '');
    eq(r.bodyUsed, false);  // a null body is never "used"
  });
  test('the URL is parsed and serialized', () => {
    eq(new Request('HTTPS://EXAMPLE.com:443/a/../b c').url, 'https://example.com/b%20c');
  });
  test('relative and invalid URLs, and URLs with credentials, are TypeErrors', () => {
    throws(() => new Request('/relative'), TypeError);
    throws(() => new Request('http://[::1'), TypeError);
    throws(() => new Request('https://user:pass@example.com/'), TypeError);
  });
  test('methods are normalized, validated, and some forbidden', () => {
    eq(new Request('https://a/', {method: 'post'}).method, 'POST');
    eq(new Request('https://a/', {method: 'patch'}).method, 'patch');  // only the six are upper-cased
    eq(new Request('https://a/', {method: 'Delete'}).method, 'DELETE');
    throws(() => new Request('https://a/', {method: 'CONNECT'}), TypeError);
    throws(() => new Request('https://a/', {method: 'trace'}), TypeError);
    throws(() => new Request('https://a/', {method: 'bad method'}), TypeError);
  });
  test('GET and HEAD cannot have a body', () => {
    throws(() => new Request('https://a/', {body: 'x'}), TypeError);
    throws(() => new Request('https://a/', {method: 'HEAD', body: 'x'}), TypeError);
    eq(new Request('https://a/', {body: null}).method, 'GET');
  });
  test('a string body sets text/plain and reads back', async () => {
    const r = new Request('https://a/', {method: 'POST', body: 'héllo'});
    eq(r.headers.get('content-type'), 'text/plain;charset=UTF-8');
    eq(await r.text(), 'héllo');
    eq(r.bodyUsed, true);
    await rejects(r.text(), TypeError);
  });
  test('an explicit content-type wins over the body type', () => {
    const r = new Request('https://a/', {method: 'POST', body: '{}', headers: {'Content-Type': 'application/json'}});
    eq(r.headers.get('content-type'), 'application/json');
  });
  test('URLSearchParams and ArrayBuffer bodies', async () => {
    const r = new Request('https://a/', {method: 'POST', body: new URLSearchParams({a: '1 2', b: 'é'})});
    eq(r.headers.get('content-type'), 'application/x-www-form-urlencoded;charset=UTF-8');
    eq(await r.text(), 'a=1+2&b=%C3%A9');
    const buffer = new Uint8Array([104, 105]).buffer;
    const s = new Request('https://a/', {method: 'PUT', body: buffer});
    eq(s.headers.get('content-type'), null);
    new Uint8Array(buffer)[0] = 0;  // the body is a copy
    eq(await s.text(), 'hi');
  });
  test('json and arrayBuffer', async () => {
    const r = new Request('https://a/', {method: 'POST', body: '{"n":1}'});
    deepEq(await r.json(), {n: 1});
    const s = new Request('https://a/', {method: 'POST', body: 'ab'});
    const ab = await s.arrayBuffer();
    ok(ab instanceof ArrayBuffer);
    deepEq(bytes(new Uint8Array(ab)), [97, 98]);
    await rejects(new Request('https://a/', {method: 'POST', body: '{'}).json(), SyntaxError);
  });
  test('clone copies headers and body and fails once the body is used', async () => {
    const r = new Request('https://a/', {method: 'POST', body: 'x', headers: {'X-A': '1'}});
    const c = r.clone();
    c.headers.set('x-a', '2');
    eq(r.headers.get('x-a'), '1');
    eq(await c.text(), 'x');
    eq(await r.text(), 'x');
    throws(() => r.clone(), TypeError);
  });
  test('constructing from a Request takes its body over', async () => {
    const r = new Request('https://a/', {method: 'POST', body: 'x'});
    const s = new Request(r);
    eq(r.bodyUsed, true);
    eq(s.method, 'POST');
    eq(s.url, 'https://a/');
    eq(await s.text(), 'x');
    throws(() => new Request(r), TypeError);
    const t = new Request(new Request('https://b/', {headers: {a: '1'}}), {headers: {b: '2'}});
    deepEq([...t.headers], [['b', '2']]);
    throws(() => new Request(new Request('https://a/', {method: 'POST', body: 'x'}), {method: 'GET'}), TypeError);
  });
  test('redirect mode is validated', () => {
    eq(new Request('https://a/', {redirect: 'manual'}).redirect, 'manual');
    throws(() => new Request('https://a/', {redirect: 'nope'}), TypeError);
  });
  test('body methods on the wrong object reject rather than throw', async () => {
    await rejects(Request.prototype.text.call({}), TypeError);
    await rejects(Response.prototype.json.call(new Request('https://a/')), TypeError);
  });
  test('body methods have the shape of Web IDL operations', () => {
    for (const cls of [Request, Response]) {
      for (const kind of ['arrayBuffer', 'bytes', 'json', 'text']) {
        const desc = Object.getOwnPropertyDescriptor(cls.prototype, kind);
        ok(desc.enumerable && desc.writable && desc.configurable, `${cls.name}.${kind}`);
        eq(desc.value.name, kind);
        eq(desc.value.length, 0);
        throws(() => new desc.value(), TypeError);
      }
    }
  });
  test('a second read names the method and the interface', async () => {
    const r = new Response('x');
    await r.text();
    let message = '';
    await r.bytes().catch((e) => { message = e.message; });
    eq(message, "Failed to execute 'bytes' on 'Response': body stream already read");
  });
});

group('Response', (test) => {
  test('defaults', async () => {
    const r = new Response();
    eq(r.status, 200);
    eq(r.statusText, '');
    eq(r.ok, true);
    eq(r.type, 'default');
    eq(r.url, '');
    eq(r.redirected, false);
    eq(r.bodyUsed, false);
    eq(await r.text(), '');
    deepEq([...r.headers], []);
  });
  test('a string body with init', async () => {
    const r = new Response('hello', {status: 201, statusText: 'Created', headers: {'X-A': 'b'}});
    eq(r.status, 201);
    eq(r.statusText, 'Created');
    deepEq([...r.headers], [['content-type', 'text/plain;charset=UTF-8'], ['x-a', 'b']]);
    eq(await r.text(), 'hello');
    eq(r.bodyUsed, true);
    await rejects(r.text(), TypeError);
  });
  test('ok is true only for 200-299', () => {
    eq(new Response(null, {status: 299}).ok, true);
    eq(new Response(null, {status: 300}).ok, false);
    eq(new Response(null, {status: 404}).ok, false);
  });
  test('status outside 200-599 is a RangeError', () => {
    throws(() => new Response(null, {status: 199}), RangeError);
    throws(() => new Response(null, {status: 600}), RangeError);
    throws(() => new Response(null, {status: 0}), RangeError);
    eq(new Response(null, {status: 599}).status, 599);
    // unsigned short conversion: modulo 2^16
    eq(new Response(null, {status: 65536 + 200}).status, 200);
  });
  test('statusText must be a reason-phrase', () => {
    throws(() => new Response(null, {statusText: 'a\nb'}), TypeError);
    throws(() => new Response(null, {statusText: '\u0100'}), TypeError);
    eq(new Response(null, {statusText: 'Très bien'}).statusText, 'Très bien');
  });
  test('null-body statuses cannot have a body', () => {
    for (const status of [204, 205, 304]) {
      throws(() => new Response('x', {status}), TypeError);
      eq(new Response(null, {status}).status, status);
      eq(new Response('', {status: 200}).status, 200);
    }
  });
  test('body types: ArrayBuffer, TypedArray, DataView, URLSearchParams, objects', async () => {
    deepEq(bytes(new Uint8Array(await new Response(new Uint8Array([1, 2, 3]).buffer).arrayBuffer())), [1, 2, 3]);
    const view = new Uint8Array([9, 1, 2, 3, 9]).subarray(1, 4);
    deepEq(bytes(new Uint8Array(await new Response(view).arrayBuffer())), [1, 2, 3]);
    deepEq(bytes(new Uint8Array(await new Response(new Uint16Array([0x0201])).arrayBuffer())), [1, 2]);
    deepEq(bytes(new Uint8Array(await new Response(new DataView(new Uint8Array([7]).buffer)).arrayBuffer())), [7]);
    eq(new Response(new Uint8Array(1)).headers.get('content-type'), null);
    const p = new Response(new URLSearchParams('a=1&b=2'));
    eq(p.headers.get('content-type'), 'application/x-www-form-urlencoded;charset=UTF-8');
    eq(await p.text(), 'a=1&b=2');
    eq(await new Response({}).text(), '[object Object]');
    eq(await new Response(42).text(), '42');
  });
  test('text() decodes UTF-8 and strips a BOM; invalid bytes become U+FFFD', async () => {
    eq(await new Response(new Uint8Array([0xEF, 0xBB, 0xBF, 0x68, 0xC3, 0xA9])).text(), 'hé');
    eq(await new Response(new Uint8Array([0x61, 0xFF, 0x62])).text(), 'a\uFFFDb');
  });
  test('lone surrogates in a string body become U+FFFD', async () => {
    eq(await new Response('a\uD800b').text(), 'a\uFFFDb');
    deepEq(bytes(new Uint8Array(await new Response('\uD800').arrayBuffer())), [0xEF, 0xBF, 0xBD]);
  });
  test('arrayBuffer of a string body is its UTF-8', async () => {
    const ab = await new Response('é€').arrayBuffer();
    eq(ab.byteLength, 5);
    deepEq(bytes(new Uint8Array(ab)), [0xC3, 0xA9, 0xE2, 0x82, 0xAC]);
  });
  test('Response.json', async () => {
    const r = Response.json({a: [1, 'b']}, {status: 202, headers: {'X-Y': 'z'}});
    eq(r.status, 202);
    eq(r.headers.get('content-type'), 'application/json');
    eq(r.headers.get('x-y'), 'z');
    eq(await r.text(), '{"a":[1,"b"]}');
    eq(Response.json(null).status, 200);
    eq(Response.json('x', {headers: {'content-type': 'text/json'}}).headers.get('content-type'), 'text/json');
    throws(() => Response.json(undefined), TypeError);
    throws(() => Response.json(() => 1), TypeError);
    throws(() => Response.json(1n), TypeError);
    throws(() => Response.json({}, {status: 204}), TypeError);
  });
  test('Response.redirect', () => {
    const r = Response.redirect('https://example.com/a b', 301);
    eq(r.status, 301);
    eq(r.headers.get('location'), 'https://example.com/a%20b');
    throws(() => r.headers.set('x', 'y'), TypeError);
    eq(Response.redirect('https://example.com/').status, 302);
    for (const status of [303, 307, 308]) eq(Response.redirect('https://a/', status).status, status);
    throws(() => Response.redirect('https://a/', 200), RangeError);
    throws(() => Response.redirect('/relative'), TypeError);
  });
  test('Response.error', async () => {
    const r = Response.error();
    eq(r.type, 'error');
    eq(r.status, 0);
    eq(r.ok, false);
    eq(r.statusText, '');
    throws(() => r.headers.append('a', 'b'), TypeError);
    eq(await r.text(), '');
  });
  test('clone', async () => {
    const r = new Response('body', {status: 203, headers: {a: '1'}});
    const c = r.clone();
    eq(c.status, 203);
    eq(c.headers.get('a'), '1');
    c.headers.set('a', '2');
    eq(r.headers.get('a'), '1');
    eq(await c.text(), 'body');
    eq(await r.text(), 'body');
    throws(() => r.clone(), TypeError);
  });
  test('headers of a new Response are mutable', () => {
    const r = new Response('x');
    r.headers.set('Content-Type', 'text/html');
    eq(r.headers.get('content-type'), 'text/html');
  });
  test('bytes() returns a Uint8Array', async () => {
    const u = await new Response('hi').bytes();
    ok(u instanceof Uint8Array);
    deepEq(bytes(u), [104, 105]);
  });
});

group('URL', (test) => {
  test('MDN examples', () => {
    const url = new URL('../cats', 'http://www.example.com/dogs');
    eq(url.hostname, 'www.example.com');
    eq(url.pathname, '/cats');
    eq(new URL('https://example.org/?q=1#f').hash, '#f');
    eq(new URL('//foo.com', 'https://example.com').href, 'https://foo.com/');
    throws(() => new URL('/x'), TypeError);
  });
  test('setters', () => {
    const u = new URL('https://example.com/a?b#c');
    u.pathname = '/x y';
    u.search = 'q=ü';
    u.hash = 'frag';
    u.port = '8080';
    eq(u.href, 'https://example.com:8080/x%20y?q=%C3%BC#frag');
    u.protocol = 'http';
    eq(u.protocol, 'http:');
  });
  test('IDNA and IPv4/IPv6 hosts', () => {
    eq(new URL('https://BÜCHER.example/').host, 'xn--bcher-kva.example');
    eq(new URL('http://0x7f.1/').host, '127.0.0.1');
    eq(new URL('http://[::FFFF:1.2.3.4]/').host, '[::ffff:102:304]');
  });
  test('searchParams is live', () => {
    const u = new URL('https://a/?x=1&y=2');
    u.searchParams.append('z', '3 4');
    eq(u.search, '?x=1&y=2&z=3+4');
    u.search = '?k=v';
    eq(u.searchParams.get('k'), 'v');
  });
  test('URL.canParse, URL.parse, toJSON', () => {
    eq(URL.canParse('https://a/'), true);
    eq(URL.canParse('nope'), false);
    eq(URL.parse('nope'), null);
    eq(URL.parse('b', 'https://a/').href, 'https://a/b');
    eq(JSON.stringify({u: new URL('https://a/')}), '{"u":"https://a/"}');
  });
  test('URLSearchParams', () => {
    const p = new URLSearchParams('?a=1&b=2&a=3');
    deepEq(p.getAll('a'), ['1', '3']);
    eq(p.get('c'), null);
    p.sort();
    eq(p.toString(), 'a=1&a=3&b=2');
    deepEq([...new URLSearchParams({x: '1', y: 'two words'})], [['x', '1'], ['y', 'two words']]);
    eq(new URLSearchParams([['a', '&=']]).toString(), 'a=%26%3D');
    eq(new URLSearchParams('q=%zz+%41').get('q'), '%zz A');
    eq(p.size, 3);
    ok(p.has('a', '3'));
    p.delete('a', '1');
    deepEq(p.getAll('a'), ['3']);
  });
});

group('Encoding', (test) => {
  test('TextDecoder decodes every encoding of the standard, by any of its labels', () => {
    eq(new TextDecoder('sjis').encoding, 'shift_jis');
    eq(new TextDecoder(' Latin1 ').encoding, 'windows-1252');
    eq(new TextDecoder('sjis').decode(new Uint8Array([0x82, 0xa0])), '\u3042');
    eq(new TextDecoder('gbk').decode(new Uint8Array([0xc4, 0xe3])), '\u4f60');
    eq(new TextDecoder('big5').decode(new Uint8Array([0xa4, 0x40])), '\u4e00');
    eq(new TextDecoder('euc-kr').decode(new Uint8Array([0xb0, 0xa1])), '\uac00');
    eq(new TextDecoder('utf-16be').decode(new Uint8Array([0, 0x41])), 'A');
    eq(new TextDecoder('koi8-r').decode(new Uint8Array([0xc1])), '\u0430');
    // A character split across two calls in streaming mode.
    const d = new TextDecoder('shift_jis');
    eq(d.decode(new Uint8Array([0x82]), {stream: true}) + d.decode(new Uint8Array([0xa0])),
       '\u3042');
    throws(() => new TextDecoder('big5', {fatal: true}).decode(new Uint8Array([0x80])), TypeError);
    for (const label of ['replacement', 'utf-7', 'x-user-defined-nope']) {
      throws(() => new TextDecoder(label), RangeError);
    }
  });
  test('TextEncoder.encode', () => {
    const e = new TextEncoder();
    eq(e.encoding, 'utf-8');
    deepEq(bytes(e.encode('€')), [0xE2, 0x82, 0xAC]);
    deepEq(bytes(e.encode()), []);
    deepEq(bytes(e.encode('\uD800')), [0xEF, 0xBF, 0xBD]);
    ok(e.encode('x') instanceof Uint8Array);
  });
  test('TextEncoder.encode: short ASCII (copied in JavaScript) and the boundary to native', () => {
    const e = new TextEncoder();
    const line = e.encode('tick 1\n');
    deepEq(bytes(line), [0x74, 0x69, 0x63, 0x6B, 0x20, 0x31, 0x0A]);
    eq(line.buffer.byteLength, 7);
    eq(line.byteOffset, 0);
    // Non-ASCII in a short string, at its end or after ASCII: the native encoder takes over.
    deepEq(bytes(e.encode('ab\u00E9')), [0x61, 0x62, 0xC3, 0xA9]);
    deepEq(bytes(e.encode('a\uDC00b')), [0x61, 0xEF, 0xBF, 0xBD, 0x62]);
    deepEq(bytes(e.encode('\uD83D\uDE00')), [0xF0, 0x9F, 0x98, 0x80]);
    for (const n of [63, 64, 65, 200]) {
      const text = 'x'.repeat(n - 1) + 'y';
      const out = e.encode(text);
      eq(out.length, n);
      eq(out[n - 1], 0x79);
      eq(out.buffer.byteLength, n);
    }
    deepEq(bytes(e.encode(12)), [0x31, 0x32]);
    deepEq(bytes(e.encode({toString: () => 'ok'})), [0x6F, 0x6B]);
  });
  test('TextEncoder.encodeInto (MDN example)', () => {
    const u8 = new Uint8Array(8);
    deepEq(new TextEncoder().encodeInto('A€B', u8), {read: 3, written: 5});
    deepEq(bytes(u8.subarray(0, 5)), [0x41, 0xE2, 0x82, 0xAC, 0x42]);
    const small = new Uint8Array(2);
    deepEq(new TextEncoder().encodeInto('a€', small), {read: 1, written: 1});  // no partial sequences
    deepEq(new TextEncoder().encodeInto('😀', new Uint8Array(4)), {read: 2, written: 4});
    throws(() => new TextEncoder().encodeInto('a', new Uint16Array(2)), TypeError);
  });
  test('TextDecoder labels and attributes', () => {
    for (const label of ['utf-8', 'UTF8', ' unicode-1-1-utf-8\n', 'x-unicode20utf8']) {
      eq(new TextDecoder(label).encoding, 'utf-8');
    }
    throws(() => new TextDecoder('latin2-nope'), RangeError);
    const d = new TextDecoder('utf-8', {fatal: true, ignoreBOM: true});
    eq(d.fatal, true);
    eq(d.ignoreBOM, true);
    eq(new TextDecoder().fatal, false);
  });
  test('TextDecoder.decode: BOM, replacement, fatal', () => {
    eq(new TextDecoder().decode(new Uint8Array([0xEF, 0xBB, 0xBF, 0x41])), 'A');
    eq(new TextDecoder('utf-8', {ignoreBOM: true}).decode(new Uint8Array([0xEF, 0xBB, 0xBF, 0x41])), '\uFEFFA');
    eq(new TextDecoder().decode(new Uint8Array([0x41, 0xC0, 0x80, 0x42])), 'A\uFFFD\uFFFDB');
    eq(new TextDecoder().decode(new Uint8Array([0xF0, 0x9F, 0x98])), '\uFFFD');
    eq(new TextDecoder().decode(new Uint8Array([0xED, 0xA0, 0x80])), '\uFFFD\uFFFD\uFFFD');
    throws(() => new TextDecoder('utf-8', {fatal: true}).decode(new Uint8Array([0xFF])), TypeError);
    eq(new TextDecoder().decode(), '');
    eq(new TextDecoder().decode(new Uint8Array([0x68, 0x69]).buffer), 'hi');
    eq(new TextDecoder().decode(new DataView(new Uint8Array([0x68]).buffer)), 'h');
    throws(() => new TextDecoder().decode('str'), TypeError);
  });
  test('TextDecoder streaming keeps split sequences and the BOM state', () => {
    const d = new TextDecoder();
    const all = [0xEF, 0xBB, 0xBF, 0xE2, 0x82, 0xAC, 0xF0, 0x9F, 0x98, 0x80, 0x41];
    let out = '';
    for (const b of all) out += d.decode(new Uint8Array([b]), {stream: true});
    out += d.decode();
    eq(out, '€😀A');
    // A BOM in the middle of a stream is content.
    let mid = d.decode(new Uint8Array([0x41]), {stream: true});
    mid += d.decode(new Uint8Array([0xEF, 0xBB, 0xBF]), {stream: true});
    mid += d.decode();
    eq(mid, 'A\uFEFF');
    // An unfinished sequence at the end of the stream is one U+FFFD.
    eq(d.decode(new Uint8Array([0xE2, 0x82]), {stream: true}), '');
    eq(d.decode(), '\uFFFD');
    // Fatal streaming throws at the end of an unfinished stream.
    const f = new TextDecoder('utf-8', {fatal: true});
    eq(f.decode(new Uint8Array([0xE2]), {stream: true}), '');
    throws(() => f.decode(), TypeError);
    eq(f.decode(new Uint8Array([0x41])), 'A');
  });
});

group('Base64', (test) => {
  test('btoa and atob (HTML examples)', () => {
    eq(btoa('Hello, world'), 'SGVsbG8sIHdvcmxk');
    eq(atob('SGVsbG8sIHdvcmxk'), 'Hello, world');
    eq(btoa(''), '');
    eq(btoa('a'), 'YQ==');
    eq(btoa('ab'), 'YWI=');
    eq(btoa('\xff\xfe'), '//4=');
    eq(atob('//4='), '\xff\xfe');
  });
  test('forgiving-base64: whitespace, missing padding', () => {
    eq(atob(' YW\tJj\n'), 'abc');
    eq(atob('YQ'), 'a');
    eq(atob('YWI'), 'ab');
    eq(atob('YQ=='), 'a');
    eq(atob(''), '');
    eq(atob(null), '\x9e\xe9e');  // "null" is valid base64
  });
  test('invalid input is an InvalidCharacterError DOMException', () => {
    for (const bad of ['YQ===', 'Y', 'YQ=a', 'Y=Q=', '@@@@', 'YQ\u0100=', 'abcde', undefined]) {
      const e = throws(() => atob(bad), DOMException, 'InvalidCharacterError');
      eq(e.code, 5);
    }
    throws(() => btoa('€'), DOMException, 'InvalidCharacterError');
    throws(() => atob(), TypeError);
  });
  test('every byte round-trips', () => {
    let s = '';
    for (let i = 0; i < 256; i++) s += String.fromCharCode(i);
    eq(atob(btoa(s)), s);
  });
});

group('Crypto', (test) => {
  test('getRandomValues fills integer arrays and returns them', () => {
    const a = new Uint8Array(64);
    eq(crypto.getRandomValues(a), a);
    ok(a.some((x) => x !== 0), 'random bytes');
    for (const C of [Int8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array,
                     BigInt64Array, BigUint64Array]) {
      const x = new C(4);
      eq(crypto.getRandomValues(x), x);
    }
    const view = new Uint8Array(16).subarray(4, 8);
    crypto.getRandomValues(view);
  });
  test('float arrays and DataViews are TypeMismatchErrors, other values TypeErrors', () => {
    throws(() => crypto.getRandomValues(new Float32Array(4)), DOMException, 'TypeMismatchError');
    throws(() => crypto.getRandomValues(new Float64Array(4)), DOMException, 'TypeMismatchError');
    throws(() => crypto.getRandomValues(new DataView(new ArrayBuffer(4))), DOMException,
           'TypeMismatchError');
    throws(() => crypto.getRandomValues([1, 2]), TypeError);
    throws(() => crypto.getRandomValues(), TypeError);
  });
  test('more than 65536 bytes is a QuotaExceededError', () => {
    crypto.getRandomValues(new Uint8Array(65536));
    throws(() => crypto.getRandomValues(new Uint8Array(65537)), DOMException, 'QuotaExceededError');
    throws(() => crypto.getRandomValues(new Uint32Array(16385)), DOMException, 'QuotaExceededError');
  });
  test('randomUUID is a version 4 UUID', () => {
    const re = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
    const seen = new Set();
    for (let i = 0; i < 100; i++) {
      const u = crypto.randomUUID();
      ok(re.test(u), u);
      seen.add(u);
    }
    eq(seen.size, 100);
  });
  test('methods need the crypto object as receiver', () => {
    const {getRandomValues} = crypto;
    throws(() => getRandomValues(new Uint8Array(1)), TypeError);
    throws(() => new crypto.constructor(), TypeError);
  });
});

group('Microtasks', (test) => {
  test('queueMicrotask runs callbacks in order before the next task', async () => {
    const order = [];
    queueMicrotask(() => order.push(1));
    Promise.resolve().then(() => order.push(2));
    queueMicrotask(() => order.push(3));
    order.push(0);
    await null;
    await null;
    deepEq(order, [0, 1, 2, 3]);
  });
  test('a non-function is a TypeError', () => {
    throws(() => queueMicrotask(1), TypeError);
    throws(() => queueMicrotask(), TypeError);
  });
});

group('StructuredClone', (test) => {
  test('deep copies with cycles, Maps, Sets, Dates, RegExps, typed arrays', () => {
    const o = {a: [1, {b: 2n}], m: new Map([[1, 'x']]), s: new Set(['y']), d: new Date(5), r: /x/gi,
               u: new Uint8Array([1, 2])};
    o.self = o;
    const c = structuredClone(o);
    ok(c !== o && c.self === c, 'cycle kept');
    eq(c.a[1].b, 2n);
    eq(c.m.get(1), 'x');
    ok(c.s.has('y'));
    eq(c.d.getTime(), 5);
    eq(c.r.flags, 'gi');
    deepEq(bytes(c.u), [1, 2]);
    ok(c.u.buffer !== o.u.buffer);
    ok(Object.getPrototypeOf(c) === Object.prototype);
  });
  test('errors clone with their name and message', () => {
    const e = structuredClone(new RangeError('bad'));
    ok(e instanceof RangeError);
    eq(e.message, 'bad');
  });
  test('functions, symbols and host objects are DataCloneErrors', () => {
    throws(() => structuredClone(() => 1), DOMException, 'DataCloneError');
    throws(() => structuredClone({f() {}}), DOMException, 'DataCloneError');
    throws(() => structuredClone(Symbol('x')), DOMException, 'DataCloneError');
    throws(() => structuredClone(new Headers()), DOMException, 'DataCloneError');
    throws(() => structuredClone(new Response('x')), DOMException, 'DataCloneError');
    throws(() => structuredClone(new URL('https://a/')), DOMException, 'DataCloneError');
    eq(new DOMException('', 'DataCloneError').code, 25);
  });
  test('a getter that throws propagates its own exception', () => {
    const e = throws(() => structuredClone({get x() { throw new SyntaxError('mine'); }}), SyntaxError);
    eq(e.message, 'mine');
  });
  test('structuredClone needs an argument', () => {
    throws(() => structuredClone(), TypeError);
    eq(structuredClone(undefined), undefined);
  });
});

// The request the host hands to the handler: lazy URL and headers, immutable headers, body.
group('IncomingRequest', (test, request) => {
  test('method, url and headers from the host', () => {
    eq(request.method, 'POST');
    eq(request.url, 'http://example.com/in?group=IncomingRequest');
    eq(request.headers.get('x-mixed-case'), 'Value');
    deepEq([...request.headers.keys()].filter((k) => k.startsWith('x-')), ['x-a', 'x-mixed-case']);
    eq(request.headers.get('x-a'), '1, 2');
  });
  test('incoming headers are immutable; a copy is not', () => {
    throws(() => request.headers.set('x', 'y'), TypeError);
    const copy = new Request(request.clone());
    copy.headers.set('x', 'y');
    eq(copy.headers.get('x'), 'y');
  });
  test('the body reads once', async () => {
    const clone = request.clone();
    eq(await request.text(), 'payload é');
    eq(request.bodyUsed, true);
    await rejects(request.text(), TypeError);
    deepEq(bytes(new Uint8Array(await clone.arrayBuffer())).length, 10);
  });
});

export default groupsHandler;
