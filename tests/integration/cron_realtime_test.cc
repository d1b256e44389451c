// Cron triggers on two real cosmo-server processes over one real etcd member, on real time
// (ctest label `realtime`: three and a half minutes and two minutes). For three minutes, 20
// families with `* * * * *` run each tick exactly once between the two servers. And the server
// holding the claim of a slow run is killed mid-run: the other server runs that tick again once
// the claim's lease has ended.
#include <algorithm>
#include <csignal>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cosmo/internal/store_records.pb.h"
#include "cosmo/store.h"
#include "gtest/gtest.h"
#include "integration/subprocess.h"
#include "nlohmann/json.hpp"
#include "store/store_keys.h"
#include "support/etcd_cluster.h"
#include "support/temp_dir.h"

namespace cosmo {
namespace {

using ::cosmo::testing::CommandResult;
using ::cosmo::testing::EtcdCluster;
using ::cosmo::testing::RunCosmoctl;
using ::cosmo::testing::StartCosmoServer;
using ::cosmo::testing::Subprocess;
using ::cosmo::testing::TempDir;

constexpr int kFamilies = 20;

constexpr char kJob[] = R"js(
export default {
  fetch() { return 'ok'; },
  scheduled(controller) { console.log(`tick ${controller.scheduledTime}`); },
};
)js";

// Takes 10 seconds, so a server can be killed while it runs.
constexpr char kSlowJob[] = R"js(
export default {
  fetch() { return 'ok'; },
  async scheduled(controller) {
    await new Promise((resolve) => setTimeout(resolve, 10000));
    console.log(`tick ${controller.scheduledTime}`);
  },
};
)js";

absl::Time MinuteOf(absl::Time t) {
  return absl::UnixEpoch() + absl::Floor(t - absl::UnixEpoch(), absl::Minutes(1));
}

class CronRealtimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cluster = EtcdCluster::Start(1);
    if (absl::IsNotFound(cluster.status())) GTEST_SKIP() << cluster.status().message();
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    etcd_ = *std::move(cluster);
    store_url_ = absl::StrCat("etcd://", etcd_->ClientEndpoint(0), "/crontest/");
    for (const char* id : {"a", "b"}) {
      std::string address;
      int http = 0;
      auto server =
          StartCosmoServer({absl::StrCat("--store=", store_url_), absl::StrCat("--server-id=", id)},
                           &address, &http);
      ASSERT_TRUE(server.ok()) << server.status();
      servers_[id] = *std::move(server);
      addresses_[id] = address;
    }
  }

  void Deploy(const std::string& family, const char* source,
              const std::vector<std::string>& extra = {}) {
    const std::string file = absl::StrCat(dir_.path(), "/", family, ".js");
    std::ofstream(file) << source;
    std::vector<std::string> args = {"deploy", family, file, "--cron", "* * * * *"};
    args.insert(args.end(), extra.begin(), extra.end());
    CommandResult r = RunCosmoctl(addresses_["a"], args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  // The ticks `family`'s handler logged on server `id`, in epoch ms.
  std::vector<int64_t> Ticks(const std::string& id, const std::string& family) {
    CommandResult r = RunCosmoctl(addresses_[id], {"--json", "logs", family});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::vector<int64_t> ticks;
    for (absl::string_view line : absl::StrSplit(r.out, '\n', absl::SkipEmpty())) {
      auto record = nlohmann::json::parse(line, nullptr, false);
      if (record.is_discarded() || !record.contains("text")) continue;
      const std::string text = record["text"].get<std::string>();
      int64_t ms = 0;
      if (absl::StartsWith(text, "tick ") && absl::SimpleAtoi(text.substr(5), &ms)) {
        ticks.push_back(ms);
      }
    }
    return ticks;
  }

  TempDir dir_;
  std::unique_ptr<EtcdCluster> etcd_;
  std::string store_url_;
  std::map<std::string, std::unique_ptr<Subprocess>> servers_;
  std::map<std::string, std::string> addresses_;
};

TEST_F(CronRealtimeTest, TwoServersRunEachTickOnceForThreeMinutes) {
  for (int i = 0; i < kFamilies; ++i) Deploy(absl::StrCat("job-", i), kJob);
  const absl::Time deployed = absl::Now();
  absl::SleepFor(MinuteOf(deployed) + absl::Minutes(3) + absl::Seconds(10) - absl::Now());
  // Every tick after the deploys, through the third minute: each ran once, on one server or the
  // other (each server logs only its own runs).
  std::vector<int64_t> expected;
  for (int m = 1; m <= 3; ++m) {
    expected.push_back(absl::ToUnixMillis(MinuteOf(deployed) + absl::Minutes(m)));
  }
  std::map<std::string, int> won;
  for (int i = 0; i < kFamilies; ++i) {
    const std::string family = absl::StrCat("job-", i);
    std::multiset<int64_t> ran;
    for (const char* id : {"a", "b"}) {
      for (int64_t tick : Ticks(id, family)) {
        ran.insert(tick);
        ++won[id];
      }
    }
    for (int64_t tick : ran) EXPECT_EQ(ran.count(tick), 1u) << family << " ran " << tick;
    for (int64_t tick : expected) EXPECT_EQ(ran.count(tick), 1u) << family << " missed " << tick;
  }
  EXPECT_GT(won["a"] + won["b"], 0);
}

TEST_F(CronRealtimeTest, ATickWhoseServerDiedMidRunRunsAgainOnTheOtherAfterTheLease) {
  // A slow run (10 s) with a wall limit of 12 s: its claim's lease is 12 + 30 seconds.
  Deploy("slow", kSlowJob, {"--limit", "wall_ms=12000"});
  const absl::Time slow_tick = MinuteOf(absl::Now()) + absl::Minutes(1);
  absl::SleepFor(slow_tick + absl::Seconds(5) - absl::Now());
  auto options = ParseEtcdStoreUrl(store_url_);
  ASSERT_TRUE(options.ok()) << options.status();
  auto store = OpenEtcdStore(*options);
  ASSERT_TRUE(store.ok()) << store.status();
  auto claims = (*store)->Scan(store_keys::CronFamilyPrefix("slow"), {});
  ASSERT_TRUE(claims.ok()) << claims.status();
  ASSERT_EQ(claims->size(), 1u);
  internal::CronRunRecord record;
  ASSERT_TRUE(record.ParseFromString(claims->front().value));
  ASSERT_FALSE(record.done());
  const std::string holder = record.server();
  const std::string other = holder == "a" ? "b" : "a";
  ASSERT_TRUE(servers_.count(holder)) << holder;
  servers_[holder]->Signal(SIGKILL);
  servers_[holder]->Wait();
  // The lease ends 42 s after the claim; the other server then runs the tick (10 s).
  const std::string key = claims->front().key;
  const int64_t slow_ms = absl::ToUnixMillis(slow_tick);
  const absl::Time deadline = slow_tick + absl::Seconds(42 + 10 + 60);
  std::optional<internal::CronRunRecord> rerun;
  std::vector<int64_t> slow_ticks;
  while (absl::Now() < deadline) {
    // Read before the run after it removes the finished claim.
    auto value = (*store)->Get(key);
    internal::CronRunRecord now;
    if (value.ok() && now.ParseFromString(*value) && now.done()) rerun = now;
    slow_ticks = Ticks(other, "slow");
    if (std::count(slow_ticks.begin(), slow_ticks.end(), slow_ms) > 0) break;
    absl::SleepFor(absl::Seconds(1));
  }
  EXPECT_EQ(std::count(slow_ticks.begin(), slow_ticks.end(), slow_ms), 1);
  if (rerun) {
    EXPECT_EQ(rerun->server(), other);
    EXPECT_EQ(rerun->attempt(), 2u);
    EXPECT_EQ(rerun->outcome(), "ok");
  }
}

}  // namespace
}  // namespace cosmo
