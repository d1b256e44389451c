// The in-process request path with the real JavaScript engine: FamilyHandle::Invoke on a warm
// hello family at 1 and 2 threads, the same on a family split 50/50 between two hello versions
// (unkeyed and with a Cosmo-Version-Key: the router's cost, docs/deployments.md), and a cold
// activation of an already-compiled version (the first request after its activation was
// unloaded) and the second request on the instance that activation made.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
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

// Activations and budget unloads per iteration between two readings, as the benchmark's counters.
void CountActivationsAndUnloads(benchmark::State& state, const RuntimeStats& before,
                                const RuntimeStats& after) {
  const auto per_iteration = [](uint64_t count) {
    return benchmark::Counter(static_cast<double>(count), benchmark::Counter::kAvgIterations);
  };
  state.counters["activations"] = per_iteration(after.activations - before.activations);
  state.counters["unloads"] = per_iteration(after.budget_unloads - before.budget_unloads);
}

// The timed loop of BM_WarmInvokeZipfOverFamilies, apart from its set-up so that a profiler can
// count it alone (valgrind --tool=callgrind --toggle-collect='*InvokeInOrder*').
[[gnu::noinline]] void InvokeInOrder(benchmark::State& state, std::vector<FamilyHandle>& handles,
                                     const std::vector<int>& order, const HttpRequest& request) {
  size_t next = 0;
  for (auto _ : state) {
    InvokeResult result = handles[order[next++ & (order.size() - 1)]].Invoke(request);
    benchmark::DoNotOptimize(result);
  }
}

// Warm invokes spread over `families` warm hello families (each its own version, so its own
// isolate), in a Zipf (s = 1.1) order drawn once with a fixed seed: what the density mode's Zipf
// mix costs in-process, nothing of HTTP around it. budget_mb:0 holds every family resident (no
// budget), so beside BM_WarmInvokeHello (one family, always hot) it shows what a request pays for
// landing on an isolate whose caches, feedback and pages are cold; budget_mb:1024 is the density
// mode's budget, with the activations and unloads it causes per request as counters.
void BM_WarmInvokeZipfOverFamilies(benchmark::State& state) {
  const int families = static_cast<int>(state.range(0));
  const size_t budget_mb = static_cast<size_t>(state.range(1));
  static std::map<std::pair<int, size_t>, Runtime*>* runtimes =
      new std::map<std::pair<int, size_t>, Runtime*>;
  Runtime*& runtime = (*runtimes)[{families, budget_mb}];
  if (runtime == nullptr) {
    RuntimeOptions options;
    options.memory_budget_bytes = budget_mb == 0 ? SIZE_MAX : budget_mb << 20;
    runtime = bench::NewBenchRuntime(options).release();
    for (int k = 0; k < families; ++k) {
      bench::DeployJavaScript(*runtime, absl::StrCat("z", k),
                              absl::StrCat("// family ", k, "\n", kHello));
    }
  }
  std::vector<FamilyHandle> handles;
  std::vector<double> cumulative;
  double total = 0;
  for (int k = 0; k < families; ++k) {
    handles.push_back(runtime->Family(absl::StrCat("z", k)));
    total += 1.0 / std::pow(k + 1.0, 1.1);
    cumulative.push_back(total);
  }
  std::mt19937_64 random(23);
  std::vector<int> order(1 << 16);
  for (int& k : order) {
    const double u = std::uniform_real_distribution<double>(0, total)(random);
    k = static_cast<int>(std::lower_bound(cumulative.begin(), cumulative.end(), u) -
                         cumulative.begin());
    k = std::min(k, families - 1);
  }
  const HttpRequest request{.method = "GET", .url = "http://127.0.0.1:8080/z/"};
  for (FamilyHandle& handle : handles) {  // every family warm before the clock starts
    if (handle.Invoke(request).outcome != Outcome::kOk) state.SkipWithError("warm-up failed");
  }
  const RuntimeStats before = runtime->Stats();
  InvokeInOrder(state, handles, order, request);
  CountActivationsAndUnloads(state, before, runtime->Stats());
}
BENCHMARK(BM_WarmInvokeZipfOverFamilies)
    ->ArgNames({"families", "budget_mb"})
    ->Args({1, 0})
    ->Args({10, 0})
    ->Args({100, 0})
    ->Args({1000, 0})
    ->Args({1000, 1024})
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

// A cold start that has to make room: 20 hello families in turn under a budget that holds about
// 12 of them, so each request activates its family and its activation unloads the one least worth
// keeping (RuntimeOptions::memory_budget_bytes). Spaced by pause_ms (untimed), as cold starts on a
// machine that is not saturated are, so a spare isolate is ready for each; beside
// BM_ColdActivationOfCachedVersion/spare:1/pause_ms:50 it shows what unloading another family
// adds to the request that activates.
void BM_ColdActivationOverTheBudget(benchmark::State& state) {
  constexpr int kFamilies = 20;
  const absl::Duration pause = absl::Milliseconds(state.range(0));
  RuntimeOptions options;
  options.memory_budget_bytes = size_t{12} * 1'400'000;
  std::unique_ptr<Runtime> runtime = bench::NewBenchRuntime(options);
  std::vector<FamilyHandle> handles;
  for (int k = 0; k < kFamilies; ++k) {
    bench::DeployJavaScript(*runtime, absl::StrCat("b", k),
                            absl::StrCat("// family ", k, "\n", kHello));
    handles.push_back(runtime->Family(absl::StrCat("b", k)));
  }
  const HttpRequest request{.method = "GET", .url = "http://127.0.0.1:8080/b/"};
  for (int round = 0; round < 2; ++round) {  // compiled once each, and the budget full
    for (FamilyHandle& handle : handles) handle.Invoke(request);
  }
  const RuntimeStats before = runtime->Stats();
  size_t next = 0;
  for (auto _ : state) {
    state.PauseTiming();
    absl::SleepFor(pause);
    state.ResumeTiming();
    InvokeResult result = handles[next++ % kFamilies].Invoke(request);
    if (result.outcome != Outcome::kOk) state.SkipWithError("invoke failed");
  }
  CountActivationsAndUnloads(state, before, runtime->Stats());
}
BENCHMARK(BM_ColdActivationOverTheBudget)
    ->ArgName("pause_ms")
    ->Arg(50)
    ->Iterations(200)  // each pauses untimed
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
