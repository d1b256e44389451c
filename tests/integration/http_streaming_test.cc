// Streamed response bodies over HTTP: a JavaScript function returning `new Response(stream)` is
// sent as the stream produces it (chunked transfer encoding), a client slower than the stream
// holds it back (backpressure), and a client that goes away cancels it (its source's cancel()
// runs) or, before the response, aborts the request's signal. A real Runtime and JavaScript engine
// behind a real HttpServer on a loopback port.
#include <sys/socket.h>

#include <algorithm>
#include <memory>
#include <string>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
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

using ::cosmo::testing::RawHttpConnection;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

class HttpStreamingTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    RuntimeOptions options;
    options.caps.wall_per_request = absl::Seconds(60);
    // Filling the sockets' buffers takes a few dozen 64 KiB pieces: far from any limit in a
    // release build, but near the default 50 ms of CPU under a sanitizer.
    options.caps.cpu_per_request = absl::Seconds(5);
    auto runtime = NewRuntime(options, NewInMemoryStore());
    ASSERT_TRUE(runtime.ok()) << runtime.status();
    runtime_ = runtime->release();
    // Three pieces, then the end.
    Deploy("pieces",
           "export default { fetch() {\n"
           "  const e = new TextEncoder();\n"
           "  return new Response(new ReadableStream({ start(c) {\n"
           "    c.enqueue(e.encode('one,')); c.enqueue(e.encode('two,'));\n"
           "    c.enqueue(e.encode('three')); c.close(); } }),\n"
           "    { headers: { 'content-type': 'text/plain', 'x-kind': 'stream' } });\n"
           "} };");
    // A first piece at once, the next only after a minute: the client sees the first long
    // before the stream ends. Closing the connection cancels it.
    Deploy("slow",
           "export default { fetch() {\n"
           "  let timer;\n"
           "  return new Response(new ReadableStream({\n"
           "    start(c) { c.enqueue(new TextEncoder().encode('first')); },\n"
           "    pull(c) { return new Promise((r) => { timer = setTimeout(r, 60000); }); },\n"
           "    cancel(reason) { clearTimeout(timer); console.log('cancelled: ' + reason); },\n"
           "  }));\n"
           "} };");
    // Produces 64 KiB pieces as fast as they are taken, forever; counts them.
    Deploy("flood",
           "export default { fetch() {\n"
           "  let pulls = 0;\n"
           "  return new Response(new ReadableStream({\n"
           "    pull(c) { pulls++; c.enqueue(new Uint8Array(65536)); },\n"
           "    cancel() { console.log('pulled ' + pulls); },\n"
           "  }));\n"
           "} };");
    // Waits for its client to leave.
    Deploy("patient",
           "export default { async fetch(request) {\n"
           "  const reason = await new Promise((resolve) => {\n"
           "    const timer = setTimeout(() => resolve('timed out'), 60000);\n"
           "    request.signal.addEventListener('abort', () => {\n"
           "      clearTimeout(timer); resolve(request.signal.reason); });\n"
           "  });\n"
           "  console.log('aborted: ' + reason.name + ': ' + reason.message);\n"
           "  return new Response('nobody reads this');\n"
           "} };");
    // A stream that fails after its first piece.
    Deploy("broken",
           "export default { fetch() {\n"
           "  return new Response(new ReadableStream({ start(c) {\n"
           "    c.enqueue(new TextEncoder().encode('partial'));\n"
           "    setTimeout(() => c.error(new Error('source failed')), 10); } }));\n"
           "} };");
    // Sends back what it is sent, as it reads it.
    Deploy("echo", "export default { fetch(request) { return new Response(request.body); } };");
    // Reads the whole body; says how much, or what went wrong.
    Deploy("count",
           "export default { async fetch(request) {\n"
           "  try {\n"
           "    return new Response('read ' + (await request.arrayBuffer()).byteLength);\n"
           "  } catch (e) {\n"
           "    console.log('body failed: ' + e.message);\n"
           "    return new Response('caught it');\n"
           "  }\n"
           "} };");
    auto server = NewHttpServer({.listen_address = "127.0.0.1:0"}, runtime_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = server->release();
    server_->Start();
    auto small = NewHttpServer(
        {.listen_address = "127.0.0.1:0", .max_request_body_bytes = kSmallBodyLimit}, runtime_);
    ASSERT_TRUE(small.ok()) << small.status();
    small_server_ = small->release();
    small_server_->Start();
  }

  static void TearDownTestSuite() {
    delete small_server_;
    delete server_;
    delete runtime_;
  }

  static constexpr size_t kSmallBodyLimit = size_t{1} << 20;

  static void Deploy(const std::string& family, const std::string& source) {
    auto deployed = runtime_->registry().Deploy(
        {.tenant = "local",
         .family = family,
         .manifest = {
             .engine = "javascript", .main = "index.js", .files = {{"index.js", source}}}});
    ASSERT_TRUE(deployed.ok()) << family << ": " << deployed.status();
  }

  // The first log line of `family` that contains `text`, waiting up to 20 s.
  static std::string WaitForLog(const std::string& family, const std::string& text) {
    uint64_t after = 0;
    absl::Time deadline = absl::Now() + absl::Seconds(20);
    while (absl::Now() < deadline) {
      LogBatch batch = runtime_->WaitForLogs(family, after, 100, deadline);
      for (const LogRecord& record : batch.records) {
        if (absl::StrContains(record.text, text)) return record.text;
      }
      after = batch.last_sequence;
    }
    return "";
  }

  static Runtime* runtime_;
  static HttpServer* server_;
  static HttpServer* small_server_;  // a body limit of kSmallBodyLimit
};

Runtime* HttpStreamingTest::runtime_ = nullptr;
HttpServer* HttpStreamingTest::server_ = nullptr;
HttpServer* HttpStreamingTest::small_server_ = nullptr;

TEST_F(HttpStreamingTest, AStreamIsSentChunkedAndTheConnectionStaysUsable) {
  auto c = RawHttpConnection::Connect(server_->port());
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE((*c)->Send("GET /pieces/ HTTP/1.1\r\nHost: h\r\n\r\n"));
  std::string bytes;
  ASSERT_TRUE((*c)->ReadUntil("\r\n0\r\n\r\n", &bytes)) << bytes;
  // The head names the serving version (docs/deployments.md) before the framing header.
  const std::string version = runtime_->registry().GetActiveVersion("pieces")->version;
  EXPECT_EQ(bytes, absl::StrCat("HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nx-kind: stream\r\n"
                                "Cosmo-Version: ",
                                version.substr(0, 12),
                                "\r\nTransfer-Encoding: chunked\r\n\r\n"
                                "4\r\none,\r\n4\r\ntwo,\r\n5\r\nthree\r\n0\r\n\r\n"));
  // The same connection serves the next request.
  ASSERT_TRUE((*c)->Send("GET /pieces/ HTTP/1.1\r\nHost: h\r\n\r\n"));
  bytes.clear();
  ASSERT_TRUE((*c)->ReadUntil("\r\n0\r\n\r\n", &bytes)) << bytes;
  EXPECT_THAT(bytes, HasSubstr("5\r\nthree\r\n0\r\n\r\n"));
  // HTTP/1.0 has no chunked encoding: the body is buffered and sent with its length.
  auto old = cosmo::testing::RawExchange(server_->port(), "GET /pieces/ HTTP/1.0\r\n\r\n");
  ASSERT_TRUE(old.ok()) << old.status();
  EXPECT_THAT(*old, HasSubstr("Content-Length: 13\r\n"));
  EXPECT_THAT(*old, HasSubstr("\r\n\r\none,two,three"));
}

TEST_F(HttpStreamingTest, TheFirstPieceArrivesBeforeTheStreamEndsAndClosingCancelsIt) {
  auto c = RawHttpConnection::Connect(server_->port());
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE((*c)->Send("GET /slow/ HTTP/1.1\r\nHost: h\r\n\r\n"));
  std::string bytes;
  // The stream's end is a minute away; its first piece is not.
  ASSERT_TRUE((*c)->ReadUntil("5\r\nfirst\r\n", &bytes)) << bytes;
  EXPECT_THAT(bytes, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(bytes, HasSubstr("Transfer-Encoding: chunked\r\n"));
  c->reset();  // the client goes away
  EXPECT_THAT(WaitForLog("slow", "cancelled"), HasSubstr("The client closed the connection"));
}

TEST_F(HttpStreamingTest, AClientThatLeavesAbortsTheRequestSignal) {
  auto c = RawHttpConnection::Connect(server_->port());
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE((*c)->Send("GET /patient/ HTTP/1.1\r\nHost: h\r\n\r\n"));
  absl::SleepFor(absl::Milliseconds(100));
  c->reset();
  EXPECT_EQ(WaitForLog("patient", "aborted"),
            "aborted: AbortError: The client closed the connection");
}

TEST_F(HttpStreamingTest, ASlowClientHoldsTheStreamBack) {
  auto c = RawHttpConnection::Connect(server_->port());
  ASSERT_TRUE(c.ok());
  // A small receive buffer, and nothing read: the server can send only what the socket buffers
  // and its own window hold, so the stream is pulled only that far.
  int small = 64 << 10;
  ::setsockopt((*c)->fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
  ASSERT_TRUE((*c)->Send("GET /flood/ HTTP/1.1\r\nHost: h\r\n\r\n"));
  absl::SleepFor(absl::Seconds(1));
  c->reset();
  std::string pulled = WaitForLog("flood", "pulled ");
  ASSERT_THAT(pulled, StartsWith("pulled "));
  int pulls = 0;
  ASSERT_TRUE(absl::SimpleAtoi(pulled.substr(7), &pulls)) << pulled;
  // Without backpressure the stream would run to its memory or CPU limit (thousands of pieces);
  // with it, the socket buffers of both ends (a few MiB on loopback) bound it.
  EXPECT_GT(pulls, 0);
  EXPECT_LT(pulls, 256) << "64 KiB pieces taken from the stream: " << pulls;
}

TEST_F(HttpStreamingTest, AStreamThatFailsIsCutOffWithoutItsLastChunk) {
  auto c = RawHttpConnection::Connect(server_->port());
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE((*c)->Send("GET /broken/ HTTP/1.1\r\nHost: h\r\n\r\n"));
  std::string bytes;
  EXPECT_FALSE((*c)->ReadUntil("\r\n0\r\n\r\n", &bytes));  // closed before a last chunk
  EXPECT_THAT(bytes, HasSubstr("7\r\npartial\r\n"));
  EXPECT_THAT(bytes, Not(HasSubstr("\r\n0\r\n\r\n")));
  EXPECT_THAT(WaitForLog("broken", "source failed"), HasSubstr("source failed"));
}

// An upload is read as it arrives: the echo of its first piece comes back while the rest has
// not been sent, and the connection carries the next request once the body ended.
TEST_F(HttpStreamingTest, AChunkedUploadIsReadAsItArrives) {
  auto c = RawHttpConnection::Connect(server_->port());
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE((*c)->Send(
      "POST /echo/ HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"));
  std::string bytes;
  ASSERT_TRUE((*c)->ReadUntil("5\r\nhello\r\n", &bytes)) << bytes;
  EXPECT_THAT(bytes, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(bytes, HasSubstr("Transfer-Encoding: chunked\r\n"));
  ASSERT_TRUE((*c)->Send("6\r\n world\r\n0\r\n\r\n"));
  bytes.clear();
  ASSERT_TRUE((*c)->ReadUntil("\r\n0\r\n\r\n", &bytes)) << bytes;
  EXPECT_EQ(bytes, "6\r\n world\r\n0\r\n\r\n");
  ASSERT_TRUE((*c)->Send("GET /pieces/ HTTP/1.1\r\nHost: h\r\n\r\n"));
  bytes.clear();
  ASSERT_TRUE((*c)->ReadUntil("\r\n0\r\n\r\n", &bytes)) << bytes;
  EXPECT_THAT(bytes, HasSubstr("5\r\nthree\r\n0\r\n\r\n"));
}

// A body with a length larger than the front end buffers is streamed the same way.
TEST_F(HttpStreamingTest, AnUploadLargerThanTheBufferIsReadAsItArrives) {
  constexpr size_t kHalf = 100 << 10;
  auto c = RawHttpConnection::Connect(server_->port());
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE((*c)->Send(absl::StrCat("PUT /echo/ HTTP/1.1\r\nHost: h\r\nContent-Length: ",
                                      2 * kHalf, "\r\n\r\n", std::string(kHalf, 'x'))));
  std::string bytes;
  // Chunk sizes are hex digits, never 'x' or 'y': every one of these is a body byte.
  ASSERT_TRUE((*c)->ReadUntil(std::string(1024, 'x'), &bytes)) << bytes.substr(0, 200);
  ASSERT_TRUE((*c)->Send(std::string(kHalf, 'y')));
  ASSERT_TRUE((*c)->ReadUntil("\r\n0\r\n\r\n", &bytes)) << bytes.substr(0, 200);
  const std::string body = bytes.substr(bytes.find("\r\n\r\n"));
  EXPECT_EQ(std::count(body.begin(), body.end(), 'x'), kHalf);
  EXPECT_EQ(std::count(body.begin(), body.end(), 'y'), kHalf);
  EXPECT_THAT(bytes, Not(HasSubstr("Connection: close")));
}

// Over the body limit a streamed upload gets 413 and the connection closes, even when the
// function caught the error its read got.
TEST_F(HttpStreamingTest, AStreamedUploadOverTheBodyLimitIs413) {
  auto c = RawHttpConnection::Connect(small_server_->port());
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE((*c)->Send("POST /count/ HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"));
  std::thread sender([&] {
    const std::string chunk = absl::StrCat("10000\r\n", std::string(0x10000, 'a'), "\r\n");
    for (size_t sent = 0; sent <= 2 * kSmallBodyLimit; sent += chunk.size()) {
      if (!(*c)->Send(chunk)) return;  // the server stopped reading and closed
    }
    (*c)->Send("0\r\n\r\n");
  });
  auto response = (*c)->ReadResponse(absl::Seconds(20));
  sender.join();
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_THAT(*response, StartsWith("HTTP/1.1 413 Payload Too Large\r\n"));
  EXPECT_THAT(*response, HasSubstr("Connection: close\r\n"));
  EXPECT_THAT(*response, HasSubstr("request body larger than 1048576 bytes"));
  EXPECT_THAT(WaitForLog("count", "body failed"), HasSubstr("larger than 1048576 bytes"));
  // Within the limit the same function reads it all.
  auto fits = cosmo::testing::RawExchange(
      small_server_->port(),
      absl::StrCat("POST /count/ HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n",
                   "10000\r\n", std::string(0x10000, 'a'), "\r\n0\r\n\r\n"));
  ASSERT_TRUE(fits.ok()) << fits.status();
  EXPECT_THAT(*fits, ::testing::EndsWith("\r\n\r\nread 65536"));
}

// Broken chunk framing met while the function reads is a 400, not the function's answer.
TEST_F(HttpStreamingTest, MalformedFramingInAStreamedUploadIs400) {
  auto c = RawHttpConnection::Connect(server_->port());
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(
      (*c)->Send("POST /count/ HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                 "3\r\nabc\r\nzz\r\n"));
  auto response = (*c)->ReadResponse();
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_THAT(*response, StartsWith("HTTP/1.1 400 Bad Request\r\n"));
  EXPECT_THAT(*response, HasSubstr("malformed chunk size 'zz'"));
  EXPECT_TRUE((*c)->WaitClosed());
}

// A client that stops sending mid-body: the function's read fails when it leaves, and the host
// goes on serving.
TEST_F(HttpStreamingTest, AClientThatLeavesMidUploadFailsTheRead) {
  auto c = RawHttpConnection::Connect(server_->port());
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE((*c)->Send(
      "POST /count/ HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n"));
  absl::SleepFor(absl::Milliseconds(100));
  c->reset();
  EXPECT_THAT(WaitForLog("count", "went away"), HasSubstr("body failed"));
  auto after = cosmo::testing::RawGet(server_->port(), "/pieces/");
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_THAT(*after, StartsWith("HTTP/1.1 200 OK\r\n"));
}

}  // namespace
}  // namespace cosmo
