// The HTTP data plane on the wire: a real HttpServer on a loopback port, driven by raw sockets,
// with exact bytes compared: framing, limits, request smuggling, load shedding, the connection
// limits of the event-driven front end (cap, head deadline, idle connections) and the policy for
// functions' responses (docs/http.md, "Errors", "Limits", "Responses from functions" and "What the
// layer adds to cpp-httplib 0.11.4"). The functions behind it are a test invoke function, so each
// case sees exactly what the server passed on and counts every invocation (a smuggled request
// would show up there).
#include <zlib.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "cosmo/http_server.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "http/front_end.h"
#include "integration/raw_http_connection.h"

namespace cosmo {
namespace {

using ::cosmo::testing::RawExchange;
using ::cosmo::testing::RawHttpConnection;
using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

constexpr size_t kBodyLimit = size_t{1} << 20;

// The bytes of a JSON error response as the server writes them.
std::string ErrorBytes(absl::string_view status_line, absl::string_view code,
                       absl::string_view message, bool close) {
  std::string body = absl::StrCat("{\"error\":\"", code, "\",\"message\":\"", message, "\"}");
  return absl::StrCat(
      "HTTP/1.1 ", status_line, "\r\n", close ? "Connection: close\r\n" : "",
      "Content-Length: ", body.size(),
      "\r\nContent-Type: application/json\r\nKeep-Alive: timeout=5, max=100\r\n\r\n", body);
}

std::string Gzip(const std::string& data) {
  z_stream z{};
  deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&z, data.size()) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

class HttpWireTest : public ::testing::Test {
 protected:
  void SetUp() override { StartServer({}); }
  void TearDown() override {
    ReleaseBlocked();  // so that stopping the server does not wait on a failed test's requests
    server_.reset();
  }

  void StartServer(HttpServerOptions options) {
    server_.reset();
    options.listen_address = "127.0.0.1:0";
    options.max_request_body_bytes = kBodyLimit;
    options.keep_alive_max_requests = 100;
    options.read_timeout = absl::Seconds(2);
    auto server = NewHttpServer(options, nullptr,
                                [this](absl::string_view family, const HttpRequest& request) {
                                  return Invoke(family, request);
                                });
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    server_->Start();
    port_ = server_->port();
  }

  // The functions: "echo" answers with what it received; "respond" with response_; "throw"
  // throws a C++ exception; anything else is an unknown family.
  InvokeResult Invoke(absl::string_view family, const HttpRequest& request) {
    invocations_.fetch_add(1);
    InvokeResult result;
    if (family == "echo") {
      std::string body = request.body;
      if (request.body_reader != nullptr) {  // still arriving: read it as a function would
        for (;;) {
          absl::StatusOr<std::string> piece = request.body_reader->Read(64 << 10, absl::Seconds(2));
          if (!piece.ok()) {
            result.outcome = Outcome::kException;
            result.error = std::string(piece.status().message());
            return result;
          }
          if (piece->empty()) break;
          body += *piece;
        }
      }
      absl::MutexLock lock(&mu_);
      last_ = request;
      last_.body = body;
      last_.body_reader = nullptr;
      result.outcome = Outcome::kOk;
      result.response.headers = {{"Content-Type", "text/plain"}};
      result.response.body = absl::StrCat(request.method, " ", request.url, " ", body);
    } else if (family == "respond") {
      absl::MutexLock lock(&mu_);
      result.outcome = outcome_;
      result.response = response_;
      result.error = error_;
    } else if (family == "block") {
      absl::MutexLock lock(&mu_);
      ++blocked_;
      mu_.Await(absl::Condition(&released_));
      result.outcome = Outcome::kOk;
    } else if (family == "throw") {
      throw std::runtime_error("secret internals");
    } else {
      result.outcome = Outcome::kNotFound;
      result.error = absl::StrCat("no family '", family, "'");
    }
    return result;
  }

  void SetResponse(HttpResponse response, Outcome outcome = Outcome::kOk, std::string error = "") {
    absl::MutexLock lock(&mu_);
    response_ = std::move(response);
    outcome_ = outcome;
    error_ = std::move(error);
  }

  // Waits until `n` requests for "block" are running.
  void WaitForBlocked(int n) {
    absl::MutexLock lock(&mu_);
    auto enough = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return blocked_ >= n; };
    mu_.Await(absl::Condition(&enough));
  }
  void ReleaseBlocked() {
    absl::MutexLock lock(&mu_);
    released_ = true;
  }

  HttpRequest Last() {
    absl::MutexLock lock(&mu_);
    return last_;
  }

  // Sends `request` on a fresh connection; returns the response and whether the server then
  // closed the connection.
  std::string Exchange(absl::string_view request, bool* closed = nullptr) {
    auto c = RawHttpConnection::Connect(port_);
    EXPECT_TRUE(c.ok());
    if (!c.ok()) return "";
    (*c)->Send(request);
    auto response = (*c)->ReadResponse();
    EXPECT_TRUE(response.ok()) << response.status();
    if (closed != nullptr) *closed = (*c)->WaitClosed(absl::Seconds(2));
    return response.ok() ? *response : "";
  }

  std::unique_ptr<HttpServer> server_;
  int port_ = 0;
  std::atomic<int> invocations_{0};
  absl::Mutex mu_;
  HttpRequest last_ ABSL_GUARDED_BY(mu_);
  HttpResponse response_ ABSL_GUARDED_BY(mu_);
  Outcome outcome_ ABSL_GUARDED_BY(mu_) = Outcome::kOk;
  std::string error_ ABSL_GUARDED_BY(mu_);
  int blocked_ ABSL_GUARDED_BY(mu_) = 0;
  bool released_ ABSL_GUARDED_BY(mu_) = false;
};

TEST(HttpServerOptionsTest, DefaultsAreValidAndLimitBodiesTo10MiB) {
  EXPECT_EQ(HttpServerOptions().max_request_body_bytes, size_t{10} << 20);
  EXPECT_TRUE(HttpServerOptions().Validate().ok());
  HttpServerOptions no_body;
  no_body.max_request_body_bytes = 0;
  EXPECT_THAT(no_body.Validate().message(), HasSubstr("max_request_body_bytes"));
}

TEST_F(HttpWireTest, RoutesToTheFamilyWithTheFullUrlAndExactResponseBytes) {
  bool closed = true;
  std::string response = Exchange(
      "POST /echo/a/b?x=1 HTTP/1.1\r\nHost: example.test:8080\r\nContent-Length: 3\r\n\r\nabc",
      &closed);
  EXPECT_EQ(response,
            "HTTP/1.1 200 OK\r\nContent-Length: 46\r\nContent-Type: text/plain\r\n"
            "Keep-Alive: timeout=5, max=100\r\n\r\nPOST http://example.test:8080/echo/a/b?x=1 abc");
  EXPECT_FALSE(closed);
  EXPECT_EQ(Last().remote_addr, "127.0.0.1");
}

TEST_F(HttpWireTest, UnknownFamilyIs404NotFoundJson) {
  EXPECT_EQ(Exchange("GET /nope/x HTTP/1.1\r\nHost: h\r\n\r\n"),
            ErrorBytes("404 Not Found", "not_found", "no family 'nope'", false));
  EXPECT_EQ(
      Exchange("GET / HTTP/1.1\r\nHost: h\r\n\r\n"),
      ErrorBytes("404 Not Found", "not_found", "no function here: request /{family}/...", false));
  EXPECT_EQ(
      Exchange("GET /Bad_Name/ HTTP/1.1\r\nHost: h\r\n\r\n"),
      ErrorBytes("404 Not Found", "not_found", "no function is deployed at this path", false));
}

TEST_F(HttpWireTest, ContentLengthOverLimitIs413BeforeTheBodyAndCloses) {
  bool closed = false;
  EXPECT_EQ(
      Exchange("POST /echo/ HTTP/1.1\r\nHost: h\r\nContent-Length: 10485760\r\n\r\n", &closed),
      ErrorBytes("413 Payload Too Large", "payload_too_large",
                 "request body larger than 1048576 bytes", true));
  EXPECT_TRUE(closed);
  // With Expect: 100-continue the final 413 comes instead of the go-ahead, and the connection
  // closes after it: the body the client may still send is never read as a request.
  auto c = RawHttpConnection::Connect(port_);
  ASSERT_TRUE(c.ok());
  (*c)->Send(
      "POST /echo/ HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: "
      "10485760\r\n\r\n");
  auto response = (*c)->ReadResponse();
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(*response, ErrorBytes("413 Payload Too Large", "payload_too_large",
                                  "request body larger than 1048576 bytes", true));
  EXPECT_TRUE((*c)->WaitClosed());
  EXPECT_EQ(invocations_.load(), 0);
}

TEST_F(HttpWireTest, ChunkedBodyOverLimitIs413AndCloses) {
  auto c = RawHttpConnection::Connect(port_);
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE((*c)->Send("POST /echo/ HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"));
  std::thread sender([&] {
    std::string chunk = absl::StrCat("10000\r\n", std::string(0x10000, 'a'), "\r\n");
    for (int i = 0; i < 160; ++i) {  // 10 MiB
      if (!(*c)->Send(chunk)) return;
    }
    (*c)->Send("0\r\n\r\n");
  });
  auto response = (*c)->ReadResponse();
  sender.join();
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(*response, ErrorBytes("413 Payload Too Large", "payload_too_large",
                                  "request body larger than 1048576 bytes", true));
  // A chunked body still arriving starts the function at the head, which reads it as it comes;
  // its read fails at the limit, and the 413 replaces whatever it answered.
  EXPECT_EQ(invocations_.load(), 1);
}

TEST_F(HttpWireTest, ChunkedAndGzipBodiesWithinTheLimitReachTheFunctionDecoded) {
  std::string response = Exchange(
      "PUT /echo/ HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
  EXPECT_THAT(response, HasSubstr("\r\n\r\nPUT http://h/echo/ abcde"));
  std::string gz = Gzip("hello gzip");
  response =
      Exchange(absl::StrCat("POST /echo/ HTTP/1.1\r\nHost: h\r\nContent-Encoding: gzip\r\n"
                            "Content-Length: ",
                            gz.size(), "\r\n\r\n", gz));
  EXPECT_THAT(response, HasSubstr("\r\n\r\nPOST http://h/echo/ hello gzip"));
  HttpRequest last = Last();
  for (const auto& [name, value] : last.headers) {
    EXPECT_NE(name, "Content-Encoding");
    if (name == "Content-Length") {
      EXPECT_EQ(value, "10");
    }
  }
}

TEST_F(HttpWireTest, MalformedChunkSizesAre400AndClose) {
  // Sizes the front end cannot frame are read by the function's body reader, which refuses them
  // (400; 413 for one over the limit) whatever the function answered.
  for (std::string size : {"-2", "zz", "ffffffffffffffff"}) {
    bool closed = false;
    std::string response = Exchange(
        absl::StrCat("POST /echo/ HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n", size,
                     "\r\nhello\r\n0\r\n\r\n"),
        &closed);
    EXPECT_THAT(response,
                ::testing::AnyOf(StartsWith("HTTP/1.1 400 "), StartsWith("HTTP/1.1 413 ")))
        << size;
    EXPECT_THAT(response, HasSubstr("Connection: close")) << size;
    EXPECT_TRUE(closed) << size;
  }
  EXPECT_EQ(invocations_.load(), 3);
  // A documented limitation (docs/http.md): the library parses chunk sizes with strtoul(.., 16),
  // which accepts a "0x" prefix, so "0x5" is read as 5.
  EXPECT_THAT(Exchange("POST /echo/ HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                       "0x5\r\nhello\r\n0\r\n\r\n"),
              HasSubstr("\r\n\r\nPOST http://h/echo/ hello"));
}

TEST_F(HttpWireTest, GzipBombIs413CountingDecodedBytes) {
  std::string bomb = Gzip(std::string(size_t{8} << 20, '\0'));  // 8 MiB of zeros, ~8 KiB packed
  ASSERT_LT(bomb.size(), kBodyLimit);
  bool closed = false;
  std::string response =
      Exchange(absl::StrCat("POST /echo/ HTTP/1.1\r\nHost: h\r\nContent-Encoding: "
                            "gzip\r\nContent-Length: ",
                            bomb.size(), "\r\n\r\n", bomb),
               &closed);
  EXPECT_EQ(response, ErrorBytes("413 Payload Too Large", "payload_too_large",
                                 "request body larger than 1048576 bytes", true));
  EXPECT_TRUE(closed);
  EXPECT_EQ(invocations_.load(), 0);
}

TEST_F(HttpWireTest, BodyMethodWithoutLengthIs411) {
  bool closed = false;
  EXPECT_EQ(Exchange("POST /echo/ HTTP/1.1\r\nHost: h\r\n\r\n", &closed),
            ErrorBytes("411 Length Required", "length_required",
                       "POST needs Content-Length or Transfer-Encoding: chunked", true));
  EXPECT_TRUE(closed);
  // DELETE without a body is an ordinary request.
  EXPECT_THAT(Exchange("DELETE /echo/x HTTP/1.1\r\nHost: h\r\n\r\n"),
              HasSubstr("\r\n\r\nDELETE http://h/echo/x "));
}

TEST_F(HttpWireTest, SmugglingShapesAreRefusedAndThePipelinedRequestNeverRuns) {
  const std::string smuggled = "GET /echo/smuggled HTTP/1.1\r\nHost: h\r\n\r\n";
  struct Case {
    std::string request;
    std::string expected;
  };
  std::vector<Case> cases = {
      {absl::StrCat("POST /echo/ HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\nContent-Length: ",
                    smuggled.size(), "\r\n\r\n", smuggled),
       ErrorBytes("400 Bad Request", "bad_request", "more than one Content-Length header", true)},
      {absl::StrCat("POST /echo/ HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: "
                    "chunked\r\n\r\n0\r\n\r\n",
                    smuggled),
       ErrorBytes("400 Bad Request", "bad_request",
                  "both Content-Length and Transfer-Encoding are present", true)},
      {absl::StrCat("POST /echo/ HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
                    "0\r\n\r\n",
                    smuggled),
       ErrorBytes("501 Not Implemented", "not_implemented",
                  "Transfer-Encoding other than exactly 'chunked' is not supported", true)},
      {absl::StrCat("GET /echo/ HTTP/1.1\r\nHost: h\r\nContent-Length: ", smuggled.size(),
                    "\r\n\r\n", smuggled),
       ErrorBytes("400 Bad Request", "bad_request", "GET requests may not carry a body", true)},
      {absl::StrCat("GET /echo/ HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n",
                    smuggled),
       ErrorBytes("400 Bad Request", "bad_request", "GET requests may not carry a body", true)},
  };
  for (const Case& c : cases) {
    auto conn = RawHttpConnection::Connect(port_);
    ASSERT_TRUE(conn.ok());
    (*conn)->Send(c.request);
    auto response = (*conn)->ReadResponse();
    ASSERT_TRUE(response.ok()) << response.status();
    EXPECT_EQ(*response, c.expected);
    std::string extra;
    EXPECT_TRUE((*conn)->WaitClosed(absl::Seconds(2), &extra)) << c.request;
    EXPECT_EQ(extra, "");
  }
  EXPECT_EQ(invocations_.load(), 0);
}

TEST_F(HttpWireTest, OversizedRequestLinesAndHeaders) {
  bool closed = false;
  std::string response = Exchange(
      absl::StrCat("GET /echo/", std::string(9000, 'a'), " HTTP/1.1\r\nHost: h\r\n\r\n"), &closed);
  EXPECT_EQ(response, ErrorBytes("414 URI Too Long", "uri_too_long",
                                 "the request could not be parsed", true));
  EXPECT_TRUE(closed);
  response = Exchange(
      absl::StrCat("GET /echo/ HTTP/1.1\r\nHost: h\r\nX-Big: ", std::string(9000, 'b'), "\r\n\r\n"),
      &closed);
  EXPECT_EQ(response,
            ErrorBytes("400 Bad Request", "bad_request", "the request could not be parsed", true));
  std::string flood = "GET /echo/ HTTP/1.1\r\nHost: h\r\n";
  for (int i = 0; i < 10000; ++i) absl::StrAppend(&flood, "X-", i, ": v\r\n");
  response = Exchange(absl::StrCat(flood, "\r\n"), &closed);
  EXPECT_EQ(response, ErrorBytes("431 Request Header Fields Too Large", "headers_too_large",
                                 "more than 100 header fields", true));
  EXPECT_TRUE(closed);
  EXPECT_EQ(invocations_.load(), 0);
}

TEST_F(HttpWireTest, LongPathIs414FromTheGuard) {
  bool closed = false;
  EXPECT_EQ(
      Exchange(absl::StrCat("GET /echo/", std::string(8000, 'p'), " HTTP/1.1\r\nHost: h\r\n\r\n"),
               &closed),
      ErrorBytes("414 URI Too Long", "uri_too_long", "path longer than 1024 bytes", true));
  EXPECT_TRUE(closed);
  // The same through the body route (regex dispatch after the guard).
  EXPECT_EQ(Exchange(absl::StrCat("POST /echo/", std::string(8000, 'p'),
                                  " HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n")),
            ErrorBytes("414 URI Too Long", "uri_too_long", "path longer than 1024 bytes", true));
}

TEST_F(HttpWireTest, PercentEncodedControlBytesInHeaderValuesAre400) {
  for (std::string value : {"a%0D%0AX-Injected: 1", "a%00b", "%0a"}) {
    bool closed = false;
    EXPECT_EQ(
        Exchange(absl::StrCat("GET /echo/ HTTP/1.1\r\nHost: h\r\nX-V: ", value, "\r\n\r\n"),
                 &closed),
        ErrorBytes("400 Bad Request", "bad_request", "header 'X-V' contains CR, LF or NUL", true))
        << value;
    EXPECT_TRUE(closed);
  }
  EXPECT_EQ(invocations_.load(), 0);
}

TEST_F(HttpWireTest, SpoofedRemoteAddrIsIgnored) {
  Exchange("GET /echo/ HTTP/1.1\r\nHost: h\r\nREMOTE_ADDR: 1.2.3.4\r\nREMOTE_PORT: 1\r\n\r\n");
  HttpRequest last = Last();
  EXPECT_EQ(last.remote_addr, "127.0.0.1");
  for (const auto& [name, value] : last.headers) {
    EXPECT_THAT(name,
                Not(::testing::AnyOf("REMOTE_ADDR", "REMOTE_PORT", "LOCAL_ADDR", "LOCAL_PORT")));
  }
}

TEST_F(HttpWireTest, HandlerExceptionIsGeneric500WithoutItsText) {
  bool closed = false;
  std::string response = Exchange("GET /throw/ HTTP/1.1\r\nHost: h\r\n\r\n", &closed);
  EXPECT_EQ(response, ErrorBytes("500 Internal Server Error", "internal", "internal error", true));
  EXPECT_THAT(response, Not(HasSubstr("secret")));
  EXPECT_THAT(response, Not(HasSubstr("EXCEPTION_WHAT")));
}

TEST_F(HttpWireTest, FullPoolShedsWith503AndRetryAfter) {
  HttpServerOptions options;
  options.worker_threads = 2;
  options.max_queued_requests = 0;
  StartServer(options);
  // Two requests that run until released hold both workers.
  std::vector<std::unique_ptr<RawHttpConnection>> held;
  for (int i = 0; i < 2; ++i) {
    auto c = RawHttpConnection::Connect(port_);
    ASSERT_TRUE(c.ok());
    (*c)->Send("GET /block/ HTTP/1.1\r\nHost: h\r\n\r\n");
    held.push_back(*std::move(c));
  }
  WaitForBlocked(2);
  bool closed = false;
  EXPECT_EQ(Exchange("GET /echo/ HTTP/1.1\r\nHost: h\r\n\r\n", &closed),
            absl::StrCat("HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n"
                         "Content-Length: 74\r\nContent-Type: application/json\r\n"
                         "Keep-Alive: timeout=5, max=100\r\nRetry-After: 1\r\n\r\n",
                         "{\"error\":\"unavailable\",\"message\":\"the server is at capacity; "
                         "retry later\"}"));
  EXPECT_TRUE(closed);
  ReleaseBlocked();
  for (auto& c : held) {
    auto response = c->ReadResponse();
    ASSERT_TRUE(response.ok()) << response.status();
    EXPECT_THAT(*response, StartsWith("HTTP/1.1 200 OK\r\n"));
  }
  EXPECT_EQ(invocations_.load(), 2);
  auto metrics = RawExchange(port_, "GET /_cosmo/metrics HTTP/1.1\r\nHost: h\r\n\r\n");
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  EXPECT_THAT(*metrics, HasSubstr("\ncosmo_http_connections_shed_total 1\n"));
}

TEST_F(HttpWireTest, IdleKeepAliveConnectionsHoldNoWorker) {
  HttpServerOptions options;
  options.worker_threads = 2;
  StartServer(options);
  // Far more open keep-alive connections than workers, each after a request, one mid-head.
  std::vector<std::unique_ptr<RawHttpConnection>> idle;
  for (int i = 0; i < 20; ++i) {
    auto c = RawHttpConnection::Connect(port_);
    ASSERT_TRUE(c.ok());
    (*c)->Send("GET /echo/ HTTP/1.1\r\nHost: h\r\n\r\n");
    auto response = (*c)->ReadResponse();
    ASSERT_TRUE(response.ok()) << response.status();
    idle.push_back(*std::move(c));
  }
  auto slow = RawHttpConnection::Connect(port_);
  ASSERT_TRUE(slow.ok());
  (*slow)->Send("GET /echo/slow HTTP/1.1\r\nHo");
  for (int i = 0; i < 5; ++i) {
    EXPECT_THAT(Exchange("GET /echo/ HTTP/1.1\r\nHost: h\r\n\r\n"),
                StartsWith("HTTP/1.1 200 OK\r\n"));
  }
  // Every idle connection still serves, and the slow one completes its request.
  for (auto& c : idle) {
    c->Send("GET /echo/again HTTP/1.1\r\nHost: h\r\n\r\n");
    auto response = c->ReadResponse();
    ASSERT_TRUE(response.ok()) << response.status();
    EXPECT_THAT(*response, HasSubstr("GET http://h/echo/again"));
  }
  (*slow)->Send("st: h\r\n\r\n");
  auto response = (*slow)->ReadResponse();
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_THAT(*response, HasSubstr("GET http://h/echo/slow"));
  auto metrics = RawExchange(port_, "GET /_cosmo/metrics HTTP/1.1\r\nHost: h\r\n\r\n");
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  EXPECT_THAT(*metrics, HasSubstr("\ncosmo_http_connections_shed_total 0\n"));
  // The 20 idle ones, the slow one and this one (closed exchanges may not have been seen yet).
  const std::string open_metric = "\ncosmo_http_connections_open ";
  size_t at = metrics->find(open_metric);
  ASSERT_NE(at, std::string::npos);
  at += open_metric.size();
  int open = 0;
  ASSERT_TRUE(absl::SimpleAtoi(metrics->substr(at, metrics->find('\n', at) - at), &open));
  EXPECT_GE(open, 22);
}

// A client that closes its connection as soon as it has read the response: the loop may see the
// close while the worker is still handing the connection back (the hook below holds that window
// open for a millisecond), and must not free the connection before the worker let go of its lock.
// The next connection's allocation takes the freed memory at once, so freeing early aborts the
// server ("Mutex unlocked when destroyed or not locked", a gateway's crash in the cluster test).
TEST_F(HttpWireTest, AConnectionClosedWhileItsWorkerHandsItBackIsFreedOnlyAfterwards) {
  http::FrontEnd::hand_back_hook_for_testing.store(+[] { absl::SleepFor(absl::Milliseconds(1)); });
  absl::Cleanup unhook = [] { http::FrontEnd::hand_back_hook_for_testing.store(nullptr); };
  for (int i = 0; i < 100; ++i) {
    auto c = RawHttpConnection::Connect(port_);
    ASSERT_TRUE(c.ok()) << c.status();
    ASSERT_TRUE((*c)->Send("GET /echo/ HTTP/1.1\r\nHost: h\r\n\r\n"));
    auto response = (*c)->ReadResponse();
    ASSERT_TRUE(response.ok()) << "request " << i << ": " << response.status();
    EXPECT_THAT(*response, StartsWith("HTTP/1.1 200 OK\r\n"));
  }  // each connection closes here, while its worker pauses in the hand-back
  EXPECT_EQ(invocations_.load(), 100);
}

TEST_F(HttpWireTest, ConnectionsOverTheCapAreRefusedWith503) {
  HttpServerOptions options;
  options.max_connections = 3;
  StartServer(options);
  std::vector<std::unique_ptr<RawHttpConnection>> open;
  for (int i = 0; i < 3; ++i) {
    auto c = RawHttpConnection::Connect(port_);
    ASSERT_TRUE(c.ok());
    (*c)->Send("GET /echo/ HTTP/1.1\r\nHost: h\r\n\r\n");
    ASSERT_TRUE((*c)->ReadResponse().ok());
    open.push_back(*std::move(c));
  }
  bool closed = false;
  std::string body =
      "{\"error\":\"unavailable\",\"message\":\"too many open connections; retry later\"}";
  EXPECT_EQ(Exchange("GET /echo/ HTTP/1.1\r\nHost: h\r\n\r\n", &closed),
            absl::StrCat("HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n"
                         "Content-Length: ",
                         body.size(),
                         "\r\nContent-Type: application/json\r\nRetry-After: 1\r\n\r\n", body));
  EXPECT_TRUE(closed);
  open.pop_back();  // a slot frees once the server sees the close
  std::string metrics;
  for (int attempt = 0; attempt < 200 && !absl::StartsWith(metrics, "HTTP/1.1 200"); ++attempt) {
    absl::SleepFor(absl::Milliseconds(10));
    metrics = RawExchange(port_, "GET /_cosmo/metrics HTTP/1.1\r\nHost: h\r\n\r\n").value_or("");
  }
  ASSERT_THAT(metrics, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(metrics, Not(HasSubstr("\ncosmo_http_connections_refused_total 0\n")));
  EXPECT_THAT(metrics, HasSubstr("\ncosmo_http_connections_limit 3\n"));
}

TEST_F(HttpWireTest, SlowHeadsAreClosedAtTheHeadDeadline) {
  HttpServerOptions options;
  options.request_head_timeout = absl::Milliseconds(300);
  StartServer(options);
  auto slow = RawHttpConnection::Connect(port_);
  ASSERT_TRUE(slow.ok());
  (*slow)->Send("GET /echo/ HTTP/1.1\r\n");
  // Bytes keep coming, but the head is never finished: the deadline is for the whole head.
  std::string extra;
  bool closed = false;
  for (int i = 0; i < 100 && !closed; ++i) {
    (*slow)->Send("X-A: b\r\n");
    closed = (*slow)->WaitClosed(absl::Milliseconds(100), &extra);
  }
  EXPECT_TRUE(closed);
  EXPECT_EQ(extra, "");
  EXPECT_EQ(invocations_.load(), 0);
  EXPECT_THAT(Exchange("GET /echo/ HTTP/1.1\r\nHost: h\r\n\r\n"),
              StartsWith("HTTP/1.1 200 OK\r\n"));
}

TEST_F(HttpWireTest, ResponseHeaderPolicy) {
  // Framing and hop-by-hop headers from the function are dropped; the server frames the body.
  SetResponse({.status = 201,
               .headers = {{"Transfer-Encoding", "chunked"},
                           {"Content-Length", "1"},
                           {"Connection", "close"},
                           {"X-Ok", "yes"},
                           {"Set-Cookie", "a=1"},
                           {"Set-Cookie", "b=2"}},
               .body = "hello"});
  EXPECT_EQ(
      Exchange("GET /respond/ HTTP/1.1\r\nHost: h\r\n\r\n"),
      "HTTP/1.1 201 Created\r\nContent-Length: 5\r\nContent-Type: application/octet-stream\r\n"
      "Keep-Alive: timeout=5, max=100\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nX-Ok: yes\r\n"
      "\r\nhello");
  // Control characters in a value, a name that is not a token, a status out of range: the whole
  // response fails, never a split one.
  for (HttpResponse bad : std::vector<HttpResponse>{
           {.status = 200, .headers = {{"X-A", "a\r\nX-Injected: 1"}}, .body = "x"},
           {.status = 200, .headers = {{"X-A", std::string("a\0b", 3)}}, .body = "x"},
           {.status = 200, .headers = {{"Bad Name", "v"}}, .body = "x"},
           {.status = 99, .headers = {}, .body = "x"},
           {.status = 600, .headers = {}, .body = "x"}}) {
    SetResponse(bad);
    std::string response = Exchange("GET /respond/ HTTP/1.1\r\nHost: h\r\n\r\n");
    EXPECT_THAT(response, StartsWith("HTTP/1.1 500 Internal Server Error\r\n"));
    EXPECT_THAT(response, HasSubstr("{\"error\":\"script_error\",\"message\":\"invalid response"));
    EXPECT_THAT(response, Not(HasSubstr("X-Injected")));
  }
}

TEST_F(HttpWireTest, OutcomesMapToStatusesAndJsonErrors) {
  SetResponse({}, Outcome::kException, "Uncaught Error: boom\n    at fetch (index.js:1:1)");
  EXPECT_EQ(Exchange("GET /respond/ HTTP/1.1\r\nHost: h\r\n\r\n"),
            ErrorBytes("500 Internal Server Error", "script_error", "Uncaught Error: boom", false));
  SetResponse({}, Outcome::kExceededCpu, "CPU limit exceeded");
  EXPECT_EQ(Exchange("GET /respond/ HTTP/1.1\r\nHost: h\r\n\r\n"),
            ErrorBytes("503 Service Unavailable", "limit_exceeded", "CPU limit exceeded", false));
  SetResponse({}, Outcome::kLoadShed, "busy");
  EXPECT_THAT(Exchange("GET /respond/ HTTP/1.1\r\nHost: h\r\n\r\n"),
              HasSubstr("Retry-After: 1\r\n\r\n{\"error\":\"unavailable\",\"message\":\"busy\"}"));
}

TEST_F(HttpWireTest, RangeAndAcceptEncodingAreLeftToTheFunction) {
  std::string response = Exchange(
      "GET /echo/ HTTP/1.1\r\nHost: h\r\nRange: bytes=0-1\r\nAccept-Encoding: gzip, br\r\n\r\n");
  // Neither sliced nor compressed by the server: the function's body as it returned it.
  EXPECT_EQ(response,
            "HTTP/1.1 200 OK\r\nContent-Length: 19\r\nContent-Type: text/plain\r\n"
            "Keep-Alive: timeout=5, max=100\r\n\r\nGET http://h/echo/ ");
  HttpRequest last = Last();
  EXPECT_THAT(last.headers, ::testing::Contains(std::pair<std::string, std::string>(
                                "Accept-Encoding", "gzip, br")));
  EXPECT_THAT(last.headers,
              ::testing::Contains(std::pair<std::string, std::string>("Range", "bytes=0-1")));
}

TEST_F(HttpWireTest, KeepAliveRequestsAreNotDelayedByNagle) {
  auto c = RawHttpConnection::Connect(port_);
  ASSERT_TRUE(c.ok());
  absl::Time start = absl::Now();
  for (int i = 0; i < 50; ++i) {
    (*c)->Send("GET /echo/ HTTP/1.1\r\nHost: h\r\n\r\n");
    ASSERT_TRUE((*c)->ReadResponse().ok());
  }
  // With Nagle on, each response's body waits ~40 ms for a delayed ACK: 50 requests >= 2 s.
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
}

TEST_F(HttpWireTest, HealthzAndMetrics) {
  EXPECT_EQ(Exchange("GET /_cosmo/healthz HTTP/1.1\r\nHost: h\r\n\r\n"),
            "HTTP/1.1 200 OK\r\nContent-Length: 15\r\nContent-Type: application/json\r\n"
            "Keep-Alive: timeout=5, max=100\r\n\r\n{\"status\":\"ok\"}");
  Exchange("GET /echo/ HTTP/1.1\r\nHost: h\r\n\r\n");
  Exchange("GET /nope/ HTTP/1.1\r\nHost: h\r\n\r\n");
  std::string metrics = Exchange("GET /_cosmo/metrics HTTP/1.1\r\nHost: h\r\n\r\n");
  EXPECT_THAT(metrics, HasSubstr("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"));
  EXPECT_THAT(metrics, HasSubstr("cosmo_http_requests_total{family=\"echo\",outcome=\"ok\"} 1\n"));
  EXPECT_THAT(metrics,
              HasSubstr("cosmo_http_requests_total{family=\"\",outcome=\"not_found\"} 1\n"));
  EXPECT_THAT(metrics, HasSubstr("cosmo_http_request_duration_seconds_count 3\n"));
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  // The sanitizer's allocator replaces glibc's, whose arenas then report nothing.
  EXPECT_THAT(metrics, Not(HasSubstr("cosmo_process_heap_bytes")));
#else
  EXPECT_THAT(metrics,
              ContainsRegex("\ncosmo_process_heap_bytes\\{state=\"in_use\"\\} [1-9][0-9]*\n"));
  EXPECT_THAT(metrics, ContainsRegex("\ncosmo_process_heap_bytes\\{state=\"free\"\\} [0-9]+\n"));
#endif
  EXPECT_THAT(Exchange("POST /_cosmo/healthz HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n"),
              StartsWith("HTTP/1.1 405 Method Not Allowed\r\nAllow: GET, HEAD\r\n"));
}

}  // namespace
}  // namespace cosmo
