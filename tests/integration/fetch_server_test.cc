// cosmo-server and cosmoctl with outbound fetch: --fetch-allow reaches the engine, deploy takes
// --env-file and --secret (and never prints the secret), and `cosmoctl logs -f` shows each
// request's console output within 100 ms of its response, in order.
#include <httplib.h>
#include <signal.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "integration/raw_http_connection.h"
#include "integration/subprocess.h"
#include "support/background_http_server.h"
#include "support/temp_dir.h"

namespace cosmo {
namespace {

using ::cosmo::testing::BackgroundHttpServer;
using ::cosmo::testing::CommandResult;
using ::cosmo::testing::RawGet;
using ::cosmo::testing::RunCosmoctl;
using ::cosmo::testing::StartCosmoctl;
using ::cosmo::testing::StartCosmoServer;
using ::cosmo::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(FetchServerTest, FetchAllowEnvFileSecretsAndFollowedLogs) {
  httplib::Server upstream;
  upstream.Get("/greeting", [](const httplib::Request& req, httplib::Response& res) {
    res.set_content("hi " + req.get_header_value("X-Key"), "text/plain");
  });
  BackgroundHttpServer serving(upstream);
  const int upstream_port = serving.port();

  TempDir dir;
  std::string address;
  int http_port = 0;
  auto server = StartCosmoServer(
      {"--data-dir=" + dir.Sub("data"), absl::StrCat("--fetch-allow=127.0.0.1:", upstream_port)},
      &address, &http_port);
  ASSERT_TRUE(server.ok()) << server.status();
  auto ctl = [&](const std::vector<std::string>& args) { return RunCosmoctl(address, args); };

  const std::string script = dir.Sub("proxy.js");
  std::ofstream(script) << "export default { async fetch(request, env) {\n"
                        << "  const path = new URL(request.url).pathname;\n"
                        << "  if (path === '/proxy/blocked') {\n"
                        << "    try { await fetch('http://127.0.0.1:1/'); } catch (e) {\n"
                        << "      return e.message; } }\n"
                        << "  const r = await fetch(`${env.UPSTREAM}/greeting`,\n"
                        << "                        {headers: {'X-Key': env.API_KEY}});\n"
                        << "  console.log(`step ${path} ${env.MODE}`);\n"
                        << "  return `${await r.text()} ${env.MODE}`;\n} };\n";
  const std::string env_file = dir.Sub("proxy.env");
  std::ofstream(env_file) << "# upstream settings\n\n"
                          << "UPSTREAM=http://127.0.0.1:" << upstream_port << "\n"
                          << "MODE=from-file\n";
  CommandResult deployed = ctl({"--json", "deploy", "proxy", script, "--env-file", env_file,
                                "--env", "MODE=from-flag", "--secret", "API_KEY=s3cr3t-value"});
  ASSERT_EQ(deployed.exit_code, 0) << deployed.err;
  EXPECT_THAT(deployed.out, Not(HasSubstr("s3cr3t-value")));
  for (const char* command : {"get", "history"}) {
    CommandResult shown = ctl({"--json", command, "proxy"});
    EXPECT_EQ(shown.exit_code, 0) << shown.err;
    EXPECT_THAT(shown.out, Not(HasSubstr("s3cr3t-value"))) << command;
  }

  auto follower = StartCosmoctl(address, {"logs", "proxy", "-f"});
  ASSERT_TRUE(follower.ok());
  // The follower is connected once it has printed the (empty) backlog's end or waits; a first
  // request and its line prove it.
  std::vector<double> delays_ms;
  for (int i = 0; i < 5; ++i) {
    const std::string path = absl::StrCat("/proxy/step", i);
    auto response = RawGet(http_port, path);
    ASSERT_TRUE(response.ok()) << response.status();
    EXPECT_THAT(*response, HasSubstr("hi s3cr3t-value from-flag"));
    auto answered = std::chrono::steady_clock::now();
    auto line = (*follower)->WaitForLine(absl::StrCat("step ", path, " from-flag"),
                                         absl::Seconds(i == 0 ? 20 : 5));
    ASSERT_TRUE(line.ok()) << line.status();
    delays_ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - answered)
            .count());
  }
  // The first line also waits for the follower to connect; the rest show the follow latency.
  for (size_t i = 1; i < delays_ms.size(); ++i) {
    EXPECT_LT(delays_ms[i], 100.0) << "log line " << i << " came late";
  }
  std::printf("[ figures  ] logs -f delay after the response: %.1f %.1f %.1f %.1f ms\n",
              delays_ms[1], delays_ms[2], delays_ms[3], delays_ms[4]);
  // In order: each line was waited for after the previous one, so the output holds them in
  // request order; check it explicitly.
  const std::string& out = (*follower)->output();
  size_t at = 0;
  for (int i = 0; i < 5; ++i) {
    size_t next = out.find(absl::StrCat("step /proxy/step", i), at);
    ASSERT_NE(next, std::string::npos) << i;
    at = next;
  }

  // A destination the flag did not allow is still refused.
  auto blocked = RawGet(http_port, "/proxy/blocked");
  ASSERT_TRUE(blocked.ok());
  EXPECT_THAT(*blocked, HasSubstr("127.0.0.1 is a loopback address"));

  (*follower)->Signal(SIGINT);
  (*follower)->Wait(absl::Seconds(10));
  (*server)->Stop();
}

}  // namespace
}  // namespace cosmo
