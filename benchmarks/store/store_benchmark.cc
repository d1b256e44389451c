// Store operations on each backend: point reads, buffered and synced writes, guarded commits,
// prefix scans.
#include <benchmark/benchmark.h>

#include <memory>

#include "absl/strings/str_format.h"
#include "cosmo/store.h"
#include "support/temp_dir.h"

namespace cosmo {
namespace {

struct Backend {
  std::unique_ptr<testing::TempDir> dir;
  std::unique_ptr<Store> store;
};

Backend Open(int kind) {
  Backend b;
  if (kind == 0) {
    b.store = NewInMemoryStore();
  } else {
    b.dir = std::make_unique<testing::TempDir>();
    b.store = std::move(OpenLevelDbStore({.path = b.dir->Sub("db")})).value();
  }
  return b;
}

const char* Name(int kind) { return kind == 0 ? "memory" : "leveldb"; }

void BM_Get(benchmark::State& state) {
  Backend b = Open(static_cast<int>(state.range(0)));
  for (int i = 0; i < 10000; ++i) {
    (void)b.store->Put(absl::StrFormat("k%06d", i), std::string(100, 'v'), Durability::kBuffered);
  }
  int i = 0;
  for (auto _ : state) {
    auto v = b.store->Get(absl::StrFormat("k%06d", i++ % 10000));
    benchmark::DoNotOptimize(v);
  }
  state.SetLabel(Name(static_cast<int>(state.range(0))));
}
BENCHMARK(BM_Get)->Arg(0)->Arg(1);

void BM_PutBuffered(benchmark::State& state) {
  Backend b = Open(static_cast<int>(state.range(0)));
  int i = 0;
  for (auto _ : state) {
    (void)b.store->Put(absl::StrFormat("k%08d", i++), std::string(100, 'v'), Durability::kBuffered);
  }
  state.SetLabel(Name(static_cast<int>(state.range(0))));
}
BENCHMARK(BM_PutBuffered)->Arg(0)->Arg(1);

void BM_GuardedCommitSynced(benchmark::State& state) {
  Backend b = Open(static_cast<int>(state.range(0)));
  std::string head = "0";
  (void)b.store->Put("head", head);
  int i = 0;
  for (auto _ : state) {
    WriteBatch batch;
    std::string next = std::to_string(++i);
    batch.ExpectValue("head", head).Put("head", next).Put("hist/" + next, std::string(200, 'h'));
    (void)b.store->Commit(batch, Durability::kSync);
    head = next;
  }
  state.SetLabel(Name(static_cast<int>(state.range(0))));
}
BENCHMARK(BM_GuardedCommitSynced)->Arg(0)->Arg(1)->UseRealTime();

void BM_ScanPrefix100(benchmark::State& state) {
  Backend b = Open(static_cast<int>(state.range(0)));
  for (int f = 0; f < 50; ++f) {
    for (int i = 0; i < 100; ++i) {
      (void)b.store->Put(absl::StrFormat("hist/f%02d/%06d", f, i), "x", Durability::kBuffered);
    }
  }
  for (auto _ : state) {
    auto rows = b.store->Scan("hist/f25/", {.limit = 100, .reverse = true});
    benchmark::DoNotOptimize(rows);
  }
  state.SetLabel(Name(static_cast<int>(state.range(0))));
}
BENCHMARK(BM_ScanPrefix100)->Arg(0)->Arg(1);

}  // namespace
}  // namespace cosmo
