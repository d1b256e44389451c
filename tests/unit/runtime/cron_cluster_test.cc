// Cron triggers on two Runtimes over one real etcd member, as two cosmo-servers of a cluster,
// their time driven by one ManualClock: each tick runs exactly once between them, a claim whose
// server died runs again once its lease ends, and a run that called noRetry() does not.
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "cosmo/clock.h"
#include "cosmo/internal/store_records.pb.h"
#include "cosmo/manifest.h"
#include "cosmo/runtime.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "store/store_keys.h"
#include "support/etcd_cluster.h"

namespace cosmo {
namespace {

constexpr char kModule[] = R"js(
export default {
  fetch() { return 'ok'; },
  scheduled(controller, env) {
    if (env.NO_RETRY) controller.noRetry();
    console.log(`tick ${controller.scheduledTime}`);
  },
};
)js";

// Monday 2026-06-01 00:00:07 UTC.
absl::Time Start() { return absl::FromUnixSeconds(1780272007); }

class CronClusterTest : public ::testing::Test {
 protected:
  CronClusterTest() : clock_(Start()) {}

  void SetUp() override {
    auto cluster = testing::EtcdCluster::Start(1);
    if (absl::IsNotFound(cluster.status())) GTEST_SKIP() << cluster.status().message();
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = *std::move(cluster);
  }

  std::unique_ptr<Store> Open() {
    const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
    auto store = OpenEtcdStore(
        {.endpoints = cluster_->ClientEndpoints(), .key_prefix = absl::StrCat(info->name(), "/")});
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *std::move(store) : nullptr;
  }

  std::unique_ptr<Runtime> NewServer(const std::string& id) {
    RuntimeOptions options;
    options.clock = &clock_;
    options.background_maintenance = false;
    options.idle_timeout = absl::ZeroDuration();
    options.server_id = id;
    options.cron_lease_margin = absl::Minutes(1);
    auto runtime = NewRuntime(options, Open());
    EXPECT_TRUE(runtime.ok()) << runtime.status();
    return runtime.ok() ? *std::move(runtime) : nullptr;
  }

  static void Deploy(Runtime& runtime, const std::string& family, bool no_retry = false) {
    Manifest m;
    m.engine = "javascript";
    m.main = "index.js";
    m.files["index.js"] = kModule;
    m.crons = {"* * * * *"};
    if (no_retry) m.env["NO_RETRY"] = "1";
    auto deployed = runtime.registry().Deploy({.tenant = "local", .family = family, .manifest = m});
    ASSERT_TRUE(deployed.ok()) << deployed.status();
  }

  // Ticks the family's handler logged on `runtime`.
  static std::vector<std::string> Ticks(Runtime& runtime, const std::string& family) {
    std::vector<std::string> ticks;
    for (const LogRecord& record : runtime.ReadLogs(family, 0, 10000).records) {
      if (!record.is_outcome) ticks.push_back(record.text);
    }
    return ticks;
  }

  void Minute(const std::vector<Runtime*>& servers) {
    clock_.Advance(absl::Minutes(1));
    for (Runtime* server : servers) server->Maintain();
    for (Runtime* server : servers) server->WaitForScheduledRuns();
  }

  ManualClock clock_;
  std::unique_ptr<testing::EtcdCluster> cluster_;
};

TEST_F(CronClusterTest, EachTickRunsExactlyOnceAcrossTwoServers) {
  std::unique_ptr<Runtime> a = NewServer("a");
  for (int i = 0; i < 5; ++i) Deploy(*a, absl::StrCat("job-", i));
  std::unique_ptr<Runtime> b = NewServer("b");
  for (int minute = 0; minute < 30; ++minute) {
    // Which server polls first changes, so both win ticks.
    if (minute % 2 == 0) {
      Minute({a.get(), b.get()});
    } else {
      Minute({b.get(), a.get()});
    }
  }
  for (int i = 0; i < 5; ++i) {
    const std::string family = absl::StrCat("job-", i);
    std::vector<std::string> all = Ticks(*a, family);
    const std::vector<std::string> on_b = Ticks(*b, family);
    EXPECT_FALSE(Ticks(*a, family).empty()) << family;
    EXPECT_FALSE(on_b.empty()) << family;
    all.insert(all.end(), on_b.begin(), on_b.end());
    std::sort(all.begin(), all.end());
    std::vector<std::string> expected;
    for (int minute = 1; minute <= 30; ++minute) {
      expected.push_back(absl::StrCat(
          "tick ", absl::ToUnixMillis(absl::FromUnixSeconds(1780272000) + absl::Minutes(minute))));
    }
    EXPECT_EQ(all, expected) << family;
  }
}

TEST_F(CronClusterTest, AServerThatDiesMidRunIsReplacedAfterTheLeaseUnlessItSaidNoRetry) {
  std::unique_ptr<Runtime> b = NewServer("b");
  Deploy(*b, "jobs");
  Deploy(*b, "careful", /*no_retry=*/true);
  // Server "a" claimed 00:01 of both and died mid-run; in "careful" its run had called noRetry().
  std::unique_ptr<Store> store = Open();
  const absl::Time tick = absl::FromUnixSeconds(1780272000) + absl::Minutes(1);
  for (const char* family : {"jobs", "careful"}) {
    internal::CronRunRecord record;
    record.set_server("a");
    record.set_lease_until_unix_micros(absl::ToUnixMicros(tick + absl::Minutes(3)));
    record.set_attempt(1);
    record.set_cron("* * * * *");
    record.set_no_retry(std::string(family) == "careful");
    ASSERT_TRUE(store
                    ->Put(store_keys::CronRun(family, Sha256Hex("* * * * *").substr(0, 16),
                                              absl::ToUnixMicros(tick)),
                          record.SerializeAsString())
                    .ok());
  }
  Minute({b.get()});  // 00:01:07: b loses both claims
  Minute({b.get()});  // 00:02:07
  const std::string first = absl::StrCat("tick ", absl::ToUnixMillis(tick));
  const std::string second = absl::StrCat("tick ", absl::ToUnixMillis(tick + absl::Minutes(1)));
  EXPECT_EQ(Ticks(*b, "jobs"), std::vector<std::string>{second});
  Minute({b.get()});  // 00:03:07
  Minute({b.get()});  // 00:04:07: the lease ended at 00:04:00
  const std::vector<std::string> jobs = Ticks(*b, "jobs");
  EXPECT_THAT(jobs, ::testing::Contains(first));
  EXPECT_EQ(std::count(jobs.begin(), jobs.end(), first), 1);
  const std::vector<std::string> careful = Ticks(*b, "careful");
  EXPECT_EQ(std::count(careful.begin(), careful.end(), first), 0);
  EXPECT_EQ(careful.size(), 3u);  // 00:02, 00:03, 00:04
}

}  // namespace
}  // namespace cosmo
