// CosmoCompute's Liquid runtime: LiquidJS configured to behave like Shopify's Liquid (the Ruby
// reference implementation), the request data model of docs/liquid.md, in-memory partials and the
// render limits. Bundled with LiquidJS into one classic script (tools/build.mjs) that the Liquid
// engine adds to its JavaScript engine's startup snapshot, after the web-API runtime.
//
// The surface, installed as the non-enumerable global `__cosmo_liquid`:
//
//   page(files, main, config) -> {fetch(request, env)}
//       Parses every file of the deploy once (the generated module calls it at its top level, so
//       parsed templates live as long as the instance) and returns the handler that renders
//       `main` per request. `files` maps file names to template sources; `config` holds the
//       limits and the content type (see kDefaults).
//   check(files) -> ''  or  'file:line:column: message'
//       Parses every file; the first syntax error, located. Used by deploy-time validation.
//
// And `__cosmo_warm_up(request)`, the spares' warm-up (at the end of this file).
//
// Errors: a limit ends the render with a LiquidLimitError, any other failure with a LiquidError;
// both carry 'file:line:column: ' when LiquidJS knows where, and no JavaScript stack (the frames
// would be this file's, which mean nothing to a template author). The C++ side maps
// LiquidLimitError to a limit outcome.

import {
  Context,
  defaultOperators,
  Drop,
  ForTag,
  IncludeTag,
  Liquid,
  RenderTag,
  TablerowTag,
  TokenKind,
  toValue,
  toValueSync,
} from 'liquidjs/dist/liquid.browser.mjs';

const kDefaults = {
  contentType: 'text/html; charset=utf-8',
  // UTF-16 code units of output (about bytes for ASCII pages).
  maxOutputChars: 8 << 20,
  // Nested {% include %} / {% render %}; Ruby Liquid stops at 100 as well ("Nesting too deep").
  maxIncludeDepth: 100,
  // Template nodes (text, output, tag) rendered per request: bounds loop iterations.
  maxRenders: 1000000,
  // LiquidJS's memoryLimit: elements of ranges and arrays, and string growth in filters.
  memoryLimit: 16 << 20,
  // LiquidJS's parseLimit: characters of one template parsed at once.
  parseLimit: 8 << 20,
};

class LiquidError extends Error {}
LiquidError.prototype.name = 'LiquidError';
class LiquidLimitError extends Error {}
LiquidLimitError.prototype.name = 'LiquidLimitError';

// Errors reach users as "Uncaught <stack>": keep the stack to the message alone.
function bare(error) {
  Object.defineProperty(error, 'stack', {
    value: `${error.name}: ${error.message}`,
    writable: true,
    configurable: true,
  });
  return error;
}

// 'file:line:column: message' for a LiquidJS error (which wraps the cause as originalError and
// knows its token), or the plain message for anything else.
function locate(error) {
  let located = null;
  let cause = error;
  for (let e = error; e != null; e = e.originalError) {
    if (e.token != null && located === null) located = e;
    cause = e;
  }
  let message = cause instanceof Error ? cause.message : String(cause);
  // LiquidJS appends ", file:F, line:L, col:C" to messages it creates itself.
  message = message.replace(/(, file:[^,]*)?, line:\d+, col:\d+$/, '');
  if (message === 'memory alloc limit exceeded') {
    message = 'Liquid limit exceeded: memory alloc (elements of ranges and arrays, characters ' +
        'built by filters)';
  }
  if (located === null) return {message, cause};
  const [line, column] = located.token.getPosition();
  const file = located.token.file ?? '';
  return {message: `${file}:${line}:${column}: ${message}`, cause};
}

function isLimit(cause) {
  return cause instanceof LiquidLimitError ||
      (cause instanceof Error && / limit exceeded$/.test(cause.message));
}

function toLiquidError(error) {
  if (error instanceof LiquidLimitError && error.stack === `LiquidLimitError: ${error.message}`) {
    return error;
  }
  const {message, cause} = locate(error);
  if (cause instanceof RangeError && /call stack/.test(cause.message)) {
    return bare(new LiquidLimitError(`${message} (templates nested too deep)`));
  }
  return bare(isLimit(cause) ? new LiquidLimitError(message) : new LiquidError(message));
}

// The deploy's files as LiquidJS's file system. A name resolves to the file of that name, else
// to name + '.liquid', so `{% render 'card' %}` finds card.liquid as in a Shopify theme.
class ManifestFs {
  constructor(files) {
    this.files = new Map(Object.entries(files));
    this.sep = '/';
  }
  resolve(dir, file) {
    return this.files.has(file) ? file : `${file}.liquid`;
  }
  existsSync(file) {
    return this.files.has(file);
  }
  readFileSync(file) {
    const text = this.files.get(file);
    if (text === undefined) throw new Error(`no template named '${file}' in this deploy`);
    return text;
  }
  async exists(file) {
    return this.existsSync(file);
  }
  async readFile(file) {
    return this.readFileSync(file);
  }
  dirname() {
    return '.';
  }
  contains() {
    return true;
  }
  containsSync() {
    return true;
  }
}

// {% include %} and {% render %} with a nesting limit. The depth lives on the render's
// RenderCounter: a render tag gives its partial a fresh Context (Context.spawn() starts with empty
// registers) but hands on the same renderLimit, so the counter is the one object every level of
// one render shares. Rendering is synchronous, so the levels enter and leave strictly nested.
function depthLimited(Tag, maxDepth) {
  return class extends Tag {
    * render(ctx, emitter) {
      const counter = ctx.renderLimit;
      const depth = counter.depth + 1;
      if (depth > maxDepth) {
        throw new LiquidLimitError(
            `Liquid limit exceeded: includes or renders nested deeper than ${maxDepth}`);
      }
      counter.depth = depth;
      try {
        return yield super.render(ctx, emitter);
      } finally {
        counter.depth = depth - 1;
      }
    }
  };
}

// The output of one render, refusing to grow past the limit. Writes what LiquidJS's own emitter
// writes: strings as they are, nil as nothing, arrays joined without separator.
class BoundedEmitter {
  constructor(limit) {
    this.buffer = '';
    this.limit = limit;
  }
  write(value) {
    this.buffer += text(value);
    if (this.buffer.length > this.limit) {
      throw new LiquidLimitError(`Liquid limit exceeded: output longer than ${this.limit} characters`);
    }
  }
}

function text(value) {
  value = toValue(value);
  if (typeof value === 'string') return value;
  if (value === null || value === undefined) return '';
  if (Array.isArray(value)) return value.map(text).join('');
  return String(value);
}

// LiquidJS calls renderLimit.check(now) before every template node it renders: counting those
// calls bounds the work of a render independently of the clock.
class RenderCounter {
  constructor(limit) {
    this.count = 0;
    this.limit = limit;
    this.depth = 0;  // include/render nesting, kept by depthLimited()
  }
  check() {
    if (++this.count > this.limit) {
      throw new LiquidLimitError(
          `Liquid limit exceeded: more than ${this.limit} template nodes rendered (a loop too long?)`);
    }
  }
}

// ---- Where LiquidJS and Ruby Liquid differ, Ruby's behaviour (docs/liquid.md) ----

// Ruby Liquid keeps integers and floats apart: 20 | divided_by: 7 is 2, 20 | divided_by: 7.0 is
// 2.857142857142857. JavaScript has one number type, so a value counts as a float when it is not
// whole, when it is a string with a decimal point (Ruby's to_number), or, for a filter argument,
// when it was written as a literal with a decimal point.
function isFloat(value, token) {
  value = toValue(value);
  if (typeof value === 'string') return /^\s*-?\d+\.\d+\s*$/.test(value);
  if (token !== undefined && token.kind === TokenKind.Number) return /[.eE]/.test(token.getText());
  return typeof value === 'number' && !Number.isInteger(value);
}

function toNumber(value) {
  value = toValue(value);
  const number = typeof value === 'string' ? Number(value.trim()) : Number(value);
  return Number.isNaN(number) ? 0 : number;
}

// Ruby Liquid computes plus/minus/times of decimals with decimal arithmetic (0.1 | plus: 0.2 is
// 0.3); binary floats rounded to 15 significant digits give the same answers for page arithmetic
// such as prices.
function decimal(operation) {
  return function(lhs, rhs) {
    const a = toNumber(lhs);
    const b = toNumber(rhs);
    const result = operation(a, b);
    return Number.isInteger(a) && Number.isInteger(b) ? result : Number(result.toPrecision(15));
  };
}

function dividedBy(dividend, divisor) {
  const a = toNumber(dividend);
  const b = toNumber(divisor);
  if (isFloat(dividend) || isFloat(divisor, this.token.args[0])) return a / b;
  if (b === 0) throw new Error('divided by 0');
  return Math.floor(a / b);
}

function modulo(dividend, divisor) {
  const a = toNumber(dividend);
  const b = toNumber(divisor);
  const floats = isFloat(dividend) || isFloat(divisor, this.token.args[0]);
  if (b === 0 && !floats) throw new Error('divided by 0');
  return a - b * Math.floor(a / b);
}

// Ruby's CGI.escapeHTML: &quot; and &#39;, where LiquidJS writes &#34; and &#39;.
const kHtmlEscapes = {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'};
function escape(value) {
  value = toValue(value);
  return value == null ? value : String(value).replace(/[&<>"']/g, (c) => kHtmlEscapes[c]);
}
function escapeOnce(value) {
  value = toValue(value);
  return value == null ? value :
      String(value).replace(/["><']|&(?!([a-zA-Z]+|(#\d+));)/g, (c) => kHtmlEscapes[c]);
}

// `hash contains key`, as Ruby's Hash#include?.
const operators = {
  ...defaultOperators,
  * contains(l, r) {
    const value = toValue(l);
    if (value !== null && typeof value === 'object' && !Array.isArray(value) &&
        !(value instanceof Drop)) {
      return Object.prototype.hasOwnProperty.call(value, String(toValue(r)));
    }
    return yield defaultOperators.contains(l, r);
  },
};

// Runs a LiquidJS tag's render() generator as the renderer would (like `yield*`), calling
// `between(ownCode)` before each stretch of the tag's own code (ownCode true) and before each
// value it yields, such as a nested render, is resolved (ownCode false).
function* drive(inner, between) {
  between(true);
  let step = inner.next();
  while (!step.done) {
    between(false);
    let sent;
    try {
      sent = yield step.value;
    } catch (error) {
      between(true);
      step = inner.throw(error);
      continue;
    }
    between(true);
    step = inner.next(sent);
  }
  return step.value;
}

// forloop.parentloop: the enclosing loop's forloop (nil outside nested loops). LiquidJS's for tag
// creates its forloop object inside render(); it is linked to the enclosing one as soon as it is
// in scope.
const kParentLoop = Symbol('cosmo.parentloop');
class ForTagWithParentLoop extends ForTag {
  * render(ctx, emitter) {
    const depth = ctx.scopes.length;
    const enclosing = findForloop(ctx.scopes, depth);
    return yield* drive(super.render(ctx, emitter), () => {
      const scope = ctx.scopes[depth];
      if (scope === undefined || scope.forloop === undefined || kParentLoop in scope.forloop) return;
      scope.forloop[kParentLoop] = enclosing;
      const prototype = Object.getPrototypeOf(scope.forloop);
      if (!Object.prototype.hasOwnProperty.call(prototype, 'parentloop')) {
        Object.defineProperty(prototype, 'parentloop', {
          value() {
            return this[kParentLoop] ?? null;
          },
        });
      }
    });
  }
}

// tablerow with Ruby's line breaks: after the first <tr ...> and after every </tr>. Only the
// tag's own writes are touched, never what the cells render.
class TablerowTagWithRubyNewlines extends TablerowTag {
  * render(ctx, emitter) {
    let own = true;
    const lines = {
      write(html) {
        if (own && html === '</tr>') html = '</tr>\n';
        else if (own && html === '<tr class="row1">') html = '<tr class="row1">\n';
        emitter.write(html);
      },
      get buffer() {
        return emitter.buffer;
      },
    };
    return yield* drive(super.render(ctx, lines), (ownCode) => {
      own = ownCode;
    });
  }
}

function findForloop(scopes, end) {
  for (let i = end - 1; i >= 0; i--) {
    if (scopes[i] !== undefined && scopes[i].forloop !== undefined) return scopes[i].forloop;
  }
  return undefined;
}

function newLiquid(files, config) {
  const liquid = new Liquid({
    fs: new ManifestFs(files),
    root: ['.'],
    partials: ['.'],
    layouts: ['.'],
    relativeReference: false,
    // Parsed partials are kept for the life of the instance.
    cache: true,
    // Shopify semantics: only nil and false are falsy; unknown variables and filters render as
    // nothing; `{%-` and `-%}` strip all whitespace including newlines; no automatic escaping.
    jsTruthy: false,
    strictVariables: false,
    strictFilters: false,
    greedy: true,
    outputEscape: undefined,
    dynamicPartials: true,
    jekyllInclude: false,
    // Templates see data, never prototypes (`{{ request.constructor }}` is nothing).
    ownPropertyOnly: true,
    // Dates are formatted in UTC and English, as Ruby's strftime does: the host's time zone is
    // not the page's business. An explicit locale also keeps LiquidJS from asking Intl for one
    // when it is constructed, which must not happen while the startup snapshot is made (V8
    // cannot snapshot ICU objects: a second engine's snapshot creator then crashes).
    timezoneOffset: 0,
    locale: 'en-US',
    parseLimit: config.parseLimit,
    memoryLimit: config.memoryLimit,
    operators,
  });
  liquid.registerTag('for', ForTagWithParentLoop);
  liquid.registerTag('tablerow', TablerowTagWithRubyNewlines);
  liquid.registerFilter('plus', decimal((a, b) => a + b));
  liquid.registerFilter('minus', decimal((a, b) => a - b));
  liquid.registerFilter('times', decimal((a, b) => a * b));
  liquid.registerFilter('divided_by', dividedBy);
  liquid.registerFilter('modulo', modulo);
  liquid.registerFilter('escape', escape);
  liquid.registerFilter('h', escape);
  liquid.registerFilter('escape_once', escapeOnce);
  liquid.registerTag('include', depthLimited(IncludeTag, config.maxIncludeDepth));
  liquid.registerTag('render', depthLimited(RenderTag, config.maxIncludeDepth));
  return liquid;
}

function parseAll(liquid, files) {
  const parsed = new Map();
  for (const [name, source] of Object.entries(files)) {
    try {
      parsed.set(name, liquid.parse(source, name));
    } catch (error) {
      throw toLiquidError(error);
    }
  }
  return parsed;
}

function firstValues(search) {
  const query = {};
  if (search.length > 1) {
    for (const [key, value] of new URLSearchParams(search)) {
      if (!Object.prototype.hasOwnProperty.call(query, key)) query[key] = value;
    }
  }
  return query;
}

function decodeSegment(segment) {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

// The path and query of an absolute URL without building a URL object: the host gives absolute
// URLs, and a template needs only these two parts.
function splitUrl(url) {
  const scheme = url.indexOf('://');
  const start = scheme < 0 ? 0 : url.indexOf('/', scheme + 3);
  if (start < 0) return ['/', ''];
  const hash = url.indexOf('#', start);
  const end = hash < 0 ? url.length : hash;
  const question = url.indexOf('?', start);
  if (question < 0 || question > end) return [url.slice(start, end), ''];
  return [url.slice(start, question), url.slice(question, end)];
}

// `kv.BINDING["key"]` in a template: the text value of key in the namespace env.BINDING is bound
// to, or nil. A binding is not a Drop, so no key is shadowed by a property of JavaScript objects
// or of LiquidJS's Drop: Context.readProperty sends every read of one here.
const kReadTextSync = Symbol.for('cosmo.kv.readTextSync');

class KvBinding {
  #namespace;

  constructor(namespace) {
    this.#namespace = namespace;
  }

  read(key) {
    if (typeof key !== 'string' && typeof key !== 'number') return undefined;
    const value = this.#namespace[kReadTextSync](String(key));
    return value === null ? undefined : value;
  }

  toString() {
    return '';
  }
}

const baseReadProperty = Context.prototype.readProperty;
Context.prototype.readProperty = function readProperty(obj, key) {
  if (obj instanceof KvBinding) return obj.read(toValue(key));
  return baseReadProperty.call(this, obj, key);
};

// The deploy's variables (strings) apart from its KV bindings (objects with the sync reader).
function splitEnv(env) {
  const vars = {};
  const kv = {};
  for (const [name, value] of Object.entries(env ?? {})) {
    if (typeof value === 'string') {
      vars[name] = value;
    } else if (value !== null && typeof value === 'object' && kReadTextSync in value) {
      kv[name] = new KvBinding(value);
    }
  }
  return [vars, kv];
}

function makeScope(request, body, env) {
  const [path, search] = splitUrl(request.url);
  const headers = {};
  for (const [name, value] of request.headers) headers[name] = value;
  // '/family/a/b' -> ['a', 'b']: the segments after the family, percent-decoded, empty ones
  // (a trailing slash) left out.
  const segments = path.split('/').slice(2).filter((s) => s !== '').map(decodeSegment);
  const [vars, kv] = splitEnv(env);
  return {
    request: {
      method: request.method,
      url: request.url,
      path,
      query: firstValues(search),
      headers,
      body,
    },
    segments,
    env: vars,
    kv,
  };
}

function page(files, main, options) {
  const config = {...kDefaults, ...options};
  const liquid = newLiquid(files, config);
  const parsed = parseAll(liquid, files);
  const template = parsed.get(main);
  if (template === undefined) throw bare(new LiquidError(`the entry file '${main}' is not among the files`));
  const init = {headers: {'content-type': config.contentType}};

  function render(request, body, env) {
    const emitter = new BoundedEmitter(config.maxOutputChars);
    const ctx = new Context(makeScope(request, body, env), liquid.options,
                            {sync: true, memoryLimit: config.memoryLimit},
                            {liquid, renderLimit: new RenderCounter(config.maxRenders)});
    try {
      toValueSync(liquid.renderer.renderTemplates(template, ctx, emitter));
    } catch (error) {
      throw toLiquidError(error);
    }
    return new Response(emitter.buffer, init);
  }

  return {
    fetch(request, env) {
      // Requests without a body render synchronously; others once the body has been read.
      if (request.method === 'GET' || request.method === 'HEAD') return render(request, '', env);
      return request.text().then((body) => render(request, body, env));
    },
  };
}

function check(files) {
  try {
    parseAll(newLiquid(files, kDefaults), files);
    return '';
  } catch (error) {
    return error.message;
  }
}

// No warm-up render while the snapshot is made (unlike the web-API runtime): LiquidJS's tokenizer
// keys objects by one-character strings taken from other strings (`name[i]`), and with such keys
// in the snapshot V8 10.2 corrupts process-wide state once an isolate has started from it (the
// next SnapshotCreator in the process crashes; docs/liquid.md, "How it runs"). LiquidJS's
// code is therefore compiled lazily, on each isolate's first parse and render.

Object.defineProperty(globalThis, '__cosmo_liquid', {
  value: Object.freeze({page, check}),
  enumerable: false,
  configurable: false,
  writable: false,
});

// A spare isolate's warm-up: the JavaScript engine's warm-up request calls the global
// `__cosmo_warm_up(request)` an extra runtime defines (JsInstance::WarmUp). Here it parses and
// renders a page with the tags, filters and partials most pages use, so that LiquidJS's code,
// which the snapshot cannot hold compiled (above), is compiled on the spare by the refill thread
// and not on the activation and first request of the family that takes it. Not `date`: ICU's
// first format is heavy, and few pages need it. Only Liquid spares run it: the JavaScript
// engine's spares never hold LiquidJS's code.
const kWarmUpFiles = Object.freeze({
  'warm_up.liquid': `{%- comment -%}The spare's warm-up page.{%- endcomment -%}
{%- assign items = "a,b,c" | split: "," -%}
<h1>{{ request.path | escape }} {{ segments | size }}</h1>
{% for item in items %}<li class="{% cycle 'odd', 'even' %}">
{%- if forloop.first %}first{% elsif forloop.last %}last{% else %}{{ forloop.index }}{% endif -%}
{% render 'row', item: item %}</li>{% endfor %}
{% unless items contains "z" %}{{ items | join: "-" | upcase | append: "!" | prepend: "<" }}{% endunless %}
{% case items.size %}{% when 3 %}{{ items.first | default: "none" }}{% else %}{{ items.last }}{% endcase %}
{% capture total %}{{ items | size | times: 3 | plus: 1 | minus: 0.5 | round }}{% endcapture %}{{ total | strip }}
{{ "Hello World" | downcase | replace: "world", "there" | truncate: 8 | url_encode }}
{% include 'row', item: request.method %}{{ env.MISSING | default: request.query.q }}`,
  'row.liquid': `{{ item | upcase | append: '!' }}`,
});

function warmUp(request) {
  // A query string as well: URLSearchParams is evaluated on first use (the web-API runtime's
  // lazy globals), ~1 ms of a first request's CPU, and most pages are sent queries.
  firstValues('?q=warm');
  return page(kWarmUpFiles, 'warm_up.liquid', {}).fetch(request, {});
}

Object.defineProperty(globalThis, '__cosmo_warm_up', {
  value: warmUp,
  enumerable: false,
  configurable: false,
  writable: false,
});
