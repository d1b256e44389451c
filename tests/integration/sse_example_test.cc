// examples/sse/index.js as the README's first command serves it: deployed with cosmoctl to a real
// cosmo-server (one per test), read over a raw socket as its events arrive. Each event is a `data:`
// line and a blank line, one a second; the first is on the wire while the stream is still open, and
// the stream ends after `n` of them.
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "integration/raw_http_connection.h"
#include "integration/subprocess.h"
#include "nlohmann/json.hpp"
#include "support/temp_dir.h"

namespace cosmo {
namespace {

using ::cosmo::testing::BodyOf;
using ::cosmo::testing::Dechunk;
using ::cosmo::testing::RawHttpConnection;
using ::testing::HasSubstr;
using ::testing::StartsWith;

class SseExampleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string address;
    auto server =
        testing::StartCosmoServer({"--data-dir=" + dir_.Sub("data")}, &address, &http_port_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    testing::CommandResult deployed =
        testing::RunCosmoctl(address, {"deploy", "sse", COSMO_SOURCE_DIR "/examples/sse/index.js"});
    ASSERT_EQ(deployed.exit_code, 0) << deployed.out << deployed.err;
  }

  void TearDown() override {
    if (server_ != nullptr) {
      EXPECT_EQ(server_->Stop(), 0) << server_->output();
    }
  }

  // A connection that sent `GET <target>`.
  std::unique_ptr<RawHttpConnection> Get(absl::string_view target) {
    auto client = RawHttpConnection::Connect(http_port_);
    EXPECT_TRUE(client.ok()) << client.status();
    if (!client.ok()) return nullptr;
    EXPECT_TRUE((*client)->Send(absl::StrCat("GET ", target, " HTTP/1.1\r\nHost: h\r\n\r\n")));
    return std::move(*client);
  }

  // The events of an SSE body: each a `data:` line ended by a blank line, JSON after the colon.
  static std::vector<nlohmann::json> Events(absl::string_view body) {
    std::vector<nlohmann::json> events;
    EXPECT_TRUE(absl::ConsumeSuffix(&body, "\n\n")) << "the body ends inside an event: " << body;
    for (absl::string_view event : absl::StrSplit(body, "\n\n")) {
      absl::string_view data = event;
      EXPECT_TRUE(absl::ConsumePrefix(&data, "data: ")) << event;
      EXPECT_EQ(data.find('\n'), absl::string_view::npos) << "one line per event: " << event;
      events.push_back(nlohmann::json::parse(data, nullptr, /*allow_exceptions=*/false));
    }
    return events;
  }

  // The ticks `events` should be: 1 to `n`, each saying `of: n`, their times rising.
  static void ExpectTicks(const std::vector<nlohmann::json>& events, int n) {
    ASSERT_EQ(events.size(), static_cast<size_t>(n));
    std::string previous_time;
    for (int i = 0; i < n; ++i) {
      const nlohmann::json& event = events[i];
      ASSERT_TRUE(event.is_object()) << "event " << i + 1 << " is not JSON";
      EXPECT_EQ(event.value("tick", 0), i + 1) << event.dump();
      EXPECT_EQ(event.value("of", 0), n) << event.dump();
      // ISO 8601 in UTC compares as text; the events are at least a second apart.
      const std::string time = event.value("time", "");
      EXPECT_THAT(time, ::testing::MatchesRegex("[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z"));
      EXPECT_GT(time, previous_time) << event.dump();
      previous_time = time;
    }
  }

  testing::TempDir dir_;
  std::unique_ptr<testing::Subprocess> server_;
  int http_port_ = 0;
};

TEST_F(SseExampleTest, SendsEachEventAsItIsMadeAndEndsAfterN) {
  std::unique_ptr<RawHttpConnection> client = Get("/sse/?n=3");
  ASSERT_NE(client, nullptr);

  // The head and the first event (one chunk: the event's blank line, then the chunk's CRLF).
  std::string first;
  ASSERT_TRUE(client->ReadUntil("\n\n\r\n", &first)) << first;
  EXPECT_THAT(first, StartsWith("HTTP/1.1 200 OK\r\n"));
  const std::string head = absl::AsciiStrToLower(first.substr(0, first.find("\r\n\r\n") + 2));
  EXPECT_THAT(head, HasSubstr("\r\ncontent-type: text/event-stream\r\n"));
  EXPECT_THAT(head, HasSubstr("\r\ncache-control: no-cache\r\n"));
  EXPECT_THAT(head, HasSubstr("\r\ntransfer-encoding: chunked\r\n"));
  bool complete = false;
  const std::string first_body = Dechunk(BodyOf(first), &complete);
  EXPECT_FALSE(complete) << "the first event came with the end of the stream: " << first;
  std::vector<nlohmann::json> first_events = Events(first_body);
  ASSERT_EQ(first_events.size(), 1u) << first_body;
  EXPECT_EQ(first_events[0].value("tick", 0), 1) << first_body;

  std::string rest;
  ASSERT_TRUE(client->ReadUntil("\r\n0\r\n\r\n", &rest)) << first << rest;
  const std::string body = Dechunk(BodyOf(first + rest), &complete);
  EXPECT_TRUE(complete) << rest;
  ExpectTicks(Events(body), 3);
}

TEST_F(SseExampleTest, TicksFiveTimesWithoutN) {
  std::unique_ptr<RawHttpConnection> client = Get("/sse/");
  ASSERT_NE(client, nullptr);
  std::string response;
  ASSERT_TRUE(client->ReadUntil("\r\n0\r\n\r\n", &response)) << response;
  bool complete = false;
  const std::string body = Dechunk(BodyOf(response), &complete);
  EXPECT_TRUE(complete) << response;
  ExpectTicks(Events(body), 5);
}

TEST_F(SseExampleTest, RefusesAnNOutsideOneToTwenty) {
  for (const char* n : {"0", "21", "-1", "2.5", "abc", ""}) {
    auto response = testing::RawGet(http_port_, absl::StrCat("/sse/?n=", n));
    ASSERT_TRUE(response.ok()) << "n=" << n << ": " << response.status();
    EXPECT_THAT(*response, StartsWith("HTTP/1.1 400 ")) << "n=" << n;
    EXPECT_EQ(BodyOf(*response), "n must be a whole number from 1 to 20\n") << "n=" << n;
  }
}

}  // namespace
}  // namespace cosmo
