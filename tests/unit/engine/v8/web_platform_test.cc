// The runtime's DOM and File API globals (events, abort signals, blobs, forms, URLPattern,
// performance, navigator, compression streams) in the real engine. The assertions live in
// tests/testdata/js/web_platform_tests.js, a handler that runs one group per request and answers
// "ok TITLE" / "FAIL TITLE: reason" lines (RunJsTestGroup); hostile input (malformed and huge
// multipart bodies, AbortSignal.any of 100,000 signals) is among them, with its documented outcome.
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "engine_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cosmo::v8engine {
namespace {

using ::cosmo::v8engine::testing::Get;
using ::cosmo::v8engine::testing::JsManifest;
using ::cosmo::v8engine::testing::SharedEngine;
using ::cosmo::v8engine::testing::Start;
using ::testing::HasSubstr;

InvokeResult RunGroup(const std::string& group) {
  return testing::RunJsTestGroup("web_platform_tests.js", group);
}

TEST(WebPlatformTest, EventTargetDispatchesLikeTheDomStandard) {
  InvokeResult result = RunGroup("Events");
  // A listener's exception is reported (logged), not thrown to dispatchEvent's caller.
  bool reported = false;
  for (const ConsoleMessage& m : result.console) {
    if (m.level == LogLevel::kError && absl::StrContains(m.text, "Uncaught Error: listener boom")) {
      reported = true;
    }
  }
  EXPECT_TRUE(reported);
}
TEST(WebPlatformTest, AbortSignalsAbortTimeOutAndCombineLinearly) { RunGroup("Abort"); }
TEST(WebPlatformTest, BlobFileAndFileReaderFollowTheFileApi) { RunGroup("Blob"); }
TEST(WebPlatformTest, FormDataSerialisesAndParsesAndRefusesMalformedBodies) {
  RunGroup("FormData");
}
TEST(WebPlatformTest, FetchRejectsWithAnAlreadyAbortedSignalsReason) { RunGroup("FetchAbort"); }
TEST(WebPlatformTest, UrlPatternMatches) { RunGroup("URLPattern"); }
TEST(WebPlatformTest, PerformanceNowAndNavigatorUserAgent) { RunGroup("PerformanceAndNavigator"); }
TEST(WebPlatformTest, CompressionStreamsFollowTheCompressionStandard) { RunGroup("Compression"); }

// Blob and File are host objects to V8's serializer: structuredClone copies them wherever they
// sit, a copy copies again, and the host object base stays out of sight.
TEST(WebPlatformTest, StructuredCloneCopiesBlobsAndFiles) {
  auto instance = Start(SharedEngine(), JsManifest(R"(export default { async fetch() {
      const big = new Blob(['0123456789'], {type: 'text/x-a'});
      const file = new File(['f'], 'n.txt', {type: 'text/plain', lastModified: 7});
      const input = {slice: big.slice(2, 5), twice: [file, file], nested: new Map([['k', big]])};
      const copy = structuredClone(structuredClone(input));
      const out = [
        await copy.slice.text(), copy.slice.size, copy.slice.type === '',
        copy.twice[0] === copy.twice[1], copy.twice[0] !== file,
        Object.getPrototypeOf(copy.twice[0]) === File.prototype, copy.twice[0].name,
        copy.twice[0].lastModified, copy.twice[0].type, await copy.nested.get('k').text(),
        Object.getPrototypeOf(Blob.prototype) === Object.prototype,
      ];
      // The base cannot turn an arbitrary object into anything.
      const Base = Object.getPrototypeOf(Blob);
      const target = {};
      out.push(new Base(target) !== target);
      try { Base(); out.push('called'); } catch (e) { out.push(e.name); }
      try { structuredClone(new Headers()); } catch (e) { out.push(e.name); }
      return out.join(); } };)"));
  ASSERT_TRUE(instance.ok()) << instance.status();
  InvokeResult result = (*instance)->Invoke(Get());
  ASSERT_EQ(result.outcome, Outcome::kOk) << result.error;
  EXPECT_EQ(result.response.body,
            "234,3,true,true,true,true,n.txt,7,text/plain,0123456789,true,true,TypeError,"
            "DataCloneError");
}

TEST(WebPlatformTest, AbortSignalTimeoutNeedsARequestLikeTimers) {
  auto top_level = Start(SharedEngine(), JsManifest(R"(AbortSignal.timeout(10);
      export default { fetch() { return 'x'; } };)"));
  ASSERT_FALSE(top_level.ok());
  EXPECT_THAT(top_level.status().message(),
              HasSubstr("Failed to execute 'timeout' on 'AbortSignal'"));
  EXPECT_THAT(top_level.status().message(), HasSubstr("while handling a request"));
}

TEST(WebPlatformTest, AFormDataResponseGoesOutAsMultipart) {
  auto instance = Start(SharedEngine(), JsManifest(R"(export default { fetch() {
      const f = new FormData();
      f.append('a', '1');
      f.append('f', new File(['xyz'], 'x.txt', {type: 'text/plain'}));
      return new Response(f); } };)"));
  ASSERT_TRUE(instance.ok()) << instance.status();
  InvokeResult result = (*instance)->Invoke(Get());
  ASSERT_EQ(result.outcome, Outcome::kOk) << result.error;
  const std::string type = testing::HeaderOf(result.response, "content-type");
  ASSERT_THAT(type, ::testing::StartsWith("multipart/form-data; boundary="));
  const std::string boundary = type.substr(type.find('=') + 1);
  EXPECT_EQ(result.response.body,
            absl::StrCat("--", boundary,
                         "\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--", boundary,
                         "\r\nContent-Disposition: form-data; name=\"f\"; filename=\"x.txt\"\r\n"
                         "Content-Type: text/plain\r\n\r\nxyz\r\n--",
                         boundary, "--\r\n"));
}

TEST(WebPlatformTest, AnIncomingMultipartUploadParses) {
  auto instance = Start(SharedEngine(), JsManifest(R"(export default { async fetch(request) {
      const f = await request.formData();
      const file = f.get('upload');
      return `${f.get('title')}|${file.name}|${file.type}|${await file.text()}`; } };)"));
  ASSERT_TRUE(instance.ok()) << instance.status();
  HttpRequest request = Get();
  request.method = "POST";
  request.headers = {{"Content-Type", "multipart/form-data; boundary=XyZ"}};
  request.body =
      "--XyZ\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nhello\r\n"
      "--XyZ\r\nContent-Disposition: form-data; name=\"upload\"; filename=\"a.csv\"\r\n"
      "Content-Type: text/csv\r\n\r\n1,2\r\n3,4\r\n--XyZ--\r\n";
  InvokeResult result = (*instance)->Invoke(request);
  ASSERT_EQ(result.outcome, Outcome::kOk) << result.error;
  EXPECT_EQ(result.response.body, "hello|a.csv|text/csv|1,2\r\n3,4");
}

TEST(WebPlatformTest, AMalformedUploadIsATypeErrorTheScriptCanCatch) {
  auto instance = Start(SharedEngine(), JsManifest(R"(export default { async fetch(request) {
      try { await request.formData(); return 'parsed'; }
      catch (e) { return `${e.name}: ${e.message}`; } } };)"));
  ASSERT_TRUE(instance.ok()) << instance.status();
  HttpRequest request = Get();
  request.method = "POST";
  request.headers = {{"Content-Type", "multipart/form-data; boundary=XyZ"}};
  request.body = "--XyZ\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nhello";
  InvokeResult result = (*instance)->Invoke(request);
  ASSERT_EQ(result.outcome, Outcome::kOk) << result.error;
  EXPECT_THAT(result.response.body, HasSubstr("TypeError: Failed to parse the body as FormData"));
}

}  // namespace
}  // namespace cosmo::v8engine
