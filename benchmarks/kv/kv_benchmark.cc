// KvStore in-process (docs/performance.md, "KV"): a hot get (served by the read cache), durable
// puts from 32 concurrent writers on LevelDB (group commit), and list() of 1,000 keys.
#include <benchmark/benchmark.h>

#include <memory>
#include <string>

#include "absl/strings/str_format.h"
#include "cosmo/kv.h"
#include "support/temp_dir.h"

namespace cosmo {
namespace {

constexpr char kNs[] = "bench";

struct Fixture {
  testing::TempDir dir;
  std::unique_ptr<Store> store;
  std::unique_ptr<KvStore> kv;

  Fixture() {
    store = std::move(OpenLevelDbStore({.path = dir.Sub("db")})).value();
    kv = std::move(NewKvStore(store.get(), Clock::Real(), {.sweep_interval = absl::ZeroDuration()}))
             .value();
    (void)kv->Put(kNs, "seed", "", {}, "bench");
  }
};

// One fixture for the whole binary: the threads of a multi-threaded benchmark share it.
Fixture& Shared() {
  static Fixture* fixture = new Fixture();
  return *fixture;
}

void BM_HotGet(benchmark::State& state) {
  KvStore& kv = *Shared().kv;
  (void)kv.Put(kNs, "hot", std::string(100, 'v'), {});
  for (auto _ : state) {
    auto entry = kv.Get(kNs, "hot");
    benchmark::DoNotOptimize(entry);
  }
}
BENCHMARK(BM_HotGet);

// Durable puts of 100-byte values to distinct keys; with 32 threads they share group commits.
void BM_DurablePut(benchmark::State& state) {
  KvStore& kv = *Shared().kv;
  const uint64_t commits_before = state.thread_index() == 0 ? kv.CommitCount() : 0;
  int i = 0;
  for (auto _ : state) {
    absl::Status s = kv.Put(kNs, absl::StrFormat("t%02d-%08d", state.thread_index(), i++),
                            std::string(100, 'v'), {});
    if (!s.ok()) state.SkipWithError(std::string(s.message()).c_str());
  }
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) {
    state.counters["commits"] = static_cast<double>(kv.CommitCount() - commits_before);
  }
}
BENCHMARK(BM_DurablePut)->Threads(1)->Threads(32)->UseRealTime();

void BM_List1000(benchmark::State& state) {
  KvStore& kv = *Shared().kv;
  for (int i = 0; i < 1000; ++i) {
    (void)kv.Put(kNs, absl::StrFormat("list/%04d", i), "v", {.metadata = "{\"n\":1}"});
  }
  for (auto _ : state) {
    auto page = kv.List(kNs, {.prefix = "list/", .limit = 1000});
    benchmark::DoNotOptimize(page);
  }
  state.SetItemsProcessed(state.iterations() * 1000);
}
BENCHMARK(BM_List1000);

}  // namespace
}  // namespace cosmo

BENCHMARK_MAIN();
