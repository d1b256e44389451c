#include "http/request_guard.h"

#include "gtest/gtest.h"

namespace cosmo::http {
namespace {

httplib::Request Make(std::string method, std::string target,
                      std::vector<std::pair<std::string, std::string>> headers = {}) {
  httplib::Request req;
  req.method = std::move(method);
  req.target = target;
  req.path = target.substr(0, target.find('?'));
  for (auto& [name, value] : headers) req.headers.emplace(name, value);
  return req;
}

std::optional<Rejection> Check(const httplib::Request& req, GuardLimits limits = {}) {
  auto error = RequestGuard(limits).Check(req);
  if (!error) return std::nullopt;
  return error->rejection;
}

TEST(RequestGuardTest, AcceptsOrdinaryRequests) {
  EXPECT_EQ(Check(Make("GET", "/a/b?x=1", {{"Host", "h"}})), std::nullopt);
  EXPECT_EQ(Check(Make("POST", "/a/", {{"Content-Length", "3"}})), std::nullopt);
  EXPECT_EQ(Check(Make("PUT", "/a/", {{"Transfer-Encoding", "Chunked"}})), std::nullopt);
  EXPECT_EQ(Check(Make("DELETE", "/a/")), std::nullopt);
  EXPECT_EQ(Check(Make("GET", "/a/", {{"Content-Length", "0"}})), std::nullopt);
}

TEST(RequestGuardTest, RefusesAmbiguousFraming) {
  EXPECT_EQ(Check(Make("POST", "/a/", {{"Content-Length", "1"}, {"Content-Length", "1"}})),
            Rejection::kBadRequest);
  EXPECT_EQ(Check(Make("POST", "/a/", {{"Content-Length", "1"}, {"Transfer-Encoding", "chunked"}})),
            Rejection::kBadRequest);
  EXPECT_EQ(Check(Make("POST", "/a/", {{"Transfer-Encoding", "gzip, chunked"}})),
            Rejection::kNotImplemented);
  EXPECT_EQ(Check(Make("POST", "/a/",
                       {{"Transfer-Encoding", "chunked"}, {"Transfer-Encoding", "chunked"}})),
            Rejection::kNotImplemented);
  EXPECT_EQ(Check(Make("POST", "/a/", {{"Content-Length", "+5"}})), Rejection::kBadRequest);
  EXPECT_EQ(Check(Make("POST", "/a/", {{"Content-Length", "99999999999999999999"}})),
            Rejection::kBadRequest);
  EXPECT_EQ(Check(Make("GET", "/a/", {{"Content-Length", "5"}})), Rejection::kBadRequest);
  EXPECT_EQ(Check(Make("HEAD", "/a/", {{"Transfer-Encoding", "chunked"}})), Rejection::kBadRequest);
  EXPECT_EQ(Check(Make("PATCH", "/a/")), Rejection::kLengthRequired);
}

TEST(RequestGuardTest, EnforcesSizeLimits) {
  GuardLimits limits{.max_request_body_bytes = 10,
                     .max_header_count = 2,
                     .max_header_bytes = 64,
                     .max_path_bytes = 8};
  EXPECT_EQ(Check(Make("POST", "/a/", {{"Content-Length", "11"}}), limits),
            Rejection::kPayloadTooLarge);
  EXPECT_EQ(Check(Make("GET", "/123456789"), limits), Rejection::kUriTooLong);
  EXPECT_EQ(Check(Make("GET", "/a?long-query-is-fine"), limits), std::nullopt);
  EXPECT_EQ(Check(Make("GET", "/a", {{"A", "1"}, {"B", "2"}, {"C", "3"}}), limits),
            Rejection::kHeadersTooLarge);
  EXPECT_EQ(Check(Make("GET", "/a", {{"A", std::string(100, 'x')}}), limits),
            Rejection::kHeadersTooLarge);
  // The library's own transport fields do not count.
  EXPECT_EQ(Check(Make("GET", "/a",
                       {{"A", "1"},
                        {"REMOTE_ADDR", "1"},
                        {"REMOTE_PORT", "2"},
                        {"LOCAL_ADDR", "3"},
                        {"LOCAL_PORT", "4"}}),
                  limits),
            std::nullopt);
}

TEST(RequestGuardTest, RefusesControlBytesInValuesAndNonOriginTargets) {
  EXPECT_EQ(Check(Make("GET", "/a", {{"X", "a\r\nb"}})), Rejection::kBadRequest);
  EXPECT_EQ(Check(Make("GET", "/a", {{"X", std::string("a\0b", 3)}})), Rejection::kBadRequest);
  EXPECT_EQ(Check(Make("OPTIONS", "*")), Rejection::kBadRequest);
  EXPECT_EQ(Check(Make("CONNECT", "example.com:443")), Rejection::kBadRequest);
}

}  // namespace
}  // namespace cosmo::http
