// A Runtime over a three-member etcd cluster that loses its quorum (docs/cluster.md, "What happens
// on each failure"): the data plane keeps serving the families it has activated, a deploy fails
// with UNAVAILABLE within the store's operation timeout and changes nothing, usage measured
// meanwhile is kept, and once a majority is back the deploy goes through and the usage is counted
// exactly once.
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "support/etcd_cluster.h"
#include "unit/runtime/runtime_test_support.h"

namespace cosmo {
namespace {

using ::cosmo::testing::Get;
using ::cosmo::testing::ScriptedRuntime;
using ::cosmo::testing::ScriptManifest;
using ::testing::HasSubstr;

// Short enough for a test, long enough for an election (about 2 s on etcd 3.4).
constexpr absl::Duration kOperationTimeout = absl::Seconds(4);

class RuntimeQuorumTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cluster = testing::EtcdCluster::Start(3);
    if (absl::IsNotFound(cluster.status())) GTEST_SKIP() << cluster.status().message();
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = *std::move(cluster);
    auto store = OpenEtcdStore({.endpoints = cluster_->ClientEndpoints(),
                                .key_prefix = "quorum/",
                                .request_timeout = absl::Seconds(1),
                                .operation_timeout = kOperationTimeout});
    ASSERT_TRUE(store.ok()) << store.status();
    RuntimeOptions options;
    options.background_maintenance = false;
    rt_ = ScriptedRuntime::Create(options, *std::move(store));
    ASSERT_NE(rt_.runtime, nullptr);
  }

  // Invokes `family` `n` times and returns how many answered `body`.
  int Serve(const std::string& family, const std::string& body, int n) {
    int answered = 0;
    for (int i = 0; i < n; ++i) {
      InvokeResult r = rt_.runtime->Invoke(family, Get(family));
      if (r.outcome == Outcome::kOk && r.response.body == body) ++answered;
    }
    return answered;
  }

  std::unique_ptr<testing::EtcdCluster> cluster_;
  ScriptedRuntime rt_;
};

TEST_F(RuntimeQuorumTest, WithoutAMajorityServesWhatIsActiveAndRefusesDeploysUntilItIsBack) {
  const std::string v1 = rt_.Deploy("shop", "respond 200 v1");
  ASSERT_EQ(Serve("shop", "v1", 10), 10);
  ASSERT_TRUE(rt_.runtime->FlushUsage().ok());

  auto leader = cluster_->WaitForLeader(absl::Seconds(10));
  ASSERT_TRUE(leader.ok()) << leader.status();
  // Two of three members gone, the leader among them: no majority, no leader, no writes.
  cluster_->Kill(*leader);
  cluster_->Kill((*leader + 1) % 3);

  EXPECT_EQ(Serve("shop", "v1", 100), 100) << "the data plane must not need etcd for a warm family";
  // Should the family look its version up meanwhile (the registry's watch may replay its own
  // deploy on another member), the lookup waits out the store's operation timeout; requests
  // arriving meanwhile are served, not queued behind it (deterministically: runtime_test's
  // RuntimeOutageTest).
  std::atomic<int> served{0};
  std::atomic<int> slow{0};
  {
    std::vector<std::thread> clients;
    const absl::Time until = absl::Now() + absl::Seconds(5);
    for (int t = 0; t < 4; ++t) {
      clients.emplace_back([&] {
        while (absl::Now() < until) {
          const absl::Time start = absl::Now();
          InvokeResult r = rt_.runtime->Invoke("shop", Get("shop"));
          if (absl::Now() - start > absl::Seconds(1)) ++slow;
          if (r.outcome == Outcome::kOk && r.response.body == "v1") ++served;
          absl::SleepFor(absl::Milliseconds(5));
        }
      });
    }
    for (std::thread& client : clients) client.join();
  }
  EXPECT_GT(served.load(), 400);  // about 4 threads * 5 s / 5 ms, less the lookups' waits
  EXPECT_LE(slow.load(), 3) << "requests queued behind a version lookup stuck on the store";

  const absl::Time start = absl::Now();
  auto refused = rt_.runtime->registry().Deploy(
      {.tenant = "local", .family = "shop", .manifest = ScriptManifest("respond 200 v2")});
  const absl::Duration took = absl::Now() - start;
  ASSERT_FALSE(refused.ok()) << "a deploy without an etcd majority was acknowledged";
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable) << refused.status();
  EXPECT_THAT(refused.status().message(), HasSubstr("etcd"));
  EXPECT_LT(took, kOperationTimeout + absl::Seconds(3));
  // Usage measured meanwhile cannot be flushed; it waits in memory.
  EXPECT_FALSE(rt_.runtime->FlushUsage().ok());
  EXPECT_EQ(Serve("shop", "v1", 10), 10);

  for (int i = 0; i < 3; ++i) {
    if (cluster_->Running(i)) continue;
    absl::Status restarted = cluster_->Restart(i);
    ASSERT_TRUE(restarted.ok()) << restarted;
  }
  ASSERT_TRUE(cluster_->WaitForLeader(absl::Seconds(10)).ok());

  // The refused deploy left nothing behind: history has v1 alone until v2 is deployed again.
  auto history = rt_.runtime->registry().History("local", "shop", {});
  ASSERT_TRUE(history.ok()) << history.status();
  ASSERT_EQ(history->items.size(), 1u);
  EXPECT_EQ(history->items[0].version, v1);
  const std::string v2 = rt_.Deploy("shop", "respond 200 v2");
  ASSERT_FALSE(v2.empty());
  EXPECT_EQ(Serve("shop", "v2", 5), 5);

  // Every invocation counted once: 10 before, 100 + the clients' + 10 during the outage, 5 after.
  ASSERT_TRUE(rt_.runtime->FlushUsage().ok());
  auto usage = rt_.runtime->Usage("shop");
  ASSERT_TRUE(usage.ok()) << usage.status();
  EXPECT_EQ(usage->versions[v1].invocations, 120u + served.load());
  EXPECT_EQ(usage->versions[v2].invocations, 5u);
}

}  // namespace
}  // namespace cosmo
