// Detached streamed responses on the HTTP front end (docs/http.md, "Streamed responses"): an
// invocation that returns `stream_pending` gives its connection to the event loop, which writes
// the body as the producer offers it, from the producer's own thread, without a worker. A real
// HttpServer on a loopback port and real client sockets; the producer is an embedder's invoke
// function with its own thread (what the runtime does for a JavaScript ReadableStream).
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "cosmo/http_server.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "integration/raw_http_connection.h"

namespace cosmo {
namespace {

using ::cosmo::testing::Dechunk;
using ::cosmo::testing::RawHttpConnection;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using Offered = ResponseBodyWriter::Offered;

// The embedder's producer thread: runs posted tasks in order.
class Producer {
 public:
  Producer() : thread_([this] { Run(); }) {}
  ~Producer() {
    {
      absl::MutexLock lock(&mu_);
      stop_ = true;
    }
    thread_.join();
  }
  void Post(std::function<void()> task) {
    absl::MutexLock lock(&mu_);
    tasks_.push_back(std::move(task));
  }

 private:
  void Run() {
    for (;;) {
      std::function<void()> task;
      {
        absl::MutexLock lock(&mu_);
        mu_.Await(absl::Condition(
            +[](Producer* p)
                 ABSL_NO_THREAD_SAFETY_ANALYSIS { return p->stop_ || !p->tasks_.empty(); },
            this));
        if (tasks_.empty()) return;
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      task();
    }
  }

  absl::Mutex mu_;
  std::deque<std::function<void()>> tasks_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

// One detached body: `count` pieces made by `piece`, offered in order from the producer thread.
struct Stream {
  ResponseBodyWriter* writer = nullptr;
  size_t count = 0;
  std::function<std::string(size_t)> piece;
  bool cut = false;  // end without Finish() (the function failed mid-stream)
  size_t next = 0;
  size_t taken_bytes = 0;
  size_t fulls = 0;
  size_t taken_before_first_full = 0;
  bool gone = false;
  bool receiver_gone = false;  // ReceiverGone() when kGone was seen
  absl::Notification first_full;
  absl::Notification done;
};

void Complete(const std::shared_ptr<Stream>& s, bool body_complete) {
  InvokeResult result;
  result.outcome = body_complete ? Outcome::kOk : Outcome::kException;
  result.error = body_complete ? "" : "Error: the stream failed";
  result.response.streamed = true;
  result.response.stream_complete = body_complete;
  result.usage.cpu_us = 7;
  s->writer->Completed(std::move(result));
  s->writer = nullptr;  // deleted by Completed()
  s->done.Notify();
}

// Offers what is left; on kFull waits for WhenWritable() (which posts this again).
void Pump(Producer* producer, std::shared_ptr<Stream> s) {
  while (s->next < s->count) {
    std::string piece = s->piece(s->next);
    Offered offered = s->writer->TryWrite(piece);
    if (offered == Offered::kTaken) {
      ++s->next;
      s->taken_bytes += piece.size();
      continue;
    }
    if (offered == Offered::kFull) {
      if (s->fulls++ == 0) {
        s->taken_before_first_full = s->taken_bytes;
        s->first_full.Notify();
      }
      s->writer->WhenWritable(
          [producer, s] { producer->Post([producer, s] { Pump(producer, s); }); });
      return;
    }
    s->gone = true;
    s->receiver_gone = s->writer->ReceiverGone();
    Complete(s, false);
    return;
  }
  if (!s->cut) s->writer->Finish();
  Complete(s, !s->cut);
}

std::string Padded(size_t i, size_t size) {
  std::string s = absl::StrCat("<", i, ">");
  s.resize(size, '.');
  return s;
}

int ThreadCount() {
  int n = 0;
  for ([[maybe_unused]] const auto& entry :
       std::filesystem::directory_iterator("/proc/self/task")) {
    ++n;
  }
  return n;
}

class HttpDetachedStreamsTest : public ::testing::Test {
 protected:
  void StartServer(absl::Duration write_timeout = absl::Seconds(5)) {
    HttpServerOptions options;
    options.listen_address = "127.0.0.1:0";
    options.worker_threads = 8;
    options.write_timeout = write_timeout;
    auto server = NewHttpServer(options, nullptr,
                                [this](absl::string_view family, const HttpRequest& request) {
                                  return Invoke(family, request);
                                });
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    server_->Start();
  }

  void TearDown() override {
    if (server_ != nullptr) server_->Stop();
  }

  // `/s/...` starts a stream made by make_stream_ and returns it pending (the producer goes on
  // when the test posts Pump); anything else is a buffered "hello".
  InvokeResult Invoke(absl::string_view family, const HttpRequest& request) {
    InvokeResult result;
    result.outcome = Outcome::kOk;
    if (family != "s") {
      result.response.body = "hello";
      return result;
    }
    ResponseBodyWriter* writer = request.body_writer;
    if (writer == nullptr || !writer->Detachable()) {
      result.outcome = Outcome::kException;
      result.error = "no detachable writer";
      return result;
    }
    auto stream = std::make_shared<Stream>();
    make_stream_(*stream);
    stream->writer = writer;
    if (!writer->Start(200, {{"Content-Type", "text/plain"}}).ok()) {
      result.outcome = Outcome::kException;
      return result;
    }
    // The first piece before returning, as an engine whose stream had one ready would.
    if (writer->TryWrite(stream->piece(0)) == Offered::kTaken) {
      stream->taken_bytes += stream->piece(0).size();
      stream->next = 1;
    }
    result.response.streamed = true;
    result.response.stream_pending = true;
    {
      absl::MutexLock lock(&mu_);
      streams_.push_back(stream);
    }
    return result;
  }

  // Waits until `n` streams have started; returns them.
  std::vector<std::shared_ptr<Stream>> AwaitStreams(size_t n) {
    absl::MutexLock lock(&mu_);
    awaited_ = n;
    mu_.AwaitWithTimeout(absl::Condition(this, &HttpDetachedStreamsTest::Started),
                         absl::Seconds(60));
    return streams_;
  }
  bool Started() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return streams_.size() >= awaited_; }

  // A stream of `count` 1 KiB pieces to a client with a small window (a 4 KiB receive buffer)
  // that reads nothing yet, run until its producer is first refused (kFull). The client's
  // connection goes to *client. Null when the client could not connect.
  std::shared_ptr<Stream> StreamUntilFull(size_t count,
                                          std::unique_ptr<RawHttpConnection>* client) {
    make_stream_ = [count](Stream& s) {
      s.count = count;
      s.piece = [](size_t i) { return Padded(i, 1024); };
    };
    auto connected = RawHttpConnection::Connect(server_->port(), /*receive_buffer=*/4096);
    EXPECT_TRUE(connected.ok()) << connected.status();
    if (!connected.ok()) return nullptr;
    *client = std::move(*connected);
    EXPECT_TRUE((*client)->Send("GET /s/slow HTTP/1.1\r\nHost: h\r\n\r\n"));
    std::shared_ptr<Stream> s = AwaitStreams(1)[0];
    producer_.Post([this, s] { Pump(&producer_, s); });
    EXPECT_TRUE(s->first_full.WaitForNotificationWithTimeout(absl::Seconds(30)));
    return s;
  }

  std::string Metrics() {
    absl::StatusOr<std::string> response = testing::RawGet(server_->port(), "/_cosmo/metrics");
    return response.ok() ? *response : "";
  }

  Producer producer_;
  std::function<void(Stream&)> make_stream_ = [](Stream& s) {
    s.count = 3;
    s.piece = [](size_t i) { return absl::StrCat("piece", i, ";"); };
  };
  std::unique_ptr<HttpServer> server_;
  absl::Mutex mu_;
  std::vector<std::shared_ptr<Stream>> streams_ ABSL_GUARDED_BY(mu_);
  size_t awaited_ ABSL_GUARDED_BY(mu_) = 0;
};

TEST_F(HttpDetachedStreamsTest, AThousandConcurrentStreamsOnEightWorkers) {
  StartServer();
  constexpr size_t kStreams = 1000;
  make_stream_ = [](Stream& s) {
    s.count = 5;
    s.piece = [](size_t i) { return absl::StrCat("piece-", i, ";"); };
  };
  const int threads_before = ThreadCount();
  std::vector<int> fds;
  for (size_t i = 0; i < kStreams; ++i) {
    auto client = RawHttpConnection::Connect(server_->port());
    ASSERT_TRUE(client.ok()) << client.status();
    int fd = ::dup((*client)->fd());
    fds.push_back(fd);
    ASSERT_TRUE((*client)->Send(absl::StrCat("GET /s/", i, " HTTP/1.1\r\nHost: h\r\n\r\n")));
  }
  // Every stream is open at once: none finishes before all have started and sent their first
  // piece (8 workers could not hold 1,000 blocking streams).
  std::vector<std::string> got(kStreams);
  ASSERT_TRUE(testing::ReadFromAll(
      fds, &got, [](const std::string& s) { return absl::StrContains(s, "piece-0;"); }));
  std::vector<std::shared_ptr<Stream>> streams = AwaitStreams(kStreams);
  ASSERT_EQ(streams.size(), kStreams);
  const int threads_during = ThreadCount();
  std::string metrics = Metrics();
  EXPECT_THAT(metrics, HasSubstr("cosmo_http_connections{state=\"streaming\"} 1000\n"));
  // The one active connection is this scrape.
  EXPECT_THAT(metrics, HasSubstr("cosmo_http_connections{state=\"active\"} 1\n"));
  for (const auto& s : streams) producer_.Post([this, s] { Pump(&producer_, s); });
  ASSERT_TRUE(testing::ReadFromAll(
      fds, &got, [](const std::string& s) { return absl::EndsWith(s, "\r\n0\r\n\r\n"); }));
  for (size_t i = 0; i < kStreams; ++i) {
    EXPECT_THAT(got[i], StartsWith("HTTP/1.1 200 OK\r\n"));
    EXPECT_THAT(got[i], HasSubstr("Transfer-Encoding: chunked\r\n"));
    bool complete = false;
    EXPECT_EQ(Dechunk(testing::BodyOf(got[i]), &complete),
              "piece-0;piece-1;piece-2;piece-3;piece-4;");
    EXPECT_TRUE(complete);
    ::close(fds[i]);
  }
  for (const auto& s : streams)
    ASSERT_TRUE(s->done.WaitForNotificationWithTimeout(absl::Seconds(30)));
  // No thread per stream: the server made none while 1,000 streams were open.
  EXPECT_LE(threads_during, threads_before)
      << "threads before " << threads_before << ", during " << threads_during;
  // The loop ends each stream just after its producer completed it.
  const std::vector<std::string> ended = {
      "cosmo_http_requests_total{family=\"s\",outcome=\"ok\"} 1000\n",
      "cosmo_http_connections{state=\"streaming\"} 0\n"};
  metrics = testing::GetUntil(server_->port(), "/_cosmo/metrics", ended);
  EXPECT_THAT(metrics, HasSubstr(ended[0]));
  EXPECT_THAT(metrics, HasSubstr(ended[1]));
}

TEST_F(HttpDetachedStreamsTest, ASlowReaderFillsTheBufferAndWakesTheProducerWhenItReads) {
  StartServer();
  // 8 MiB in 1 KiB pieces: far more than the socket buffers and the 64 KiB output buffer hold.
  std::unique_ptr<RawHttpConnection> client;
  // Nothing is read yet: the producer is refused (kFull) and waits.
  std::shared_ptr<Stream> s = StreamUntilFull(8192, &client);
  ASSERT_TRUE(s != nullptr && s->first_full.HasBeenNotified());
  std::string bytes;
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (!absl::EndsWith(bytes, "\r\n0\r\n\r\n") && absl::Now() < deadline) {
    char buffer[16 << 10];
    pollfd p{.fd = client->fd(), .events = POLLIN, .revents = 0};
    if (::poll(&p, 1, 1000) <= 0) continue;
    ssize_t n = ::recv(client->fd(), buffer, sizeof(buffer), 0);
    if (n <= 0) break;
    bytes.append(buffer, static_cast<size_t>(n));
  }
  client.reset();
  ASSERT_TRUE(s->done.WaitForNotificationWithTimeout(absl::Seconds(30)));
  EXPECT_GE(s->fulls, 1u);
  EXPECT_FALSE(s->gone);
  bool complete = false;
  std::string body = Dechunk(testing::BodyOf(bytes), &complete);
  EXPECT_TRUE(complete);
  std::string expected;
  for (size_t i = 0; i < 8192; ++i) expected += Padded(i, 1024);
  EXPECT_EQ(body.size(), expected.size());
  EXPECT_TRUE(body == expected) << "pieces lost or out of order";
}

TEST_F(HttpDetachedStreamsTest, AClientLeavingMidStreamWakesTheProducerWithGone) {
  StartServer();
  std::unique_ptr<RawHttpConnection> client;
  // Nothing is read yet: the producer is refused (kFull) and waits.
  std::shared_ptr<Stream> s = StreamUntilFull(1 << 20, &client);
  ASSERT_TRUE(s != nullptr && s->first_full.HasBeenNotified());
  // The producer waits in WhenWritable(); the client goes away without reading.
  client.reset();
  ASSERT_TRUE(s->done.WaitForNotificationWithTimeout(absl::Seconds(30)));
  EXPECT_TRUE(s->gone);
  EXPECT_TRUE(s->receiver_gone);
  EXPECT_LT(s->next, s->count);
  std::string metrics = Metrics();
  EXPECT_THAT(metrics, HasSubstr("cosmo_http_connections{state=\"streaming\"} 0\n"));
  EXPECT_THAT(metrics,
              HasSubstr("cosmo_http_requests_total{family=\"s\",outcome=\"exception\"} 1\n"));
}

TEST_F(HttpDetachedStreamsTest, AStalledReaderIsClosedAtTheWriteTimeout) {
  StartServer(/*write_timeout=*/absl::Seconds(1));
  std::unique_ptr<RawHttpConnection> client;
  // Nothing is read yet: the producer is refused (kFull) and waits.
  std::shared_ptr<Stream> s = StreamUntilFull(1 << 20, &client);
  ASSERT_TRUE(s != nullptr && s->first_full.HasBeenNotified());
  // The client never reads: the loop closes the connection once nothing left for the write
  // timeout, and the waiting producer hears kGone.
  ASSERT_TRUE(s->done.WaitForNotificationWithTimeout(absl::Seconds(30)));
  EXPECT_TRUE(s->gone);
  std::string bytes;
  EXPECT_TRUE(client->WaitClosed(absl::Seconds(30), &bytes));
  EXPECT_THAT(bytes, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(bytes, Not(HasSubstr("\r\n0\r\n\r\n")));
  EXPECT_THAT(Metrics(), HasSubstr("cosmo_http_connections_timed_out_total 1\n"));
}

TEST_F(HttpDetachedStreamsTest, TheConnectionIsKeptAliveAfterAStreamForPipelinedAndLaterRequests) {
  StartServer();
  auto client = RawHttpConnection::Connect(server_->port());
  ASSERT_TRUE(client.ok()) << client.status();
  // A streamed response, and a second request sent behind it before it ends.
  ASSERT_TRUE((*client)->Send(
      "GET /s/one HTTP/1.1\r\nHost: h\r\n\r\nGET /hello/x HTTP/1.1\r\nHost: h\r\n\r\n"));
  std::shared_ptr<Stream> s = AwaitStreams(1)[0];
  producer_.Post([this, s] { Pump(&producer_, s); });
  std::string bytes;
  ASSERT_TRUE((*client)->ReadUntil("\r\n\r\nhello", &bytes)) << bytes;
  const size_t second = bytes.find("\r\n0\r\n\r\n");
  ASSERT_NE(second, std::string::npos) << bytes;
  bool complete = false;
  EXPECT_EQ(Dechunk(testing::BodyOf(bytes.substr(0, second + 7)), &complete),
            "piece0;piece1;piece2;")
      << bytes;
  EXPECT_TRUE(complete);
  EXPECT_THAT(bytes.substr(second + 7), StartsWith("HTTP/1.1 200 OK\r\n"));
  // A later request on the same connection streams again.
  ASSERT_TRUE((*client)->Send("GET /s/two HTTP/1.1\r\nHost: h\r\n\r\n"));
  s = AwaitStreams(2)[1];
  producer_.Post([this, s] { Pump(&producer_, s); });
  bytes.clear();
  ASSERT_TRUE((*client)->ReadUntil("\r\n0\r\n\r\n", &bytes)) << bytes;
  EXPECT_EQ(Dechunk(testing::BodyOf(bytes), &complete), "piece0;piece1;piece2;");
  EXPECT_TRUE(s->done.WaitForNotificationWithTimeout(absl::Seconds(30)));
  EXPECT_THAT(Metrics(), HasSubstr("cosmo_http_requests_total{family=\"s\",outcome=\"ok\"} 2\n"));
}

TEST_F(HttpDetachedStreamsTest, AStreamCutOffClosesWithoutTheLastChunk) {
  StartServer();
  make_stream_ = [](Stream& s) {
    s.count = 2;
    s.cut = true;
    s.piece = [](size_t i) { return absl::StrCat("piece", i, ";"); };
  };
  auto client = RawHttpConnection::Connect(server_->port());
  ASSERT_TRUE(client.ok()) << client.status();
  ASSERT_TRUE((*client)->Send("GET /s/cut HTTP/1.1\r\nHost: h\r\n\r\n"));
  std::shared_ptr<Stream> s = AwaitStreams(1)[0];
  producer_.Post([this, s] { Pump(&producer_, s); });
  std::string bytes;
  EXPECT_TRUE((*client)->WaitClosed(absl::Seconds(30), &bytes));
  bool complete = true;
  EXPECT_EQ(Dechunk(testing::BodyOf(bytes), &complete), "piece0;piece1;");
  EXPECT_FALSE(complete);
  EXPECT_THAT(bytes, Not(HasSubstr("\r\n0\r\n\r\n")));
  ASSERT_TRUE(s->done.WaitForNotificationWithTimeout(absl::Seconds(30)));
  EXPECT_THAT(Metrics(),
              HasSubstr("cosmo_http_requests_total{family=\"s\",outcome=\"exception\"} 1\n"));
}

}  // namespace
}  // namespace cosmo
