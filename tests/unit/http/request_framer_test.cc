// ScanRequest: where the front end may hand a buffered request to a worker, read the way
// cpp-httplib 0.11.4 reads requests.
#include "http/request_framer.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace cosmo::http {
namespace {

constexpr FramingLimits kLimits{.max_head_bytes = 1024, .max_buffered_body_bytes = 64};

Framing Scan(const std::string& bytes) { return ScanRequest(bytes, kLimits); }

TEST(RequestFramerTest, HeadOnlyRequestsCompleteAtTheBlankLine) {
  const std::string get = "GET /a HTTP/1.1\r\nHost: h\r\n\r\n";
  Framing f = Scan(get + "GET /b HTTP/1.1\r\n");
  EXPECT_EQ(f.status, Framing::Status::kComplete);
  EXPECT_EQ(f.request_bytes, get.size());
  EXPECT_EQ(f.header_lines, 1u);
  // Every prefix is incomplete.
  for (size_t n = 0; n < get.size(); ++n) {
    EXPECT_EQ(Scan(get.substr(0, n)).status, Framing::Status::kNeedMore) << n;
  }
  // A GET's Content-Length is the guard's to refuse; the head alone is the request.
  EXPECT_EQ(Scan("GET / HTTP/1.1\r\nContent-Length: 5\r\n\r\n").request_bytes, 37u);
}

TEST(RequestFramerTest, SmallBodiesAreBufferedLargeOnesLeftToTheWorker) {
  const std::string head = "POST / HTTP/1.1\r\ncontent-length:  5 \r\n\r\n";
  EXPECT_EQ(Scan(head + "abcd").status, Framing::Status::kNeedMore);
  Framing f = Scan(head + "abcdeGET");
  EXPECT_EQ(f.status, Framing::Status::kComplete);
  EXPECT_EQ(f.request_bytes, head.size() + 5);
  f = Scan("PUT / HTTP/1.1\r\nContent-Length: 65\r\n\r\n");
  EXPECT_EQ(f.status, Framing::Status::kDispatchHead);
  EXPECT_EQ(f.head_bytes, 38u);
}

TEST(RequestFramerTest, ChunkedBodiesEndAsTheLibraryEndsThem) {
  const std::string head = "POST / HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n";
  const std::string body = "3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\n\r\n";
  Framing f = Scan(head + body + "next");
  EXPECT_EQ(f.status, Framing::Status::kComplete);
  EXPECT_EQ(f.request_bytes, head.size() + body.size());
  // Until it is complete the body is read by the function as it arrives: dispatch at the head.
  for (size_t n = 0; n < body.size(); ++n) {
    EXPECT_EQ(Scan(head + body.substr(0, n)).status, Framing::Status::kDispatchHead) << n;
  }
  for (size_t n = 0; n < head.size(); ++n) {
    EXPECT_EQ(Scan(head.substr(0, n)).status, Framing::Status::kNeedMore) << n;
  }
  // Sizes that do not parse, or reach past the buffer, are for the parser to judge.
  for (std::string bad : {"zz\r\n", "-2\r\nhello\r\n0\r\n\r\n", "41\r\n"}) {
    EXPECT_EQ(Scan(head + bad).status, Framing::Status::kDispatchHead) << bad;
  }
  // Trailers are not read by the library: the parser judges them.
  EXPECT_EQ(Scan(head + "0\r\nX: y\r\n\r\n").status, Framing::Status::kDispatchHead);
}

TEST(RequestFramerTest, AmbiguousFramingAndExpectContinueDispatchAtTheHead) {
  for (std::string fields : {"Content-Length: 1\r\nContent-Length: 1\r\n",
                             "Content-Length: 1\r\nTransfer-Encoding: chunked\r\n",
                             "Transfer-Encoding: gzip, chunked\r\n", "Content-Length: 1x\r\n",
                             "Expect: 100-continue\r\nContent-Length: 10\r\n"}) {
    Framing f = Scan(absl::StrCat("POST / HTTP/1.1\r\n", fields, "\r\n"));
    EXPECT_EQ(f.status, Framing::Status::kDispatchHead) << fields;
  }
}

TEST(RequestFramerTest, HeadsOverTheCapAreTooLarge) {
  Framing f = Scan(absl::StrCat("GET /", std::string(2000, 'a')));
  EXPECT_EQ(f.status, Framing::Status::kHeadTooLarge);
  EXPECT_FALSE(f.request_line_complete);
  std::string flood = "GET / HTTP/1.1\r\n";
  for (int i = 0; i < 200; ++i) absl::StrAppend(&flood, "X: y\r\n");
  f = Scan(flood);
  EXPECT_EQ(f.status, Framing::Status::kHeadTooLarge);
  EXPECT_TRUE(f.request_line_complete);
  EXPECT_GE(f.header_lines, 150u);
  // Lines that end in a bare LF are part of the head, as the library skips them.
  f = Scan("GET / HTTP/1.1\r\nbad\nHost: h\r\n\r\n");
  EXPECT_EQ(f.status, Framing::Status::kComplete);
}

}  // namespace
}  // namespace cosmo::http
