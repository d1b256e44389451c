// Traffic splits in the registry: deploy with a percentage, split, promote, rollback, and the
// history and active-version views of them (docs/deployments.md).
#include <memory>
#include <string>

#include "cosmo/registry.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "support/scripted_engine.h"

namespace cosmo {
namespace {

using ::cosmo::testing::ScriptManifest;
using ::testing::HasSubstr;
using ::testing::Optional;

class RegistrySplitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = NewInMemoryStore();
    auto registry = NewRegistry(store_.get(), {&js_}, &clock_);
    ASSERT_TRUE(registry.ok()) << registry.status();
    registry_ = std::move(registry).value();
  }

  absl::StatusOr<DeployResult> Deploy(absl::string_view source,
                                      std::optional<uint32_t> percent = std::nullopt) {
    clock_.Advance(absl::Seconds(1));
    return registry_->Deploy({.tenant = "acme",
                              .family = "shop",
                              .manifest = ScriptManifest(std::string(source)),
                              .percent = percent});
  }

  std::string MustDeploy(absl::string_view source, std::optional<uint32_t> percent = std::nullopt) {
    auto result = Deploy(source, percent);
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? result->version : "";
  }

  absl::StatusOr<HistoryEntry> Split(const std::string& a, uint32_t pa, const std::string& b,
                                     uint32_t pb) {
    return registry_->Split(
        {.tenant = "acme", .family = "shop", .first = {a, pa}, .second = {b, pb}});
  }

  std::optional<TrafficSplit> CurrentSplit() {
    auto info = registry_->GetFamily("acme", "shop");
    EXPECT_TRUE(info.ok()) << info.status();
    return info.ok() ? info->split : std::nullopt;
  }

  HistoryEntry Latest() {
    auto page = registry_->History("acme", "shop", {.page_size = 1});
    EXPECT_TRUE(page.ok() && !page->items.empty());
    return page.ok() && !page->items.empty() ? page->items.front() : HistoryEntry{};
  }

  ManualClock clock_;
  testing::ScriptedEngine js_{"javascript"};
  std::unique_ptr<Store> store_;
  std::unique_ptr<Registry> registry_;
};

TEST_F(RegistrySplitTest, DeployWithPercentMakesTheNewVersionTheCanary) {
  const std::string v1 = MustDeploy("v1");
  auto v2 = Deploy("v2", 10);
  ASSERT_TRUE(v2.ok()) << v2.status();
  EXPECT_TRUE(v2->created);
  EXPECT_EQ(v2->previous_version, v1);
  EXPECT_THAT(CurrentSplit(), Optional(TrafficSplit{v1, v2->version, 10}));

  auto active = registry_->GetActiveVersion("shop");
  ASSERT_TRUE(active.ok());
  EXPECT_EQ(active->version, v1);
  ASSERT_TRUE(active->canary.has_value());
  EXPECT_EQ(active->canary->version, v2->version);
  EXPECT_EQ(active->canary->engine, "javascript");
  EXPECT_EQ(active->canary->percent, 10u);

  HistoryEntry entry = Latest();
  EXPECT_EQ(entry.action, HistoryAction::kDeploy);
  EXPECT_EQ(entry.version, v2->version);
  EXPECT_THAT(entry.split, Optional(TrafficSplit{v1, v2->version, 10}));
}

TEST_F(RegistrySplitTest, DeployWithPercentNeedsAnEarlierVersion) {
  auto first = Deploy("v1", 10);
  EXPECT_EQ(first.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(first.status().message(), HasSubstr("without a percentage first"));
  EXPECT_EQ(Deploy("v1", 101).status().code(), absl::StatusCode::kInvalidArgument);
}

// The choice documented in docs/deployments.md: a third version is refused while split.
TEST_F(RegistrySplitTest, DeployingAThirdVersionWhileSplitIsRefused) {
  const std::string v1 = MustDeploy("v1");
  const std::string v2 = MustDeploy("v2", 10);
  auto v3 = Deploy("v3");
  EXPECT_EQ(v3.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(v3.status().message(), HasSubstr("cosmoctl promote shop"));
  EXPECT_EQ(Deploy("v3", 20).status().code(), absl::StatusCode::kFailedPrecondition);
  // Either version of the split again changes nothing.
  auto again = Deploy("v2");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_FALSE(again->created);
  EXPECT_THAT(CurrentSplit(), Optional(TrafficSplit{v1, v2, 10}));
}

TEST_F(RegistrySplitTest, SplitChangesPercentagesKeepingRolesAndIsRecorded) {
  const std::string v1 = MustDeploy("v1");
  const std::string v2 = MustDeploy("v2", 10);
  // Named in either order, by prefix: the canary stays the canary.
  auto entry = Split(v1.substr(0, 8), 50, v2.substr(0, 10), 50);
  ASSERT_TRUE(entry.ok()) << entry.status();
  EXPECT_EQ(entry->action, HistoryAction::kSplit);
  EXPECT_EQ(entry->version, v2);
  EXPECT_THAT(CurrentSplit(), Optional(TrafficSplit{v1, v2, 50}));
  ASSERT_TRUE(Split(v2, 90, v1, 10).ok());
  EXPECT_THAT(CurrentSplit(), Optional(TrafficSplit{v1, v2, 90}));
  // The same split again writes nothing.
  const uint64_t sequence = Latest().sequence;
  ASSERT_TRUE(Split(v1, 10, v2, 90).ok());
  EXPECT_EQ(Latest().sequence, sequence);
}

TEST_F(RegistrySplitTest, SplitOfAnUnsplitFamilyKeepsTheActiveVersionAsBase) {
  const std::string v1 = MustDeploy("v1");
  const std::string v2 = MustDeploy("v2");
  ASSERT_TRUE(Split(v2, 70, v1, 30).ok());
  EXPECT_THAT(CurrentSplit(), Optional(TrafficSplit{v2, v1, 30}));
  EXPECT_EQ(registry_->GetActiveVersion("shop")->version, v2);
}

TEST_F(RegistrySplitTest, SplitRejectsBadRequests) {
  const std::string v1 = MustDeploy("v1");
  const std::string v2 = MustDeploy("v2");
  EXPECT_THAT(Split(v1, 50, v2, 40).status().message(), HasSubstr("is not 100"));
  EXPECT_EQ(Split(v1, 50, v2, 40).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Split(v1, 150, v2, 4294967246u).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Split(v1, 50, v1.substr(0, 9), 50).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Split("zzzzzzzz", 50, v2, 50).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Split("00000000", 50, v2, 50).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(
      registry_->Split({.tenant = "other", .family = "shop", .first = {v1, 50}, .second = {v2, 50}})
          .status()
          .code(),
      absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(CurrentSplit(), std::nullopt);
}

TEST_F(RegistrySplitTest, PromoteEndsTheSplitOnTheCanary) {
  const std::string v1 = MustDeploy("v1");
  const std::string v2 = MustDeploy("v2", 10);
  auto entry = registry_->Promote("acme", "shop");
  ASSERT_TRUE(entry.ok()) << entry.status();
  EXPECT_EQ(entry->action, HistoryAction::kPromote);
  EXPECT_EQ(entry->version, v2);
  EXPECT_EQ(entry->previous_version, v1);
  EXPECT_EQ(entry->split, std::nullopt);
  EXPECT_EQ(CurrentSplit(), std::nullopt);
  auto active = registry_->GetActiveVersion("shop");
  EXPECT_EQ(active->version, v2);
  EXPECT_FALSE(active->canary.has_value());
  EXPECT_EQ(registry_->Promote("acme", "shop").status().code(),
            absl::StatusCode::kFailedPrecondition);
  // Deploys work again, and rollback returns to the old base.
  auto back = registry_->Rollback("acme", "shop", std::nullopt);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->version, v1);
}

TEST_F(RegistrySplitTest, RollbackEndsTheSplitOnTheBase) {
  const std::string v1 = MustDeploy("v1");
  const std::string v2 = MustDeploy("v2", 10);
  auto entry = registry_->Rollback("acme", "shop", std::nullopt);
  ASSERT_TRUE(entry.ok()) << entry.status();
  EXPECT_EQ(entry->action, HistoryAction::kRollback);
  EXPECT_EQ(entry->version, v1);
  EXPECT_EQ(entry->split, std::nullopt);
  EXPECT_EQ(CurrentSplit(), std::nullopt);
  EXPECT_EQ(registry_->GetActiveVersion("shop")->version, v1);
  // Rolling back a split to its canary by name ends it too.
  ASSERT_TRUE(Split(v1, 20, v2, 80).ok());
  ASSERT_TRUE(registry_->Rollback("acme", "shop", v2.substr(0, 8)).ok());
  EXPECT_EQ(CurrentSplit(), std::nullopt);
  EXPECT_EQ(registry_->GetActiveVersion("shop")->version, v2);
}

TEST_F(RegistrySplitTest, AReplicaNamesTheCanaryExplicitly) {
  const std::string v1 = MustDeploy("v1");
  const std::string v2 = MustDeploy("v2");
  ASSERT_TRUE(registry_
                  ->Split({.tenant = "acme",
                           .family = "shop",
                           .first = {v2, 60},
                           .second = {v1, 40},
                           .second_is_canary = true})
                  .ok());
  EXPECT_THAT(CurrentSplit(), Optional(TrafficSplit{v2, v1, 40}));
}

}  // namespace
}  // namespace cosmo
