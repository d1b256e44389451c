// Bundles the runtime (src/index.js and whatwg-url) into one classic script and, with --cc, embeds
// it in a C++ source file as a char array (a raw string literal would hit the 64 KiB limit of some
// compilers).
//
//   node tools/build.mjs --out runtime.js [--cc runtime_source.cc] [--depfile runtime.d]
//                        [--version X.Y.Z]
//
// --version is the project's version, which navigator.userAgent reports (COSMO_VERSION in src/).
//
// Target chrome102 is V8 10.2 (Debian's libnode): esbuild then keeps private fields and class
// static blocks native (lowering them to WeakMaps would slow every request) and refuses syntax
// that V8 10.2 cannot run.

import * as esbuild from 'esbuild';
import {mkdirSync, readFileSync, writeFileSync} from 'node:fs';
import {dirname, resolve} from 'node:path';
import {fileURLToPath} from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const option = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const out = resolve(option('--out') ?? `${root}/build/runtime.js`);
const cc = option('--cc');
const depfile = option('--depfile');
const minify = !args.includes('--no-minify');
const version = option('--version') ?? '0.0.0-dev';
if (!/^[0-9A-Za-z.+-]+$/.test(version)) throw new Error(`--version: unexpected '${version}'`);

// tr46's IDNA mapping table (mappingTable.json, ~10^4 entries) would be inlined as that many small
// array literals, all of them live on the heap of every isolate made from the snapshot (most of the
// runtime's ~2 MiB there). Only a host name that the URL fast path (src/url.js) does not take and
// that has a non-ASCII code point needs it, so tr46 JSON.parses the table on first use. Even one
// string literal would put 168 KB on every isolate's heap, so the bundle keeps the text (non-ASCII
// characters escaped) in a comment inside a function that is never called, and tr46 reads it back
// through Function.prototype.toString: V8 answers with a slice of the script's source, which the
// engine shares between isolates outside their heaps (engine/v8/snapshot_sources.h). Code points
// below 128, which every host name the state machine parses looks up, are answered from a
// 128-entry table computed here from the same data with tr46's own binary search.
const mappingTablePlaceholder = '__COSMO_IDNA_MAPPING_TABLE__';
// Placeholder string -> the comment that replaces it in the bundle.
const comments = new Map();
const lazyMappingTable = {
  name: 'lazy-tr46-mapping-table',
  setup(build) {
    const tableText = (path) => readFileSync(path, 'utf8');
    build.onLoad({filter: /[\\/]tr46[\\/]lib[\\/]mappingTable\.json$/}, (a) => {
      const ascii = tableText(a.path).replace(
          /[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
      if (ascii.includes('*/')) throw new Error('tr46 mapping table: cannot go in a comment');
      comments.set(mappingTablePlaceholder, `/*${ascii}*/`);
      return {
        contents: 'module.exports = function idnaMappingTable() {\n' +
            `  return ${JSON.stringify(mappingTablePlaceholder)};\n};\n`,
        loader: 'js',
      };
    });
    build.onLoad({filter: /[\\/]tr46[\\/]index\.js$/}, (a) => {
      const table = JSON.parse(tableText(resolve(dirname(a.path), 'lib/mappingTable.json')));
      const findStatus = (val) => {
        let start = 0;
        let end = table.length - 1;
        while (start <= end) {
          const mid = Math.floor((start + end) / 2);
          const target = table[mid];
          const min = Array.isArray(target[0]) ? target[0][0] : target[0];
          const max = Array.isArray(target[0]) ? target[0][1] : target[0];
          if (min <= val && max >= val) return target.slice(1);
          if (min > val) end = mid - 1; else start = mid + 1;
        }
        throw new Error(`tr46: no mapping for code point ${val}`);
      };
      const asciiStatus = Array.from({length: 128}, (_, cp) => findStatus(cp));
      let source = readFileSync(a.path, 'utf8');
      const replace = (from, to) => {
        if (!source.includes(from)) {
          throw new Error(`tr46/index.js changed: '${from}' not found; update tools/build.mjs`);
        }
        source = source.replace(from, to);
      };
      replace('const mappingTable = require("./lib/mappingTable.json");',
              'const mappingTableSource = require("./lib/mappingTable.json");\n' +
                  'let mappingTable = null;\n' +
                  `const asciiStatus = ${JSON.stringify(asciiStatus)};`);
      replace('function findStatus(val) {\n',
              'function findStatus(val) {\n' +
                  '  if (val < 128) return asciiStatus[val].slice();\n' +
                  '  if (mappingTable === null) {\n' +
                  '    const text = Function.prototype.toString.call(mappingTableSource);\n' +
                  '    const start = text.indexOf("/*") + 2;\n' +
                  '    mappingTable = JSON.parse(text.slice(start, text.lastIndexOf("*/")));\n' +
                  '  }\n');
      return {contents: source, loader: 'js', resolveDir: dirname(a.path)};
    });
  },
};

// The Encoding standard's multi-byte index tables (@exodus/bytes, 150 KB of JSON, behind
// TextDecoder for Big5, EUC-JP, EUC-KR, GBK, gb18030, ISO-2022-JP and Shift_JIS) go the same way
// as tr46's table: the package loads them on first use through multi-byte.encodings.cjs, which here
// reads the JSON back from a comment in the external source, so no isolate holds them until a
// script decodes one of those encodings.
const multiBytePlaceholder = '__COSMO_MULTI_BYTE_TABLES__';
const lazyMultiByteTables = {
  name: 'lazy-multi-byte-tables',
  setup(build) {
    build.onLoad({filter: /[\\/]@exodus[\\/]bytes[\\/]fallback[\\/]multi-byte\.encodings\.json$/},
                 (a) => {
                   const text = readFileSync(a.path, 'utf8');
                   JSON.parse(text);  // fails the build early if the package ships something else
                   if (/[^\x00-\x7f]/.test(text) || text.includes('*/')) {
                     throw new Error('multi-byte tables: cannot go in an ASCII comment');
                   }
                   comments.set(multiBytePlaceholder, `/*${text}*/`);
                   return {
                     contents: 'module.exports = function multiByteTables() {\n' +
                         `  return ${JSON.stringify(multiBytePlaceholder)};\n};\n`,
                     loader: 'js',
                   };
                 });
    build.onLoad({filter: /[\\/]@exodus[\\/]bytes[\\/]fallback[\\/]multi-byte\.encodings\.cjs$/},
                 (a) => {
                   const source = readFileSync(a.path, 'utf8');
                   const expected = "module.exports = () => require('./multi-byte.encodings.json')";
                   if (!source.includes(expected)) {
                     throw new Error('@exodus/bytes multi-byte.encodings.cjs changed; ' +
                                     'update tools/build.mjs');
                   }
                   return {
                     contents: 'const tables = require("./multi-byte.encodings.json");\n' +
                         'module.exports = () => {\n' +
                         '  const text = Function.prototype.toString.call(tables);\n' +
                         '  return JSON.parse(text.slice(text.indexOf("/*") + 2,' +
                         ' text.lastIndexOf("*/")));\n' +
                         '};\n',
                     loader: 'js',
                     resolveDir: dirname(a.path),
                   };
                 });
  },
};

// tr46's Unicode regular expressions (regexes.js, 12 literals with 73 KB of character classes)
// would each put its pattern text on every isolate's heap, since tr46 is evaluated with whatwg-url
// when the snapshot is made. They only matter for a host name with non-ASCII characters, so the
// patterns go into a comment like the mapping table and are compiled by new RegExp() the first
// time tr46 reads one.
const regexesPlaceholder = '__COSMO_TR46_REGEXES__';
const lazyTr46Regexes = {
  name: 'lazy-tr46-regexes',
  setup(build) {
    build.onLoad({filter: /[\\/]tr46[\\/]lib[\\/]regexes\.js$/}, (a) => {
      const text = readFileSync(a.path, 'utf8');
      const patterns = [...text.matchAll(/^const (\w+) = \/(.*)\/([a-z]*);$/gm)]
                           .map(([, name, pattern, flags]) => [name, pattern, flags]);
      const exported = /module\.exports = \{([\s\S]*?)\};/.exec(text);
      const names = exported ? exported[1].split(',').map((n) => n.trim()).filter(Boolean) : [];
      const json = JSON.stringify(patterns);
      if (patterns.length === 0 || names.length !== patterns.length ||
          !names.every((n) => patterns.some(([name]) => name === n)) || json.includes('*/') ||
          /[^\x00-\x7f]/.test(json)) {
        throw new Error('tr46/lib/regexes.js changed; update tools/build.mjs');
      }
      comments.set(regexesPlaceholder, `/*${json}*/`);
      return {
        contents: 'const source = function tr46Regexes() {\n' +
            `  return ${JSON.stringify(regexesPlaceholder)};\n};\n` +
            'let compiled = null;\n' +
            'const all = () => {\n' +
            '  if (compiled === null) {\n' +
            '    const text = Function.prototype.toString.call(source);\n' +
            '    compiled = {};\n' +
            '    const list = JSON.parse(text.slice(text.indexOf("/*") + 2, text.lastIndexOf("*/")));\n' +
            '    for (const [name, pattern, flags] of list) compiled[name] = new RegExp(pattern, flags);\n' +
            '  }\n' +
            '  return compiled;\n' +
            '};\n' +
            'module.exports = {\n' +
            names.map((n) => `  get ${n}() { return all().${n}; },\n`).join('') + '};\n',
        loader: 'js',
      };
    });
  },
};

const result = await esbuild.build({
  entryPoints: [`${root}/src/index.js`],
  bundle: true,
  format: 'iife',
  platform: 'neutral',
  mainFields: ['main', 'module'],
  target: 'chrome102',
  // Whitespace and syntax only: identifiers keep their names. With keepNames, esbuild names every
  // renamed function by redefining its `name`, and V8 turns each such function's properties into
  // a dictionary (~370 bytes in every isolate, for ~600 functions); a function that keeps its own
  // name needs no redefinition. The longer text costs no heap: the engine hands the script to V8
  // as an external string (engine/v8/snapshot_sources.h).
  minifyWhitespace: minify,
  minifySyntax: minify,
  // Class and function names are observable (Headers.name, stack traces, console output).
  keepNames: true,
  legalComments: 'none',
  // ASCII (other characters escaped): V8 would store a script with any non-ASCII character as
  // two bytes per character, and only a one-byte script can be shared as an external string.
  charset: 'ascii',
  metafile: true,
  write: false,
  plugins: [lazyMappingTable, lazyMultiByteTables, lazyTr46Regexes],
  define: {COSMO_VERSION: JSON.stringify(version)},
  logLevel: 'warning',
});
let text = result.outputFiles[0].text;
for (const [placeholder, comment] of comments) {
  const pieces = text.split(JSON.stringify(placeholder));
  if (pieces.length !== 2) throw new Error(`${placeholder}: placeholder not found once`);
  text = pieces.join(comment);
}
const js = new TextEncoder().encode(text);
mkdirSync(dirname(out), {recursive: true});
writeFileSync(out, js);

if (cc !== undefined) {
  const lines = [];
  for (let i = 0; i < js.length; i += 24) {
    lines.push(`  ${Array.from(js.subarray(i, i + 24), (b) => `${b},`).join('')}`);
  }
  const text = `// Generated by lib/engine/v8/js/tools/build.mjs from lib/engine/v8/js/src. Do not edit.
#include "engine/v8/js/runtime_source.h"

namespace cosmo::v8engine {
namespace {
// unsigned char: the bundle is UTF-8, and list-initializing a (possibly signed) char with
// bytes above 127 would be a narrowing conversion.
constexpr unsigned char kRuntimeSource[] = {
${lines.join('\n')}
  0};
}  // namespace

std::string_view RuntimeSource() {
  return {reinterpret_cast<const char*>(kRuntimeSource), sizeof(kRuntimeSource) - 1};
}

}  // namespace cosmo::v8engine
`;
  mkdirSync(dirname(resolve(cc)), {recursive: true});
  writeFileSync(cc, text);
}

if (depfile !== undefined) {
  const inputs = Object.keys(result.metafile.inputs)
                     .map((p) => resolve(p).replace(/ /g, '\\ '));
  const target = resolve(cc ?? out).replace(/ /g, '\\ ');
  writeFileSync(depfile, `${target}: ${inputs.join(' ')}\n`);
}
console.log(`runtime: ${js.length} bytes -> ${out}${cc ? ` and ${cc}` : ''}`);
