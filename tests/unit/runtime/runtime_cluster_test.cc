// Two Runtimes over two EtcdStore clients of one real etcd member, as two cosmo-servers of a
// cluster are: a deploy or delete through one reaches the other's registry listeners and its
// activations within a second, through the registry's watch of `fam/`.
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "support/etcd_cluster.h"
#include "unit/runtime/runtime_test_support.h"

namespace cosmo {
namespace {

using ::cosmo::testing::Get;
using ::cosmo::testing::ScriptedRuntime;

class RuntimeClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cluster = testing::EtcdCluster::Start(1);
    if (absl::IsNotFound(cluster.status())) GTEST_SKIP() << cluster.status().message();
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = *std::move(cluster);
    a_ = ScriptedRuntime::Create(Options(), Open());
    b_ = ScriptedRuntime::Create(Options(), Open());
    ASSERT_NE(a_.runtime, nullptr);
    ASSERT_NE(b_.runtime, nullptr);
  }

  static RuntimeOptions Options() {
    RuntimeOptions options;
    options.background_maintenance = false;
    return options;
  }

  std::unique_ptr<Store> Open() {
    const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
    auto store = OpenEtcdStore(
        {.endpoints = cluster_->ClientEndpoints(), .key_prefix = absl::StrCat(info->name(), "/")});
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *std::move(store) : nullptr;
  }

  // Polls `b_` until /family/ answers `body`; returns how long that took, or InfiniteDuration.
  absl::Duration WaitForBody(const std::string& family, const std::string& body) {
    const absl::Time start = absl::Now();
    while (absl::Now() - start < absl::Seconds(5)) {
      InvokeResult r = b_.runtime->Invoke(family, Get(family));
      if (r.outcome == Outcome::kOk && r.response.body == body) return absl::Now() - start;
      absl::SleepFor(absl::Milliseconds(5));
    }
    return absl::InfiniteDuration();
  }

  std::unique_ptr<testing::EtcdCluster> cluster_;
  ScriptedRuntime a_;
  ScriptedRuntime b_;
};

TEST_F(RuntimeClusterTest, ADeployThroughOneRuntimeReachesTheOtherWithinASecond) {
  // Shared with the listener, which outlives this function (it lives as long as B's registry).
  struct Heard {
    absl::Mutex mu;
    std::vector<std::string> families ABSL_GUARDED_BY(mu);
  };
  auto heard = std::make_shared<Heard>();
  b_.runtime->registry().AddChangeListener([heard](absl::string_view family) {
    absl::MutexLock lock(&heard->mu);
    heard->families.emplace_back(family);
  });

  a_.Deploy("shop", "v1");
  EXPECT_LT(WaitForBody("shop", "v1"), absl::Seconds(1));
  // B's activation of shop is now warm; only a notification makes it look again.
  for (const char* version : {"v2", "v3"}) {
    a_.Deploy("shop", version);
    EXPECT_LT(WaitForBody("shop", version), absl::Seconds(1)) << version;
  }
  {
    absl::MutexLock lock(&heard->mu);
    EXPECT_GE(heard->families.size(), 3u);
    for (const std::string& family : heard->families) EXPECT_EQ(family, "shop");
  }

  // A rollback and a delete through A reach B's warm activation too.
  ASSERT_TRUE(a_.runtime->registry().Rollback("local", "shop", std::nullopt).ok());
  EXPECT_LT(WaitForBody("shop", "v2"), absl::Seconds(1));
  ASSERT_TRUE(a_.runtime->registry().DeleteFamily("local", "shop").ok());
  const absl::Time deleted = absl::Now();
  Outcome outcome = Outcome::kOk;
  while (absl::Now() - deleted < absl::Seconds(5)) {
    outcome = b_.runtime->Invoke("shop", Get("shop")).outcome;
    if (outcome == Outcome::kNotFound) break;
    absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_EQ(outcome, Outcome::kNotFound);
  EXPECT_LT(absl::Now() - deleted, absl::Seconds(1));
}

TEST_F(RuntimeClusterTest, UsageHistoryOfBothRuntimesSumsPerMinuteToTheRequestsSent) {
  a_.Deploy("metered", "v1");
  ASSERT_LT(WaitForBody("metered", "v1"), absl::Seconds(5));  // one request on b
  for (int i = 0; i < 7; ++i) a_.runtime->Invoke("metered", Get("metered"));
  for (int i = 0; i < 4; ++i) b_.runtime->Invoke("metered", Get("metered"));
  ASSERT_TRUE(a_.runtime->FlushUsage().ok());
  ASSERT_TRUE(b_.runtime->FlushUsage().ok());
  // Both wrote into the same records: either runtime reads the whole cluster's history.
  for (Runtime* reader : {a_.runtime.get(), b_.runtime.get()}) {
    auto points = reader->UsageHistory("metered", {.since = absl::Now() - absl::Hours(1)});
    ASSERT_TRUE(points.ok()) << points.status();
    uint64_t sum = 0;
    for (const UsagePoint& p : *points) sum += p.totals.invocations;
    // WaitForBody's requests on b (at least one) count too: compare with the totals.
    auto totals = reader->Usage("metered");
    ASSERT_TRUE(totals.ok()) << totals.status();
    EXPECT_EQ(sum, totals->total.invocations);
    EXPECT_GE(sum, 12u);
  }
}

}  // namespace
}  // namespace cosmo
