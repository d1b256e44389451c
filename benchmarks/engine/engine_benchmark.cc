// In-process costs of the JavaScript engine: a warm invoke (target ≤ 2 µs for hello), a JSON
// echo, activation of a cached version (target p50 ≤ 3 ms end to end) and deploy-time validation
// of a 100 KiB module. Uses the product engine (snapshot of the real web-API runtime).
#include <benchmark/benchmark.h>

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "cosmo/javascript_engine.h"
#include "engine_bench_util.h"

namespace cosmo {
namespace {

using ::cosmo::bench::BenchRequest;
using ::cosmo::bench::MustInstantiate;
using ::cosmo::bench::OrDie;

JavaScriptEngine& Engine() {
  static JavaScriptEngine* engine = OrDie(NewJavaScriptEngine(), "engine").release();
  return *engine;
}

Manifest JsManifest(std::string source) {
  Manifest m;
  m.engine = "javascript";
  m.main = "index.js";
  m.files["index.js"] = std::move(source);
  m.env["GREETING"] = "hello";
  return m;
}

HttpRequest HelloRequest() { return BenchRequest("http://127.0.0.1:8080/hello/"); }

void RunWarm(benchmark::State& state, const Manifest& manifest, const HttpRequest& request) {
  static int next = 0;
  auto instance = MustInstantiate(Engine(), absl::StrCat("bench-warm-", next++), manifest);
  bench::RunWarmInvocations(state, *instance, request, /*warmup=*/1000);
  // The isolate's heap in use (plus array buffers) after the requests.
  state.counters["heap_bytes"] = static_cast<double>(instance->MemoryBytes());
}

void BM_WarmInvokeHelloString(benchmark::State& state) {
  RunWarm(state, JsManifest("export default { fetch() { return 'Hello, world!'; } };"),
          HelloRequest());
}
BENCHMARK(BM_WarmInvokeHelloString);

void BM_WarmInvokeHelloResponse(benchmark::State& state) {
  RunWarm(state,
          JsManifest("export default { fetch() { return new Response('Hello, world!'); } };"),
          HelloRequest());
}
BENCHMARK(BM_WarmInvokeHelloResponse);

void BM_WarmInvokeJsonEcho(benchmark::State& state) {
  HttpRequest request = HelloRequest();
  request.method = "POST";
  request.headers.emplace_back("content-type", "application/json");
  request.body =
      R"({"user":{"id":42,"name":"Ada Lovelace","roles":["admin","dev"]},)"
      R"("items":[1,2,3,4,5,6,7,8],"note":"the quick brown fox jumps over the lazy dog"})";
  RunWarm(state,
          JsManifest("export default { async fetch(request) { "
                     "return Response.json(await request.json()); } };"),
          request);
}
BENCHMARK(BM_WarmInvokeJsonEcho);

JavaScriptEngine& EngineWithoutSpares() {
  static JavaScriptEngine* engine = [] {
    JavaScriptEngineOptions options;
    options.spare_isolates = 0;
    return OrDie(NewJavaScriptEngine(options), "engine").release();
  }();
  return *engine;
}

// Activation of a version whose code is cached, end to end: Instantiate() (isolate from the
// snapshot, module from the code cache, top level evaluated) plus the first request.
//   spare:1  the engine's pool had a ready isolate (the steady state between activations; the
//            benchmark gives the background refill time outside the timing)
//   spare:0  no pool: the activation deserialises its own isolate
void BM_ColdActivationCached(benchmark::State& state) {
  const bool spare = state.range(0) != 0;
  JavaScriptEngine& engine = spare ? Engine() : EngineWithoutSpares();
  Manifest manifest = JsManifest(R"(
      const routes = { '/hello/': () => 'hi' };
      export default { fetch(request, env) {
        const path = new URL(request.url).pathname;
        return new Response((routes[path] ?? (() => 'none'))() + env.GREETING);
      } };)");
  auto program = OrDie(engine.Prepare("bench-cold", manifest), "prepare");
  bench::RunColdActivations(state, *program, HelloRequest(), spare);
}
BENCHMARK(BM_ColdActivationCached)
    ->ArgName("spare")
    ->Arg(0)
    ->Arg(1)
    ->Iterations(60)
    ->Unit(benchmark::kMicrosecond);

// The same activation for benchmarks/workloads/hello.js, which touches neither URL nor a stream:
// the runtime's lazily evaluated parts (lib/engine/v8/js/src/lazy.js) stay unbuilt, so the
// difference to BM_ColdActivationCached (whose handler parses request.url with URL) is what
// materialising URL costs a first request.
void BM_ColdActivationHello(benchmark::State& state) {
  Manifest manifest = JsManifest(R"(
      export default { async fetch(request, env, ctx) {
        return new Response('Hello, world!\n'); } };)");
  auto program = OrDie(Engine().Prepare("bench-cold-hello", manifest), "prepare");
  bench::RunColdActivations(state, *program, HelloRequest(), /*spare=*/true);
}
BENCHMARK(BM_ColdActivationHello)->Iterations(60)->Unit(benchmark::kMicrosecond);

// The same activation for a handler that uses crypto.subtle, which the runtime evaluates on first
// use (docs/performance.md, "Where a warm family's memory goes"): the difference to
// BM_ColdActivationCached/spare:1 is what loading SubtleCrypto costs the first request.
void BM_ColdActivationFirstUseOfSubtle(benchmark::State& state) {
  Manifest manifest = JsManifest(R"(
      export default { async fetch(request, env) {
        const digest = await crypto.subtle.digest('SHA-256', new Uint8Array(8));
        return new Response(digest); } };)");
  auto program = OrDie(Engine().Prepare("bench-cold-subtle", manifest), "prepare");
  bench::RunColdActivations(state, *program, HelloRequest(), /*spare=*/true);
}
BENCHMARK(BM_ColdActivationFirstUseOfSubtle)->Iterations(60)->Unit(benchmark::kMicrosecond);

// Deploy-time validation (compile + top-level probe in a fresh isolate) of a 100 KiB module.
void BM_Validate100KiB(benchmark::State& state) {
  std::string source;
  int i = 0;
  while (source.size() < 100 * 1024) {
    absl::StrAppend(&source, "function helper", i, "(a, b) {\n  const s = `", i,
                    ":${a}:${b}`;\n  return s.length > 3 ? s.toUpperCase() : s;\n}\n");
    ++i;
  }
  absl::StrAppend(&source, "export default { fetch() { return helper0(1, 2); } };\n");
  Manifest manifest = JsManifest(source);
  for (auto _ : state) {
    absl::Status status = Engine().Validate(manifest);
    if (!status.ok()) {
      state.SkipWithError(std::string(status.message()).c_str());
      break;
    }
  }
  state.SetBytesProcessed(state.iterations() * source.size());
}
BENCHMARK(BM_Validate100KiB)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace cosmo
