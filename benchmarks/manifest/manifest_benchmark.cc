// Canonical CBOR encoding plus SHA-256 of a manifest: the cost of naming a version.
#include <benchmark/benchmark.h>

#include "cosmo/manifest.h"

namespace cosmo {
namespace {

void BM_ComputeVersion(benchmark::State& state) {
  Manifest m;
  m.engine = "javascript";
  m.main = "index.js";
  m.files["index.js"] = std::string(state.range(0), 'x');
  m.env = {{"A", "1"}, {"GREETING", "hello"}};
  m.limits = {{"cpu_ms", 20}};
  for (auto _ : state) {
    auto version = ComputeVersion(m);
    benchmark::DoNotOptimize(version);
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_ComputeVersion)->Arg(1 << 10)->Arg(100 << 10);

}  // namespace
}  // namespace cosmo
