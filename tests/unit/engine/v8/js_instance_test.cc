// The handler contract of JavaScript instances: return shapes, async, errors, env, ctx, console,
// request conversion and metering. Real V8, real snapshot.
#include <memory>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "engine/v8/isolate_state.h"
#include "engine_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cosmo::v8engine {
namespace {

using ::cosmo::v8engine::testing::Get;
using ::cosmo::v8engine::testing::HeaderOf;
using ::cosmo::v8engine::testing::MustStart;
using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(JsInstanceTest, ResponseIsReturnedWithStatusHeadersAndBody) {
  auto instance = MustStart(R"(export default { fetch() {
      return new Response('made', { status: 201, headers: { 'X-Thing': 'yes' } }); } };)");
  ASSERT_NE(instance, nullptr);
  InvokeResult result = instance->Invoke(Get());
  ASSERT_EQ(result.outcome, Outcome::kOk) << result.error;
  EXPECT_EQ(result.response.status, 201);
  EXPECT_EQ(result.response.body, "made");
  EXPECT_EQ(HeaderOf(result.response, "x-thing"), "yes");
}

TEST(JsInstanceTest, StringBecomesPlainText200) {
  auto instance = MustStart("export default { fetch() { return 'hello'; } };");
  ASSERT_NE(instance, nullptr);
  InvokeResult result = instance->Invoke(Get());
  ASSERT_EQ(result.outcome, Outcome::kOk) << result.error;
  EXPECT_EQ(result.response.status, 200);
  EXPECT_EQ(result.response.body, "hello");
  EXPECT_EQ(HeaderOf(result.response, "content-type"), "text/plain;charset=UTF-8");
}

// A body string becomes UTF-8 whatever V8 holds it as: ASCII and Latin-1 strings are one byte a
// character (ASCII is copied as it is, Latin-1 above 0x7F must be encoded), others two; a lone
// surrogate becomes U+FFFD. Both ways a response reaches the host (respond() for a synchronous
// one, the parts of a settled promise) and a string built by concatenation are covered.
TEST(JsInstanceTest, ResponseBodiesAreUtf8WhateverTheStringsRepresentation) {
  auto instance = MustStart(R"(export default { fetch(request) {
      const bodies = {
        ascii: 'plain text',
        latin1: 'caf\u00e9 \u00ff',
        twobyte: 'price: 5\u20ac',
        surrogate: 'a\ud800b',
        concat: 'caf' + '\u00e9'.repeat(3),
        long: 'x'.repeat(100000) + '!',
      };
      const url = new URL(request.url);
      const body = bodies[url.pathname.slice(1)];
      return url.searchParams.has('async') ? Promise.resolve(new Response(body)) : body;
    } };)");
  ASSERT_NE(instance, nullptr);
  const std::pair<std::string, std::string> cases[] = {
      {"ascii", "plain text"},
      {"latin1", "caf\xc3\xa9 \xc3\xbf"},
      {"twobyte", "price: 5\xe2\x82\xac"},
      {"surrogate",
       "a\xef\xbf\xbd"
       "b"},
      {"concat", "caf\xc3\xa9\xc3\xa9\xc3\xa9"},
      {"long", std::string(100000, 'x') + "!"},
  };
  for (const auto& [name, utf8] : cases) {
    for (const std::string query : {"", "?async"}) {
      InvokeResult result = instance->Invoke(Get(absl::StrCat("http://h/", name, query)));
      ASSERT_EQ(result.outcome, Outcome::kOk) << name << query << ": " << result.error;
      EXPECT_EQ(result.response.body, utf8) << name << query;
      EXPECT_EQ(HeaderOf(result.response, "content-type"), "text/plain;charset=UTF-8")
          << name << query;
      EXPECT_EQ(result.response.headers.size(), 1u) << name << query;
    }
  }
}

// The content-type a text response carries is taken as the runtime's constant; a header with the
// same text that a script built, or another value, goes through the usual copy and checks.
TEST(JsInstanceTest, TextContentTypeIsTheSameWhereverItComesFrom) {
  auto instance = MustStart(R"(export default { fetch(request) {
      const kind = new URL(request.url).pathname;
      if (kind === '/built') {
        return new Response('b', { headers: { 'Content-Type': ['text/plain', 'charset=UTF-8'].join(';') } });
      }
      if (kind === '/other') return new Response('o', { headers: { 'content-type': 'text/html' } });
      if (kind === '/extra') return new Response('x', { headers: { 'x-a': 'ok' } });
      return new Response('d');
    } };)");
  ASSERT_NE(instance, nullptr);
  for (const auto& [path, type] :
       {std::pair{"/default", "text/plain;charset=UTF-8"},
        std::pair{"/built", "text/plain;charset=UTF-8"}, std::pair{"/other", "text/html"}}) {
    InvokeResult result = instance->Invoke(Get(absl::StrCat("http://h", path)));
    ASSERT_EQ(result.outcome, Outcome::kOk) << path << ": " << result.error;
    EXPECT_EQ(HeaderOf(result.response, "content-type"), type) << path;
  }
  InvokeResult extra = instance->Invoke(Get("http://h/extra"));
  ASSERT_EQ(extra.outcome, Outcome::kOk) << extra.error;
  EXPECT_EQ(HeaderOf(extra.response, "x-a"), "ok");
  EXPECT_EQ(HeaderOf(extra.response, "content-type"), "text/plain;charset=UTF-8");
}

TEST(JsInstanceTest, PromiseOfStringAndOfResponseAreAwaited) {
  auto strings = MustStart("export default { fetch() { return Promise.resolve('later'); } };");
  ASSERT_NE(strings, nullptr);
  InvokeResult a = strings->Invoke(Get());
  ASSERT_EQ(a.outcome, Outcome::kOk) << a.error;
  EXPECT_EQ(a.response.body, "later");

  auto responses = MustStart(R"(export default { async fetch(request) {
      await null; await Promise.resolve();
      return Response.json({ method: request.method, url: request.url }); } };)");
  ASSERT_NE(responses, nullptr);
  InvokeResult b = responses->Invoke(Get("http://h/f/x"));
  ASSERT_EQ(b.outcome, Outcome::kOk) << b.error;
  EXPECT_EQ(b.response.body, R"({"method":"GET","url":"http://h/f/x"})");
  EXPECT_THAT(HeaderOf(b.response, "content-type"), StartsWith("application/json"));
}

TEST(JsInstanceTest, RequestHeadersAndBodyReachTheHandler) {
  auto instance = MustStart(R"(export default { async fetch(request) {
      const body = await request.json();
      return `${request.method} ${request.headers.get('x-name')} ${body.n + 1}`; } };)");
  ASSERT_NE(instance, nullptr);
  HttpRequest request = Get();
  request.method = "POST";
  request.headers = {{"X-Name", "ada"}, {"Content-Type", "application/json"}};
  request.body = R"({"n": 41})";
  InvokeResult result = instance->Invoke(request);
  ASSERT_EQ(result.outcome, Outcome::kOk) << result.error;
  EXPECT_EQ(result.response.body, "POST ada 42");
  EXPECT_EQ(result.usage.request_bytes, request.body.size());
  EXPECT_EQ(result.usage.response_bytes, result.response.body.size());
}

TEST(JsInstanceTest, ThrownErrorIsAnExceptionWithMessageAndStack) {
  auto instance = MustStart(
      "export default {\n"
      "  fetch() {\n"
      "    null.x();\n"
      "  }\n"
      "};\n");
  ASSERT_NE(instance, nullptr);
  InvokeResult result = instance->Invoke(Get());
  EXPECT_EQ(result.outcome, Outcome::kException);
  EXPECT_THAT(result.error, StartsWith("Uncaught TypeError: Cannot read properties of null"));
  EXPECT_THAT(result.error, HasSubstr("at Object.fetch (index.js:3:10)"));
  // An exception does not poison the instance.
  EXPECT_TRUE(instance->Reusable());
}

TEST(JsInstanceTest, RejectedPromiseIsAnException) {
  auto instance =
      MustStart("export default { async fetch() { await null; throw new RangeError('nope'); } };");
  ASSERT_NE(instance, nullptr);
  InvokeResult result = instance->Invoke(Get());
  EXPECT_EQ(result.outcome, Outcome::kException);
  EXPECT_THAT(result.error, StartsWith("Uncaught RangeError: nope"));
  EXPECT_THAT(result.error, HasSubstr("index.js:1:"));
}

TEST(JsInstanceTest, ThrownNonErrorValueIsDescribed) {
  auto instance = MustStart("export default { fetch() { throw 'plain'; } };");
  ASSERT_NE(instance, nullptr);
  InvokeResult result = instance->Invoke(Get());
  EXPECT_EQ(result.outcome, Outcome::kException);
  EXPECT_EQ(result.error, "Uncaught plain");
}

TEST(JsInstanceTest, ReturningSomethingElseIsAnInvalidResponse) {
  auto instance = MustStart("export default { fetch() { return 42; } };");
  ASSERT_NE(instance, nullptr);
  InvokeResult result = instance->Invoke(Get());
  EXPECT_EQ(result.outcome, Outcome::kException);
  EXPECT_THAT(result.error, HasSubstr("invalid response"));
}

TEST(JsInstanceTest, EnvHoldsTheManifestVariablesAsStrings) {
  auto instance = MustStart(
      "export default { fetch(r, env) { return `${env.GREETING} ${typeof env.N} ${env.N}`; } };",
      {}, {{"GREETING", "hi"}, {"N", "3"}});
  ASSERT_NE(instance, nullptr);
  InvokeResult result = instance->Invoke(Get());
  ASSERT_EQ(result.outcome, Outcome::kOk) << result.error;
  EXPECT_EQ(result.response.body, "hi string 3");
}

TEST(JsInstanceTest, CtxWaitUntilExistsAndItsWorkRuns) {
  auto instance = MustStart(R"(
      let done = 0;
      export default { fetch(r, env, ctx) {
        ctx.waitUntil(Promise.resolve().then(() => { done++; }));
        return `done=${done}`; } };)");
  ASSERT_NE(instance, nullptr);
  EXPECT_EQ(instance->Invoke(Get()).response.body, "done=0");
  // The first request's waitUntil work ran before the second request.
  EXPECT_EQ(instance->Invoke(Get()).response.body, "done=1");
}

TEST(JsInstanceTest, ModuleStateLivesAcrossRequestsOfOneInstance) {
  auto instance = MustStart("let n = 0; export default { fetch() { return String(++n); } };");
  ASSERT_NE(instance, nullptr);
  EXPECT_EQ(instance->Invoke(Get()).response.body, "1");
  EXPECT_EQ(instance->Invoke(Get()).response.body, "2");
}

TEST(JsInstanceTest, ConsoleCallsAreCapturedInOrderWithLevels) {
  auto instance = MustStart(R"(
      console.log('at startup is dropped');
      export default { fetch() {
        console.log('one', 2); console.warn('careful'); console.error('bad');
        return 'ok'; } };)");
  ASSERT_NE(instance, nullptr);
  InvokeResult result = instance->Invoke(Get());
  ASSERT_EQ(result.outcome, Outcome::kOk) << result.error;
  ASSERT_EQ(result.console.size(), 3u);
  EXPECT_EQ(result.console[0].text, "one 2");
  EXPECT_EQ(result.console[0].level, LogLevel::kLog);
  EXPECT_EQ(result.console[1].level, LogLevel::kWarn);
  EXPECT_EQ(result.console[2].text, "bad");
  EXPECT_EQ(result.console[2].level, LogLevel::kError);
  // The next request starts with an empty log.
  EXPECT_EQ(instance->Invoke(Get()).console.size(), 3u);
}

TEST(JsInstanceTest, ConsoleFloodIsCappedNotFatal) {
  auto instance = MustStart(
      "export default { fetch() { for (let i = 0; i < 5000; i++) console.log('x'); "
      "return 'ok'; } };");
  ASSERT_NE(instance, nullptr);
  InvokeResult result = instance->Invoke(Get());
  ASSERT_EQ(result.outcome, Outcome::kOk) << result.error;
  ASSERT_EQ(result.console.size(), kMaxConsoleMessages + 1);
  EXPECT_THAT(result.console.back().text, HasSubstr("4000 console messages dropped"));
}

TEST(JsInstanceTest, UsageMetersCpuWallAndHeap) {
  auto instance = MustStart(R"(export default { fetch() {
      let s = 0; for (let i = 0; i < 2e6; i++) s += i; return String(s); } };)");
  ASSERT_NE(instance, nullptr);
  InvokeResult result = instance->Invoke(Get());
  ASSERT_EQ(result.outcome, Outcome::kOk) << result.error;
  EXPECT_GT(result.usage.cpu_us, 0);
  EXPECT_GE(result.usage.wall_us, result.usage.cpu_us / 2);
  EXPECT_GT(result.usage.peak_heap_bytes, 0u);
  EXPECT_GT(instance->MemoryBytes(), 0u);
}

// How many more bytes_allocated a request reports when it also allocates (and keeps) `allocation`
// than the same request without it. The two requests differ only in one letter of the URL, so
// the host allocates the same for both (a GET's method string, for one, is not allocated per
// request at all). Both paths are warmed first (feedback vectors, inline caches).
uint64_t ExtraBytesAllocated(const std::string& allocation) {
  auto instance = MustStart(absl::StrCat(R"(
      const keep = [];
      export default { fetch(request) {
        if (request.url.endsWith('/a')) keep.push()",
                                         allocation, R"();
        else keep.push(null);
        return 'ok'; } };)"));
  EXPECT_NE(instance, nullptr);
  if (instance == nullptr) return 0;
  HttpRequest with_allocation = Get("http://example.com/fam/a");
  HttpRequest without_allocation = Get("http://example.com/fam/b");
  for (int i = 0; i < 5; ++i) {
    instance->Invoke(with_allocation);
    instance->Invoke(without_allocation);
  }
  InvokeResult with = instance->Invoke(with_allocation);
  InvokeResult without = instance->Invoke(without_allocation);
  EXPECT_EQ(with.outcome, Outcome::kOk) << with.error;
  EXPECT_EQ(without.outcome, Outcome::kOk) << without.error;
  return with.usage.bytes_allocated - without.usage.bytes_allocated;
}

// bytes_allocated counts heap bytes to the byte: one array of 1000 holes is a 32-byte JSArray
// plus a 16 + 1000 * 8 byte FixedArray.
TEST(JsInstanceTest, BytesAllocatedIsExactForAKnownAllocation) {
  EXPECT_EQ(ExtraBytesAllocated("new Array(1000)"), 8048u);
}

// An object too large for the young generation's pages (a FixedArray of 160,016 bytes, past V8's
// 128 KiB limit for regular objects) goes to a large-object space, which is counted as well.
TEST(JsInstanceTest, BytesAllocatedCountsLargeObjects) {
  EXPECT_EQ(ExtraBytesAllocated("new Array(20000)"), 160048u);
}

TEST(JsInstanceTest, InvokeWorksFromAnotherThread) {
  auto instance = MustStart("export default { fetch() { return 'threaded'; } };");
  ASSERT_NE(instance, nullptr);
  EXPECT_EQ(instance->Invoke(Get()).response.body, "threaded");
  std::string body;
  std::thread([&] { body = instance->Invoke(Get()).response.body; }).join();
  EXPECT_EQ(body, "threaded");
  EXPECT_EQ(instance->Invoke(Get()).response.body, "threaded");
}

TEST(JsInstanceTest, ReleaseMemoryGivesBackGarbageAndKeepsState) {
  auto instance = MustStart(R"(let kept = 0; export default { fetch() {
      let garbage = [];
      for (let i = 0; i < 2000; i++) garbage.push({ i, text: 'x'.repeat(i % 64) + i });
      garbage = null;
      return String(++kept); } };)");
  ASSERT_NE(instance, nullptr);
  ASSERT_EQ(instance->Invoke(Get()).response.body, "1");
  const size_t before = instance->MemoryBytes();
  instance->ReleaseMemory();
  EXPECT_LT(instance->MemoryBytes(), before);
  // The module's state survives and the instance keeps serving.
  InvokeResult result = instance->Invoke(Get());
  ASSERT_EQ(result.outcome, Outcome::kOk) << result.error;
  EXPECT_EQ(result.response.body, "2");
  EXPECT_TRUE(instance->Reusable());
}

}  // namespace
}  // namespace cosmo::v8engine
