// A minimal web-API runtime for the engine core's tests, used until libcosmo is built with the
// real runtime (lib/engine/v8/js/). It implements only what the engine tests touch: console,
// Headers/Request/Response basics and the __cosmo_dispatch contract. Test-only; never linked
// into the product.
#ifndef COSMO_TESTS_UNIT_ENGINE_V8_STAND_IN_RUNTIME_H_
#define COSMO_TESTS_UNIT_ENGINE_V8_STAND_IN_RUNTIME_H_

namespace cosmo::v8engine::testing {

inline constexpr const char kStandInRuntime[] = R"JS(
(function () {
  'use strict';
  const native = globalThis.__cosmo_native;
  delete globalThis.__cosmo_native;
  const format = (args) => args.map((a) => {
    if (typeof a === 'string') return a;
    try { return JSON.stringify(a); } catch { return String(a); }
  }).join(' ');
  globalThis.console = {
    debug: (...a) => native.log(0, format(a)),
    info: (...a) => native.log(1, format(a)),
    log: (...a) => native.log(2, format(a)),
    warn: (...a) => native.log(3, format(a)),
    error: (...a) => native.log(4, format(a)),
  };
  class Headers {
    constructor(init) {
      this._map = new Map();
      if (init) for (const [k, v] of Object.entries(init)) this.set(k, v);
    }
    set(k, v) { this._map.set(String(k).toLowerCase(), String(v)); }
    get(k) { const v = this._map.get(String(k).toLowerCase()); return v === undefined ? null : v; }
    *entries() { yield* [...this._map.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)); }
  }
  const decode = (bytes) => (bytes ? native.utf8Decode(bytes, false, false) : '');
  class Response {
    constructor(body, init = {}) {
      this.status = init.status ?? 200;
      this.headers = new Headers(init.headers);
      this._body = body ?? null;
      if (typeof body === 'string' && this.headers.get('content-type') === null) {
        this.headers.set('content-type', 'text/plain;charset=UTF-8');
      }
    }
    static json(value, init = {}) {
      const r = new Response(JSON.stringify(value), init);
      r.headers.set('content-type', 'application/json');
      return r;
    }
    async text() { return typeof this._body === 'string' ? this._body : decode(this._body); }
  }
  class Request {
    constructor(method, url, headers, body) {
      this.method = method; this.url = url; this.headers = headers; this._body = body;
    }
    async text() { return decode(this._body); }
    async json() { return JSON.parse(await this.text()); }
  }
  globalThis.Headers = Headers;
  globalThis.Request = Request;
  globalThis.Response = Response;
  globalThis.__cosmo_dispatch = {
    invoke(handler, env, ctx, method, url, headers, body) {
      const h = new Headers();
      for (let i = 0; i < headers.length; i += 2) h.set(headers[i], headers[i + 1]);
      return handler.fetch(new Request(method, url, h, body), env, ctx);
    },
    responseParts(r) {
      if (typeof r === 'string') return [200, ['content-type', 'text/plain;charset=UTF-8'], r];
      if (!(r instanceof Response)) throw new TypeError('invalid response: not a Response or string');
      const flat = [];
      for (const [k, v] of r.headers.entries()) flat.push(k, v);
      return [r.status, flat, r._body ?? ''];
    },
    makeContext() {
      const promises = [];
      return { waitUntil(p) { promises.push(Promise.resolve(p)); }, _promises: promises };
    },
    waitUntilPromises(ctx) { return ctx._promises; },
  };
})();
)JS";

}  // namespace cosmo::v8engine::testing

#endif  // COSMO_TESTS_UNIT_ENGINE_V8_STAND_IN_RUNTIME_H_
