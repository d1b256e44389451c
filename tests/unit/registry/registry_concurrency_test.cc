// Concurrent writers to one family on the real LevelDB store: every acknowledged deploy must be
// in the history, the history must be gap-free, and the head must be the last acknowledged one.
#include <algorithm>
#include <set>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "cosmo/registry.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "support/scripted_engine.h"
#include "support/temp_dir.h"

namespace cosmo {
namespace {

using ::cosmo::testing::ScriptManifest;

class RegistryConcurrencyTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    if (GetParam()) {
      auto store = OpenLevelDbStore({.path = dir_.Sub("db")});
      ASSERT_TRUE(store.ok()) << store.status();
      store_ = std::move(store).value();
    } else {
      store_ = NewInMemoryStore();
    }
    // Two registries on one store stand for two servers: they share no in-process lock, so
    // only the store's guards keep them correct.
    for (auto& registry : registries_) {
      auto created = NewRegistry(store_.get(), {&engine_}, Clock::Real());
      ASSERT_TRUE(created.ok());
      registry = std::move(created).value();
    }
  }

  testing::TempDir dir_;
  testing::ScriptedEngine engine_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Registry> registries_[2];
};

TEST_P(RegistryConcurrencyTest, EightThreadsDeployingToOneFamilyLoseNothing) {
  constexpr int kThreads = 8;
  constexpr int kDeploysPerThread = 12;
  absl::Mutex mu;
  std::set<std::string> acknowledged;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Registry& registry = *registries_[t % 2];
      for (int i = 0; i < kDeploysPerThread; ++i) {
        auto result = registry.Deploy({.tenant = "acme",
                                       .family = "hot",
                                       .manifest = ScriptManifest(absl::StrCat(t, "-", i))});
        ASSERT_TRUE(result.ok()) << result.status();
        EXPECT_TRUE(result->created);
        absl::MutexLock lock(&mu);
        acknowledged.insert(result->version);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  ASSERT_EQ(acknowledged.size(), size_t{kThreads * kDeploysPerThread});

  auto page = registries_[0]->History("acme", "hot", {.page_size = 1000});
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->items.size(), acknowledged.size());
  std::set<std::string> in_history;
  for (size_t i = 0; i < page->items.size(); ++i) {
    const HistoryEntry& entry = page->items[i];
    EXPECT_EQ(entry.sequence, page->items.size() - i) << "history has a gap";
    if (i + 1 < page->items.size()) {
      EXPECT_EQ(entry.previous_version, page->items[i + 1].version) << "history chain broken";
    }
    in_history.insert(entry.version);
  }
  EXPECT_EQ(in_history, acknowledged);
  EXPECT_EQ(registries_[1]->GetActiveVersion("hot")->version, page->items.front().version);
  for (const std::string& version : acknowledged) {
    auto manifest = registries_[1]->LoadManifest(version);
    EXPECT_TRUE(manifest.ok()) << version << ": " << manifest.status();
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, RegistryConcurrencyTest, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "LevelDb" : "InMemory"; });

}  // namespace
}  // namespace cosmo
