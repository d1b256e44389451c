// KvStore in-process (docs/performance.md, "KV"): a hot get (served by the read cache), durable
// puts from 1 and 32 concurrent writers on LevelDB (group commit) with what bounds them — puts
// per commit, time per commit, and the file system's own fsync time — list() of 1,000 keys, and
// on a real three-member etcd (when etcd is installed) durable puts from 32 writers and a get.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

#include "absl/strings/str_format.h"
#include "cosmo/kv.h"
#include "support/etcd_cluster.h"
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

// Durable puts of 100-byte values to distinct keys from every thread of the benchmark; with 32
// threads they share group commits. Thread 0 reports how many puts each commit carried and how
// long a commit took (the committer is one thread, so wall time / commits is its time per commit
// while writers keep it busy).
void DurablePuts(benchmark::State& state, KvStore& kv) {
  static uint64_t commits_before = 0;
  static std::chrono::steady_clock::time_point start;
  if (state.thread_index() == 0) {
    commits_before = kv.CommitCount();
    start = std::chrono::steady_clock::now();
  }
  int i = 0;
  for (auto _ : state) {
    absl::Status s = kv.Put(kNs, absl::StrFormat("t%02d-%08d", state.thread_index(), i++),
                            std::string(100, 'v'), {});
    if (!s.ok()) state.SkipWithError(std::string(s.message()).c_str());
  }
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) {
    const double commits = static_cast<double>(kv.CommitCount() - commits_before);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    state.counters["commits"] = commits;
    // Thread 0's share of the puts times the threads: the total, as every thread does as many.
    state.counters["puts_per_commit"] =
        commits > 0 ? static_cast<double>(state.iterations()) * state.threads() / commits : 0;
    state.counters["ms_per_commit"] = commits > 0 ? seconds * 1000 / commits : 0;
  }
}

void BM_DurablePut(benchmark::State& state) { DurablePuts(state, *Shared().kv); }
BENCHMARK(BM_DurablePut)->Threads(1)->Threads(32)->UseRealTime();

// The floor under a durable put on this machine: append 100 bytes to a file in the same
// directory as the database and fdatasync it, as LevelDB's synced write does. Puts per second
// from N writers can be at most N per sync (each writer waits for its put).
void BM_Fdatasync(benchmark::State& state) {
  const std::string path = Shared().dir.Sub("fsync-probe");
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return state.SkipWithError("cannot create the probe file");
  const std::string record(100, 'r');
  for (auto _ : state) {
    if (write(fd, record.data(), record.size()) != static_cast<ssize_t>(record.size()) ||
        fdatasync(fd) != 0) {
      state.SkipWithError("write or fdatasync failed");
      break;
    }
  }
  close(fd);
  unlink(path.c_str());
}
BENCHMARK(BM_Fdatasync)->UseRealTime();

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

// A KvStore on a real three-member etcd cluster on loopback (the data directories on tmpfs when
// there is one, as the tests' fixture makes them), or null when etcd is not installed.
KvStore* EtcdKv() {
  struct EtcdFixture {
    std::unique_ptr<testing::EtcdCluster> cluster;
    std::unique_ptr<Store> store;
    std::unique_ptr<KvStore> kv;
  };
  static EtcdFixture* fixture = [] {
    auto* f = new EtcdFixture();
    auto cluster = testing::EtcdCluster::Start(3);
    if (!cluster.ok()) {
      std::fprintf(stderr, "etcd benchmarks skipped: %s\n",
                   std::string(cluster.status().message()).c_str());
      return f;
    }
    f->cluster = *std::move(cluster);
    f->store = std::move(OpenEtcdStore({.endpoints = f->cluster->ClientEndpoints()})).value();
    f->kv = std::move(
                NewKvStore(f->store.get(), Clock::Real(), {.sweep_interval = absl::ZeroDuration()}))
                .value();
    (void)f->kv->Put(kNs, "seed", "", {}, "bench");
    (void)f->kv->Put(kNs, "hot", std::string(100, 'v'), {});
    return f;
  }();
  return fixture->kv.get();
}

void BM_EtcdDurablePut(benchmark::State& state) {
  KvStore* kv = EtcdKv();
  if (kv == nullptr) return state.SkipWithError("etcd is not installed");
  DurablePuts(state, *kv);
}
BENCHMARK(BM_EtcdDurablePut)->Threads(1)->Threads(32)->UseRealTime();

// One linearizable etcd read per get: there is no cache on a shared store (docs/kv.md).
void BM_EtcdGet(benchmark::State& state) {
  KvStore* kv = EtcdKv();
  if (kv == nullptr) return state.SkipWithError("etcd is not installed");
  for (auto _ : state) {
    auto entry = kv->Get(kNs, "hot");
    if (!entry.ok()) state.SkipWithError(std::string(entry.status().message()).c_str());
    benchmark::DoNotOptimize(entry);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EtcdGet)->Threads(1)->Threads(32)->UseRealTime();

}  // namespace
}  // namespace cosmo
