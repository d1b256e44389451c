// cosmo-loadgen: the histogram, the response parser, the request mix, and the binary itself
// against a small in-process cpp-httplib server on loopback.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "loadgen/latency_histogram.h"
#include "loadgen/load_options.h"
#include "loadgen/request_mix.h"
#include "loadgen/response_parser.h"
#include "support/background_http_server.h"
#include "support/command_line.h"

namespace cosmo::loadgen {
namespace {

using ::testing::HasSubstr;

TEST(LatencyHistogramTest, PercentilesAreWithinOnePercent) {
  LatencyHistogram h;
  for (uint64_t v = 1; v <= 100000; ++v) h.Record(v * 1000);  // 1 µs .. 100 ms
  EXPECT_EQ(h.count(), 100000u);
  EXPECT_EQ(h.min(), 1000u);
  EXPECT_EQ(h.max(), 100000000u);
  EXPECT_NEAR(h.Mean(), 50000.5 * 1000, 1);
  for (double p : {50.0, 90.0, 99.0, 99.9}) {
    const double exact = p / 100 * 100000 * 1000;
    EXPECT_NEAR(static_cast<double>(h.ValueAtPercentile(p)), exact, exact * 0.01) << p;
  }
  EXPECT_EQ(h.ValueAtPercentile(100), h.max());
}

TEST(LatencyHistogramTest, SmallValuesAreExactAndMergeAddsCounts) {
  LatencyHistogram a, b;
  a.Record(3);
  b.Record(7);
  b.Record(200);
  a.Merge(b);
  EXPECT_EQ(a.count(), 3u);
  EXPECT_EQ(a.ValueAtPercentile(33), 3u);
  EXPECT_EQ(a.ValueAtPercentile(66), 7u);
  EXPECT_EQ(a.max(), 200u);
  EXPECT_EQ(LatencyHistogram().ValueAtPercentile(50), 0u);
}

TEST(ResponseParserTest, ContentLengthFedByteByByte) {
  const std::string wire = "HTTP/1.1 404 Not Found\r\nContent-Length: 5\r\n\r\nhello";
  ResponseParser p;
  p.Reset(false);
  for (size_t i = 0; i < wire.size(); ++i) {
    ASSERT_EQ(p.state(), ResponseParser::State::kIncomplete) << i;
    EXPECT_EQ(p.Feed(wire.data() + i, 1), 1u);
  }
  EXPECT_EQ(p.state(), ResponseParser::State::kComplete);
  EXPECT_EQ(p.status(), 404);
  EXPECT_FALSE(p.close_after());
}

TEST(ResponseParserTest, ChunkedWithTrailersAndLeftover) {
  const std::string wire =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
      "5\r\nhello\r\n1;ext=1\r\n!\r\n0\r\nX-T: 1\r\n\r\nNEXT";
  ResponseParser p;
  p.Reset(false);
  EXPECT_EQ(p.Feed(wire.data(), wire.size()), wire.size() - 4);
  EXPECT_EQ(p.state(), ResponseParser::State::kComplete);
  EXPECT_TRUE(p.close_after());
}

TEST(ResponseParserTest, BodyUntilEofHeadAndErrors) {
  ResponseParser p;
  p.Reset(false);
  const std::string until_eof = "HTTP/1.0 200 OK\r\n\r\nabc";
  p.Feed(until_eof.data(), until_eof.size());
  EXPECT_EQ(p.state(), ResponseParser::State::kIncomplete);
  p.FeedEof();
  EXPECT_EQ(p.state(), ResponseParser::State::kComplete);

  p.Reset(true);
  const std::string head = "HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n";
  p.Feed(head.data(), head.size());
  EXPECT_EQ(p.state(), ResponseParser::State::kComplete);

  p.Reset(false);
  const std::string junk = "SSH-2.0-OpenSSH\r\n\r\n";
  p.Feed(junk.data(), junk.size());
  EXPECT_EQ(p.state(), ResponseParser::State::kError);

  p.Reset(false);
  p.FeedEof();
  EXPECT_EQ(p.state(), ResponseParser::State::kError);
  EXPECT_THAT(p.error(), HasSubstr("before a response"));
}

absl::StatusOr<LoadOptions> Parse(std::vector<std::string> args) {
  std::vector<char*> argv = {const_cast<char*>("cosmo-loadgen")};
  for (std::string& a : args) argv.push_back(a.data());
  return ParseLoadOptions(static_cast<int>(argv.size()), argv.data());
}

TEST(LoadOptionsTest, ErrorsNameTheFlag) {
  EXPECT_THAT(Parse({"-c", "x", "http://127.0.0.1:1"}).status().message(),
              HasSubstr("--connections: 'x' is not an integer"));
  EXPECT_THAT(Parse({"--duration=soon", "http://127.0.0.1:1"}).status().message(),
              HasSubstr("--duration"));
  EXPECT_THAT(Parse({"--bogus", "http://127.0.0.1:1"}).status().message(),
              HasSubstr("unknown option"));
  EXPECT_THAT(Parse({"-c", "4"}).status().message(), HasSubstr("URL"));
  EXPECT_THAT(Parse({"--target=GET:nope", "http://127.0.0.1:1"}).status().message(),
              HasSubstr("--target"));
  auto ok = Parse({"-n", "10", "--target=POST:/a/@3", "http://[::1]:9/x"});
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->host, "::1");
  EXPECT_EQ(ok->port, 9);
  EXPECT_EQ(ok->requests, 10);
  EXPECT_EQ(ok->duration, absl::Seconds(300));
  ASSERT_EQ(ok->targets.size(), 1u);
  EXPECT_EQ(ok->targets[0].method, "POST");
  EXPECT_EQ(ok->targets[0].weight, 3);
}

TEST(RequestMixTest, ZipfFavoursLowRanks) {
  auto options = Parse(
      {"--zipf-families=100", "--zipf-s=1.1", "--zipf-pattern=/z{}/", "http://127.0.0.1:8080"});
  ASSERT_TRUE(options.ok());
  RequestMix mix(*options);
  ASSERT_EQ(mix.size(), 100u);
  EXPECT_THAT(mix.at(7).wire, HasSubstr("GET /z7/ HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"));
  RequestMix::Random random(42);
  std::map<const RequestMix::Request*, int> counts;
  for (int i = 0; i < 100000; ++i) ++counts[&mix.Pick(random)];
  EXPECT_GT(counts[&mix.at(0)], counts[&mix.at(1)]);
  EXPECT_GT(counts[&mix.at(1)], counts[&mix.at(10)]);
  EXPECT_GT(counts[&mix.at(10)], counts[&mix.at(99)] / 2);
  // p(rank 0) = 1 / H(100, 1.1), the generalized harmonic number.
  double harmonic = 0;
  for (int k = 1; k <= 100; ++k) harmonic += std::pow(k, -1.1);
  EXPECT_NEAR(counts[&mix.at(0)] / 100000.0, 1 / harmonic, 0.01);
}

// A small server on loopback: /ok answers 200, /status/N answers N, /slow sleeps. With
// `keep_alive_max` 5 it closes every connection after five requests, as Debian's default does.
class LocalServer {
 public:
  explicit LocalServer(size_t keep_alive_max) {
    server_.set_keep_alive_max_count(keep_alive_max);
    server_.set_tcp_nodelay(true);
    server_.Get("/ok", [this](const httplib::Request&, httplib::Response& res) {
      ++hits_;
      res.set_content("ok\n", "text/plain");
    });
    server_.Get(R"(/status/(\d+))", [this](const httplib::Request& req, httplib::Response& res) {
      ++hits_;
      res.status = std::stoi(req.matches[1].str());
      res.set_content("status\n", "text/plain");
    });
    server_.Post("/echo", [this](const httplib::Request& req, httplib::Response& res) {
      ++hits_;
      res.set_content(req.body, "application/json");
    });
    server_.Get("/chunked", [this](const httplib::Request&, httplib::Response& res) {
      ++hits_;
      res.set_chunked_content_provider("text/plain", [](size_t, httplib::DataSink& sink) {
        sink.write("abc", 3);
        sink.write("defg", 4);
        sink.done();
        return true;
      });
    });
    serving_ = std::make_unique<cosmo::testing::BackgroundHttpServer<httplib::Server>>(server_);
  }
  int port() const { return serving_->port(); }
  int hits() const { return hits_.load(); }

 private:
  httplib::Server server_;
  std::atomic<int> hits_{0};
  // Stops the server (declared after it, so destroyed first).
  std::unique_ptr<cosmo::testing::BackgroundHttpServer<httplib::Server>> serving_;
};

using LoadgenRun = cosmo::testing::CommandLineRun;

LoadgenRun RunLoadgen(const std::string& args) {
  return cosmo::testing::RunCommandLine(COSMO_LOADGEN_BINARY, args);
}

TEST(LoadgenBinaryTest, CountsRequestsAndErrorsByStatus) {
  LocalServer server(SIZE_MAX);
  const std::string url = "http://127.0.0.1:" + std::to_string(server.port());
  LoadgenRun run = RunLoadgen(
      "--json -n 600 -c 4 -t 2 --target=GET:/ok@1 --target=GET:/status/404@1 "
      "--target=GET:/status/503@1 --target=GET:/chunked@1 " +
      url);
  ASSERT_EQ(run.exit_code, 0) << run.out;
  const auto j = nlohmann::json::parse(run.out);
  EXPECT_EQ(j["requests"], 600);
  EXPECT_EQ(server.hits(), 600);
  const int ok = j["status"].value("200", 0);
  const int not_found = j["status"].value("404", 0);
  const int unavailable = j["status"].value("503", 0);
  EXPECT_EQ(ok + not_found + unavailable, 600);
  EXPECT_GT(not_found, 50);
  EXPECT_GT(unavailable, 50);
  EXPECT_EQ(j["errors"]["status"], not_found + unavailable);
  EXPECT_EQ(j["errors"]["total"], not_found + unavailable);
  EXPECT_EQ(j["errors"]["read"], 0);
  EXPECT_EQ(j["errors"]["parse"], 0);
  EXPECT_GT(j["latency_us"]["p50"].get<double>(), 0);
  EXPECT_GE(j["latency_us"]["max"].get<double>(), j["latency_us"]["p99"].get<double>());
}

TEST(LoadgenBinaryTest, FollowsServerClosingKeepAliveConnections) {
  LocalServer server(5);
  const std::string url = "http://127.0.0.1:" + std::to_string(server.port()) + "/ok";
  LoadgenRun run = RunLoadgen("--json -n 203 -c 3 " + url);
  ASSERT_EQ(run.exit_code, 0) << run.out;
  const auto j = nlohmann::json::parse(run.out);
  EXPECT_EQ(j["requests"], 203);
  EXPECT_EQ(j["status"]["200"], 203);
  EXPECT_EQ(j["errors"]["total"], 0);
}

TEST(LoadgenBinaryTest, DurationBoundsTheRunAndReportsTheProcess) {
  LocalServer server(SIZE_MAX);
  const std::string url = "http://127.0.0.1:" + std::to_string(server.port()) + "/ok";
  LoadgenRun run = RunLoadgen(
      "--json -d 300ms --warmup=100ms -c 2 --pid=" + std::to_string(getpid()) + " " + url);
  ASSERT_EQ(run.exit_code, 0) << run.out;
  const auto j = nlohmann::json::parse(run.out);
  EXPECT_GT(j["requests"].get<int>(), 10);
  EXPECT_NEAR(j["duration_s"].get<double>(), 0.3, 0.1);
  EXPECT_GT(j["process"]["rss_bytes"].get<double>(), 0);
}

TEST(LoadgenBinaryTest, RefusesNonLoopbackAndUnreachableTargets) {
  LoadgenRun remote = RunLoadgen("-n 1 http://10.1.2.3:80/");
  EXPECT_EQ(remote.exit_code, 1);
  EXPECT_THAT(remote.out, HasSubstr("not a loopback address"));

  int port;
  {
    LocalServer server(SIZE_MAX);
    port = server.port();
  }
  LoadgenRun refused = RunLoadgen("-n 1 http://127.0.0.1:" + std::to_string(port) + "/");
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_THAT(refused.out, HasSubstr("cannot connect to 127.0.0.1:"));

  LoadgenRun usage = RunLoadgen("--connections=0 http://127.0.0.1:1/");
  EXPECT_EQ(usage.exit_code, 1);
  EXPECT_THAT(usage.out, HasSubstr("--connections: 0 is out of range"));
}

}  // namespace
}  // namespace cosmo::loadgen
