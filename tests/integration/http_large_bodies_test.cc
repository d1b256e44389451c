// 256 MiB through cosmo-server and cosmo-gateway without either holding it: a streamed response
// produced in 64 KiB pieces, and the streamed echo of a 256 MiB upload (the function reads the
// request body as it arrives and returns it as its response body). The client sends and reads
// at once, decoding the chunked response as it comes, and samples the serving process's resident
// memory throughout: it must grow by less than 48 MiB, where buffering either body would cost
// 256 MiB or more.
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "integration/raw_http_connection.h"
#include "integration/subprocess.h"
#include "support/temp_dir.h"

namespace cosmo {
namespace {

using ::cosmo::testing::CommandResult;
using ::cosmo::testing::RawGet;
using ::cosmo::testing::RawHttpConnection;
using ::cosmo::testing::RunCosmoctl;
using ::cosmo::testing::StartCosmoGateway;
using ::cosmo::testing::StartCosmoServer;
using ::cosmo::testing::StopAll;
using ::cosmo::testing::Subprocess;
using ::cosmo::testing::TempDir;
using ::testing::Each;
using ::testing::StartsWith;

constexpr uint64_t kBodyBytes = uint64_t{256} << 20;
constexpr size_t kPiece = size_t{64} << 10;
constexpr size_t kMaxGrowth = size_t{48} << 20;
constexpr char kFill = 'u';

// Decodes a chunked response body as its bytes arrive, counting the body bytes and checking that
// each is kFill.
class ChunkedCounter {
 public:
  // Takes the next bytes after the response head; false when the framing is broken.
  bool Feed(absl::string_view bytes) {
    pending_.append(bytes.data(), bytes.size());
    for (;;) {
      if (remaining_ > 0) {
        size_t n = static_cast<size_t>(std::min<uint64_t>(remaining_, pending_.size()));
        if (n == 0) return true;
        if (std::count(pending_.begin(), pending_.begin() + n, kFill) != static_cast<long>(n)) {
          return false;
        }
        body_bytes_ += n;
        remaining_ -= n;
        pending_.erase(0, n);
        if (remaining_ == 0) expect_crlf_ = true;
        continue;
      }
      size_t lf = pending_.find('\n');
      if (lf == std::string::npos) return pending_.size() < 64;
      std::string line = pending_.substr(0, lf);
      pending_.erase(0, lf + 1);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (expect_crlf_) {
        if (!line.empty()) return false;
        expect_crlf_ = false;
        continue;
      }
      if (done_) return line.empty();
      uint64_t size = 0;
      if (!absl::SimpleHexAtoi(line, &size)) return false;
      if (size == 0) {
        done_ = true;
        expect_crlf_ = false;
        ended_ = true;
        continue;
      }
      remaining_ = size;
    }
  }
  uint64_t body_bytes() const { return body_bytes_; }
  bool ended() const { return ended_; }

 private:
  std::string pending_;
  uint64_t remaining_ = 0;
  uint64_t body_bytes_ = 0;
  bool expect_crlf_ = false;
  bool done_ = false;
  bool ended_ = false;
};

struct TransferResult {
  std::string head;
  uint64_t body_bytes = 0;
  bool ended = false;
  size_t peak_growth = 0;  // the serving process's resident memory above `baseline`
};

// Sends `head` and then `upload` bytes of kFill, reading the response at the same time, until
// the response's chunked body ended (or the connection failed). Samples `serving`'s resident
// memory every 8 MiB moved.
TransferResult Transfer(int port, const std::string& head, uint64_t upload,
                        const Subprocess& serving, size_t baseline) {
  TransferResult result;
  auto c = RawHttpConnection::Connect(port);
  if (!c.ok()) return result;
  const int fd = (*c)->fd();
  std::string out = head;
  uint64_t to_generate = upload;
  size_t out_offset = 0;
  ChunkedCounter counter;
  std::string in;
  bool head_done = false;
  uint64_t moved = 0, next_sample = 0;
  const std::string piece(kPiece, kFill);
  char buffer[256 << 10];
  for (;;) {
    if (moved >= next_sample) {
      size_t rss = serving.ResidentBytes();
      result.peak_growth = std::max(result.peak_growth, rss > baseline ? rss - baseline : 0);
      next_sample = moved + (8 << 20);
    }
    if (out_offset == out.size() && to_generate > 0) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(to_generate, kPiece));
      out.assign(piece, 0, n);
      out_offset = 0;
      to_generate -= n;
    }
    const bool sending = out_offset < out.size();
    pollfd p{.fd = fd, .events = static_cast<short>(POLLIN | (sending ? POLLOUT : 0)),
             .revents = 0};
    if (::poll(&p, 1, 30'000) <= 0) return result;  // stalled for 30 s
    if (p.revents & POLLOUT) {
      ssize_t n = ::send(fd, out.data() + out_offset, out.size() - out_offset,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) {
        out_offset += static_cast<size_t>(n);
        moved += static_cast<uint64_t>(n);
      }
    }
    if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = ::recv(fd, buffer, sizeof(buffer), MSG_DONTWAIT);
      if (n <= 0) return result;
      moved += static_cast<uint64_t>(n);
      absl::string_view got(buffer, static_cast<size_t>(n));
      if (!head_done) {
        in.append(got.data(), got.size());
        size_t end = in.find("\r\n\r\n");
        if (end == std::string::npos) continue;
        head_done = true;
        result.head = in.substr(0, end + 4);
        got = absl::string_view(in).substr(end + 4);
      }
      if (!counter.Feed(got)) return result;
      result.body_bytes = counter.body_bytes();
      if (counter.ended()) {
        result.ended = true;
        return result;
      }
    }
  }
}

TEST(HttpLargeBodiesTest, TwoHundredFiftySixMiBStreamThroughServerAndGatewayInBoundedMemory) {
  TempDir dir;
  const std::vector<std::string> limits = {"--max-request-body-bytes=300000000",
                                           "--max-cpu-ms=60000", "--max-wall-ms=120000"};
  std::vector<std::string> server_args = limits;
  server_args.push_back("--data-dir=" + dir.Sub("data"));
  std::string address;
  int server_port = 0;
  auto server = StartCosmoServer(server_args, &address, &server_port);
  ASSERT_TRUE(server.ok()) << server.status();
  auto deploy = [&](const std::string& family, const std::string& source) {
    const std::string path = dir.path() + "/" + family + ".js";
    std::ofstream(path) << source;
    CommandResult r = RunCosmoctl(address, {"deploy", family, path});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  };
  deploy("echo", "export default { fetch(request) { return new Response(request.body); } };\n");
  deploy("produce",
         "export default { fetch(request) {\n"
         "  let left = Number(new URL(request.url).searchParams.get('pieces'));\n"
         "  const piece = new Uint8Array(65536).fill(117);\n"
         "  return new Response(new ReadableStream({ pull(c) {\n"
         "    if (left-- <= 0) { c.close(); return; }\n"
         "    c.enqueue(piece.slice());\n"
         "  } }));\n"
         "} };\n");
  int gateway_port = 0;
  auto gateway = StartCosmoGateway(address, &gateway_port, limits);
  ASSERT_TRUE(gateway.ok()) << gateway.status();

  for (auto [port, process] : {std::pair{server_port, server->get()},
                               std::pair{gateway_port, gateway->get()}}) {
    // Warm: both functions loaded, a small body each way, before the baseline.
    for (const char* path : {"/produce/?pieces=16", "/echo/"}) {
      auto warm = RawGet(port, path);
      ASSERT_TRUE(warm.ok()) << warm.status();
    }
    TransferResult warm = Transfer(
        port, "PUT /echo/ HTTP/1.1\r\nHost: h\r\nContent-Length: 4194304\r\n\r\n", 4 << 20,
        *process, 0);
    ASSERT_TRUE(warm.ended) << port << " " << warm.head;
    const size_t baseline = process->ResidentBytes();

    const uint64_t pieces = kBodyBytes / kPiece;
    TransferResult produced =
        Transfer(port, absl::StrCat("GET /produce/?pieces=", pieces, " HTTP/1.1\r\nHost: h\r\n\r\n"),
                 0, *process, baseline);
    EXPECT_THAT(produced.head, StartsWith("HTTP/1.1 200 OK\r\n")) << port;
    EXPECT_TRUE(produced.ended) << port;
    EXPECT_EQ(produced.body_bytes, kBodyBytes) << port;

    TransferResult echoed =
        Transfer(port,
                 absl::StrCat("PUT /echo/ HTTP/1.1\r\nHost: h\r\nContent-Length: ", kBodyBytes,
                              "\r\n\r\n"),
                 kBodyBytes, *process, baseline);
    EXPECT_THAT(echoed.head, StartsWith("HTTP/1.1 200 OK\r\n")) << port;
    EXPECT_TRUE(echoed.ended) << port;
    EXPECT_EQ(echoed.body_bytes, kBodyBytes) << port;

    std::printf("port %d: resident memory grew by at most %zu KiB (streamed response) and %zu KiB "
                "(streamed echo) over %zu KiB\n",
                port, produced.peak_growth >> 10, echoed.peak_growth >> 10, baseline >> 10);
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
    // (A sanitizer's allocator keeps redzones and a quarantine of freed memory: no bound there.)
    EXPECT_LT(produced.peak_growth, kMaxGrowth) << port;
    EXPECT_LT(echoed.peak_growth, kMaxGrowth) << port;
#endif
  }
  EXPECT_THAT(StopAll({gateway->get(), server->get()}), Each(0));
}

}  // namespace
}  // namespace cosmo
