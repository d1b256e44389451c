// Storage faults under the registry and runtime on LevelDB (docs/security.md, "Storage"): failed
// syncs and appends, power loss that drops unsynced data, and a torn log tail. What must hold:
// every acknowledged deploy survives, a failed deploy is UNAVAILABLE and safe to retry, the data
// plane keeps serving, and the store is never torn.
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cosmo/registry.h"
#include "cosmo/runtime.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "store/leveldb/leveldb_store.h"
#include "support/fault_env.h"
#include "support/scripted_engine.h"
#include "support/temp_dir.h"

namespace cosmo {
namespace {

using ::testing::HasSubstr;

using ::cosmo::testing::ScriptManifest;

class LevelDbFaultTest : public ::testing::Test {
 protected:
  std::unique_ptr<Store> Open() {
    auto store = OpenLevelDbStoreWithEnv({.path = dir_.Sub("db")}, &env_);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? std::move(store).value() : nullptr;
  }

  std::unique_ptr<Registry> RegistryOn(Store* store) {
    return std::move(NewRegistry(store, {&engine_}, Clock::Real())).value();
  }

  absl::StatusOr<DeployResult> Deploy(Registry& registry, const std::string& source) {
    return registry.Deploy(
        {.tenant = "acme", .family = "shop", .manifest = ScriptManifest(source)});
  }

  std::vector<std::string> History(Registry& registry) {
    auto page = registry.History("acme", "shop", {.page_size = 1000});
    EXPECT_TRUE(page.ok()) << page.status();
    std::vector<std::string> versions;
    if (page.ok()) {
      for (const HistoryEntry& e : page->items) versions.push_back(e.version);
    }
    return versions;
  }

  testing::TempDir dir_;
  testing::FaultEnv env_;
  testing::ScriptedEngine engine_;
};

TEST_F(LevelDbFaultTest, EveryAcknowledgedDeploySurvivesLosingUnsyncedData) {
  std::vector<std::string> acknowledged;
  {
    std::unique_ptr<Store> store = Open();
    std::unique_ptr<Registry> registry = RegistryOn(store.get());
    for (int i = 0; i < 20; ++i) {
      auto result = Deploy(*registry, absl::StrCat("v", i));
      ASSERT_TRUE(result.ok()) << result.status();
      acknowledged.push_back(result->version);
      // Unacknowledged, buffered writes interleaved with the deploys (like usage flushes).
      ASSERT_TRUE(store->Put(absl::StrCat("usage/x/", i), "n", Durability::kBuffered).ok());
    }
    ASSERT_TRUE(store->Put("usage/x/last", "unsynced", Durability::kBuffered).ok());
    EXPECT_GT(env_.UnsyncedBytes(), 0u) << "the test must actually leave unsynced data";
  }
  env_.DropUnsyncedData();

  std::unique_ptr<Store> store = Open();
  std::unique_ptr<Registry> registry = RegistryOn(store.get());
  std::vector<std::string> history = History(*registry);
  ASSERT_EQ(history.size(), acknowledged.size());
  for (size_t i = 0; i < acknowledged.size(); ++i) {
    EXPECT_EQ(history[i], acknowledged[acknowledged.size() - 1 - i]);
    auto manifest = registry->LoadManifest(acknowledged[i]);
    EXPECT_TRUE(manifest.ok()) << manifest.status();
  }
  EXPECT_EQ(registry->GetActiveVersion("shop")->version, acknowledged.back());
}

TEST_F(LevelDbFaultTest, FailedSyncIsUnavailableStickyAndTheRetryIsIdempotent) {
  std::string v1;
  std::string v2;
  {
    std::unique_ptr<Store> store = Open();
    std::unique_ptr<Registry> registry = RegistryOn(store.get());
    v1 = Deploy(*registry, "v1")->version;

    env_.set_fail_sync(true);
    absl::Status failed = Deploy(*registry, "v2").status();
    EXPECT_EQ(failed.code(), absl::StatusCode::kUnavailable) << failed;
    EXPECT_THAT(failed.message(), HasSubstr("until the server restarts"));
    env_.set_fail_sync(false);
    // LevelDB refuses every later write until reopened: fail fast, with the same clear message.
    EXPECT_EQ(Deploy(*registry, "v3").status().code(), absl::StatusCode::kUnavailable);
    // Reads still work: the active version is old-or-new, never torn.
    auto active = registry->GetActiveVersion("shop");
    ASSERT_TRUE(active.ok()) << active.status();
    v2 = *ComputeVersion(ScriptManifest("v2"));
    EXPECT_TRUE(active->version == v1 || active->version == v2);
  }
  std::unique_ptr<Store> store = Open();
  std::unique_ptr<Registry> registry = RegistryOn(store.get());
  const std::string head = registry->GetActiveVersion("shop")->version;
  EXPECT_TRUE(head == v1 || head == v2) << head;
  auto retried = Deploy(*registry, "v2");
  ASSERT_TRUE(retried.ok()) << retried.status();
  EXPECT_EQ(retried->version, v2);
  EXPECT_EQ(retried->created, head == v1) << "a retry of an applied deploy must change nothing";
  EXPECT_EQ(registry->GetActiveVersion("shop")->version, v2);
  EXPECT_TRUE(registry->LoadManifest(v2).ok());
}

TEST_F(LevelDbFaultTest, FailedAppendFailsTheDeployAndLosesNothingAcknowledged) {
  std::unique_ptr<Store> store = Open();
  std::unique_ptr<Registry> registry = RegistryOn(store.get());
  const std::string v1 = Deploy(*registry, "v1")->version;
  env_.set_fail_append(true);
  EXPECT_EQ(Deploy(*registry, "v2").status().code(), absl::StatusCode::kUnavailable);
  env_.set_fail_append(false);
  store.reset();
  registry.reset();
  store = Open();
  registry = RegistryOn(store.get());
  EXPECT_EQ(registry->GetActiveVersion("shop")->version, v1);
  EXPECT_EQ(History(*registry).size(), 1u);
}

TEST_F(LevelDbFaultTest, TornLogTailOpensWithTheLastDeployAbsentOrWhole) {
  std::vector<std::string> acknowledged;
  {
    std::unique_ptr<Store> store = Open();
    std::unique_ptr<Registry> registry = RegistryOn(store.get());
    for (int i = 0; i < 5; ++i)
      acknowledged.push_back(Deploy(*registry, absl::StrCat("v", i))->version);
  }
  std::string log;
  for (const auto& entry : std::filesystem::directory_iterator(dir_.Sub("db"))) {
    if (entry.path().extension() == ".log" && std::filesystem::file_size(entry.path()) > 0) {
      log = entry.path();
    }
  }
  ASSERT_FALSE(log.empty()) << "no write-ahead log with data";
  std::filesystem::resize_file(log, std::filesystem::file_size(log) - 7);

  std::unique_ptr<Store> store = Open();
  ASSERT_NE(store, nullptr);
  std::unique_ptr<Registry> registry = RegistryOn(store.get());
  std::vector<std::string> history = History(*registry);
  ASSERT_GE(history.size(), acknowledged.size() - 1);
  ASSERT_LE(history.size(), acknowledged.size());
  // Whatever survived is a consistent prefix: the head is the newest history entry, and loads.
  const std::string head = registry->GetActiveVersion("shop")->version;
  EXPECT_EQ(head, history.front());
  EXPECT_EQ(head, acknowledged[history.size() - 1]);
  EXPECT_TRUE(registry->LoadManifest(head).ok());
}

TEST_F(LevelDbFaultTest, DataPlaneKeepsServingWhileTheStoreRefusesWrites) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  std::vector<std::unique_ptr<Engine>> engines;
  engines.push_back(std::make_unique<testing::ScriptedEngine>());
  RuntimeOptions options;
  options.background_maintenance = false;
  auto runtime = NewRuntime(options, std::move(store), std::move(engines));
  ASSERT_TRUE(runtime.ok()) << runtime.status();
  ASSERT_TRUE(
      (*runtime)
          ->registry()
          .Deploy(
              {.tenant = "acme", .family = "shop", .manifest = ScriptManifest("respond 200 up")})
          .ok());
  const HttpRequest request{.method = "GET", .url = "http://localhost/shop/"};
  EXPECT_EQ((*runtime)->Invoke("shop", request).response.body, "up");

  env_.set_fail_sync(true);
  EXPECT_EQ(
      (*runtime)
          ->registry()
          .Deploy(
              {.tenant = "acme", .family = "shop", .manifest = ScriptManifest("respond 200 new")})
          .status()
          .code(),
      absl::StatusCode::kUnavailable);
  for (int i = 0; i < 10; ++i) {
    InvokeResult result = (*runtime)->Invoke("shop", request);
    EXPECT_EQ(result.outcome, Outcome::kOk);
    EXPECT_TRUE(result.response.body == "up" || result.response.body == "new");
  }
  // Usage cannot be flushed now; it is kept for later, not dropped.
  EXPECT_FALSE((*runtime)->FlushUsage().ok());
  auto usage = (*runtime)->Usage("shop");
  ASSERT_TRUE(usage.ok()) << usage.status();
  EXPECT_EQ(usage->total.invocations, 11u);
}

}  // namespace
}  // namespace cosmo
