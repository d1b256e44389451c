// cosmo-server is killed with SIGKILL at a random moment of a deploy loop, 30 times over one data
// directory. After each kill the store is opened directly and checked: the head is the last
// acknowledged version or the one in flight, every acknowledged version is in a gap-free history,
// and every stored manifest hashes to its version and holds exactly what was sent
// (docs/control-plane.md, "Guarantees, and the tests that hold them").
#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <atomic>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "cosmo/clock.h"
#include "cosmo/manifest.h"
#include "cosmo/registry.h"
#include "cosmo/store.h"
#include "cosmo/v1/control.grpc.pb.h"
#include "gtest/gtest.h"
#include "integration/subprocess.h"
#include "support/scripted_engine.h"
#include "support/temp_dir.h"

namespace cosmo {
namespace {

namespace pb = ::cosmo::v1;
using ::cosmo::testing::ScriptedEngine;
using ::cosmo::testing::StartCosmoServer;
using ::cosmo::testing::TempDir;

constexpr char kFamily[] = "crashy";

Manifest NthManifest(int n) {
  Manifest m;
  m.engine = "javascript";
  m.main = "index.js";
  m.files["index.js"] =
      absl::StrCat("export default { fetch() { return new Response('deploy ", n, "'); } };\n");
  m.env["N"] = absl::StrCat(n);
  return m;
}

// Opens the closed store and checks everything the kill must not have broken. `last_known` is the
// head as the client last knew it: its last acknowledged deploy, or the head found by the previous
// check (a deploy in flight at a kill may have committed without being acknowledged). Sets
// `*head` to the head found.
void CheckStore(const std::string& data_dir, const std::vector<std::string>& acknowledged,
                const std::string& last_known, const std::optional<std::string>& in_flight,
                const std::map<std::string, Manifest>& sent, std::string* head_out) {
  LevelDbStoreOptions options;
  options.path = data_dir;
  options.create_if_missing = false;
  auto store = OpenLevelDbStore(options);
  ASSERT_TRUE(store.ok()) << store.status();
  ScriptedEngine engine("javascript");
  auto registry = NewRegistry(store->get(), {&engine}, Clock::Real());
  ASSERT_TRUE(registry.ok()) << registry.status();

  auto family = (*registry)->GetFamily("local", kFamily);
  if (acknowledged.empty()) {
    if (!family.ok()) {
      EXPECT_TRUE(absl::IsNotFound(family.status())) << family.status();
      return;
    }
  }
  ASSERT_TRUE(family.ok()) << family.status();
  const std::string& head = family->active_version;
  *head_out = head;
  EXPECT_TRUE(head == last_known || (in_flight.has_value() && head == *in_flight))
      << "head " << head << " is neither the last acknowledged (" << last_known
      << ") nor the in-flight version";

  PageRequest page;
  page.page_size = 1000;
  std::vector<HistoryEntry> history;
  do {
    auto got = (*registry)->History("local", kFamily, page);
    ASSERT_TRUE(got.ok()) << got.status();
    history.insert(history.end(), got->items.begin(), got->items.end());
    page.page_token = got->next_page_token;
  } while (!page.page_token.empty());
  ASSERT_FALSE(history.empty());
  EXPECT_EQ(history.front().version, head);
  EXPECT_EQ(history.size(), family->history_length);
  std::set<std::string> versions;
  for (size_t i = 0; i < history.size(); ++i) {
    EXPECT_EQ(history[i].sequence, history.size() - i) << "history has a gap";
    versions.insert(history[i].version);
  }
  for (const std::string& v : acknowledged) {
    EXPECT_TRUE(versions.count(v)) << "acknowledged version " << v << " was lost";
  }
  for (const std::string& v : versions) {
    auto manifest = (*registry)->LoadManifest(v);
    ASSERT_TRUE(manifest.ok()) << manifest.status();
    EXPECT_EQ(*ComputeVersion(*manifest), v);
    auto it = sent.find(v);
    ASSERT_NE(it, sent.end()) << "stored version " << v << " was never sent";
    EXPECT_EQ(*manifest, it->second);
  }
}

TEST(CrashConsistencyTest, SigkillDuringDeploysNeverLosesOrTearsAnAcknowledgedDeploy) {
  TempDir dir;
  const std::string data_dir = dir.Sub("data");
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE(absl::StrCat("seed ", seed));
  std::mt19937 rng(seed);
  // Each round lets a random number of deploys be acknowledged, then kills at a random moment
  // shortly after, so kills land before, inside and between deploys whatever the machine's speed.
  std::uniform_int_distribution<int> acks_before_kill(0, 3);
  std::uniform_int_distribution<int> kill_after_us(0, 20000);
  size_t expected_acks = 0;

  std::vector<std::string> acknowledged;
  std::string last_known;
  std::map<std::string, Manifest> sent;
  int next = 0;
  for (int round = 0; round < 30; ++round) {
    SCOPED_TRACE(absl::StrCat("round ", round));
    std::string address;
    auto server = StartCosmoServer({"--data-dir=" + data_dir}, &address);
    ASSERT_TRUE(server.ok()) << server.status();
    auto stub =
        pb::Control::NewStub(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));

    const int acks = acks_before_kill(rng);
    const int delay_us = kill_after_us(rng);
    expected_acks += acks;
    absl::Mutex mu;
    int acked_this_round = 0;
    bool loop_ended = false;
    std::thread killer([&] {
      auto ready = [&] { return acked_this_round >= acks || loop_ended; };
      mu.LockWhen(absl::Condition(&ready));
      mu.Unlock();
      absl::SleepFor(absl::Microseconds(delay_us));  // the random kill point is the test
      (*server)->Signal(SIGKILL);
    });
    std::optional<std::string> in_flight;
    while (true) {
      Manifest manifest = NthManifest(next++);
      const std::string version = *ComputeVersion(manifest);
      sent[version] = manifest;
      pb::DeployRequest request;
      request.set_family(kFamily);
      request.set_engine(manifest.engine);
      request.set_main(manifest.main);
      request.mutable_files()->insert(manifest.files.begin(), manifest.files.end());
      request.mutable_env()->insert(manifest.env.begin(), manifest.env.end());
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
      pb::DeployResponse response;
      in_flight = version;
      grpc::Status status = stub->Deploy(&context, request, &response);
      if (!status.ok()) {
        EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
        break;
      }
      EXPECT_EQ(response.version(), version);
      acknowledged.push_back(version);
      last_known = version;
      in_flight.reset();
      absl::MutexLock lock(&mu);
      ++acked_this_round;
    }
    {
      absl::MutexLock lock(&mu);
      loop_ended = true;
    }
    killer.join();
    EXPECT_EQ((*server)->Wait(), -SIGKILL);
    server->reset();
    CheckStore(data_dir, acknowledged, last_known, in_flight, sent, &last_known);
    if (::testing::Test::HasFatalFailure()) return;
  }
  // The loop really exercised deploys, not just restarts.
  EXPECT_GE(acknowledged.size(), expected_acks);
}

}  // namespace
}  // namespace cosmo
