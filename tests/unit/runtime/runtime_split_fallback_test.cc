// A traffic split one of whose versions cannot start, through a Runtime with the real JavaScript
// engine (docs/deployments.md, "A version that cannot start"): the other side serves every
// request and says so in the version it reports, the family log and the stats, and a request
// pinned to the broken version gets a 503 naming it.
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "cosmo/clock.h"
#include "cosmo/runtime.h"
#include "cosmo/store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "unit/runtime/runtime_test_support.h"

namespace cosmo {
namespace {

using ::testing::HasSubstr;

Manifest Js(const std::string& source, std::map<std::string, uint64_t> limits = {}) {
  Manifest m;
  m.engine = "javascript";
  m.main = "index.js";
  m.files["index.js"] = source;
  m.limits = std::move(limits);
  return m;
}

constexpr char kBase[] = "export default { fetch() { return new Response('base'); } };\n";

// Throws at the top level when its isolate has less than 64 MiB for buffers. Deploy-time
// validation runs the top level under the default limits (128 MiB), so the deploy succeeds; the
// manifest's own 16 MiB applies when the version is activated, and there it cannot start.
constexpr char kCanary[] =
    "try { globalThis.startup = new ArrayBuffer(64 * 1024 * 1024); }\n"
    "catch (e) { throw new Error('the canary needs 64 MiB at startup'); }\n"
    "export default { fetch() { return new Response('canary'); } };\n";

class RuntimeSplitFallbackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    runtime_ = testing::NewRuntimeOnManualClock(&clock_);
    ASSERT_NE(runtime_, nullptr);
    auto v1 =
        runtime_->registry().Deploy({.tenant = "local", .family = "shop", .manifest = Js(kBase)});
    ASSERT_TRUE(v1.ok()) << v1.status();
    base_ = v1->version;
    auto v2 = runtime_->registry().Deploy({.tenant = "local",
                                           .family = "shop",
                                           .manifest = Js(kCanary, {{"memory_mb", 16}}),
                                           .percent = 50});
    ASSERT_TRUE(v2.ok()) << v2.status();
    canary_ = v2->version;
  }

  InvokeResult Invoke(HeaderList headers = {}) {
    return runtime_->Invoke(
        "shop", {.method = "GET", .url = "http://localhost/shop/", .headers = std::move(headers)});
  }

  ManualClock clock_;
  std::unique_ptr<Runtime> runtime_;
  std::string base_, canary_;
};

TEST_F(RuntimeSplitFallbackTest, EveryRequestIsServedByTheBase) {
  for (int i = 0; i < 200; ++i) {
    InvokeResult result = Invoke();
    ASSERT_EQ(result.outcome, Outcome::kOk) << result.error;
    EXPECT_EQ(result.response.body, "base");
    EXPECT_EQ(result.version, base_);  // what Cosmo-Version names: the version that answered
  }
  // Keyed requests too, whichever side their key falls on.
  for (int key = 0; key < 50; ++key) {
    EXPECT_EQ(Invoke({{"Cosmo-Version-Key", absl::StrCat("user-", key)}}).version, base_);
  }
  const RuntimeStats stats = runtime_->Stats();
  // About half of the 250 were routed to the canary.
  EXPECT_GT(stats.split_fallbacks, 50u);
  EXPECT_LT(stats.split_fallbacks, 200u);
  EXPECT_EQ(stats.live_instances, 1u);  // the base's; the canary has none

  // The family's log says which version could not start, why, and which serves in its place.
  LogBatch logs = runtime_->ReadLogs("shop", 0, 100);
  ASSERT_FALSE(logs.records.empty());
  EXPECT_EQ(logs.records[0].version, canary_);
  EXPECT_EQ(logs.records[0].level, LogLevel::kError);
  EXPECT_THAT(logs.records[0].text,
              HasSubstr(absl::StrCat("version ", canary_.substr(0, 12), " could not start")));
  EXPECT_THAT(logs.records[0].text, HasSubstr(absl::StrCat("served by ", base_.substr(0, 12))));
  EXPECT_THAT(logs.records[0].text, HasSubstr("the canary needs 64 MiB at startup"));
}

TEST_F(RuntimeSplitFallbackTest, ARequestPinnedToTheBrokenVersionIsRefusedNamingIt) {
  InvokeResult pinned = Invoke({{"Cosmo-Version-Override", canary_.substr(0, 10)}});
  EXPECT_EQ(pinned.outcome, Outcome::kLoadShed);  // 503
  EXPECT_EQ(pinned.version, canary_);
  EXPECT_THAT(pinned.error, HasSubstr(absl::StrCat("version ", canary_.substr(0, 12))));
  EXPECT_THAT(pinned.error, HasSubstr("could not start"));
  EXPECT_THAT(pinned.error, HasSubstr("the canary needs 64 MiB at startup"));
  // Pinning the base works as ever.
  InvokeResult base = Invoke({{"Cosmo-Version-Override", base_.substr(0, 8)}});
  EXPECT_EQ(base.outcome, Outcome::kOk);
  EXPECT_EQ(base.response.body, "base");
  // The refusal counts as the canary's, so its usage shows it.
  auto usage = runtime_->Usage("shop");
  ASSERT_TRUE(usage.ok()) << usage.status();
  EXPECT_EQ(usage->versions[canary_].errors(), 1u);
  EXPECT_EQ(usage->versions[base_].invocations, 1u);
  EXPECT_EQ(runtime_->Stats().split_fallbacks, 0u);
}

TEST_F(RuntimeSplitFallbackTest, TheBrokenVersionIsTriedAgainAfterABackoff) {
  ASSERT_EQ(Invoke().outcome, Outcome::kOk);
  const uint64_t failures = runtime_->Stats().activation_failures;
  EXPECT_EQ(failures, 1u);
  // Within the backoff nothing is tried again.
  for (int i = 0; i < 20; ++i) ASSERT_EQ(Invoke().outcome, Outcome::kOk);
  EXPECT_EQ(runtime_->Stats().activation_failures, failures);
  // After it, the next request tries again (and still gets the base).
  clock_.Advance(absl::Seconds(1));
  InvokeResult result = Invoke();
  EXPECT_EQ(result.outcome, Outcome::kOk);
  EXPECT_EQ(result.version, base_);
  EXPECT_EQ(runtime_->Stats().activation_failures, failures + 1);
  EXPECT_THAT(runtime_->ReadLogs("shop", 0, 100).records.back().text,
              HasSubstr("next try in 500ms"));  // the backoff doubled
}

TEST_F(RuntimeSplitFallbackTest, RollbackEndsTheFallback) {
  ASSERT_EQ(Invoke().outcome, Outcome::kOk);
  ASSERT_TRUE(runtime_->registry().Rollback("local", "shop", std::nullopt).ok());
  const uint64_t fallbacks = runtime_->Stats().split_fallbacks;
  for (int i = 0; i < 50; ++i) EXPECT_EQ(Invoke().version, base_);
  EXPECT_EQ(runtime_->Stats().split_fallbacks, fallbacks);
}

// The broken version may be the base (a split whose base this server cannot start): the canary
// then serves everything.
TEST_F(RuntimeSplitFallbackTest, ABrokenBaseIsServedByTheCanary) {
  auto swapped = runtime_->registry().Split({.tenant = "local",
                                             .family = "shop",
                                             .first = {canary_, 30},
                                             .second = {base_, 70},
                                             .second_is_canary = true});
  ASSERT_TRUE(swapped.ok()) << swapped.status();
  for (int i = 0; i < 100; ++i) {
    InvokeResult result = Invoke();
    ASSERT_EQ(result.outcome, Outcome::kOk) << result.error;
    EXPECT_EQ(result.version, base_);
  }
  EXPECT_GT(runtime_->Stats().split_fallbacks, 0u);
}

// Only when neither side can start does the family fail.
TEST_F(RuntimeSplitFallbackTest, PromotingTheBrokenCanaryFailsTheFamily) {
  ASSERT_TRUE(runtime_->registry().Promote("local", "shop").ok());
  InvokeResult result = Invoke();
  EXPECT_NE(result.outcome, Outcome::kOk);
  EXPECT_THAT(result.error, HasSubstr("the canary needs 64 MiB at startup"));
}

}  // namespace
}  // namespace cosmo
