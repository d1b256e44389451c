// Runs one web-platform-tests file inside the engine, the way WPT's own runner runs a `.any.js`
// test in a dedicated worker: testharness.js, the `// META: script=` helpers and the test file
// are evaluated in order as sloppy scripts on the global object (indirect eval), then the
// harness's completion callback reports every subtest. Used by tests/unit/engine/v8/wpt_test.cc,
// which posts the job as JSON and gets the results back as JSON:
//
//   job:    {path, variant, title, scripts: [{name, source}], files: {"/abs/path": text}, timeoutMs}
//   result: {harness: {status, message}, tests: [{name, status, message}], loadErrors: [...]}
//
// Test statuses are testharness.js's: 0 PASS, 1 FAIL, 2 TIMEOUT, 3 NOTRUN, 4 PRECONDITION_FAILED;
// the harness's 0 OK, 1 ERROR, 2 TIMEOUT, 3 PRECONDITION_FAILED.
//
// Everything here is test scaffolding: it only shapes the global object the way a worker's would
// look to testharness.js (self, location, GLOBAL) and never changes a web API under test, except
// fetch() and the worker's API base URL (below).

const kPollMs = 20;

function runJob(job) {
  const global = globalThis;
  if (!('self' in global)) global.self = global;
  // The engine's global is a worker-like scope (as a service worker's is): tests that branch on
  // it skip what workers lack (XMLHttpRequest in a service worker).
  global.GLOBAL = {isWindow: () => false, isWorker: () => true, isShadowRealm: () => false};
  const location = new URL(`http://web-platform.test:8000/${job.path}${job.variant}`);
  Object.defineProperty(global, 'location',
                        {value: location, writable: true, enumerable: false, configurable: true});
  if (job.title) global.META_TITLE = job.title;

  // A worker's API base URL. In a worker, `new Request('')` and `Response.redirect('/')` resolve
  // against the worker script's URL; a handler has none (as in workerd, a relative URL is a
  // TypeError there). The tests use relative URLs for their own convenience, to test everything
  // but URL resolution, so the runner resolves a URL string against `location` before the real
  // constructor sees it, as a worker's settings object would. A string that does not parse goes
  // to the constructor unchanged, to fail there.
  const resolveAgainstLocation = (input) => {
    try {
      return new URL(String(input), location.href).href;
    } catch {
      return input;
    }
  };
  const RealRequest = global.Request;
  global.Request = new Proxy(RealRequest, {
    construct(target, args, newTarget) {
      if (args.length > 0 && !(args[0] instanceof RealRequest)) {
        args[0] = resolveAgainstLocation(args[0]);
      }
      return Reflect.construct(target, args, newTarget);
    },
  });
  const redirectProperty = Object.getOwnPropertyDescriptor(global.Response, 'redirect');
  const realRedirect = redirectProperty.value;
  Object.defineProperty(global.Response, 'redirect', {
    ...redirectProperty,
    value: {redirect(url, ...rest) {
      return Reflect.apply(realRedirect, this,
                           arguments.length > 0 ? [resolveAgainstLocation(url), ...rest] : []);
    }}.redirect,
  });

  // No network: the upstream tests fetch from WPT's own HTTP server, which is not there. fetch()
  // still checks its arguments (by constructing the Request), then answers same-origin requests
  // for the data files the job carries and rejects every other HTTP(S) one with a TypeError at
  // once, so that results never depend on DNS or on the network. URLs of other schemes go to the
  // runtime's fetch().
  const files = job.files || {};
  const realFetch = global.fetch;
  global.fetch = function fetch(input, init = undefined) {
    try {
      // Relative URLs resolve against the test's location, as in a worker.
      const resolved = typeof input === 'string' || input instanceof URL ?
          new URL(String(input), location.href).href : input;
      const request = new Request(resolved, init);
      const url = new URL(request.url);
      // Other schemes need no network (data:) or are refused by the runtime's own fetch().
      if (url.protocol !== 'http:' && url.protocol !== 'https:') return realFetch(request);
      if (url.origin === location.origin &&
          Object.prototype.hasOwnProperty.call(files, url.pathname)) {
        return Promise.resolve(
            new Response(files[url.pathname], {headers: {'content-type': 'application/json'}}));
      }
      return Promise.reject(new TypeError(`fetch: no network in the WPT runner (${request.url})`));
    } catch (e) {
      return Promise.reject(e);
    }
  };

  // The test's own pending timers, so that a file whose remaining tests wait on nothing at all
  // (a promise nobody settles) is timed out at once instead of at the deadline.
  const realSetTimeout = global.setTimeout;
  const realClearTimeout = global.clearTimeout;
  const realSetInterval = global.setInterval;
  const realClearInterval = global.clearInterval;
  const pending = new Set();
  global.setTimeout = function setTimeout(handler, timeout, ...args) {
    let id;
    const wrapped = typeof handler === 'function' ? (...a) => {
      pending.delete(id);
      return handler(...a);
    } : handler;
    id = realSetTimeout(wrapped, timeout, ...args);
    pending.add(id);
    return id;
  };
  global.clearTimeout = function clearTimeout(id) {
    pending.delete(id);
    return realClearTimeout(id);
  };
  global.setInterval = function setInterval(handler, timeout, ...args) {
    const id = realSetInterval(handler, timeout, ...args);
    pending.add(id);
    return id;
  };
  global.clearInterval = function clearInterval(id) {
    pending.delete(id);
    return realClearInterval(id);
  };

  const out = {harness: null, tests: [], loadErrors: []};
  let finish;
  const finished = new Promise((resolve) => {
    finish = resolve;
  });
  let progress = 0;
  let harnessLoaded = false;

  // Each script is evaluated on its own, so that one that throws at its top level stops only
  // itself, as in a browser. Classic scripts see each other's top-level `let`, `const` and `class`
  // declarations, but those of an eval stay local to it: declarations at the start of a line
  // (the top level, in WPT's style) become `var`s, which an indirect eval makes global.
  // A helper's leading 'use strict' goes too (a strict eval's functions stay local to it).
  const last = job.scripts.length - 1;
  const pieces = job.scripts.map((script, i) => i === 0 ? script : {
    name: script.name,
    source: (i < last ? script.source.replace(/^(\s*(?:\/\/[^\n]*\n\s*)*)(['"])use strict\2;?/, '$1')
                      : script.source)
                .replace(/^(?:const|let)(?=\s)/gm, 'var')
                .replace(/^class\s+([A-Za-z_$][\w$]*)/gm, 'var $1 = class $1'),
  });
  for (const script of pieces) {
    try {
      (0, eval)(`${script.source}\n//# sourceURL=${script.name}\n`);
    } catch (e) {
      out.loadErrors.push(`${script.name}: ${e && e.stack ? e.stack : String(e)}`);
    }
    if (!harnessLoaded && typeof global.add_completion_callback === 'function') {
      harnessLoaded = true;
      global.setup({explicit_timeout: true});
      global.add_result_callback(() => {
        progress++;
      });
      global.add_completion_callback((tests, status) => {
        for (const t of tests) {
          out.tests.push({name: t.name, status: t.status, message: t.message ?? null});
        }
        out.harness = {status: status.status, message: status.message ?? null};
        finish();
      });
    }
  }
  if (!harnessLoaded) {
    out.harness = {status: 1, message: 'testharness.js did not load'};
    return Promise.resolve(out);
  }

  const start = Date.now();
  let idlePolls = 0;
  let lastProgress = -1;
  let timedOut = false;
  const poll = () => {
    if (out.harness !== null) return;
    if (pending.size === 0 && progress === lastProgress) {
      idlePolls++;
    } else {
      idlePolls = 0;
    }
    lastProgress = progress;
    if (idlePolls >= 3 || Date.now() - start > job.timeoutMs) {
      timedOut = true;
      global.timeout();
      return;
    }
    realSetTimeout(poll, kPollMs);
  };
  realSetTimeout(poll, kPollMs);
  return finished.then(() => {
    out.timedOut = timedOut;
    return out;
  });
}

export default {
  async fetch(request) {
    const job = await request.json();
    const result = await runJob(job);
    return new Response(JSON.stringify(result), {headers: {'content-type': 'application/json'}});
  },
};
