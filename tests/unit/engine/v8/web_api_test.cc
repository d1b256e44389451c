// The web-API runtime (lib/engine/v8/js) in the real engine: every global against the standards'
// own examples. The assertions live in tests/testdata/js/web_api_tests.js, a handler that runs one
// group of tests per request and answers "ok TITLE" / "FAIL TITLE: reason" lines; console output
// and the handler-to-HTTP contract (responseParts) are checked here, on the InvokeResult.
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "engine_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cosmo::v8engine {
namespace {

using ::cosmo::v8engine::testing::Get;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;
using ::testing::StartsWith;

std::unique_ptr<Instance> MustStart(const std::string& source) {
  ScriptLimits limits;
  limits.cpu_per_request = absl::Seconds(5);  // whole test groups run in one request
  return ::cosmo::v8engine::testing::MustStart(source, limits);
}

// Runs one group of web_api_tests.js and expects every test in it to pass.
void RunGroup(const std::string& group) {
  HttpRequest request = Get("http://example.com/in");
  request.method = "POST";
  request.headers = {{"X-A", "1"}, {"X-Mixed-Case", "Value"}, {"x-a", "2"}};
  request.body = "payload \xC3\xA9";
  testing::RunJsTestGroup("web_api_tests.js", group, request);
}

TEST(WebApiTest, GlobalsAreInstalledWithWebIdlShapes) { RunGroup("Globals"); }
TEST(WebApiTest, DOMExceptionFollowsWebIdl) { RunGroup("DOMException"); }
TEST(WebApiTest, HeadersFollowFetchStandard) { RunGroup("Headers"); }
TEST(WebApiTest, RequestFollowsFetchStandard) { RunGroup("Request"); }
TEST(WebApiTest, ResponseFollowsFetchStandard) { RunGroup("Response"); }
TEST(WebApiTest, UrlAndUrlSearchParamsFollowUrlStandard) { RunGroup("URL"); }
TEST(WebApiTest, TextEncoderAndTextDecoderFollowEncodingStandard) { RunGroup("Encoding"); }
TEST(WebApiTest, AtobAndBtoaAreForgivingBase64) { RunGroup("Base64"); }
TEST(WebApiTest, CryptoRandomValuesAndUuids) { RunGroup("Crypto"); }
TEST(WebApiTest, QueueMicrotaskRunsInOrder) { RunGroup("Microtasks"); }
TEST(WebApiTest, StructuredCloneUsesTheStructuredSerializeAlgorithm) {
  RunGroup("StructuredClone");
}
TEST(WebApiTest, IncomingRequestIsLazyImmutableAndReadsOnce) { RunGroup("IncomingRequest"); }

// Console: levels and Node-style formatting.

std::vector<std::string> ConsoleOf(const std::string& statements) {
  auto instance =
      MustStart(absl::StrCat("export default { fetch() {\n", statements, "\nreturn 'done'; } };"));
  if (instance == nullptr) return {};
  InvokeResult result = instance->Invoke(Get());
  EXPECT_EQ(result.outcome, Outcome::kOk) << result.error;
  std::vector<std::string> lines;
  for (const ConsoleMessage& m : result.console) lines.push_back(m.text);
  return lines;
}

TEST(WebApiTest, ConsoleLevelsReachTheHost) {
  auto instance = MustStart(R"(export default { fetch() {
      console.debug('d'); console.info('i'); console.log('l'); console.warn('w'); console.error('e');
      return 'x'; } };)");
  ASSERT_NE(instance, nullptr);
  InvokeResult result = instance->Invoke(Get());
  ASSERT_EQ(result.outcome, Outcome::kOk) << result.error;
  ASSERT_EQ(result.console.size(), 5u);
  EXPECT_EQ(result.console[0].level, LogLevel::kDebug);
  EXPECT_EQ(result.console[1].level, LogLevel::kInfo);
  EXPECT_EQ(result.console[2].level, LogLevel::kLog);
  EXPECT_EQ(result.console[3].level, LogLevel::kWarn);
  EXPECT_EQ(result.console[4].level, LogLevel::kError);
  EXPECT_EQ(result.console[4].text, "e");
}

TEST(WebApiTest, ConsoleFormatsSubstitutionsLikeNode) {
  EXPECT_THAT(ConsoleOf(R"(
      console.log('%s is %d years and %i days', 'Bob', 42.5, '7.9');
      console.log('%f %j %%', '1.50', {a: [1]});
      console.log('%c styled', 'color: red');
      console.log('%o', [1]);
      console.log('%O', {a: {b: {c: {d: 1}}}});
      console.log('%s', {a: 1}, 'extra', 5);
      console.log('no specifiers', 1, 'two', null, undefined);
      console.log('100%');
      console.log('%d', 5n, '%s');)"),
              ElementsAre("Bob is 42.5 years and 7 days", "1.5 {\"a\":[1]} %", " styled",
                          "[ 1, [length]: 1 ]", "{ a: { b: { c: [Object] } } }", "{ a: 1 } extra 5",
                          "no specifiers 1 two null undefined", "100%", "5n %s"));
}

TEST(WebApiTest, ConsolePrintsValuesLikeNodeInspect) {
  EXPECT_THAT(
      ConsoleOf(R"(
      console.log({a: 1, 'b-c': 'x', d: [1, 'two', {e: null}], [Symbol('s')]: true});
      console.log([1, , 3], [], {}, new Map([['k', 1]]), new Set([1]));
      const o = {name: 'loop'}; o.self = o; console.log(o);
      console.log(function named() {}, class K {}, () => {}, Symbol('x'), 10n, -0);
      console.log(new Uint8Array([1, 2]), new Date(0), /re/g, Object.create(null));
      console.log(new (class Point { constructor() { this.x = 1; } })());
      console.log(['it\'s', 'line\nbreak']);
      console.log(Array.from({length: 26}, (_, i) => i));
      console.log(new Headers({b: '2', a: '1'}));)"),
      ElementsAre(
          "{ a: 1, 'b-c': 'x', d: [ 1, 'two', { e: null } ], [Symbol(s)]: true }",
          "[ 1, <1 empty item>, 3 ] [] {} Map(1) { 'k' => 1 } Set(1) { 1 }",
          "<ref *1> { name: 'loop', self: [Circular *1] }",
          "[Function: named] [class K] [Function (anonymous)] Symbol(x) 10n -0",
          "Uint8Array(2) [ 1, 2 ] 1970-01-01T00:00:00.000Z /re/g [Object: null prototype] {}",
          "Point { x: 1 }", "[ \"it's\", 'line\\nbreak' ]",
          "[\n   0,  1,  2,  3,  4,  5,  6,  7,\n   8,  9, 10, 11, 12, 13, 14, 15,\n"
          "  16, 17, 18, 19, 20, 21, 22, 23,\n  24, 25\n]",
          "Headers { a: '1', b: '2' }"));
}

TEST(WebApiTest, ConsolePrintsErrorsWithStackAndExtraProperties) {
  std::vector<std::string> lines = ConsoleOf(R"(
      const e = new TypeError('boom'); e.code = 'E_X'; console.error(e);
      console.log('wrapped:', {err: new RangeError('inner')});)");
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_THAT(lines[0], StartsWith("TypeError: boom\n    at Object.fetch (index.js:"));
  EXPECT_THAT(lines[0], HasSubstr("{\n  code: 'E_X'\n}"));
  EXPECT_THAT(lines[1], StartsWith("wrapped: {\n  err: RangeError: inner\n      at Object.fetch"));
}

TEST(WebApiTest, ConsoleCountTimeGroupAndAssert) {
  std::vector<std::string> lines = ConsoleOf(R"(
      console.count(); console.count(); console.count('x'); console.countReset();
      console.count();
      console.group('G'); console.log('inside'); console.groupEnd(); console.log('outside');
      console.assert(true, 'never'); console.assert(false, 'failed %s', 'here');
      console.time('t'); console.timeEnd('t'); console.timeEnd('missing');)");
  ASSERT_EQ(lines.size(), 10u);
  EXPECT_EQ(lines[0], "default: 1");
  EXPECT_EQ(lines[1], "default: 2");
  EXPECT_EQ(lines[2], "x: 1");
  EXPECT_EQ(lines[3], "default: 1");
  EXPECT_EQ(lines[4], "G");
  EXPECT_EQ(lines[5], "  inside");
  EXPECT_EQ(lines[6], "outside");
  EXPECT_EQ(lines[7], "Assertion failed: failed here");
  EXPECT_THAT(lines[8], ::testing::MatchesRegex("t: [0-9]+ms"));
  EXPECT_EQ(lines[9], "Timer 'missing' does not exist");
}

// The handler-to-HTTP contract (__cosmo_dispatch.responseParts).

InvokeResult InvokeHandler(const std::string& fetch_body) {
  auto instance =
      MustStart(absl::StrCat("export default { async fetch(request) {\n", fetch_body, "\n} };"));
  if (instance == nullptr) return {};
  return instance->Invoke(Get());
}

TEST(WebApiTest, ResponseHeadersGoOutSortedLowerCaseWithSetCookieApart) {
  InvokeResult result = InvokeHandler(R"(
      const h = new Headers([['X-B', '1'], ['Set-Cookie', 'a=1'], ['x-b', '2'], ['set-cookie', 'b=2']]);
      return new Response(new Uint8Array([104, 105]), {status: 418, headers: h});)");
  ASSERT_EQ(result.outcome, Outcome::kOk) << result.error;
  EXPECT_EQ(result.response.status, 418);
  EXPECT_EQ(result.response.body, "hi");
  EXPECT_THAT(result.response.headers, ElementsAre(Pair("set-cookie", "a=1"),
                                                   Pair("set-cookie", "b=2"), Pair("x-b", "1, 2")));
}

TEST(WebApiTest, StringBodiesGoOutAsUtf8WithTheirContentType) {
  InvokeResult result = InvokeHandler("return new Response('h\\u00e9 \\ud800');");
  ASSERT_EQ(result.outcome, Outcome::kOk) << result.error;
  EXPECT_EQ(result.response.body, "h\xC3\xA9 \xEF\xBF\xBD");
  EXPECT_THAT(result.response.headers,
              ElementsAre(Pair("content-type", "text/plain;charset=UTF-8")));
}

TEST(WebApiTest, RedirectsAndNullBodiesGoOut) {
  InvokeResult redirect = InvokeHandler("return Response.redirect('https://example.com/x', 307);");
  ASSERT_EQ(redirect.outcome, Outcome::kOk) << redirect.error;
  EXPECT_EQ(redirect.response.status, 307);
  EXPECT_THAT(redirect.response.headers, ElementsAre(Pair("location", "https://example.com/x")));
  EXPECT_EQ(redirect.response.body, "");
  InvokeResult empty = InvokeHandler("return new Response(null, {status: 204});");
  ASSERT_EQ(empty.outcome, Outcome::kOk) << empty.error;
  EXPECT_EQ(empty.response.status, 204);
  EXPECT_TRUE(empty.response.headers.empty());
}

TEST(WebApiTest, ValuesOtherThanResponsesAndStringsAreInvalidResponses) {
  for (const char* value :
       {"return 42;", "return {status: 200};", "return undefined;", "return Response.error();"}) {
    InvokeResult result = InvokeHandler(value);
    EXPECT_EQ(result.outcome, Outcome::kException) << value;
    EXPECT_THAT(result.error, HasSubstr("invalid response")) << value;
  }
  InvokeResult used = InvokeHandler("const r = new Response('x'); await r.text(); return r;");
  EXPECT_EQ(used.outcome, Outcome::kException);
  EXPECT_THAT(used.error, HasSubstr("already"));
}

}  // namespace
}  // namespace cosmo::v8engine
