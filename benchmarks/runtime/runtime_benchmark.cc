// The in-process request path with the real JavaScript engine: FamilyHandle::Invoke on a warm
// hello family at 1 and 2 threads, and a cold activation of an already-compiled version (the
// first request after its activation was unloaded).
#include <benchmark/benchmark.h>

#include <memory>

#include "cosmo/runtime.h"

namespace cosmo {
namespace {

constexpr char kHello[] =
    "export default { fetch(request, env, ctx) { return new Response('hello'); } };";

Runtime& SharedRuntime() {
  static Runtime* runtime = [] {
    RuntimeOptions options;
    options.background_maintenance = false;
    auto created = NewRuntime(options, NewInMemoryStore());
    if (!created.ok()) {
      fprintf(stderr, "runtime: %s\n", created.status().ToString().c_str());
      std::abort();
    }
    Manifest m;
    m.engine = "javascript";
    m.main = "index.js";
    m.files["index.js"] = kHello;
    if (!(*created)
             ->registry()
             .Deploy({.tenant = "bench", .family = "hello", .manifest = m})
             .ok()) {
      std::abort();
    }
    return created->release();
  }();
  return *runtime;
}

void BM_WarmInvokeHello(benchmark::State& state) {
  FamilyHandle hello = SharedRuntime().Family("hello");
  const HttpRequest request{.method = "GET", .url = "http://127.0.0.1:8080/hello/"};
  if (hello.Invoke(request).outcome != Outcome::kOk) state.SkipWithError("hello failed");
  for (auto _ : state) {
    InvokeResult result = hello.Invoke(request);
    benchmark::DoNotOptimize(result);
  }
}
BENCHMARK(BM_WarmInvokeHello)->Threads(1)->Threads(2)->UseRealTime();

void BM_ColdActivationOfCachedVersion(benchmark::State& state) {
  ManualClock clock;
  RuntimeOptions options;
  options.background_maintenance = false;
  options.clock = &clock;
  auto runtime = std::move(NewRuntime(options, NewInMemoryStore())).value();
  Manifest m;
  m.engine = "javascript";
  m.main = "index.js";
  m.files["index.js"] = kHello;
  (void)runtime->registry().Deploy({.tenant = "bench", .family = "cold", .manifest = m});
  const HttpRequest request{.method = "GET", .url = "http://127.0.0.1:8080/cold/"};
  runtime->Invoke("cold", request);  // compile once; later activations use the code cache
  for (auto _ : state) {
    state.PauseTiming();
    clock.Advance(absl::Minutes(2));
    runtime->Maintain();  // idle-unload the activation
    state.ResumeTiming();
    InvokeResult result = runtime->Invoke("cold", request);
    if (result.outcome != Outcome::kOk) state.SkipWithError("cold invoke failed");
  }
}
BENCHMARK(BM_ColdActivationOfCachedVersion)->Unit(benchmark::kMicrosecond)->UseRealTime();

}  // namespace
}  // namespace cosmo

BENCHMARK_MAIN();
