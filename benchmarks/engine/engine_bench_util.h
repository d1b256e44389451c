// What the in-process engine benchmarks share: instances made or the process aborted (a
// benchmark has no one to report a failed setup to), requests shaped like a load generator's, and
// the warm and cold invoke loops.
#ifndef COSMO_BENCHMARKS_ENGINE_ENGINE_BENCH_UTIL_H_
#define COSMO_BENCHMARKS_ENGINE_ENGINE_BENCH_UTIL_H_

#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "cosmo/engine.h"

namespace cosmo::bench {

// The value of `value`; otherwise prints `what` and the status, and aborts.
template <typename T>
T OrDie(absl::StatusOr<T> value, const char* what) {
  if (!value.ok()) {
    std::fprintf(stderr, "%s: %s\n", what, value.status().ToString().c_str());
    std::abort();
  }
  return *std::move(value);
}

inline std::unique_ptr<Instance> MustInstantiate(Engine& engine, const std::string& version,
                                                 const Manifest& manifest) {
  auto program = OrDie(engine.Prepare(version, manifest), "prepare");
  return OrDie(program->Instantiate(ScriptLimits()), "instantiate");
}

// A GET of `url` with the headers curl or a load generator sends.
inline HttpRequest BenchRequest(std::string url) {
  HttpRequest request;
  request.method = "GET";
  request.url = std::move(url);
  request.headers = {{"host", "127.0.0.1:8080"}, {"user-agent", "bench"}, {"accept", "*/*"}};
  return request;
}

// `warmup` untimed invocations (JIT, inline caches), then one per iteration; stops with the error
// of a failed one. Returns the last result.
inline InvokeResult RunWarmInvocations(benchmark::State& state, Instance& instance,
                                       const HttpRequest& request, int warmup) {
  for (int i = 0; i < warmup; ++i) instance.Invoke(request);
  InvokeResult result;
  for (auto _ : state) {
    result = instance.Invoke(request);
    if (result.outcome != Outcome::kOk) {
      state.SkipWithError(result.error.c_str());
      break;
    }
    benchmark::DoNotOptimize(result);
  }
  state.SetItemsProcessed(state.iterations());
  return result;
}

// Activation of a prepared version, end to end, per iteration: Instantiate() plus the first
// request. A first untimed run fills the code cache. Untimed after each: the isolate's heap in use
// (counter heap_bytes), and with `spare` 50 ms for the engine to refill its spare isolate, the
// steady state between activations.
inline void RunColdActivations(benchmark::State& state, Program& program,
                               const HttpRequest& request, bool spare) {
  OrDie(program.Instantiate(ScriptLimits()), "instantiate")->Invoke(request);
  // The first request's metered CPU, what its CPU limit counts (the activation's is not).
  double request_cpu_us = 0;
  for (auto _ : state) {
    auto instance = program.Instantiate(ScriptLimits());
    if (!instance.ok()) {
      state.SkipWithError("instantiate failed");
      break;
    }
    InvokeResult result = (*instance)->Invoke(request);
    if (result.outcome != Outcome::kOk) {
      state.SkipWithError(result.error.c_str());
      break;
    }
    state.PauseTiming();
    request_cpu_us += static_cast<double>(result.usage.cpu_us);
    state.counters["heap_bytes"] = static_cast<double>((*instance)->MemoryBytes());
    instance->reset();
    if (spare) absl::SleepFor(absl::Milliseconds(50));
    state.ResumeTiming();
  }
  state.counters["request_cpu_us"] =
      benchmark::Counter(request_cpu_us, benchmark::Counter::kAvgIterations);
}

}  // namespace cosmo::bench

#endif  // COSMO_BENCHMARKS_ENGINE_ENGINE_BENCH_UTIL_H_
