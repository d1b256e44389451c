// The cosmo-server process itself: flags and their COSMO_* fallbacks, refusals with one clear
// line, SIGTERM, the single-process lock on a data directory, and --repair-store.
#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "cosmo/v1/control.grpc.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "integration/raw_http_connection.h"
#include "integration/subprocess.h"
#include "support/temp_dir.h"

namespace cosmo {
namespace {

using ::cosmo::testing::CommandResult;
using ::cosmo::testing::CosmoServerPath;
using ::cosmo::testing::RunCommand;
using ::cosmo::testing::RunCosmoctl;
using ::cosmo::testing::StartCosmoServer;
using ::cosmo::testing::Subprocess;
using ::cosmo::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::Not;

// A failed start: non-zero exit, and one line on stderr that contains `text`.
void ExpectRefusal(const CommandResult& r, const std::string& text) {
  EXPECT_NE(r.exit_code, 0) << r.out;
  EXPECT_THAT(r.err, HasSubstr(text));
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

TEST(CosmoServerTest, HelpListsEveryFlagWithItsEnvironmentVariable) {
  CommandResult r = RunCommand({CosmoServerPath(), "--help"});
  EXPECT_EQ(r.exit_code, 0);
  for (const char* flag : {"--data-dir",          "--store",
                           "--grpc-listen",       "--http-listen",
                           "--idle-timeout",      "--auth-tokens-file",
                           "--max-cpu-ms",        "--max-memory-mb",
                           "--max-wall-ms",       "--max-subrequests",
                           "--max-script-bytes",  "--disallow-codegen",
                           "--repair-store",      "--server-id",
                           "--cron-lease-margin", "COSMO_CRON_LEASE_MARGIN",
                           "COSMO_DATA_DIR",      "COSMO_GRPC_LISTEN",
                           "COSMO_MAX_CPU_MS",    "./cosmo-data",
                           "127.0.0.1:50051",     "127.0.0.1:8080"}) {
    EXPECT_THAT(r.out, HasSubstr(flag));
  }
}

TEST(CosmoServerTest, RefusesANonLoopbackAddressWithoutTokens) {
  TempDir dir;
  CommandResult r = RunCommand({CosmoServerPath(), "--data-dir=" + dir.Sub("data"),
                                "--grpc-listen=0.0.0.0:0", "--http-listen="});
  ExpectRefusal(r, "--auth-tokens-file");
  // Nothing was created: the refusal comes before the store is opened.
  EXPECT_FALSE(std::ifstream(dir.Sub("data/CURRENT")).good());
}

TEST(CosmoServerTest, BadFlagsNameTheFlag) {
  TempDir dir;
  const std::string data = "--data-dir=" + dir.Sub("data");
  ExpectRefusal(RunCommand({CosmoServerPath(), data, "--max-cpu-ms=lots"}), "--max-cpu-ms");
  ExpectRefusal(RunCommand({CosmoServerPath(), data, "--idle-timeout=soon"}), "--idle-timeout");
  ExpectRefusal(RunCommand({CosmoServerPath(), data, "--cron-lease-margin=-5s"}),
                "--cron-lease-margin");
  ExpectRefusal(RunCommand({CosmoServerPath(), data, "--store=floppy://a"}), "--store");
  ExpectRefusal(RunCommand({CosmoServerPath(), data, "--max-request-body-bytes=0"}),
                "--max-request-body-bytes");
  ExpectRefusal(RunCommand({CosmoServerPath(), data, "--max-script-bytes=0"}),
                "--max-script-bytes");
  ExpectRefusal(RunCommand({CosmoServerPath(), data, "--no-such-flag"}), "--no-such-flag");
  ExpectRefusal(RunCommand({CosmoServerPath(), data, "--grpc-listen=127.0.0.1:0",
                            "--auth-tokens-file=" + dir.Sub("missing")}),
                "--auth-tokens-file");
  std::ofstream(dir.Sub("tokens")) << "alice not-a-hash\n";
  ExpectRefusal(RunCommand({CosmoServerPath(), data, "--grpc-listen=127.0.0.1:0",
                            "--auth-tokens-file=" + dir.Sub("tokens")}),
                "tokens:1:");
}

TEST(CosmoServerTest, EnvironmentVariablesAreFallbacksForFlags) {
  TempDir dir;
  auto server = Subprocess::Start({CosmoServerPath()}, {{"COSMO_DATA_DIR", dir.Sub("from-env")},
                                                        {"COSMO_GRPC_LISTEN", "127.0.0.1:0"},
                                                        {"COSMO_HTTP_LISTEN", "127.0.0.1:0"}});
  ASSERT_TRUE(server.ok());
  auto line = (*server)->WaitForLine("listening on", absl::Seconds(30));
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_THAT(*line, HasSubstr(dir.Sub("from-env")));
  EXPECT_TRUE(
      (*server)->WaitForLine("data plane (HTTP) listening on 127.0.0.1:", absl::Seconds(30)).ok());
  EXPECT_EQ((*server)->Stop(), 0);
}

// --memory-budget-mb reaches the runtime: its metrics show the budget, and what the instances of
// a served family hold.
TEST(CosmoServerTest, TheMemoryBudgetIsOnTheMetrics) {
  TempDir dir;
  std::string script = dir.Sub("a.js");
  std::ofstream(script) << "export default { fetch() { return 'a'; } };\n";
  std::string address;
  int http_port = 0;
  auto server = StartCosmoServer({"--data-dir=" + dir.Sub("data"), "--memory-budget-mb=96"},
                                 &address, &http_port);
  ASSERT_TRUE(server.ok()) << server.status();
  ASSERT_EQ(RunCosmoctl(address, {"deploy", "a", script}).exit_code, 0);
  auto served = testing::RawGet(http_port, "/a/");
  ASSERT_TRUE(served.ok()) << served.status();
  EXPECT_EQ(testing::BodyOf(*served), "a");
  auto metrics = testing::RawGet(http_port, "/_cosmo/metrics");
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  EXPECT_THAT(*metrics, HasSubstr(absl::StrCat("\ncosmo_instance_memory_budget_bytes ",
                                               uint64_t{96} << 20, "\n")));
  EXPECT_THAT(*metrics, HasSubstr("\ncosmo_active_families 1\n"));
  EXPECT_THAT(*metrics, Not(HasSubstr("\ncosmo_instance_memory_bytes 0\n")));
  EXPECT_THAT(*metrics, HasSubstr("\ncosmo_budget_returns_total 0\n"));
  EXPECT_EQ((*server)->Stop(), 0);
}

TEST(CosmoServerTest, ASecondServerOnTheSameDataDirFailsFast) {
  TempDir dir;
  std::string address;
  auto first = StartCosmoServer({"--data-dir=" + dir.Sub("data")}, &address);
  ASSERT_TRUE(first.ok()) << first.status();
  CommandResult second = RunCommand({CosmoServerPath(), "--data-dir=" + dir.Sub("data"),
                                     "--grpc-listen=127.0.0.1:0", "--http-listen="},
                                    {}, absl::Seconds(10));
  ExpectRefusal(second, dir.Sub("data"));
  EXPECT_THAT(second.err, HasSubstr("--data-dir"));
  // --repair-store refuses too while the first one runs.
  ExpectRefusal(RunCommand({CosmoServerPath(), "--data-dir=" + dir.Sub("data"), "--repair-store"}),
                "in use");
  EXPECT_EQ((*first)->Stop(), 0);
}

TEST(CosmoServerTest, SigtermDrainsAndStopsCleanlyAndDataSurvives) {
  TempDir dir;
  std::string script = dir.Sub("a.js");
  std::ofstream(script) << "export default { fetch() { return 'a'; } };\n";
  std::string address;
  auto server = StartCosmoServer({"--data-dir=" + dir.Sub("data")}, &address);
  ASSERT_TRUE(server.ok()) << server.status();
  CommandResult deployed = RunCosmoctl(address, {"deploy", "survivor", script});
  ASSERT_EQ(deployed.exit_code, 0) << deployed.err;
  EXPECT_EQ((*server)->Stop(), 0);
  EXPECT_THAT((*server)->output(), HasSubstr("SIGTERM"));
  EXPECT_THAT((*server)->output(), HasSubstr("stopped"));
  // `--http-listen=` (empty) turned the data plane off.
  EXPECT_THAT((*server)->output(), Not(HasSubstr("data plane (HTTP)")));

  // The repair tool runs on the closed store and leaves it usable.
  CommandResult repaired =
      RunCommand({CosmoServerPath(), "--data-dir=" + dir.Sub("data"), "--repair-store"});
  EXPECT_EQ(repaired.exit_code, 0) << repaired.err;

  auto again = StartCosmoServer({"--data-dir=" + dir.Sub("data")}, &address);
  ASSERT_TRUE(again.ok()) << again.status();
  CommandResult got = RunCosmoctl(address, {"get", "survivor"});
  EXPECT_EQ(got.exit_code, 0) << got.err;
  (*again)->Signal(SIGINT);
  EXPECT_EQ((*again)->Wait(), 0);
}

// SIGTERM while deploys are in flight. Calls either complete or are refused (never half-done), the
// process exits 0, and every acknowledged deploy is there after a restart.
TEST(CosmoServerTest, SigtermUnderLoadKeepsEveryAcknowledgedDeploy) {
  TempDir dir;
  std::string address;
  auto server = StartCosmoServer({"--data-dir=" + dir.Sub("data")}, &address);
  ASSERT_TRUE(server.ok()) << server.status();
  auto channel = grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
  constexpr int kThreads = 6;
  std::mutex mu;
  std::vector<std::pair<std::string, std::string>> acknowledged;  // family, version
  std::atomic<int> acks{0};
  absl::Notification some_acked;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto stub = cosmo::v1::Control::NewStub(channel);
      for (int i = 0;; ++i) {
        cosmo::v1::DeployRequest request;
        request.set_family(absl::StrCat("drain-", t));
        request.set_engine("javascript");
        request.set_main("index.js");
        (*request.mutable_files())["index.js"] = absl::StrCat(
            "export default { fetch() { return new Response('", t, "-", i, "'); } };\n");
        grpc::ClientContext context;
        context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
        cosmo::v1::DeployResponse response;
        grpc::Status status = stub->Deploy(&context, request, &response);
        if (!status.ok()) {
          EXPECT_TRUE(status.error_code() == grpc::StatusCode::UNAVAILABLE ||
                      status.error_code() == grpc::StatusCode::CANCELLED)
              << status.error_code() << " " << status.error_message();
          return;
        }
        {
          std::lock_guard<std::mutex> lock(mu);
          acknowledged.emplace_back(request.family(), response.version());
        }
        if (++acks == 2 * kThreads) some_acked.Notify();
      }
    });
  }
  ASSERT_TRUE(some_acked.WaitForNotificationWithTimeout(absl::Seconds(60)));
  EXPECT_EQ((*server)->Stop(), 0) << (*server)->output();
  for (auto& thread : threads) thread.join();

  auto again = StartCosmoServer({"--data-dir=" + dir.Sub("data")}, &address);
  ASSERT_TRUE(again.ok()) << again.status();
  std::set<std::pair<std::string, std::string>> stored;
  auto stub =
      cosmo::v1::Control::NewStub(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  for (int t = 0; t < kThreads; ++t) {
    grpc::ClientContext context;
    cosmo::v1::HistoryRequest request;
    request.set_family(absl::StrCat("drain-", t));
    request.set_page_size(1000);
    cosmo::v1::HistoryResponse response;
    ASSERT_TRUE(stub->History(&context, request, &response).ok());
    for (const auto& e : response.entries()) stored.emplace(request.family(), e.version());
  }
  for (const auto& ack : acknowledged) {
    EXPECT_TRUE(stored.count(ack)) << ack.first << " lost acknowledged version " << ack.second;
  }
}

// A bit flip in the store's log. The server refuses to start, exit != 0, with a message that says
// "Corruption" and how to repair; --repair-store fixes it and the server starts.
TEST(CosmoServerTest, ACorruptStoreIsRefusedWithTheRepairCommandAndRepairWorks) {
  TempDir dir;
  const std::string data = dir.Sub("data");
  std::string address;
  {
    auto server = StartCosmoServer({"--data-dir=" + data}, &address);
    ASSERT_TRUE(server.ok()) << server.status();
    for (int i = 0; i < 3; ++i) {
      std::string script = dir.Sub(absl::StrCat("v", i, ".js"));
      std::ofstream(script) << "export default { fetch() { return '" << i << "'; } };\n";
      ASSERT_EQ(RunCosmoctl(address, {"deploy", "fragile", script}).exit_code, 0);
    }
    ASSERT_EQ((*server)->Stop(), 0);
  }
  int flipped = 0;
  for (const auto& entry : std::filesystem::directory_iterator(data)) {
    if (entry.path().extension() != ".log" && entry.path().extension() != ".ldb") continue;
    std::fstream file(entry.path(), std::ios::in | std::ios::out | std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(file)), {});
    if (bytes.size() < 100) continue;
    for (size_t i = 40; i < 60; ++i) bytes[i] = static_cast<char>(~bytes[i]);
    file.seekp(0);
    file.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    ++flipped;
  }
  ASSERT_GT(flipped, 0);

  CommandResult refused = RunCommand(
      {CosmoServerPath(), "--data-dir=" + data, "--grpc-listen=127.0.0.1:0", "--http-listen="});
  ExpectRefusal(refused, "Corruption");
  EXPECT_THAT(refused.err, HasSubstr("--repair-store --data-dir=" + data));

  CommandResult repaired = RunCommand({CosmoServerPath(), "--data-dir=" + data, "--repair-store"});
  EXPECT_EQ(repaired.exit_code, 0) << repaired.err;
  auto server = StartCosmoServer({"--data-dir=" + data}, &address);
  ASSERT_TRUE(server.ok()) << server.status();
  CommandResult listed = RunCosmoctl(address, {"list"});
  EXPECT_EQ(listed.exit_code, 0) << listed.err;
}

}  // namespace
}  // namespace cosmo
