// Cluster mode end to end (docs/cluster.md): 3 real etcd members, 2 cosmo-servers on them, 2
// cosmo-gateways in front, all on loopback. A deploy through server A reaches both gateways and
// server B's warm activation within a second (gateway 2 follows server B, so it hears of A's
// deploy only through B's etcd watch). Then, under steady HTTP load through the gateways and a
// stream of deploys through both servers, the etcd leader and server A are killed (SIGKILL):
// every acknowledged deploy is in the history, the data plane fails less than 0.1% of requests,
// every KV put a gateway acknowledged meanwhile is read back, and the usage recorded in etcd
// equals the requests that succeeded. KV is strongly consistent across the cluster: a put
// through any server or gateway is read by the very next request through every other one.
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "integration/raw_http_connection.h"
#include "integration/subprocess.h"
#include "nlohmann/json.hpp"
#include "support/etcd_cluster.h"
#include "support/temp_dir.h"

namespace cosmo {
namespace {

using ::cosmo::testing::BodyOf;
using ::cosmo::testing::CommandResult;
using ::cosmo::testing::EtcdCluster;
using ::cosmo::testing::RawGet;
using ::cosmo::testing::RunCosmoctl;
using ::cosmo::testing::StartCosmoGateway;
using ::cosmo::testing::StartCosmoServer;
using ::cosmo::testing::StopAll;
using ::cosmo::testing::Subprocess;
using ::cosmo::testing::TempDir;
using ::testing::Each;

constexpr int kLoadThreads = 4;
constexpr absl::Duration kLoadDuration = absl::Seconds(10);

struct Reply {
  bool ok = false;  // 200 and a body
  std::string body;
  std::string raw;  // for failure messages
};

Reply Get(int port, const std::string& path) {
  Reply reply;
  auto response = RawGet(port, path);
  if (!response.ok()) {
    reply.raw = response.status().ToString();
    return reply;
  }
  reply.raw = response->substr(0, 300);
  reply.body = BodyOf(*response);
  reply.ok = absl::StartsWith(*response, "HTTP/1.1 200 ");
  return reply;
}

std::string Script(absl::string_view text) {
  return absl::StrCat("export default { fetch() { return new Response('", text, "'); } };\n");
}

// GET /kv/?k=K&v=V puts V at K; GET /kv/?k=K answers K's value, or "<none>".
constexpr char kKvScript[] = COSMO_SOURCE_DIR "/tests/testdata/js/kv_put_get.js";

class ClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cluster = EtcdCluster::Start(3);
    if (absl::IsNotFound(cluster.status())) GTEST_SKIP() << cluster.status().message();
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    etcd_ = *std::move(cluster);
    auto leader = etcd_->WaitForLeader(absl::Seconds(10));
    ASSERT_TRUE(leader.ok()) << leader.status();
    leader_ = *leader;
    // The leader first, so killing it catches both servers' calls in flight.
    std::vector<std::string> endpoints = {etcd_->ClientEndpoint(leader_)};
    for (int i = 0; i < etcd_->size(); ++i) {
      if (i != leader_) endpoints.push_back(etcd_->ClientEndpoint(i));
    }
    const std::string store = absl::StrCat("--store=etcd://", absl::StrJoin(endpoints, ","));
    auto a = StartCosmoServer({store}, &a_address_, &a_http_);
    ASSERT_TRUE(a.ok()) << a.status();
    server_a_ = *std::move(a);
    auto b = StartCosmoServer({store}, &b_address_, &b_http_);
    ASSERT_TRUE(b.ok()) << b.status();
    server_b_ = *std::move(b);
    // Gateway 2 follows server B first, so only B's etcd watch can tell it about A's deploys.
    auto gateway1 = StartCosmoGateway(a_address_ + "," + b_address_, &g1_);
    ASSERT_TRUE(gateway1.ok()) << gateway1.status();
    gateway1_ = *std::move(gateway1);
    auto gateway2 = StartCosmoGateway(b_address_ + "," + a_address_, &g2_);
    ASSERT_TRUE(gateway2.ok()) << gateway2.status();
    gateway2_ = *std::move(gateway2);
  }

  void TearDown() override {
    if (HasFailure()) PrintCrashes();
    // Subprocesses are SIGKILLed by their destructors when still running; stop the gateways
    // first so they do not spend their exit reporting to dead servers.
    gateway1_.reset();
    gateway2_.reset();
    server_a_.reset();
    server_b_.reset();
    etcd_.reset();
  }

  // After a failure: the end of the output of each process that died of a signal (server A was
  // killed by the test), so a crash shows its cause.
  void PrintCrashes() {
    const std::pair<const char*, Subprocess*> processes[] = {{"gateway 1", gateway1_.get()},
                                                             {"gateway 2", gateway2_.get()},
                                                             {"server B", server_b_.get()}};
    for (const auto& [name, process] : processes) {
      if (process == nullptr) continue;
      const int exit_code = process->Stop(absl::Seconds(10));
      if (exit_code >= 0) continue;
      const std::string& output = process->output();
      std::printf("%s exited %d; the end of its output:\n%s\n", name, exit_code,
                  output.substr(output.size() > 6000 ? output.size() - 6000 : 0).c_str());
    }
  }

  // Deploys `text` as `family` through `server`; the version, or "" when not acknowledged.
  std::string Deploy(const std::string& server, const std::string& family,
                     const std::string& text) {
    const std::string file = absl::StrCat(dir_.path(), "/", family, "-", text, ".js");
    std::ofstream(file) << Script(text);
    return DeployFile(server, family, file, {});
  }

  // Deploys `file` with extra cosmoctl arguments; the version, or "" when not acknowledged.
  std::string DeployFile(const std::string& server, const std::string& family,
                         const std::string& file, const std::vector<std::string>& extra) {
    std::vector<std::string> args = {"--json", "deploy", family, file};
    args.insert(args.end(), extra.begin(), extra.end());
    CommandResult r = RunCosmoctl(server, args);
    if (r.exit_code != 0) return "";
    auto json = nlohmann::json::parse(r.out, nullptr, false);
    if (json.is_discarded() || !json.contains("version")) return "";
    return json["version"].get<std::string>();
  }

  // Counts a request to /hello/ that the clients of this test saw succeed.
  Reply GetHello(int port) {
    Reply reply = Get(port, "/hello/");
    (reply.ok ? hello_ok_ : hello_failed_).fetch_add(1);
    return reply;
  }

  // Polls until GET `path` on every port in `ports` answers `body`; how long that took.
  absl::Duration WaitForBody(const std::vector<int>& ports, const std::string& family,
                             const std::string& body, absl::Duration timeout) {
    const absl::Time start = absl::Now();
    while (absl::Now() - start < timeout) {
      bool all = true;
      for (int port : ports) {
        Reply reply = family == "hello" ? GetHello(port) : Get(port, "/" + family + "/");
        all = all && reply.ok && reply.body == body;
      }
      if (all) return absl::Now() - start;
      absl::SleepFor(absl::Milliseconds(10));
    }
    return absl::InfiniteDuration();
  }

  TempDir dir_;
  std::unique_ptr<EtcdCluster> etcd_;
  int leader_ = -1;
  std::string a_address_, b_address_;
  int a_http_ = 0, b_http_ = 0, g1_ = 0, g2_ = 0;
  std::unique_ptr<Subprocess> server_a_, server_b_, gateway1_, gateway2_;
  std::atomic<uint64_t> hello_ok_{0};
  std::atomic<uint64_t> hello_failed_{0};
};

TEST_F(ClusterTest, SurvivesLosingTheEtcdLeaderAndAServerUnderLoad) {
  const absl::Time test_start = absl::Now();
  ASSERT_FALSE(Deploy(a_address_, "hello", "v1").empty());
  EXPECT_LT(WaitForBody({g1_, g2_, b_http_}, "hello", "v1", absl::Seconds(5)), absl::Seconds(5));
  ASSERT_FALSE(DeployFile(a_address_, "kv", kKvScript, {"--kv", "KV=load"}).empty());

  // Every follower is warm now; a deploy through A reaches them all within a second.
  ASSERT_FALSE(Deploy(a_address_, "hello", "v2").empty());
  EXPECT_LT(WaitForBody({g1_, g2_, b_http_}, "hello", "v2", absl::Seconds(5)), absl::Seconds(1));

  // Steady load through both gateways.
  std::atomic<bool> stop{false};
  absl::Mutex failures_mu;
  std::vector<std::string> failures;
  std::vector<std::thread> clients;
  for (int t = 0; t < kLoadThreads; ++t) {
    clients.emplace_back([&, t] {
      for (uint64_t i = 0; !stop.load(); ++i) {
        Reply reply = GetHello((i + t) % 2 == 0 ? g1_ : g2_);
        if (!reply.ok || reply.body != "v2") {
          absl::MutexLock lock(&failures_mu);
          if (failures.size() < 5) failures.push_back(reply.raw);
        }
        // Steady, not saturating: leaves CPU for the servers and for tests running alongside.
        absl::SleepFor(absl::Milliseconds(1));
      }
    });
  }
  // KV puts through both gateways, each key once; a put answered "ok" was acknowledged durable.
  std::vector<std::string> kv_acked;
  std::thread kv_writer([&] {
    for (int i = 0; !stop.load(); ++i) {
      const std::string key = absl::StrCat("p", i);
      if (Get(i % 2 == 0 ? g1_ : g2_, absl::StrCat("/kv/?k=", key, "&v=", key)).body == "ok") {
        kv_acked.push_back(key);
      }
      absl::SleepFor(absl::Milliseconds(5));
    }
  });
  // A stream of deploys through both servers; deploys through A fail once it is dead.
  std::vector<std::string> acknowledged;  // versions, in order
  std::vector<std::string> acknowledged_bodies;
  std::atomic<int> attempts{0};
  std::thread deployer([&] {
    for (int i = 1; !stop.load(); ++i) {
      attempts.fetch_add(1);
      const std::string body = absl::StrCat("s", i);
      std::string version = Deploy(i % 2 == 0 ? a_address_ : b_address_, "stream", body);
      if (!version.empty()) {
        acknowledged.push_back(version);
        acknowledged_bodies.push_back(body);
      }
      absl::SleepFor(absl::Milliseconds(100));
    }
  });

  const absl::Time load_start = absl::Now();
  absl::SleepFor(absl::Seconds(2));
  auto leader = etcd_->WaitForLeader(absl::Seconds(5));
  etcd_->Kill(leader.ok() ? *leader : leader_);
  absl::SleepFor(absl::Seconds(2));
  server_a_->Signal(SIGKILL);
  server_a_->Wait();
  absl::SleepFor(kLoadDuration - (absl::Now() - load_start));
  stop.store(true);
  for (std::thread& client : clients) client.join();
  deployer.join();
  kv_writer.join();

  // Data plane: under 0.1% failed during failover.
  const uint64_t ok = hello_ok_.load(), failed = hello_failed_.load();
  std::printf("cluster: %llu requests ok, %llu failed; %zu of %d deploys acknowledged\n",
              static_cast<unsigned long long>(ok), static_cast<unsigned long long>(failed),
              acknowledged.size(), attempts.load());
  EXPECT_GT(ok, 1000u);
  EXPECT_LT(failed * 1000, ok + failed)
      << failed << " of " << ok + failed << " failed, e.g. " << absl::StrJoin(failures, "\n---\n");

  // Control plane: every acknowledged deploy is in the history, newest last, and the active
  // version is the last acknowledged one (or a later attempt that applied without an answer).
  ASSERT_GE(acknowledged.size(), 5u) << attempts.load() << " attempts";
  CommandResult history = RunCosmoctl(b_address_, {"--json", "history", "stream"});
  ASSERT_EQ(history.exit_code, 0) << history.err;
  auto entries = nlohmann::json::parse(history.out, nullptr, false);
  ASSERT_TRUE(entries.is_array()) << history.out;
  std::vector<std::string> recorded;  // oldest first
  for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
    recorded.push_back((*it)["version"].get<std::string>());
  }
  size_t next = 0;
  for (const std::string& version : acknowledged) {
    while (next < recorded.size() && recorded[next] != version) ++next;
    EXPECT_LT(next, recorded.size()) << "acknowledged deploy " << version << " is not in history";
  }
  EXPECT_LE(recorded.size(), static_cast<size_t>(attempts.load()));

  // Both gateways follow the active version, gateway 1 now through server B. Its body is known
  // when it was acknowledged (an unanswered attempt may have applied after it).
  std::string active_body;
  for (size_t i = 0; i < acknowledged.size(); ++i) {
    if (acknowledged[i] == recorded.back()) active_body = acknowledged_bodies[i];
  }
  if (!active_body.empty()) {
    EXPECT_LT(WaitForBody({g1_, g2_}, "stream", active_body, absl::Seconds(3)), absl::Seconds(3));
  }

  // KV: every put acknowledged during the failover is there, read through the surviving server
  // and a gateway.
  std::printf("cluster: %zu KV puts acknowledged through the gateways\n", kv_acked.size());
  EXPECT_GT(kv_acked.size(), 50u);
  for (const std::string& key : kv_acked) {
    ASSERT_EQ(Get(b_http_, "/kv/?k=" + key).body, key);
    ASSERT_EQ(Get(g1_, "/kv/?k=" + key).body, key);
  }

  // Usage: what etcd holds for hello equals the requests that succeeded, once the gateways have
  // reported (every 200 ms) and B has flushed (every second).
  const uint64_t expected = hello_ok_.load();
  int64_t recorded_ok = -1;
  const absl::Time deadline = absl::Now() + absl::Seconds(15);
  while (absl::Now() < deadline) {
    CommandResult usage =
        RunCosmoctl(b_address_, {"--json", "usage", "hello"}, {}, absl::Seconds(10));
    auto json = nlohmann::json::parse(usage.out, nullptr, false);
    if (usage.exit_code == 0 && json.is_array() && !json.empty()) {
      recorded_ok = json[0]["total"]["outcomes"].value("ok", int64_t{-1});
      if (recorded_ok == static_cast<int64_t>(expected)) break;
    }
    absl::SleepFor(absl::Milliseconds(200));
  }
  EXPECT_EQ(recorded_ok, static_cast<int64_t>(expected));

  EXPECT_THAT(StopAll({gateway1_.get(), gateway2_.get(), server_b_.get()}), Each(0));
  EXPECT_LT(absl::Now() - test_start, absl::Seconds(60));
}

TEST_F(ClusterTest, AKvPutThroughAnyServerOrGatewayIsReadAtOnceThroughEveryOther) {
  ASSERT_FALSE(DeployFile(a_address_, "kv", kKvScript, {"--kv", "KV=rounds"}).empty());
  const std::vector<int> ports = {a_http_, b_http_, g1_, g2_};
  EXPECT_LT(WaitForBody(ports, "kv", "<none>", absl::Seconds(5)), absl::Seconds(5));
  // Every port writes in turn; the very next request through each of the others reads the new
  // value, although each has read (and on a single node would have cached) the old one. A stale
  // read is a race, so there are many rounds.
  for (int round = 0; round < 40; ++round) {
    const int writer = ports[round % ports.size()];
    const std::string value = absl::StrCat("r", round);
    ASSERT_EQ(Get(writer, "/kv/?k=hot&v=" + value).body, "ok") << "round " << round;
    for (int reader : ports) {
      ASSERT_EQ(Get(reader, "/kv/?k=hot").body, value)
          << "round " << round << ": port " << reader << " after a put through " << writer;
    }
  }
  EXPECT_THAT(StopAll({gateway1_.get(), gateway2_.get(), server_a_.get(), server_b_.get()}),
              Each(0));
}

}  // namespace
}  // namespace cosmo
