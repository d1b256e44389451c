#include "http/response_headers.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cosmo::http {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

TEST(ResponseHeadersTest, DropsHopByHopAndFramingHeaders) {
  HttpResponse response{.status = 200,
                        .headers = {{"Content-Type", "text/plain"},
                                    {"transfer-encoding", "chunked"},
                                    {"Content-Length", "99"},
                                    {"Connection", "keep-alive"},
                                    {"Keep-Alive", "timeout=1"},
                                    {"Upgrade", "websocket"},
                                    {"TE", "trailers"},
                                    {"Trailer", "x"},
                                    {"Proxy-Connection", "close"},
                                    {"Set-Cookie", "a=1"},
                                    {"Set-Cookie", "b=2"}}};
  auto headers = SanitizeScriptResponse(response);
  ASSERT_TRUE(headers.ok()) << headers.status();
  EXPECT_THAT(*headers, ElementsAre(Pair("Content-Type", "text/plain"), Pair("Set-Cookie", "a=1"),
                                    Pair("Set-Cookie", "b=2")));
}

TEST(ResponseHeadersTest, RejectsInjectionBadNamesAndStatuses) {
  for (HttpResponse bad :
       std::vector<HttpResponse>{{.status = 200, .headers = {{"X", "a\r\nSet-Cookie: evil=1"}}},
                                 {.status = 200, .headers = {{"X", "a\nb"}}},
                                 {.status = 200, .headers = {{"X", std::string("a\0b", 3)}}},
                                 {.status = 200, .headers = {{"X", "a\x7f"}}},
                                 {.status = 200, .headers = {{"Bad Name", "v"}}},
                                 {.status = 200, .headers = {{"", "v"}}},
                                 {.status = 200, .headers = {{"X:Y", "v"}}},
                                 {.status = 199},
                                 {.status = 600},
                                 {.status = 0}}) {
    auto headers = SanitizeScriptResponse(bad);
    EXPECT_TRUE(absl::IsInvalidArgument(headers.status()));
    EXPECT_THAT(headers.status().message(), HasSubstr("invalid response"));
  }
}

TEST(ResponseHeadersTest, AllowsTabsAndObsTextInValues) {
  auto headers =
      SanitizeScriptResponse({.status = 599, .headers = {{"X-Tab", "a\tb"}, {"X-8", "\xc3\xa9"}}});
  EXPECT_TRUE(headers.ok()) << headers.status();
}

TEST(ResponseHeadersTest, BoundsTotalHeaderBytes) {
  HttpResponse response{.status = 200};
  for (int i = 0; i < 10000; ++i) response.headers.emplace_back("X-" + std::to_string(i), "v");
  EXPECT_TRUE(absl::IsInvalidArgument(SanitizeScriptResponse(response).status()));
}

}  // namespace
}  // namespace cosmo::http
