// Request and Response bodies as ReadableStreams, through the real engine: a handler's streamed
// Response reaches the host whole (read to its end first, within the limit), and an incoming
// request's body is readable as a stream. The Streams and Fetch details themselves are held to the
// web-platform-tests (wpt_test.cc).
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cosmo::v8engine {
namespace {

using ::cosmo::v8engine::testing::Get;
using ::cosmo::v8engine::testing::HeaderOf;
using ::cosmo::v8engine::testing::JsManifest;
using ::cosmo::v8engine::testing::SharedEngine;
using ::cosmo::v8engine::testing::Start;
using ::testing::HasSubstr;

InvokeResult RunHandler(const std::string& source, HttpRequest request = Get(),
                        size_t memory_bytes = size_t{128} << 20) {
  ScriptLimits limits;
  limits.cpu_per_request = absl::Seconds(5);
  limits.memory_bytes = memory_bytes;
  auto instance = Start(SharedEngine(), JsManifest(source), limits);
  EXPECT_TRUE(instance.ok()) << instance.status();
  if (!instance.ok()) return {};
  return (*instance)->Invoke(request);
}

TEST(BodyStreamTest, SynchronousStreamedResponseReachesTheHostWhole) {
  InvokeResult result = RunHandler(R"JS(
export default {
  fetch() {
    const encoder = new TextEncoder();
    let n = 0;
    const body = new ReadableStream({
      pull(controller) {
        if (n === 3) return controller.close();
        // Chunks come from timers, so the host must wait on the event loop for them.
        return new Promise((resolve) => setTimeout(() => {
          controller.enqueue(encoder.encode(`chunk${n++};`));
          resolve();
        }, 1));
      },
    });
    return new Response(body, {status: 201, headers: {'content-type': 'text/x-test'}});
  },
};)JS");
  ASSERT_EQ(result.outcome, Outcome::kOk) << result.error;
  EXPECT_EQ(result.response.status, 201);
  EXPECT_EQ(result.response.body, "chunk0;chunk1;chunk2;");
  EXPECT_EQ(HeaderOf(result.response, "content-type"), "text/x-test");
}

TEST(BodyStreamTest, AsyncHandlerStreamedResponseThroughATransform) {
  InvokeResult result = RunHandler(R"JS(
export default {
  async fetch() {
    await null;
    const upper = new TransformStream({
      transform(chunk, controller) { controller.enqueue(chunk.toUpperCase()); },
    });
    const writer = upper.writable.getWriter();
    writer.write('hello, ');
    writer.write('streams');
    writer.close();
    return new Response(upper.readable.pipeThrough(new TextEncoderStream()));
  },
};)JS");
  ASSERT_EQ(result.outcome, Outcome::kOk) << result.error;
  EXPECT_EQ(result.response.status, 200);
  EXPECT_EQ(result.response.body, "HELLO, STREAMS");
}

TEST(BodyStreamTest, RequestBodyIsAReadableStream) {
  HttpRequest request = Get();
  request.method = "POST";
  request.body = "upload body";
  InvokeResult result = RunHandler(R"JS(
export default {
  async fetch(request) {
    const stream = request.body;
    if (!(stream instanceof ReadableStream)) return 'not a stream';
    if (request.body !== stream) return 'body is not the same stream twice';
    let text = '';
    const decoder = new TextDecoder();
    for await (const chunk of stream) text += decoder.decode(chunk, {stream: true});
    let rejected = false;
    await request.text().catch(() => { rejected = true; });
    return `${text}|used=${request.bodyUsed}|rejected=${rejected}`;
  },
};)JS",
                                   request);
  ASSERT_EQ(result.outcome, Outcome::kOk) << result.error;
  EXPECT_EQ(result.response.body, "upload body|used=true|rejected=true");
}

// A body in pieces, as the HTTP server hands over one still arriving.
class PiecesBody final : public RequestBodyReader {
 public:
  explicit PiecesBody(std::vector<std::string> pieces) : pieces_(std::move(pieces)) {}
  absl::StatusOr<std::string> Read(size_t, absl::Duration) override {
    if (next_ == pieces_.size()) return std::string();
    return pieces_[next_++];
  }

 private:
  std::vector<std::string> pieces_;
  size_t next_ = 0;
};

InvokeResult RunWithArrivingBody(const std::string& source, std::vector<std::string> pieces) {
  PiecesBody body(std::move(pieces));
  HttpRequest request = Get();
  request.method = "POST";
  request.body_reader = &body;
  return RunHandler(source, request);
}

// A body still arriving reads whole through text()/json()/... (the runtime reads it without a
// stream), and is then used as a read stream is: `body` is a disturbed, locked stream, a second
// read and clone() fail. Read through `body` or handed to a new Request, it is a stream.
TEST(BodyStreamTest, ArrivingBodyReadsWholeAndIsThenUsed) {
  InvokeResult result = RunWithArrivingBody(R"JS(
export default {
  async fetch(request) {
    const before = [request.bodyUsed, request.headers.has('content-length')];
    const value = await request.json();
    const out = [...before, JSON.stringify(value), request.bodyUsed];
    out.push(request.body instanceof ReadableStream, request.body.locked);
    await request.text().then(() => out.push('read again'), (e) => out.push(e.constructor.name));
    try { request.clone(); out.push('cloned'); } catch (e) { out.push(e.constructor.name); }
    return new Response(out.join(' '));
  },
};)JS",
                                            {"{\"a\":", "[1,", "2]}"});
  ASSERT_EQ(result.outcome, Outcome::kOk) << result.error;
  EXPECT_EQ(result.response.body, "false false {\"a\":[1,2]} true true true TypeError TypeError");

  result = RunWithArrivingBody(R"JS(
export default {
  async fetch(request) {
    const copy = new Request(request, {headers: {'x-copy': '1'}});
    const text = await new Response(copy.body).text();
    return new Response([text, request.bodyUsed, copy.bodyUsed].join(' '));
  },
};)JS",
                               {"pie", "ces"});
  ASSERT_EQ(result.outcome, Outcome::kOk) << result.error;
  EXPECT_EQ(result.response.body, "pieces true true");
}

TEST(BodyStreamTest, BufferedBodiesStayBufferedUntilBodyIsRead) {
  InvokeResult result = RunHandler(R"JS(
export default {
  async fetch() {
    const a = new Response('text');
    const b = a.clone();
    const reader = b.body.getReader({mode: 'byob'});
    const {value} = await reader.read(new Uint8Array(16));
    return `${await a.text()}|${new TextDecoder().decode(value)}|${a.bodyUsed}|${b.bodyUsed}`;
  },
};)JS");
  ASSERT_EQ(result.outcome, Outcome::kOk) << result.error;
  EXPECT_EQ(result.response.body, "text|text|true|true");
}

TEST(BodyStreamTest, StreamedResponseOverTheLimitFailsNamingIt) {
  InvokeResult result = RunHandler(R"JS(
export default {
  fetch() {
    const chunk = new Uint8Array(1 << 20);
    let sent = 0;
    return new Response(new ReadableStream({
      pull(controller) { controller.enqueue(chunk.slice()); sent++; },
    }));
  },
};)JS",
                                   Get(), size_t{512} << 20);
  EXPECT_EQ(result.outcome, Outcome::kException);
  EXPECT_THAT(result.error, HasSubstr("exceeds the limit of 33554432 bytes"));
}

TEST(BodyStreamTest, StreamedResponseWithABadChunkOrAnErrorFails) {
  InvokeResult bad_chunk = RunHandler(R"JS(
export default {
  fetch() {
    return new Response(new ReadableStream({start(c) { c.enqueue('a string'); c.close(); }}));
  },
};)JS");
  EXPECT_EQ(bad_chunk.outcome, Outcome::kException);
  EXPECT_THAT(bad_chunk.error, HasSubstr("Uint8Array"));

  InvokeResult errored = RunHandler(R"JS(
export default {
  fetch() {
    return new Response(new ReadableStream({pull(c) { c.error(new Error('producer broke')); }}));
  },
};)JS");
  EXPECT_EQ(errored.outcome, Outcome::kException);
  EXPECT_THAT(errored.error, HasSubstr("producer broke"));
}

}  // namespace
}  // namespace cosmo::v8engine
