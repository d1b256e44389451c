// The runaway scripts of docs/security.md ("Runaway scripts") through HTTP: a real Runtime with
// the real JavaScript engine behind a real HttpServer on a loopback port. Each runaway ends in its
// JSON error within its limit, and other families keep serving meanwhile and afterwards.
#include <atomic>
#include <memory>
#include <string>
#include <thread>
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

using ::cosmo::testing::RawExchange;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr absl::Duration kCpuLimit = absl::Milliseconds(50);

class HttpHostileScriptTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    StartRuntime(kCpuLimit);
    Deploy("ok", kHealthySource);
    Deploy("spin", "export default { fetch() { while (true) {} } };");
    Deploy(
        "heap",
        "export default { fetch() { const a = []; while (true) { a.push(new Array(1e5).fill(1)); "
        "} } };");
    Deploy("recurse",
           "function f(n) { return f(n + 1) + 1; }\n"
           "export default { fetch() { return new Response(String(f(0))); } };");
    Deploy("throws", "export default { fetch() { throw new TypeError('nope'); } };");
    Deploy("stream-strings", kEndlessStringStream);
    StartServer();
  }

  static constexpr const char* kHealthySource =
      "export default { fetch(request) { return new Response('fine'); } };";
  // Stream sources that never return from start() or pull(), enqueueing all the while.
  static constexpr const char* kEndlessStringStream =
      "export default { fetch() { return new Response(new ReadableStream({\n"
      "  start(c) { for (let i = 0;; i++) c.enqueue('chunk ' + i); } })); } };";
  static constexpr const char* kEndlessByteStream =
      "export default { fetch() { return new Response(new ReadableStream({\n"
      "  pull(c) { for (;;) c.enqueue(new Uint8Array(65536)); } })); } };";

  static void StartRuntime(absl::Duration cpu_cap) {
    RuntimeOptions options;
    options.caps.cpu_per_request = cpu_cap;
    options.caps.memory_bytes = size_t{64} << 20;
    auto runtime = NewRuntime(options, NewInMemoryStore());
    ASSERT_TRUE(runtime.ok()) << runtime.status();
    runtime_ = runtime->release();
  }

  static void StartServer() {
    auto server = NewHttpServer({.listen_address = "127.0.0.1:0"}, runtime_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = server->release();
    server_->Start();
  }

  static void TearDownTestSuite() {
    delete server_;
    delete runtime_;
  }

  static void Deploy(const std::string& family, const std::string& source) {
    auto deployed = runtime_->registry().Deploy(
        {.tenant = "local",
         .family = family,
         .manifest = {
             .engine = "javascript", .main = "index.js", .files = {{"index.js", source}}}});
    ASSERT_TRUE(deployed.ok()) << family << ": " << deployed.status();
  }

  static std::string Get(const std::string& family, absl::Duration* took = nullptr) {
    absl::Time start = absl::Now();
    auto response =
        RawExchange(server_->port(), absl::StrCat("GET /", family, "/ HTTP/1.1\r\nHost: h\r\n\r\n"),
                    absl::Seconds(10));
    if (took != nullptr) *took = absl::Now() - start;
    EXPECT_TRUE(response.ok()) << response.status();
    return response.ok() ? *response : "";
  }

  static void ExpectHealthy() { EXPECT_THAT(Get("ok"), EndsWith("\r\n\r\nfine")); }

  static Runtime* runtime_;
  static HttpServer* server_;
};

Runtime* HttpHostileScriptTest::runtime_ = nullptr;
HttpServer* HttpHostileScriptTest::server_ = nullptr;

TEST_F(HttpHostileScriptTest, InfiniteLoopIs503LimitExceededWithinTheCpuLimit) {
  ExpectHealthy();  // warm, so the timing below is the runaway's alone
  absl::Duration took;
  std::string response = Get("spin", &took);
  EXPECT_THAT(response, StartsWith("HTTP/1.1 503 Service Unavailable\r\n"));
  EXPECT_THAT(response, HasSubstr("\r\n\r\n{\"error\":\"limit_exceeded\",\"message\":\""));
  // CPU limit plus activation and scheduling slack on a shared 2-core machine.
  EXPECT_LT(took, absl::Seconds(1));
  // The next request gets a fresh isolate and runs into the limit again, cleanly.
  EXPECT_THAT(Get("spin"), StartsWith("HTTP/1.1 503 "));
  ExpectHealthy();
}

TEST_F(HttpHostileScriptTest, HeapGrowthIs503LimitExceeded) {
  std::string response = Get("heap");
  EXPECT_THAT(response, StartsWith("HTTP/1.1 503 Service Unavailable\r\n"));
  EXPECT_THAT(response, HasSubstr("{\"error\":\"limit_exceeded\""));
  ExpectHealthy();
}

TEST_F(HttpHostileScriptTest, StackOverflowIs500ScriptError) {
  std::string response = Get("recurse");
  EXPECT_THAT(response, StartsWith("HTTP/1.1 500 Internal Server Error\r\n"));
  EXPECT_THAT(response, HasSubstr("{\"error\":\"script_error\",\"message\":\""));
  EXPECT_THAT(response, HasSubstr("Maximum call stack size exceeded"));
  ExpectHealthy();
}

TEST_F(HttpHostileScriptTest, UncaughtExceptionIs500WithItsFirstLine) {
  std::string response = Get("throws");
  EXPECT_THAT(response, StartsWith("HTTP/1.1 500 Internal Server Error\r\n"));
  EXPECT_THAT(response, HasSubstr("TypeError: nope"));
  EXPECT_THAT(response, ::testing::Not(HasSubstr("\\n    at ")));  // no stack on the wire
}

// Whichever of the CPU and memory limits an endless stream source reaches first (the CPU limit,
// on most machines), the answer is the same.
TEST_F(HttpHostileScriptTest, EndlessStreamSourceIs503LimitExceeded) {
  std::string response = Get("stream-strings");
  EXPECT_THAT(response, StartsWith("HTTP/1.1 503 Service Unavailable\r\n"));
  EXPECT_THAT(response, HasSubstr("{\"error\":\"limit_exceeded\""));
  ExpectHealthy();
}

TEST_F(HttpHostileScriptTest, OtherFamiliesAreUnaffectedByConcurrentRunaways) {
  ExpectHealthy();
  std::atomic<bool> stop{false};
  std::vector<std::thread> runaways;
  for (int i = 0; i < 4; ++i) {
    runaways.emplace_back([&] {
      while (!stop.load()) Get("spin");
    });
  }
  int ok = 0;
  absl::Duration worst;
  for (int i = 0; i < 40; ++i) {
    absl::Duration took;
    if (absl::EndsWith(Get("ok", &took), "\r\n\r\nfine")) ++ok;
    worst = std::max(worst, took);
  }
  stop.store(true);
  for (std::thread& t : runaways) t.join();
  EXPECT_EQ(ok, 40);
  // A healthy request waits at most behind runaways on the two cores, never for them to finish
  // on their own.
  EXPECT_LT(worst, absl::Milliseconds(500));
}

// Endless stream sources with CPU to spare, so the memory budget is what stops them.
class HttpHostileStreamTest : public HttpHostileScriptTest {
 protected:
  static void SetUpTestSuite() {
    StartRuntime(absl::Seconds(10));
    Deploy("ok", kHealthySource);
    Deploy("stream-strings", kEndlessStringStream);
    Deploy("stream-bytes", kEndlessByteStream);
    StartServer();
  }
};

TEST_F(HttpHostileStreamTest, EndlessStringChunksAre503MemoryLimit) {
  std::string response = Get("stream-strings");
  EXPECT_THAT(response, StartsWith("HTTP/1.1 503 Service Unavailable\r\n"));
  EXPECT_THAT(response, HasSubstr("{\"error\":\"limit_exceeded\""));
  EXPECT_THAT(response, HasSubstr("memory limit"));
  ExpectHealthy();
}

// The chunk that does not fit in the budget is a RangeError, as for any ArrayBuffer: it errors the
// stream, and the response it was to be fails.
TEST_F(HttpHostileStreamTest, EndlessByteChunksAre500WhenTheBudgetRefusesOne) {
  std::string response = Get("stream-bytes");
  EXPECT_THAT(response, StartsWith("HTTP/1.1 500 Internal Server Error\r\n"));
  EXPECT_THAT(response, HasSubstr("{\"error\":\"script_error\""));
  EXPECT_THAT(response, HasSubstr("RangeError: Array buffer allocation failed"));
  ExpectHealthy();
}

TEST_F(HttpHostileStreamTest, OtherFamiliesServeWhileStreamsRunAway) {
  ExpectHealthy();
  std::atomic<bool> stop{false};
  std::thread runaway([&] {
    while (!stop.load()) {
      Get("stream-strings");
      Get("stream-bytes");
    }
  });
  int ok = 0;
  for (int i = 0; i < 20; ++i) {
    if (absl::EndsWith(Get("ok"), "\r\n\r\nfine")) ++ok;
  }
  stop.store(true);
  runaway.join();
  EXPECT_EQ(ok, 20);
  ExpectHealthy();
}

}  // namespace
}  // namespace cosmo
