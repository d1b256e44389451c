// JavaScript streamed responses written by the front end's event loop end to end: a real Runtime
// whose engine parks a function's ReadableStream (stream_pending) behind a real HttpServer with
// two workers, and real client sockets. Many endless streams are all open at once (each would
// hold a worker, and its instance, if the engine did not detach); a finite one completes and its
// connection serves the next request.
//
// Relies on the runtime parking streamed responses (returns `stream_pending`; docs/architecture.md,
// "Parked streams"): with an engine that kept the worker, the endless streams could not all start
// and the first test would fail after its two-minute wait.
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "cosmo/http_server.h"
#include "cosmo/runtime.h"
#include "cosmo/store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "integration/raw_http_connection.h"

namespace cosmo {
namespace {

using ::cosmo::testing::Dechunk;
using ::cosmo::testing::RawHttpConnection;
using ::testing::HasSubstr;
using ::testing::StartsWith;

class HttpDetachedJsStreamsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RuntimeOptions options;
    options.caps.wall_per_request = absl::Seconds(60);
    options.caps.cpu_per_request = absl::Seconds(5);
    auto runtime = NewRuntime(options, NewInMemoryStore());
    ASSERT_TRUE(runtime.ok()) << runtime.status();
    runtime_ = std::move(*runtime);
    // A line every 50 ms until the client leaves.
    Deploy("ticker",
           "export default { fetch() {\n"
           "  const e = new TextEncoder(); let n = 0, timer;\n"
           "  return new Response(new ReadableStream({\n"
           "    pull(c) { return new Promise((r) => { timer = setTimeout(() => {\n"
           "      c.enqueue(e.encode('tick ' + (++n) + '\\n')); r(); }, 50); }); },\n"
           "    cancel() { clearTimeout(timer); } }),\n"
           "    { headers: { 'content-type': 'text/plain' } });\n"
           "} };");
    // Three lines 20 ms apart, then the end.
    Deploy("three",
           "export default { fetch() {\n"
           "  const e = new TextEncoder(); let n = 0;\n"
           "  return new Response(new ReadableStream({\n"
           "    pull(c) { return new Promise((r) => setTimeout(() => {\n"
           "      c.enqueue(e.encode('line ' + (++n) + ';')); if (n === 3) c.close(); r(); },\n"
           "      20)); } }));\n"
           "} };");
    auto server =
        NewHttpServer({.listen_address = "127.0.0.1:0", .worker_threads = 2}, runtime_.get());
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    server_->Start();
  }

  void TearDown() override {
    if (server_ != nullptr) server_->Stop();
  }

  void Deploy(const std::string& family, const std::string& source) {
    auto deployed = runtime_->registry().Deploy(
        {.tenant = "local",
         .family = family,
         .manifest = {
             .engine = "javascript", .main = "index.js", .files = {{"index.js", source}}}});
    ASSERT_TRUE(deployed.ok()) << family << ": " << deployed.status();
  }

  std::string AwaitMetrics(const std::vector<std::string>& texts) {
    return testing::GetUntil(server_->port(), "/_cosmo/metrics", texts);
  }

  std::unique_ptr<Runtime> runtime_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpDetachedJsStreamsTest, TwoHundredEndlessStreamsAreAllOpenOnTwoWorkers) {
  constexpr size_t kStreams = 200;
  std::vector<std::unique_ptr<RawHttpConnection>> clients;
  std::vector<int> fds;
  for (size_t i = 0; i < kStreams; ++i) {
    auto client = RawHttpConnection::Connect(server_->port());
    ASSERT_TRUE(client.ok()) << client.status();
    ASSERT_TRUE((*client)->Send("GET /ticker/ HTTP/1.1\r\nHost: h\r\n\r\n"));
    fds.push_back((*client)->fd());
    clients.push_back(std::move(*client));
  }
  // The streams never end: each of them ticking means all run at once.
  std::vector<std::string> got;
  ASSERT_TRUE(testing::ReadFromAll(
      fds, &got, [](const std::string& bytes) { return absl::StrContains(bytes, "tick 2\n"); }));
  for (const std::string& bytes : got) {
    EXPECT_THAT(bytes, StartsWith("HTTP/1.1 200 OK\r\n"));
    EXPECT_THAT(bytes, HasSubstr("Transfer-Encoding: chunked\r\n"));
  }
  absl::StatusOr<std::string> metrics = testing::RawGet(server_->port(), "/_cosmo/metrics");
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  EXPECT_THAT(*metrics, HasSubstr(absl::StrCat("cosmo_http_connections{state=\"streaming\"} ",
                                               kStreams, "\n")));
  // The clients leave: every stream is cancelled and recorded, and no connection is left.
  clients.clear();
  std::string after = AwaitMetrics({"cosmo_http_connections{state=\"streaming\"} 0\n",
                                    "cosmo_http_requests_total{family=\"ticker\""});
  EXPECT_THAT(after, HasSubstr("cosmo_http_connections{state=\"streaming\"} 0\n"));
  EXPECT_THAT(after, HasSubstr("cosmo_http_requests_total{family=\"ticker\""));
}

TEST_F(HttpDetachedJsStreamsTest, AFinishedStreamKeepsItsConnectionForTheNextRequest) {
  auto client = RawHttpConnection::Connect(server_->port());
  ASSERT_TRUE(client.ok()) << client.status();
  for (int round = 0; round < 3; ++round) {
    ASSERT_TRUE((*client)->Send("GET /three/ HTTP/1.1\r\nHost: h\r\n\r\n"));
    std::string bytes;
    ASSERT_TRUE((*client)->ReadUntil("\r\n0\r\n\r\n", &bytes))
        << "round " << round << ": " << bytes;
    bool complete = false;
    EXPECT_EQ(Dechunk(testing::BodyOf(bytes), &complete), "line 1;line 2;line 3;");
    EXPECT_TRUE(complete);
  }
  const std::string done = "cosmo_http_requests_total{family=\"three\",outcome=\"ok\"} 3\n";
  EXPECT_THAT(AwaitMetrics({done}), HasSubstr(done));
}

}  // namespace
}  // namespace cosmo
