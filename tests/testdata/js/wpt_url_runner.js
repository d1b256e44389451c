// Runs the web-platform-tests URL data (COSMO_WPT_URL_DIR) against the global URL, the
// way WPT's own url/*.any.js and *.window.js tests do. Used by tests/unit/engine/v8/wpt_url_test.cc
// (inside the engine) and by lib/engine/v8/js/tools/dev_harness.js.
//
// wptRunFile(name, jsonText) -> {passed, failed, failures: ["description: reason", ...]}

function wptRunFile(name, text) {
  const data = JSON.parse(text);
  const result = {passed: 0, failed: 0, failures: []};
  const check = (description, fn) => {
    try {
      fn();
      result.passed++;
    } catch (e) {
      result.failed++;
      result.failures.push(`${description}: ${e && e.message}`);
    }
  };
  const equal = (actual, expected, what) => {
    if (actual !== expected) {
      throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
    }
  };
  const throwsTypeError = (fn, what) => {
    let threw = false;
    try {
      fn();
    } catch (e) {
      if (!(e instanceof TypeError)) throw new Error(`${what}: threw ${e}, not a TypeError`);
      threw = true;
    }
    if (!threw) throw new Error(`${what}: did not throw`);
  };
  const components = ['protocol', 'username', 'password', 'host', 'hostname', 'port', 'pathname', 'search'];

  if (name === 'urltestdata.json') {
    // url-constructor.any.js, url-origin.any.js and url-statics-canparse/parse.any.js
    for (const t of data) {
      if (typeof t === 'string') continue;
      const base = t.base !== null ? t.base : undefined;
      const label = `Parsing <${t.input}> ${base !== undefined ? `against <${base}>` : 'without base'}`;
      check(label, () => {
        if (t.failure) {
          throwsTypeError(() => new URL(t.input, base), 'new URL');
          return;
        }
        const url = new URL(t.input, base);
        equal(url.href, t.href, 'href');
        if ('origin' in t) equal(url.origin, t.origin, 'origin');
        for (const c of components) equal(url[c], t[c], c);
        if ('searchParams' in t) equal(url.searchParams.toString(), t.searchParams, 'searchParams');
        equal(url.hash, t.hash, 'hash');
      });
      check(`URL.canParse(<${t.input}>, ${base})`, () => {
        equal(URL.canParse(t.input, base), !t.failure, 'canParse');
      });
      check(`URL.parse(<${t.input}>, ${base})`, () => {
        const url = URL.parse(t.input, base);
        if (t.failure) equal(url, null, 'parse');
        else equal(url.href, t.href, 'href');
      });
    }
  } else if (name === 'setters_tests.json') {
    // url-setters.any.js
    for (const attribute of Object.keys(data)) {
      if (attribute === 'comment') continue;
      for (const t of data[attribute]) {
        check(`Setting <${t.href}>.${attribute} = '${t.new_value}'`, () => {
          const url = new URL(t.href);
          url[attribute] = t.new_value;
          for (const key of Object.keys(t.expected)) equal(url[key], t.expected[key], key);
        });
      }
    }
  } else if (name === 'percent-encoding.json') {
    // percent-encoding.window.js, for the one encoding the URL constructor uses: UTF-8.
    for (const t of data) {
      if (typeof t === 'string') continue;
      check(`Percent-encoding ${JSON.stringify(t.input)} (utf-8)`, () => {
        const url = new URL(`https://doesnotmatter.invalid/?${t.input}#${t.input}`);
        equal(url.search, `?${t.output['utf-8']}`, 'search');
        equal(url.hash, `#${t.output['utf-8']}`, 'hash');
      });
    }
  } else if (name === 'toascii.json') {
    // toascii.window.js, with URL (the <a> element variant has no counterpart here).
    for (const t of data) {
      if (typeof t === 'string') continue;
      check(`${t.input} (using URL)`, () => {
        if (t.output !== null) {
          const url = new URL(`https://${t.input}/x`);
          equal(url.host, t.output, 'host');
          equal(url.hostname, t.output, 'hostname');
          equal(url.pathname, '/x', 'pathname');
          equal(url.href, `https://${t.output}/x`, 'href');
        } else {
          throwsTypeError(() => new URL(`https://${t.input}/x`), 'new URL');
        }
      });
      for (const attribute of ['host', 'hostname']) {
        check(`${t.input} (using URL.${attribute})`, () => {
          const url = new URL('https://x/x');
          url[attribute] = t.input;
          equal(url[attribute], t.output !== null ? t.output : 'x', attribute);
        });
      }
    }
  } else {
    throw new Error(`unknown WPT URL data file ${name}`);
  }
  return result;
}
