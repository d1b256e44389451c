#include "http/outcome_status.h"

#include "gtest/gtest.h"

namespace cosmo::http {
namespace {

TEST(OutcomeStatusTest, ErrorOutcomesMapToTheDesignedStatusesAndCodes) {
  struct Row {
    Outcome outcome;
    int status;
    absl::string_view code;
    bool retry_after;
  };
  for (const Row& row : {Row{Outcome::kException, 500, "script_error", false},
                         Row{Outcome::kExceededCpu, 503, "limit_exceeded", false},
                         Row{Outcome::kExceededMemory, 503, "limit_exceeded", false},
                         Row{Outcome::kExceededWallTime, 503, "limit_exceeded", false},
                         Row{Outcome::kNotFound, 404, "not_found", false},
                         Row{Outcome::kLoadShed, 503, "unavailable", true},
                         Row{Outcome::kBadRequest, 400, "bad_request", false},
                         Row{Outcome::kInternal, 500, "internal", false}}) {
    ErrorStatus status = StatusForOutcome(row.outcome);
    EXPECT_EQ(status.http_status, row.status) << OutcomeName(row.outcome);
    EXPECT_EQ(status.code, row.code) << OutcomeName(row.outcome);
    EXPECT_EQ(status.retry_after, row.retry_after) << OutcomeName(row.outcome);
    EXPECT_EQ(status.outcome, row.outcome);
  }
}

TEST(OutcomeStatusTest, LibraryStatusesMapBackToRejections) {
  EXPECT_EQ(RejectionForLibraryStatus(413), Rejection::kPayloadTooLarge);
  EXPECT_EQ(RejectionForLibraryStatus(414), Rejection::kUriTooLong);
  EXPECT_EQ(RejectionForLibraryStatus(415), Rejection::kUnsupportedMediaType);
  EXPECT_EQ(RejectionForLibraryStatus(404), Rejection::kNotFound);
  EXPECT_EQ(RejectionForLibraryStatus(416), Rejection::kBadRequest);
  EXPECT_EQ(RejectionForLibraryStatus(-1), Rejection::kBadRequest);
  EXPECT_EQ(StatusForRejection(Rejection::kOverloaded).http_status, 503);
  EXPECT_TRUE(StatusForRejection(Rejection::kOverloaded).retry_after);
}

TEST(OutcomeStatusTest, ErrorJsonEscapesTheMessage) {
  EXPECT_EQ(ErrorJson("not_found", "no family 'x'"),
            R"({"error":"not_found","message":"no family 'x'"})");
  EXPECT_EQ(ErrorJson("e", "a\"b\\c\nd\re\tf"), R"({"error":"e","message":"a\"b\\c\nd\re\tf"})");
  EXPECT_EQ(ErrorJson("e", std::string("\x01\x7f", 2)),
            R"({"error":"e","message":"\u0001\u007f"})");
  EXPECT_EQ(ErrorJson("e", "caf\xc3\xa9"), "{\"error\":\"e\",\"message\":\"caf\xc3\xa9\"}");
  // Invalid UTF-8: the valid prefix and U+FFFD, never raw bytes in JSON.
  EXPECT_EQ(ErrorJson("e", "ok\xff\xfe"), "{\"error\":\"e\",\"message\":\"ok\xEF\xBF\xBD\"}");
}

}  // namespace
}  // namespace cosmo::http
