// cosmo-stream-client against a real HTTP server on loopback: its counts of complete, short,
// miscounted, timed-out and failed streams, and its chunked framing walk.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "support/background_http_server.h"
#include "support/command_line.h"

namespace {

// /ticker answers five chunks whose payloads hold the text of a last chunk ("0\r\n\r\n") and end
// with a line; /short closes after one chunk; /hold sends one chunk and then nothing until the
// test releases it; /ok is not chunked; /status/503 is an error.
class StreamServer {
 public:
  StreamServer() {
    server_.Get("/ticker", [](const httplib::Request&, httplib::Response& res) {
      res.set_chunked_content_provider("text/plain", [](size_t offset, httplib::DataSink& sink) {
        static constexpr char kPayload[] = "0\r\n\r\ntick\n";
        for (int i = 0; i < 5; ++i) sink.write(kPayload, sizeof(kPayload) - 1);
        sink.done();
        return true;
      });
    });
    server_.Get("/short", [](const httplib::Request&, httplib::Response& res) {
      res.set_chunked_content_provider("text/plain", [](size_t offset, httplib::DataSink& sink) {
        if (offset > 0) return false;  // httplib closes the connection without the last chunk
        sink.write("tick\n", 5);
        return true;
      });
    });
    server_.Get("/hold", [this](const httplib::Request&, httplib::Response& res) {
      res.set_chunked_content_provider(
          "text/plain", [this](size_t offset, httplib::DataSink& sink) {
            if (offset == 0) {
              sink.write("tick\n", 5);
              return true;
            }
            while (!released_) {
              std::this_thread::sleep_for(std::chrono::milliseconds(5));
            }
            return false;
          });
    });
    server_.Get("/ok", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("ok\n", "text/plain");
    });
    server_.Get("/status/503", [](const httplib::Request&, httplib::Response& res) {
      res.status = 503;
      res.set_content("busy\n", "text/plain");
    });
    serving_ = std::make_unique<cosmo::testing::BackgroundHttpServer<httplib::Server>>(server_);
  }
  ~StreamServer() { released_ = true; }

  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(serving_->port()) + path;
  }

 private:
  httplib::Server server_;
  std::atomic<bool> released_{false};
  // Stops the server (declared after it, so destroyed first, once /hold is released).
  std::unique_ptr<cosmo::testing::BackgroundHttpServer<httplib::Server>> serving_;
};

struct ClientRun : cosmo::testing::CommandLineRun {
  nlohmann::json result;  // the JSON line (stdout)
};

ClientRun RunClient(const std::string& args) {
  ClientRun run{cosmo::testing::RunCommandLine(COSMO_STREAM_CLIENT_BINARY, "--no-progress " + args),
                {}};
  run.result = nlohmann::json::parse(run.out, nullptr, /*allow_exceptions=*/false);
  return run;
}

TEST(StreamClientTest, CountsChunksAndIsNotFooledByALastChunkInsideAPayload) {
  StreamServer server;
  const ClientRun run = RunClient("-n 12 --expect-chunks 5 " + server.Url("/ticker"));
  ASSERT_TRUE(run.result.is_object()) << run.out;
  ASSERT_EQ(run.exit_code, 0) << run.out;
  EXPECT_EQ(run.result["requested"], 12);
  EXPECT_EQ(run.result["opened"], 12);
  EXPECT_EQ(run.result["complete"], 12);
  EXPECT_EQ(run.result["short"], 0);
  EXPECT_EQ(run.result["failed"], 0);
  EXPECT_EQ(run.result["chunks_total"], 60);
  EXPECT_EQ(run.result["chunks_min"], 5);
  EXPECT_EQ(run.result["chunks_max"], 5);
  EXPECT_EQ(run.result["lines_total"], 12 * 5 * 3);
  EXPECT_EQ(run.result["payload_bytes"], 12 * 5 * 10);
  EXPECT_TRUE(run.result["all_heads_s"].is_number());
  EXPECT_TRUE(run.result["all_ended_s"].is_number());
}

TEST(StreamClientTest, AStreamWithAnotherChunkCountIsMiscounted) {
  StreamServer server;
  const ClientRun run = RunClient("-n 3 --expect-chunks 4 " + server.Url("/ticker"));
  EXPECT_EQ(run.exit_code, 1) << run.out;
  EXPECT_EQ(run.result["complete"], 0);
  EXPECT_EQ(run.result["miscounted"], 3);
}

TEST(StreamClientTest, AStreamClosedBeforeItsLastChunkIsShort) {
  StreamServer server;
  const ClientRun run = RunClient("-n 4 " + server.Url("/short"));
  EXPECT_EQ(run.exit_code, 1) << run.out;
  EXPECT_EQ(run.result["opened"], 4);
  EXPECT_EQ(run.result["short"], 4);
  EXPECT_EQ(run.result["chunks_min"], 1);
  EXPECT_EQ(run.result["errors"]["closed before the last chunk"], 4);
}

TEST(StreamClientTest, AnOpenStreamAtTheTimeoutTimesOut) {
  StreamServer server;
  const ClientRun run = RunClient("-n 2 --timeout 0.3 " + server.Url("/hold"));
  EXPECT_EQ(run.exit_code, 1) << run.out;
  EXPECT_EQ(run.result["opened"], 2);
  EXPECT_EQ(run.result["timed_out"], 2);
  EXPECT_EQ(run.result["chunks_total"], 2);
  EXPECT_TRUE(run.result["all_ended_s"].is_null());
}

TEST(StreamClientTest, ErrorsAndUnchunkedResponsesFail) {
  StreamServer server;
  const ClientRun busy = RunClient("-n 3 " + server.Url("/status/503"));
  EXPECT_EQ(busy.exit_code, 1) << busy.out;
  EXPECT_EQ(busy.result["failed"], 3);
  EXPECT_EQ(busy.result["errors"]["HTTP 503"], 3);

  const ClientRun plain = RunClient("-n 2 " + server.Url("/ok"));
  EXPECT_EQ(plain.result["failed"], 2) << plain.out;
  EXPECT_EQ(plain.result["errors"]["no Transfer-Encoding: chunked"], 2);
}

TEST(StreamClientTest, RefusedConnectionsFailAndABadUrlIsAUsageError) {
  // A port that was just free: bound without listening, then closed.
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(address);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&address), &len), 0);
  close(fd);
  const int port = ntohs(address.sin_port);
  const ClientRun refused = RunClient("-n 2 http://127.0.0.1:" + std::to_string(port) + "/");
  EXPECT_EQ(refused.exit_code, 1) << refused.out;
  EXPECT_EQ(refused.result["failed"], 2);
  EXPECT_EQ(refused.result["errors"]["connect: Connection refused"], 2);

  const ClientRun usage = RunClient("ftp://127.0.0.1/");
  EXPECT_EQ(usage.exit_code, 2);
  EXPECT_NE(usage.out.find("must start with http://"), std::string::npos) << usage.out;
}

}  // namespace
