// cosmo-gateway end to end: one real cosmo-server and two real cosmo-gateway processes on
// loopback ports. A deploy through the server reaches both gateways within a second; with the
// server stopped the gateways keep serving what they have (and answer 503 unavailable for what
// they never loaded); after a restart the usage they buffered arrives in the server's store.
// Streamed responses arrive as they are produced through a gateway as through the server.

#include <sys/socket.h>

#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "integration/raw_http_connection.h"
#include "integration/subprocess.h"
#include "nlohmann/json.hpp"
#include "support/temp_dir.h"

namespace cosmo {
namespace {

using ::cosmo::testing::BodyOf;
using ::cosmo::testing::CommandResult;
using ::cosmo::testing::CosmoGatewayPath;
using ::cosmo::testing::RawExchange;
using ::cosmo::testing::RawGet;
using ::cosmo::testing::RunCommand;
using ::cosmo::testing::RunCosmoctl;
using ::cosmo::testing::StartCosmoGateway;
using ::cosmo::testing::StartCosmoServer;
using ::cosmo::testing::StopAll;
using ::cosmo::testing::TempDir;
using ::testing::Each;
using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string Body(int port, const std::string& path) {
  auto response = RawGet(port, path);
  if (!response.ok()) return absl::StrCat("<", response.status().ToString(), ">");
  return BodyOf(*response);
}

std::string Script(absl::string_view text) {
  return absl::StrCat("export default { fetch() { return new Response('", text, "'); } };\n");
}

// Requests the gateway served for `family` with outcome ok, from its /_cosmo/metrics.
uint64_t GatewayOkCount(int port, const std::string& family) {
  std::string metrics = Body(port, "/_cosmo/metrics");
  const std::string key =
      absl::StrCat("cosmo_http_requests_total{family=\"", family, "\",outcome=\"ok\"} ");
  for (absl::string_view line : absl::StrSplit(metrics, '\n')) {
    uint64_t n = 0;
    if (absl::StartsWith(line, key) && absl::SimpleAtoi(line.substr(key.size()), &n)) return n;
  }
  return 0;
}

// Invocations of `family` the server's store holds, or -1 when it cannot be asked.
int64_t ServerInvocations(const std::string& server, const std::string& family) {
  CommandResult r = RunCosmoctl(server, {"--json", "usage", family}, {}, absl::Seconds(10));
  if (r.exit_code != 0) return -1;
  auto json = nlohmann::json::parse(r.out, nullptr, false);
  if (json.is_discarded() || !json.is_array() || json.empty()) return -1;
  return json[0]["total"]["invocations"].get<int64_t>();
}

TEST(HttpGatewayTest, GatewaysFollowDeploysSurviveAnOutageAndDeliverBufferedUsage) {
  TempDir dir;
  std::string server_address;
  auto server = StartCosmoServer({"--data-dir=" + dir.Sub("data")}, &server_address);
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string script = dir.path() + "/index.js";
  auto deploy = [&](absl::string_view text) {
    std::ofstream(script) << Script(text);
    CommandResult r = RunCosmoctl(server_address, {"deploy", "hello", script});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  };
  deploy("v1");

  // Gateway 1 is given a dead server first: it fails over to the live one.
  int port1 = 0, port2 = 0;
  auto gateway1 = StartCosmoGateway("127.0.0.1:1," + server_address, &port1);
  auto gateway2 = StartCosmoGateway(server_address, &port2);
  ASSERT_TRUE(gateway1.ok()) << gateway1.status();
  ASSERT_TRUE(gateway2.ok()) << gateway2.status();
  EXPECT_EQ(Body(port1, "/hello/"), "v1");
  EXPECT_EQ(Body(port2, "/hello/"), "v1");
  EXPECT_THAT(Body(port1, "/missing/"), HasSubstr("\"error\":\"not_found\""));

  // A deploy reaches both gateways within a second.
  deploy("v2");
  absl::Time deployed = absl::Now();
  bool both = false;
  while (absl::Now() - deployed < absl::Seconds(3)) {
    if (Body(port1, "/hello/") == "v2" && Body(port2, "/hello/") == "v2") {
      both = true;
      break;
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  ASSERT_TRUE(both);
  EXPECT_LT(absl::Now() - deployed, absl::Seconds(1));

  // The control plane goes away; the gateways keep serving what they loaded.
  EXPECT_EQ((*server)->Stop(), 0) << (*server)->output();
  server->reset();
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(Body(port1, "/hello/"), "v2");
    EXPECT_EQ(Body(port2, "/hello/"), "v2");
  }
  // A family they never loaded cannot be fetched: 503 unavailable, retry later.
  auto never = RawGet(port2, "/never-loaded/");
  ASSERT_TRUE(never.ok());
  EXPECT_THAT(*never, StartsWith("HTTP/1.1 503 Service Unavailable\r\n"));
  EXPECT_THAT(*never, HasSubstr("Retry-After: 1\r\n"));
  EXPECT_THAT(*never, HasSubstr("{\"error\":\"unavailable\""));

  // The server comes back on the same address; the buffered usage arrives.
  server = StartCosmoServer({"--data-dir=" + dir.Sub("data"), "--grpc-listen=" + server_address},
                            &server_address);
  ASSERT_TRUE(server.ok()) << server.status();
  const uint64_t served = GatewayOkCount(port1, "hello") + GatewayOkCount(port2, "hello");
  EXPECT_GE(served, 42u);
  int64_t recorded = -1;
  absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (absl::Now() < deadline) {
    recorded = ServerInvocations(server_address, "hello");
    if (recorded == static_cast<int64_t>(served)) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_EQ(recorded, static_cast<int64_t>(served));

  EXPECT_THAT(StopAll({gateway1->get(), gateway2->get(), server->get()}), Each(0));
}

// GET /kv/?k=K&v=V puts V at K; GET /kv/?k=K answers K's value, or "<none>".
constexpr char kKvScript[] = COSMO_SOURCE_DIR "/tests/testdata/js/kv_put_get.js";

// Sum of the /_cosmo/metrics samples of `name` whose labels contain every one of `labels`.
uint64_t MetricSum(int port, absl::string_view name, const std::vector<std::string>& labels) {
  uint64_t sum = 0;
  for (absl::string_view line : absl::StrSplit(Body(port, "/_cosmo/metrics"), '\n')) {
    if (!absl::StartsWith(line, absl::StrCat(name, "{"))) continue;
    bool all = true;
    for (const std::string& label : labels) all = all && absl::StrContains(line, label);
    uint64_t n = 0;
    if (all && absl::SimpleAtoi(line.substr(line.rfind(' ') + 1), &n)) sum += n;
  }
  return sum;
}

// Families with KV bindings work through a gateway: its bindings reach the server's namespaces,
// so a put through either is read at once through the other; the gateway meters the operations
// on its /_cosmo/metrics and reports them, and `cosmoctl usage` shows them in its KV columns.
TEST(HttpGatewayTest, KvBindingsThroughAGatewayUseTheServersNamespaces) {
  TempDir dir;
  std::string server_address;
  int server_http = 0;
  auto server = StartCosmoServer({"--data-dir=" + dir.Sub("data")}, &server_address, &server_http);
  ASSERT_TRUE(server.ok()) << server.status();
  CommandResult deployed =
      RunCosmoctl(server_address, {"deploy", "kv", kKvScript, "--kv", "KV=shared"});
  ASSERT_EQ(deployed.exit_code, 0) << deployed.err;
  int gateway_http = 0;
  auto gateway = StartCosmoGateway(server_address, &gateway_http);
  ASSERT_TRUE(gateway.ok()) << gateway.status();

  for (int round = 0; round < 10; ++round) {
    const int writer = round % 2 == 0 ? gateway_http : server_http;
    const int reader = round % 2 == 0 ? server_http : gateway_http;
    const std::string value = absl::StrCat("r", round);
    ASSERT_EQ(Body(writer, "/kv/?k=hot&v=" + value), "ok") << "round " << round;
    ASSERT_EQ(Body(reader, "/kv/?k=hot"), value) << "round " << round;
    ASSERT_EQ(Body(writer, "/kv/?k=hot"), value) << "round " << round;
  }
  EXPECT_EQ(Body(gateway_http, "/kv/?k=missing"), "<none>");
  CommandResult got = RunCosmoctl(server_address, {"kv", "get", "shared", "hot"});
  EXPECT_EQ(got.out, "r9");

  // The gateway wrote 5 times and read 11 times; its metrics say so, per family and version.
  EXPECT_EQ(MetricSum(gateway_http, "cosmo_kv_operations_total", {"family=\"kv\"", "op=\"write\""}),
            5u);
  EXPECT_EQ(MetricSum(gateway_http, "cosmo_kv_operations_total", {"family=\"kv\"", "op=\"read\""}),
            11u);
  EXPECT_EQ(MetricSum(gateway_http, "cosmo_kv_bytes_total", {"direction=\"written\""}), 10u);
  // The server's usage counts both, once the gateway has reported (every second).
  int64_t writes = -1;
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (absl::Now() < deadline) {
    CommandResult usage = RunCosmoctl(server_address, {"--json", "usage", "kv"});
    auto json = nlohmann::json::parse(usage.out, nullptr, false);
    if (usage.exit_code == 0 && json.is_array() && !json.empty()) {
      writes = json[0]["total"].value("kv_writes", int64_t{-1});
      if (writes == 10) break;
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_EQ(writes, 10);
  CommandResult table = RunCosmoctl(server_address, {"usage", "kv"});
  EXPECT_THAT(table.out, HasSubstr("KV READS"));
  EXPECT_THAT(table.out, HasSubstr("KV WRITTEN"));

  EXPECT_THAT(StopAll({gateway->get(), server->get()}), Each(0));
}

// A gateway learns a version's secret names with its manifest, and masks their values in the
// error text of a 500 as cosmo-server does — also after a deploy that changed only the names.
TEST(HttpGatewayTest, GatewaysMaskSecretValuesInErrors) {
  TempDir dir;
  std::string server_address;
  auto server = StartCosmoServer({"--data-dir=" + dir.Sub("data")}, &server_address);
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string script = dir.path() + "/keys.js";
  std::ofstream(script) << "export default { fetch(request, env) {\n"
                        << "  throw new Error(`bad key ${env.API_KEY}`); } };\n";
  auto deploy = [&](const std::string& flag) {
    CommandResult r =
        RunCosmoctl(server_address, {"deploy", "keys", script, flag, "API_KEY=gw-s3cr3t-value"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  };
  deploy("--env");
  int port = 0;
  auto gateway = StartCosmoGateway(server_address, &port);
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  EXPECT_THAT(Body(port, "/keys/"), HasSubstr("bad key gw-s3cr3t-value"));

  // The same content, now with API_KEY a secret: no new version, but the gateway follows.
  deploy("--secret");
  const absl::Time deployed = absl::Now();
  std::string body;
  while (absl::Now() - deployed < absl::Seconds(5)) {
    body = Body(port, "/keys/");
    if (absl::StrContains(body, "bad key ***")) break;
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_THAT(body, HasSubstr("bad key ***"));
  EXPECT_THAT(body, ::testing::Not(HasSubstr("gw-s3cr3t-value")));

  EXPECT_THAT(StopAll({gateway->get(), server->get()}), Each(0));
}

// Streamed responses go out as they are produced through a gateway as through the server: the
// first piece arrives while the stream still has a minute to go, and a piece made every 100 ms
// arrives as it is made.
TEST(HttpGatewayTest, StreamedResponsesArriveAsProducedThroughServerAndGateway) {
  TempDir dir;
  std::string server_address;
  int server_port = 0;
  auto server = StartCosmoServer({"--data-dir=" + dir.Sub("data")}, &server_address, &server_port);
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string script = dir.path() + "/ticker.js";
  std::ofstream(script)
      << "export default { fetch() {\n"
      << "  let timer;\n"
      << "  return new Response(new ReadableStream({\n"
      << "    start(c) { c.enqueue(new TextEncoder().encode('first')); },\n"
      << "    pull() { return new Promise((r) => { timer = setTimeout(r, 60000); }); },\n"
      << "    cancel() { clearTimeout(timer); },\n"
      << "  }));\n"
      << "} };\n";
  CommandResult deployed = RunCosmoctl(server_address, {"deploy", "ticker", script});
  ASSERT_EQ(deployed.exit_code, 0) << deployed.err;
  // A piece every 100 ms for a second.
  const std::string ticks = dir.path() + "/ticks.js";
  std::ofstream(ticks) << "export default { fetch() {\n"
                       << "  let n = 0;\n"
                       << "  return new Response(new ReadableStream({\n"
                       << "    pull(c) { return new Promise((r) => setTimeout(() => {\n"
                       << "      c.enqueue(new TextEncoder().encode(`tick${n}.`));\n"
                       << "      if (++n === 10) c.close();\n"
                       << "      r(); }, 100)); },\n"
                       << "  }));\n"
                       << "} };\n";
  deployed = RunCosmoctl(server_address, {"deploy", "ticks", ticks});
  ASSERT_EQ(deployed.exit_code, 0) << deployed.err;
  int gateway_port = 0;
  auto gateway = StartCosmoGateway(server_address, &gateway_port);
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  for (int port : {server_port, gateway_port}) {
    auto c = cosmo::testing::RawHttpConnection::Connect(port);
    ASSERT_TRUE(c.ok()) << c.status();
    ASSERT_TRUE((*c)->Send("GET /ticker/ HTTP/1.1\r\nHost: h\r\n\r\n"));
    std::string bytes;
    (*c)->ReadUntil("5\r\nfirst\r\n", &bytes);
    EXPECT_THAT(bytes, StartsWith("HTTP/1.1 200 OK\r\n")) << port;
    EXPECT_THAT(bytes, HasSubstr("Transfer-Encoding: chunked\r\n")) << port;
    EXPECT_THAT(bytes, HasSubstr("\r\n\r\n5\r\nfirst\r\n")) << port;
  }  // closing the connections cancels the streams, so both processes stop promptly
  for (int port : {server_port, gateway_port}) {
    auto c = cosmo::testing::RawHttpConnection::Connect(port);
    ASSERT_TRUE(c.ok()) << c.status();
    const absl::Time sent = absl::Now();
    ASSERT_TRUE((*c)->Send("GET /ticks/ HTTP/1.1\r\nHost: h\r\n\r\n"));
    std::string first;
    ASSERT_TRUE((*c)->ReadUntil("tick0.", &first)) << port << ": " << first;
    const absl::Duration to_first = absl::Now() - sent;
    // The first piece came on its own, long before the last was made.
    EXPECT_THAT(first, ::testing::Not(HasSubstr("tick9."))) << port;
    std::string rest;
    ASSERT_TRUE((*c)->ReadUntil("\r\n0\r\n\r\n", &rest)) << port << ": " << rest;
    EXPECT_THAT(rest, HasSubstr("tick9."));
    std::printf("port %d: first of 10 pieces (one per 100 ms) after %s, all after %s\n", port,
                absl::FormatDuration(to_first).c_str(),
                absl::FormatDuration(absl::Now() - sent).c_str());
  }
  EXPECT_THAT(StopAll({gateway->get(), server->get()}), Each(0));
}

// A gateway runs scripts itself, so it takes cosmo-server's limit flags and enforces them.
TEST(HttpGatewayTest, GatewaysEnforceTheirOwnLimitFlags) {
  TempDir dir;
  std::string server_address;
  auto server = StartCosmoServer({"--data-dir=" + dir.Sub("data")}, &server_address);
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string script = dir.path() + "/slow.js";
  std::ofstream(script) << "export default { async fetch() {\n"
                        << "  await new Promise((resolve) => setTimeout(resolve, 5000));\n"
                        << "  return new Response('late'); } };\n";
  CommandResult deployed = RunCosmoctl(server_address, {"deploy", "slow", script});
  ASSERT_EQ(deployed.exit_code, 0) << deployed.err;
  int port = 0;
  auto gateway = StartCosmoGateway(server_address, &port,
                                   {"--max-wall-ms=300", "--max-request-body-bytes=64"});
  ASSERT_TRUE(gateway.ok()) << gateway.status();

  const absl::Time start = absl::Now();
  auto response = RawGet(port, "/slow/");
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_THAT(*response, ::testing::StartsWith("HTTP/1.1 503"));
  EXPECT_THAT(*response, HasSubstr("wall-clock limit of 300ms"));
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));

  // The body limit is the HTTP layer's: refused before the family is even looked up.
  auto too_large = RawExchange(
      port, "POST /slow/ HTTP/1.1\r\nHost: h\r\nContent-Length: 65\r\n\r\n" + std::string(65, 'x'));
  ASSERT_TRUE(too_large.ok()) << too_large.status();
  EXPECT_THAT(*too_large, ::testing::StartsWith("HTTP/1.1 413 "));
  EXPECT_THAT(*too_large, HasSubstr("larger than 64 bytes"));

  CommandResult bad = RunCommand({CosmoGatewayPath(), "--control=" + server_address,
                                  "--max-cpu-ms=0", "--http-listen=127.0.0.1:0"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_THAT(bad.err, HasSubstr("cosmo-gateway: limits flags:"));

  EXPECT_THAT(StopAll({gateway->get(), server->get()}), Each(0));
}

}  // namespace
}  // namespace cosmo
