// Registry operations on LevelDB with synced writes, as a server runs them: deploys of 1 KiB and
// 100 KiB scripts, and paging the newest history of a family with 10,000 versions.
#include <benchmark/benchmark.h>

#include "absl/strings/str_cat.h"
#include "cosmo/registry.h"
#include "support/scripted_engine.h"
#include "support/temp_dir.h"

namespace cosmo {
namespace {

Manifest Script(size_t bytes, int salt) {
  Manifest m;
  m.engine = "javascript";
  m.main = "index.js";
  m.files["index.js"] = absl::StrCat("// ", salt, "\n", std::string(bytes, 'x'));
  return m;
}

void BM_Deploy(benchmark::State& state) {
  testing::TempDir dir;
  auto store = std::move(OpenLevelDbStore({.path = dir.Sub("db")})).value();
  testing::ScriptedEngine engine;
  auto registry = std::move(NewRegistry(store.get(), {&engine}, Clock::Real())).value();
  int salt = 0;
  for (auto _ : state) {
    auto result = registry->Deploy(
        {.tenant = "acme", .family = "bench", .manifest = Script(state.range(0), ++salt)});
    if (!result.ok()) state.SkipWithError(std::string(result.status().message()).c_str());
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Deploy)->Arg(1 << 10)->Arg(100 << 10)->UseRealTime();

void BM_HistoryFirstPageOf10000(benchmark::State& state) {
  testing::TempDir dir;
  auto store = std::move(OpenLevelDbStore({.path = dir.Sub("db")})).value();
  testing::ScriptedEngine engine;
  auto registry = std::move(NewRegistry(store.get(), {&engine}, Clock::Real())).value();
  // Filling 10,000 synced deploys would dominate the run; the history layout is what matters, so
  // fill through a registry whose store writes are the same, with small scripts.
  for (int i = 0; i < 10000; ++i) {
    (void)registry->Deploy({.tenant = "acme", .family = "deep", .manifest = Script(16, i)});
  }
  for (auto _ : state) {
    auto page = registry->History("acme", "deep", {.page_size = 100});
    benchmark::DoNotOptimize(page);
  }
}
BENCHMARK(BM_HistoryFirstPageOf10000)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace cosmo
