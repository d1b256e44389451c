// The Liquid engine: `.liquid` page templates rendered per request, with Shopify's Liquid
// semantics.
//
// NewLiquidEngine() returns the Engine for manifests with engine "liquid". It runs LiquidJS (the
// npm package, pinned and embedded at build time) inside its own JavaScriptEngine, whose startup
// snapshot holds LiquidJS next to the web-API runtime: a Liquid version becomes a small generated
// JavaScript module that parses the deploy's templates once at its top level and renders the
// entry template in its fetch handler. Isolates, snapshot, code cache, CPU and memory limits and
// metering are therefore the JavaScript engine's (javascript_engine.h).
//
// What a template sees (docs/liquid.md): `request` (`method`, `url`, `path` — the full request
// path, family included —, `query`: first value per key, `headers`: lower-case names, `body`),
// `segments` (the percent-decoded path segments after the family), `env` (the deploy's
// variables) and `kv.BINDING["key"]` (text values of the KV namespaces the deploy binds, read
// through `javascript.kv`). The response is 200 with content type `text/html; charset=utf-8`, or
// the value of the deploy's variable CONTENT_TYPE. `{% include %}` and `{% render %}` name other
// files of the deploy ("card" finds "card" or "card.liquid"). docs/liquid.md lists the differences
// from Ruby Liquid that remain.
//
// Outcomes: a render error (e.g. an unknown partial) is Outcome::kException with the template's
// "file:line:column: message". Over the engine's render limits below, a request ends in
// kExceededCpu (rendered nodes, include depth) or kExceededMemory (output size, allocations), like
// the JavaScript engine's own CPU and memory limits, which apply as well.
//
// Ownership: the caller owns the engine; Programs and Instances keep what they need alive, so
// they may outlive it. Thread-safety: thread-safe, like every Engine.
#ifndef COSMO_LIQUID_ENGINE_H_
#define COSMO_LIQUID_ENGINE_H_

#include <cstddef>
#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "cosmo/engine.h"
#include "cosmo/javascript_engine.h"

namespace cosmo {

struct LiquidEngineOptions {
  // Longest page a render may produce, in UTF-16 code units (bytes, for ASCII output).
  size_t max_output_chars = size_t{8} << 20;
  // Deepest nesting of {% include %} / {% render %} (Ruby Liquid's limit is 100 as well).
  uint32_t max_include_depth = 100;
  // Template nodes (text, outputs, tags) one request may render: bounds loops whatever the CPU
  // limit is.
  uint64_t max_rendered_nodes = 1'000'000;
  // LiquidJS's allocation budget per request: elements of ranges and arrays, and characters
  // built by filters. `(1..100000000)` is refused before the array exists.
  uint64_t max_allocation_units = uint64_t{16} << 20;
  // The JavaScript engine the templates run in. `extra_runtime_scripts` is the engine's own
  // (LiquidJS is appended to whatever is given).
  JavaScriptEngineOptions javascript;

  // INVALID_ARGUMENT naming the field when one is zero.
  absl::Status Validate() const;
};

// Creates the engine. INVALID_ARGUMENT names a bad option field. Its JavaScript engine and
// startup snapshot (some tens of milliseconds, a few MiB) are built by the first Validate() or
// Prepare(), so a process that serves no Liquid pays for neither; that call and every later one
// fail as NewJavaScriptEngine() would with `options.javascript`, or with INTERNAL if LiquidJS
// cannot be loaded into the snapshot.
absl::StatusOr<std::unique_ptr<Engine>> NewLiquidEngine(const LiquidEngineOptions& options = {});

}  // namespace cosmo

#endif  // COSMO_LIQUID_ENGINE_H_
