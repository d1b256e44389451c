// cosmo-server is killed with SIGKILL while four clients run put loops through a family's KV
// binding over HTTP, 30 times over one data directory. After each kill the store is opened
// directly: every put whose request was answered 200 (its promise resolved) is present with its
// value, and the namespace's size record agrees with what it holds (docs/kv.md, "Consistency
// and durability").
#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <atomic>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "cosmo/kv.h"
#include "cosmo/store.h"
#include "cosmo/v1/control.grpc.pb.h"
#include "gtest/gtest.h"
#include "integration/raw_http_connection.h"
#include "integration/subprocess.h"
#include "support/temp_dir.h"

namespace cosmo {
namespace {

namespace pb = ::cosmo::v1;
using ::cosmo::testing::RawHttpConnection;
using ::cosmo::testing::StartCosmoServer;
using ::cosmo::testing::TempDir;

constexpr char kHandler[] = R"(export default {
  async fetch(request, env) {
    const key = new URL(request.url).pathname.slice('/kvcrash/'.length);
    await env.KV.put(key, await request.text());
    return new Response('stored');
  },
};
)";
constexpr int kWriters = 4;

// One client's put loop on a keep-alive connection: PUT /kvcrash/<writer>-<n> with body
// "<round>:<n>". Records each answered 200 in `acked` (key -> value); stops at the first
// failure (the kill).
void PutLoop(int port, int writer, int round, absl::Mutex* mu,
             std::map<std::string, std::string>* acked, std::atomic<int>* acks) {
  auto connection = RawHttpConnection::Connect(port);
  if (!connection.ok()) return;
  for (int n = 0;; ++n) {
    const std::string key = absl::StrCat("w", writer, "-r", round, "-", n);
    const std::string value = absl::StrCat(round, ":", n, ":", std::string(n % 97, 'x'));
    if (!(*connection)
             ->Send(absl::StrCat("PUT /kvcrash/", key, " HTTP/1.1\r\nHost: t\r\nContent-Length: ",
                                 value.size(), "\r\n\r\n", value))) {
      return;
    }
    absl::StatusOr<std::string> response = (*connection)->ReadResponse(absl::Seconds(10));
    if (!response.ok()) return;
    if (!absl::StartsWith(*response, "HTTP/1.1 200")) {
      ADD_FAILURE() << "put " << key << " answered " << response->substr(0, 200);
      return;
    }
    absl::MutexLock lock(mu);
    (*acked)[key] = value;
    acks->fetch_add(1);
  }
}

void CheckStore(const std::string& data_dir, const std::map<std::string, std::string>& acked) {
  auto store = OpenLevelDbStore({.path = data_dir, .create_if_missing = false});
  ASSERT_TRUE(store.ok()) << store.status();
  auto kv = NewKvStore(store->get(), Clock::Real(), {.sweep_interval = absl::ZeroDuration()});
  ASSERT_TRUE(kv.ok()) << kv.status();
  for (const auto& [key, value] : acked) {
    auto entry = (*kv)->Get("crash", key);
    ASSERT_TRUE(entry.ok()) << entry.status();
    ASSERT_TRUE(entry->has_value()) << "acknowledged put of " << key << " is lost";
    ASSERT_EQ((*entry)->value, value) << key;
  }
  // The size record counts exactly what the namespace holds.
  uint64_t keys = 0, bytes = 0;
  std::string cursor;
  do {
    auto page = (*kv)->List("crash", {.cursor = cursor});
    ASSERT_TRUE(page.ok()) << page.status();
    for (const KvListKey& key : page->keys) {
      auto entry = (*kv)->Get("crash", key.name);
      ASSERT_TRUE(entry.ok() && entry->has_value());
      ++keys;
      bytes += key.name.size() + (*entry)->value.size();
    }
    cursor = page->cursor;
  } while (!cursor.empty());
  auto info = (*kv)->GetNamespace("local", "crash");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->keys, keys);
  EXPECT_EQ(info->stored_bytes, bytes);
}

TEST(KvCrashTest, SigkillDuringConcurrentPutsLosesNoAcknowledgedPut) {
  TempDir dir;
  const std::string data_dir = dir.Sub("data");
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE(absl::StrCat("seed ", seed));
  std::mt19937 rng(seed);
  // Each round lets a random number of puts be acknowledged, then kills at a random moment
  // shortly after, so kills land before, inside and between group commits.
  std::uniform_int_distribution<int> acks_before_kill(0, 40);
  std::uniform_int_distribution<int> kill_after_us(0, 5000);
  std::map<std::string, std::string> acked;
  absl::Mutex mu;
  for (int round = 0; round < 30; ++round) {
    SCOPED_TRACE(absl::StrCat("round ", round));
    std::string address;
    int http_port = 0;
    auto server = StartCosmoServer({"--data-dir=" + data_dir}, &address, &http_port);
    ASSERT_TRUE(server.ok()) << server.status();
    if (round == 0) {
      auto stub =
          pb::Control::NewStub(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
      pb::DeployRequest request;
      request.set_family("kvcrash");
      request.set_engine("javascript");
      request.set_main("index.js");
      (*request.mutable_files())["index.js"] = kHandler;
      (*request.mutable_kv())["KV"] = "crash";
      grpc::ClientContext context;
      pb::DeployResponse response;
      grpc::Status status = stub->Deploy(&context, request, &response);
      ASSERT_TRUE(status.ok()) << status.error_message();
    }
    const int acks_wanted = acks_before_kill(rng);
    const int delay_us = kill_after_us(rng);
    std::atomic<int> acks{0};
    std::vector<std::thread> writers;
    for (int w = 0; w < kWriters; ++w) {
      writers.emplace_back(PutLoop, http_port, w, round, &mu, &acked, &acks);
    }
    // The writers stop at the kill; wait for enough acknowledgements first (bounded, so a
    // server that answers nothing fails the check below instead of hanging the test).
    const absl::Time give_up = absl::Now() + absl::Seconds(20);
    while (acks.load() < acks_wanted && absl::Now() < give_up) {
      absl::SleepFor(absl::Microseconds(200));
    }
    EXPECT_GE(acks.load(), acks_wanted) << "the server stopped acknowledging puts";
    absl::SleepFor(absl::Microseconds(delay_us));  // the random kill point is the test
    (*server)->Signal(SIGKILL);
    for (std::thread& t : writers) t.join();
    EXPECT_EQ((*server)->Wait(), -SIGKILL);
    server->reset();
    absl::MutexLock lock(&mu);
    CheckStore(data_dir, acked);
    if (::testing::Test::HasFatalFailure()) return;
  }
  EXPECT_GT(acked.size(), 30u);
}

}  // namespace
}  // namespace cosmo
