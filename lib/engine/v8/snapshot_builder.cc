#include "engine/v8/snapshot_builder.h"

#include <v8.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "engine/v8/exception_text.h"
#include "engine/v8/natives.h"
#include "engine/v8/snapshot_sources.h"
#include "engine/v8/v8_platform.h"

namespace cosmo::v8engine {
namespace {

// V8 10.2 leaves the features it installs "after bootstrapping" out of a SnapshotCreator's
// contexts (they are added to every context deserialised from the snapshot instead): Object.hasOwn,
// Array/String/TypedArray .at, findLast/findLastIndex, SharedArrayBuffer, Atomics, WebAssembly,
// Error.stackTraceLimit. The runtime script (bundled npm code among it) may touch some of them
// while it initialises, so stand-ins are installed for the duration of the runtime script and
// removed before the snapshot is taken: V8 then installs the real ones into every context made
// from the snapshot. Whatever the runtime captured at init keeps the (equivalent) stand-in. The
// SharedArrayBuffer stand-in's byteLength getter always throws, so "is this a SAB?" checks
// written as brand checks answer no.
constexpr std::string_view kPrelude = R"JS(
(function () {
  'use strict';
  const added = [];
  const define = (object, name, value) => {
    if (object === undefined || Object.prototype.hasOwnProperty.call(object, name)) return;
    Object.defineProperty(object, name, { value, writable: true, configurable: true });
    added.push([object, name]);
  };
  const toIndex = (length, index) => {
    index = Math.trunc(Number(index)) || 0;
    return index < 0 ? length + index : index;
  };
  function at(index) {
    const i = toIndex(this.length, index);
    return i < 0 || i >= this.length ? undefined : this[i];
  }
  function findLast(predicate, thisArg) {
    for (let i = this.length - 1; i >= 0; i--) {
      if (predicate.call(thisArg, this[i], i, this)) return this[i];
    }
    return undefined;
  }
  function findLastIndex(predicate, thisArg) {
    for (let i = this.length - 1; i >= 0; i--) {
      if (predicate.call(thisArg, this[i], i, this)) return i;
    }
    return -1;
  }
  const typedArrayPrototype = Object.getPrototypeOf(Uint8Array.prototype);
  define(Object, 'hasOwn', function hasOwn(object, key) {
    return Object.prototype.hasOwnProperty.call(Object(object), key);
  });
  define(Array.prototype, 'at', at);
  define(String.prototype, 'at', function (index) { return at.call(String(this), index); });
  define(typedArrayPrototype, 'at', at);
  for (const proto of [Array.prototype, typedArrayPrototype]) {
    define(proto, 'findLast', findLast);
    define(proto, 'findLastIndex', findLastIndex);
  }
  class SharedArrayBuffer {
    constructor() { throw new TypeError('SharedArrayBuffer is not available yet'); }
    get byteLength() { throw new TypeError('not a SharedArrayBuffer'); }
    slice() { throw new TypeError('not a SharedArrayBuffer'); }
  }
  define(globalThis, 'SharedArrayBuffer', SharedArrayBuffer);
  return function removeStandIns() {
    for (const [object, name] of added) delete object[name];
  };
})()
)JS";

// Runs requests through the runtime while the snapshot is made (an async handler, and synchronous
// ones returning a Response and a string), so the functions every request needs (invokeFast,
// Request, Headers, Response, responseParts) are compiled and their bytecode is kept in the
// snapshot (FunctionCodeHandling::kKeep): a fresh isolate's first request then compiles nothing of
// the runtime. It must not touch what the runtime evaluates on first use (lazy.js: URL, streams,
// `body`, ...), or that would be built into every context. The objects it creates are garbage
// before the snapshot. Nothing run here may use a one-character string taken from another string as
// a property key: once an isolate has started from such a snapshot, V8 10.2 crashes making the next
// one (docs/liquid.md, "How it runs").
constexpr std::string_view kWarmUp = R"JS(
(function () {
  'use strict';
  const dispatch = globalThis.__cosmo_dispatch;
  if (typeof dispatch !== 'object' || dispatch === null) return;
  const handler = {
    async fetch(request, env, ctx) {
      const url = request.url;
      request.headers.get('accept');
      await request.text();
      return new Response(url, { headers: { 'x-warm': '1' } });
    },
  };
  const result = dispatch.invokeFast(handler, {}, 'POST', 'http://localhost/warm/up?x=1',
                                     ['host', 'localhost', 'accept', '*/*'],
                                     new Uint8Array([123, 125]));
  Promise.resolve(result).then((response) => dispatch.responseParts(response), () => {});
  // The synchronous path: a Response and a string converted inside invokeFast.
  const sync = { fetch(request) { return new Response('warm'); } };
  dispatch.invokeFast(sync, {}, 'GET', 'http://localhost/', ['host', 'localhost'], undefined);
  dispatch.invokeFast({ fetch() { return 'warm'; } }, {}, 'GET', 'http://localhost/', [],
                      undefined);
})();
)JS";

v8::MaybeLocal<v8::Value> RunScript(v8::Isolate* isolate, v8::Local<v8::Context> context,
                                    v8::MaybeLocal<v8::String> source, const std::string& name) {
  v8::Local<v8::String> text;
  v8::Local<v8::Script> script;
  v8::ScriptOrigin origin(isolate, v8::String::NewFromUtf8(isolate, name.c_str()).ToLocalChecked());
  if (!source.ToLocal(&text) || !v8::Script::Compile(context, text, &origin).ToLocal(&script)) {
    return {};
  }
  return script->Run(context);
}

v8::MaybeLocal<v8::String> Text(v8::Isolate* isolate, std::string_view source) {
  return v8::String::NewFromUtf8(isolate, source.data(), v8::NewStringType::kNormal,
                                 static_cast<int>(source.size()));
}

// The runtime's scripts in order; false when one throws.
bool RunSources(v8::Isolate* isolate, v8::Local<v8::Context> context,
                const SnapshotSources& sources) {
  for (size_t i = 0; i < sources.size(); ++i) {
    const std::string name =
        i == 0 ? "cosmo:runtime.js" : absl::StrCat("cosmo:runtime_script_", i, ".js");
    if (RunScript(isolate, context, sources.Source(isolate, i), name).IsEmpty()) return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<std::string> SnapshotBuilder::Build(const SnapshotSources& sources) {
  V8Platform::EnsureInitialized();
  v8::StartupData blob{nullptr, 0};
  std::string error;
  {
    v8::SnapshotCreator creator(sources.ExternalReferences());
    v8::Isolate* isolate = creator.GetIsolate();
    {
      v8::Isolate::Scope isolate_scope(isolate);
      v8::HandleScope handle_scope(isolate);
      v8::Local<v8::Context> context = v8::Context::New(isolate);
      v8::Context::Scope context_scope(context);
      Natives::Install(isolate, context);

      v8::TryCatch try_catch(isolate);
      v8::Local<v8::Value> remove_stand_ins;
      if (!RunScript(isolate, context, Text(isolate, kPrelude), "cosmo:snapshot_prelude.js")
               .ToLocal(&remove_stand_ins) ||
          !remove_stand_ins->IsFunction() || !RunSources(isolate, context, sources) ||
          RunScript(isolate, context, Text(isolate, kWarmUp), "cosmo:snapshot_warm_up.js")
              .IsEmpty() ||
          (isolate->PerformMicrotaskCheckpoint(), try_catch.HasCaught()) ||
          remove_stand_ins.As<v8::Function>()
              ->Call(context, v8::Undefined(isolate), 0, nullptr)
              .IsEmpty()) {
        error = ExceptionText::Located(isolate, context, try_catch);
      }
      creator.SetDefaultContext(context);
    }
    // kKeep keeps the runtime's compiled functions in the blob, so the first request of a fresh
    // isolate does not lazily compile Request/Response again.
    blob = creator.CreateBlob(error.empty() ? v8::SnapshotCreator::FunctionCodeHandling::kKeep
                                            : v8::SnapshotCreator::FunctionCodeHandling::kClear);
  }
  std::string bytes(blob.data == nullptr ? "" : std::string(blob.data, blob.raw_size));
  delete[] blob.data;
  if (!error.empty()) return absl::InternalError(absl::StrCat("web-API runtime failed: ", error));
  if (bytes.empty()) return absl::InternalError("V8 could not create the startup snapshot");
  return bytes;
}

}  // namespace cosmo::v8engine
