// The in-process request path with the real JavaScript engine: FamilyHandle::Invoke on a warm
// hello family at 1 and 2 threads, the same on a family split 50/50 between two hello versions
// (unkeyed and with a Cosmo-Version-Key: the router's cost, docs/deployments.md), and a cold
// activation of an already-compiled version (the first request after its activation was
// unloaded) and the second request on the instance that activation made.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "benchmarks/runtime/bench_runtime.h"
#include "cosmo/javascript_engine.h"
#include "cosmo/runtime.h"

namespace cosmo {
namespace {

constexpr char kHello[] =
    "export default { fetch(request, env, ctx) { return new Response('hello'); } };";

Runtime& SharedRuntime() {
  static Runtime* runtime = [] {
    std::unique_ptr<Runtime> created = bench::NewBenchRuntime();
    bench::DeployJavaScript(*created, "hello", kHello);
    // "split": two versions of hello (they differ in a comment), 50/50.
    bench::DeployJavaScript(*created, "split", kHello);
    bench::DeployJavaScript(*created, "split", std::string(kHello) + "\n// the canary\n", 50);
    return created.release();
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

// The same hello on a family split 50/50: each request is routed (a random draw, or the key's
// bucket) before it runs, and both sides are warm.
void BM_WarmInvokeSplitHello(benchmark::State& state) {
  FamilyHandle split = SharedRuntime().Family("split");
  HttpRequest request{.method = "GET", .url = "http://127.0.0.1:8080/split/"};
  if (state.range(0) == 1) request.headers.emplace_back("Cosmo-Version-Key", "user-1234");
  if (split.Invoke(request).outcome != Outcome::kOk) state.SkipWithError("split failed");
  for (auto _ : state) {
    InvokeResult result = split.Invoke(request);
    benchmark::DoNotOptimize(result);
  }
}
BENCHMARK(BM_WarmInvokeSplitHello)
    ->ArgName("keyed")
    ->Arg(0)
    ->Arg(1)
    ->Threads(1)
    ->Threads(2)
    ->UseRealTime();

// A runtime on a manual clock (so Maintain() unloads on demand) with hello deployed as "cold",
// over a JavaScript engine of its own whose counters tell when a spare isolate is ready.
struct ColdFamily {
  ColdFamily() {
    RuntimeOptions options;
    options.background_maintenance = false;
    options.clock = &clock;
    std::unique_ptr<JavaScriptEngine> made = NewJavaScriptEngine(options.javascript).value();
    engine = made.get();
    std::vector<std::unique_ptr<Engine>> engines;
    engines.push_back(std::move(made));
    runtime = std::move(NewRuntime(options, NewInMemoryStore(), std::move(engines))).value();
    Manifest m;
    m.engine = "javascript";
    m.main = "index.js";
    m.files["index.js"] = kHello;
    (void)runtime->registry().Deploy({.tenant = "bench", .family = "cold", .manifest = m});
  }
  // Idle-unloads the family's activation.
  void Unload() {
    clock.Advance(absl::Minutes(2));
    runtime->Maintain();
  }
  // Waits until the engine has warmed a spare since `warmed` (a Stats().spares_warmed read
  // before the activation that took the last one); false after 10 s.
  bool AwaitSpare(uint64_t warmed) const {
    for (int i = 0; i < 10'000; ++i) {
      if (engine->Stats().spares_warmed > warmed) return true;
      absl::SleepFor(absl::Milliseconds(1));
    }
    return false;
  }
  ManualClock clock;
  JavaScriptEngine* engine = nullptr;  // owned by runtime
  std::unique_ptr<Runtime> runtime;
  const HttpRequest request{.method = "GET", .url = "http://127.0.0.1:8080/cold/"};
};

// The first request after an idle unload of a cached version: the runtime's activation (manifest
// from the store, program from the engine's cache, instance) plus the request.
//   spare:0  back to back: each activation deserialises its own isolate
//   spare:1  on a warmed spare isolate, which the engine's refill thread made after the last
//            activation; pause_ms is how long the machine then stays idle before the request.
//            After 50 ms (the steady state of cold starts that are not back to back) this VM
//            runs the same instructions 2-3x slower than right after the refill: its caches
//            are cold (docs/performance.md "What an idle pause costs an activation").
void BM_ColdActivationOfCachedVersion(benchmark::State& state) {
  const bool spare = state.range(0) != 0;
  const absl::Duration pause = absl::Milliseconds(state.range(1));
  ColdFamily cold;
  uint64_t warmed = cold.engine->Stats().spares_warmed;
  cold.runtime->Invoke("cold", cold.request);  // compile once; later activations use the code cache
  for (auto _ : state) {
    state.PauseTiming();
    cold.Unload();
    if (spare && !cold.AwaitSpare(warmed)) {
      state.SkipWithError("no spare isolate was warmed within 10 s");
      break;
    }
    absl::SleepFor(pause);
    warmed = cold.engine->Stats().spares_warmed;
    state.ResumeTiming();
    InvokeResult result = cold.runtime->Invoke("cold", cold.request);
    if (result.outcome != Outcome::kOk) state.SkipWithError("cold invoke failed");
  }
}
BENCHMARK(BM_ColdActivationOfCachedVersion)
    ->ArgNames({"spare", "pause_ms"})
    ->Args({0, 0})
    ->Args({1, 1})
    ->Args({1, 50})
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

// The second request on a new instance, right after the first (untimed) one: what a cold start's
// next request costs beside BM_WarmInvokeHello, with nothing of HTTP around it.
void BM_SecondInvokeAfterColdActivation(benchmark::State& state) {
  ColdFamily cold;
  cold.runtime->Invoke("cold", cold.request);
  for (auto _ : state) {
    state.PauseTiming();
    cold.Unload();
    absl::SleepFor(absl::Milliseconds(50));
    if (cold.runtime->Invoke("cold", cold.request).outcome != Outcome::kOk) {
      state.SkipWithError("cold invoke failed");
    }
    state.ResumeTiming();
    InvokeResult result = cold.runtime->Invoke("cold", cold.request);
    if (result.outcome != Outcome::kOk) state.SkipWithError("second invoke failed");
  }
}
BENCHMARK(BM_SecondInvokeAfterColdActivation)
    ->Iterations(300)  // each pauses 50 ms untimed, so a time-based count would run for minutes
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

}  // namespace
}  // namespace cosmo
