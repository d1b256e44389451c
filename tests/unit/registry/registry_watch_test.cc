// The Registry's change listeners hear about changes made by other processes on a shared store:
// a store that can Watch() (here a fake that lets the test deliver events) makes the registry
// report every changed `fam/` key, and every family after a resync.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "cosmo/registry.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "support/scripted_engine.h"

namespace cosmo {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

// An in-memory store whose Watch() hands the callback to the test.
class WatchableStore final : public Store {
 public:
  class Handle final : public WatchHandle {
   public:
    explicit Handle(WatchableStore* store) : store_(store) {}
    ~Handle() override {
      absl::MutexLock lock(&store_->mu_);
      store_->callback_ = nullptr;
      store_->watch_destroyed_ = true;
    }

   private:
    WatchableStore* store_;
  };

  absl::StatusOr<std::string> Get(absl::string_view key) override { return inner_->Get(key); }
  absl::StatusOr<std::vector<KeyValue>> Scan(absl::string_view prefix,
                                             const ScanOptions& options) override {
    return inner_->Scan(prefix, options);
  }
  absl::Status Commit(const WriteBatch& batch, Durability durability) override {
    return inner_->Commit(batch, durability);
  }
  absl::StatusOr<std::unique_ptr<WatchHandle>> Watch(
      absl::string_view prefix, std::function<void(const WatchEvent&)> callback) override {
    absl::MutexLock lock(&mu_);
    prefix_ = std::string(prefix);
    callback_ = std::move(callback);
    return std::make_unique<Handle>(this);
  }
  std::string Describe() const override { return "watchable"; }

  // Delivers `event` as the store's watch thread would.
  void Deliver(const WatchEvent& event) {
    std::function<void(const WatchEvent&)> callback;
    {
      absl::MutexLock lock(&mu_);
      callback = callback_;
    }
    ASSERT_TRUE(callback != nullptr);
    callback(event);
  }

  std::string prefix() {
    absl::MutexLock lock(&mu_);
    return prefix_;
  }
  bool watch_destroyed() {
    absl::MutexLock lock(&mu_);
    return watch_destroyed_;
  }

 private:
  const std::unique_ptr<Store> inner_ = NewInMemoryStore();
  absl::Mutex mu_;
  std::string prefix_ ABSL_GUARDED_BY(mu_);
  std::function<void(const WatchEvent&)> callback_ ABSL_GUARDED_BY(mu_);
  bool watch_destroyed_ ABSL_GUARDED_BY(mu_) = false;
};

using ::cosmo::testing::ScriptManifest;

class RegistryWatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto registry = NewRegistry(&store_, {&js_}, &clock_);
    ASSERT_TRUE(registry.ok()) << registry.status();
    registry_ = *std::move(registry);
    registry_->AddChangeListener([this](absl::string_view family) {
      absl::MutexLock lock(&mu_);
      heard_.emplace_back(family);
    });
  }

  std::vector<std::string> TakeHeard() {
    absl::MutexLock lock(&mu_);
    return std::exchange(heard_, {});
  }

  WatchableStore store_;
  ManualClock clock_;
  testing::ScriptedEngine js_{"javascript"};
  absl::Mutex mu_;
  std::vector<std::string> heard_ ABSL_GUARDED_BY(mu_);
  // Last, so it goes first: its listener uses the members above.
  std::unique_ptr<Registry> registry_;
};

TEST_F(RegistryWatchTest, WatchesFamilyRecordsAndReportsTheirChanges) {
  EXPECT_EQ(store_.prefix(), "fam/");
  store_.Deliver({.type = WatchEvent::Type::kPut, .key = "fam/shop", .value = "x"});
  store_.Deliver({.type = WatchEvent::Type::kDelete, .key = "fam/blog"});
  EXPECT_THAT(TakeHeard(), ElementsAre("shop", "blog"));
}

TEST_F(RegistryWatchTest, ALocalChangeMayBeReportedTwice) {
  ASSERT_TRUE(
      registry_->Deploy({.tenant = "t", .family = "shop", .manifest = ScriptManifest("a")}).ok());
  EXPECT_THAT(TakeHeard(), ElementsAre("shop"));
  // The store's watch then delivers the same commit; listeners hear it again.
  store_.Deliver({.type = WatchEvent::Type::kPut, .key = "fam/shop", .value = "x"});
  EXPECT_THAT(TakeHeard(), ElementsAre("shop"));
}

TEST_F(RegistryWatchTest, ResyncReportsStoredAndPreviouslySeenFamilies) {
  ASSERT_TRUE(
      registry_->Deploy({.tenant = "t", .family = "shop", .manifest = ScriptManifest("a")}).ok());
  ASSERT_TRUE(
      registry_->Deploy({.tenant = "t", .family = "gone", .manifest = ScriptManifest("b")}).ok());
  ASSERT_TRUE(registry_->DeleteFamily("t", "gone").ok());
  TakeHeard();
  // A family that never existed is not remembered, however often it is asked for.
  EXPECT_FALSE(registry_->GetActiveVersion("never").ok());
  store_.Deliver({.type = WatchEvent::Type::kResync});
  EXPECT_THAT(TakeHeard(), UnorderedElementsAre("shop", "gone"));
}

TEST_F(RegistryWatchTest, DestroyingTheRegistryStopsTheWatch) {
  EXPECT_FALSE(store_.watch_destroyed());
  registry_.reset();
  EXPECT_TRUE(store_.watch_destroyed());
  EXPECT_THAT(TakeHeard(), IsEmpty());
}

TEST(RegistryWithoutWatchTest, AStoreWithoutWatchIsSingleProcessAndFine) {
  std::unique_ptr<Store> store = NewInMemoryStore();
  ManualClock clock;
  testing::ScriptedEngine js{"javascript"};
  auto registry = NewRegistry(store.get(), {&js}, &clock);
  ASSERT_TRUE(registry.ok()) << registry.status();
}

}  // namespace
}  // namespace cosmo
