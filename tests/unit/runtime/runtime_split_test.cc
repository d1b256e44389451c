// Traffic splits through a Runtime: both versions serve, keys stick, overrides pin, percentages
// change without touching instances, promote and rollback end the split (docs/deployments.md).
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cosmo/runtime.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "unit/runtime/runtime_test_support.h"

namespace cosmo {
namespace {

using testing::Get;
using ::testing::HasSubstr;
using testing::ScriptedRuntime;

class RuntimeSplitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RuntimeOptions options;
    options.clock = &clock_;
    options.background_maintenance = false;
    rt_ = ScriptedRuntime::Create(options, NewInMemoryStore());
    v1_ = rt_.Deploy("shop", "respond 200 one");
    auto v2 =
        rt_.runtime->registry().Deploy({.tenant = "local",
                                        .family = "shop",
                                        .manifest = testing::ScriptManifest("respond 200 two"),
                                        .percent = 10});
    ASSERT_TRUE(v2.ok()) << v2.status();
    v2_ = v2->version;
  }

  InvokeResult Invoke(HeaderList headers = {}) {
    HttpRequest request = Get("shop");
    request.headers = std::move(headers);
    return rt_.runtime->Invoke("shop", request);
  }

  void SetSplit(uint32_t canary_percent) {
    auto entry = rt_.runtime->registry().Split({.tenant = "local",
                                                .family = "shop",
                                                .first = {v1_, 100 - canary_percent},
                                                .second = {v2_, canary_percent}});
    ASSERT_TRUE(entry.ok()) << entry.status();
  }

  ManualClock clock_;
  ScriptedRuntime rt_;
  std::string v1_, v2_;
};

TEST_F(RuntimeSplitTest, BothVersionsServeAndNameThemselves) {
  int two = 0;
  for (int i = 0; i < 2000; ++i) {
    InvokeResult result = Invoke();
    ASSERT_EQ(result.outcome, Outcome::kOk);
    const bool canary = result.response.body == "two";
    EXPECT_EQ(result.version, canary ? v2_ : v1_);
    two += canary;
  }
  EXPECT_GT(two, 100);
  EXPECT_LT(two, 320);
}

TEST_F(RuntimeSplitTest, AKeyAlwaysGetsTheSameVersion) {
  std::set<std::string> seen;
  for (int key = 0; key < 50; ++key) {
    const HeaderList headers = {{"cosmo-version-key", absl::StrCat("user-", key)}};
    const std::string first = Invoke(headers).version;
    for (int i = 0; i < 20; ++i) ASSERT_EQ(Invoke(headers).version, first);
    seen.insert(first);
  }
  EXPECT_EQ(seen.size(), 2u);
}

TEST_F(RuntimeSplitTest, OverridePinsEitherVersionAndRefusesOthers) {
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(Invoke({{"Cosmo-Version-Override", v2_.substr(0, 8)}}).response.body, "two");
    EXPECT_EQ(Invoke({{"Cosmo-Version-Override", v1_.substr(0, 12)}}).response.body, "one");
  }
  InvokeResult refused = Invoke({{"Cosmo-Version-Override", "0123456789"}});
  EXPECT_EQ(refused.outcome, Outcome::kBadRequest);
  EXPECT_THAT(refused.error, HasSubstr("no serving version starts with '0123456789'"));
  EXPECT_EQ(refused.version, "");
}

TEST_F(RuntimeSplitTest, ChangingPercentagesKeepsTheWarmInstances) {
  Invoke();
  const RuntimeStats before = rt_.runtime->Stats();
  EXPECT_EQ(before.live_instances, 2u);  // one warm instance per side
  SetSplit(50);
  SetSplit(0);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(Invoke().response.body, "one");
  SetSplit(100);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(Invoke().response.body, "two");
  const RuntimeStats after = rt_.runtime->Stats();
  EXPECT_EQ(after.instances_created, before.instances_created);
  EXPECT_EQ(after.version_switches, before.version_switches);
}

TEST_F(RuntimeSplitTest, PromoteLeavesTheCanaryAlone) {
  ASSERT_TRUE(rt_.runtime->registry().Promote("local", "shop").ok());
  for (int i = 0; i < 100; ++i) EXPECT_EQ(Invoke().version, v2_);
  EXPECT_EQ(rt_.runtime->Stats().live_instances, 1u);
}

TEST_F(RuntimeSplitTest, RollbackLeavesTheBaseAlone) {
  ASSERT_TRUE(rt_.runtime->registry().Rollback("local", "shop", std::nullopt).ok());
  for (int i = 0; i < 100; ++i) EXPECT_EQ(Invoke().version, v1_);
  EXPECT_EQ(rt_.runtime->Stats().live_instances, 1u);
}

TEST_F(RuntimeSplitTest, UsageIsKeptPerVersion) {
  for (int i = 0; i < 40; ++i) Invoke({{"Cosmo-Version-Override", v2_.substr(0, 8)}});
  for (int i = 0; i < 60; ++i) Invoke({{"Cosmo-Version-Override", v1_.substr(0, 8)}});
  auto usage = rt_.runtime->Usage("shop");
  ASSERT_TRUE(usage.ok()) << usage.status();
  EXPECT_EQ(usage->versions[v2_].invocations, 40u);
  EXPECT_EQ(usage->versions[v1_].invocations, 60u);
}

// The two sides of a split together run no more requests at once than one version may: with
// room for one and no waiting, of two overlapping requests (one per side) one is shed.
TEST(RuntimeSplitGateTest, BothSidesTogetherRunAsManyAsOneVersion) {
  ManualClock clock;
  RuntimeOptions options;
  options.clock = &clock;
  options.background_maintenance = false;
  options.max_instances_per_version = 1;
  options.max_queue_wait = absl::ZeroDuration();
  ScriptedRuntime rt = ScriptedRuntime::Create(options, NewInMemoryStore());
  const std::string v1 = rt.Deploy("slow", "sleep 1500");
  auto v2 = rt.runtime->registry().Deploy({.tenant = "local",
                                           .family = "slow",
                                           .manifest = testing::ScriptManifest("sleep 01500"),
                                           .percent = 50});
  ASSERT_TRUE(v2.ok()) << v2.status();
  // Each side has its warm instance from the activation; the pools would let both run.
  Outcome outcomes[2];
  std::vector<std::thread> threads;
  for (int i = 0; i < 2; ++i) {
    threads.emplace_back([&, i] {
      HttpRequest request = Get("slow");
      request.headers = {{"Cosmo-Version-Override", (i == 0 ? v1 : v2->version).substr(0, 8)}};
      outcomes[i] = rt.runtime->Invoke("slow", request).outcome;
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ((outcomes[0] == Outcome::kOk) + (outcomes[1] == Outcome::kOk), 1);
  EXPECT_EQ((outcomes[0] == Outcome::kLoadShed) + (outcomes[1] == Outcome::kLoadShed), 1);
}

}  // namespace
}  // namespace cosmo
