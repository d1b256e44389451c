// The harness of the engine's JavaScript test groups (web_api_tests.js, web_platform_tests.js):
// a test file registers groups with group(NAME, (test, request) => ...) and exports
// groupsHandler as its default export; GET /?group=NAME runs one group and answers one line per
// test, "ok TITLE" or "FAIL TITLE: reason" (engine_test_util.h's RunJsTestGroup reads them).

const groups = {};
export function group(name, body) {
  groups[name] = body;
}

export function fmt(v) {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'bigint') return `${v}n`;
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}
export function eq(actual, expected, what = '') {
  if (!Object.is(actual, expected)) throw new Error(`${what} expected ${fmt(expected)}, got ${fmt(actual)}`);
}
export function deepEq(actual, expected, what = '') {
  const a = JSON.stringify(actual), b = JSON.stringify(expected);
  if (a !== b) throw new Error(`${what} expected ${b}, got ${a}`);
}
export function ok(value, what = 'assertion') {
  if (!value) throw new Error(`${what} failed`);
}
// Throws unless fn throws an error of the given constructor (and, for DOMException, name).
export function throws(fn, type, name = undefined) {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof type)) throw new Error(`threw ${e && e.name}: ${e && e.message}, expected ${type.name}`);
    if (name !== undefined && e.name !== name) throw new Error(`threw ${e.name}, expected ${name}`);
    return e;
  }
  throw new Error(`did not throw ${name ?? type.name}`);
}
export async function rejects(promise, type, name = undefined) {
  try {
    await promise;
  } catch (e) {
    if (!(e instanceof type)) throw new Error(`rejected with ${e && e.name}, expected ${type.name}`);
    if (name !== undefined && e.name !== name) throw new Error(`rejected with ${e.name}, expected ${name}`);
    return e;
  }
  throw new Error(`did not reject with ${name ?? type.name}`);
}
export const groupsHandler = {
  async fetch(request) {
    const name = new URL(request.url).searchParams.get('group');
    const body = groups[name];
    if (body === undefined) return new Response(`no group ${name}`, {status: 404});
    const tests = [];
    body((title, fn) => tests.push([title, fn]), request);
    const lines = [];
    for (const [title, fn] of tests) {
      try {
        await fn();
        lines.push(`ok ${title}`);
      } catch (e) {
        lines.push(`FAIL ${title}: ${e && e.stack ? e.stack : e}`);
      }
    }
    return lines.join('\n');
  },
};
