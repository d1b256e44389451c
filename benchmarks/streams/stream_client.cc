// cosmo-stream-client: opens N streamed HTTP/1.1 responses at once and reads them to their end on
// one thread with epoll; the stream reader of benchmarks/streams/run (docs/performance.md,
// "Streamed responses"). See --help.
//
// It exists to be cheap: the benchmark measures the server's hello throughput while 1,000 streams
// are open on a 2-core machine, and every cycle the reader spends is taken from the server and the
// load generator. So it parses nothing per chunk beyond the chunked framing (a byte state machine)
// and counts the payload's bytes and lines.

#include <netdb.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "CLI/CLI.hpp"

namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double SelfCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& tv) { return tv.tv_sec + tv.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

// A chunked body's framing (RFC 9112 7.1), walked a byte at a time except for chunk payloads,
// which are skipped by their declared size: text inside a payload (even "0\r\n\r\n") is never read
// as framing. Trailer fields after the last chunk are skipped.
class ChunkedWalker {
 public:
  enum class Result { kMore, kEnd, kError };

  // Consumes `data`; kEnd once the last chunk and the trailer section are read (bytes after it are
  // ignored), kError on malformed framing (error() says what).
  Result Feed(const char* data, size_t size) {
    const char* p = data;
    const char* const end = data + size;
    while (p < end) {
      switch (state_) {
        case State::kSize: {
          const int digit = HexDigit(*p);
          if (digit >= 0) {
            if (size_ > (uint64_t{1} << 40)) return Fail("chunk size too large");
            size_ = size_ * 16 + static_cast<uint64_t>(digit);
            ++digits_;
          } else if (digits_ == 0) {
            return Fail("chunk size expected");
          } else if (*p == '\r') {
            state_ = State::kSizeLf;
          } else if (*p == ';' || *p == ' ' || *p == '\t') {
            state_ = State::kExtension;
          } else {
            return Fail("bad chunk size");
          }
          ++p;
          break;
        }
        case State::kExtension:
          if (*p == '\r') state_ = State::kSizeLf;
          ++p;
          break;
        case State::kSizeLf:
          if (*p++ != '\n') return Fail("chunk size line not ended by CRLF");
          if (size_ == 0) {
            state_ = State::kTrailerLineStart;
          } else {
            ++chunks_;
            remaining_ = size_;
            state_ = State::kData;
          }
          break;
        case State::kData: {
          const size_t n =
              static_cast<size_t>(std::min<uint64_t>(remaining_, static_cast<uint64_t>(end - p)));
          payload_bytes_ += n;
          lines_ += static_cast<uint64_t>(std::count(p, p + n, '\n'));
          remaining_ -= n;
          p += n;
          if (remaining_ == 0) state_ = State::kDataCr;
          break;
        }
        case State::kDataCr:
          if (*p++ != '\r') return Fail("chunk payload longer than its size");
          state_ = State::kDataLf;
          break;
        case State::kDataLf:
          if (*p++ != '\n') return Fail("chunk payload not ended by CRLF");
          size_ = 0;
          digits_ = 0;
          state_ = State::kSize;
          break;
        case State::kTrailerLineStart:
          state_ = *p == '\r' ? State::kLastLf : State::kTrailerLine;
          ++p;
          break;
        case State::kTrailerLine:
          if (*p++ == '\n') state_ = State::kTrailerLineStart;
          break;
        case State::kLastLf:
          if (*p++ != '\n') return Fail("chunked body not ended by CRLF");
          state_ = State::kEnd;
          return Result::kEnd;
        case State::kEnd:
          return Result::kEnd;
        case State::kError:
          return Result::kError;
      }
    }
    return state_ == State::kEnd ? Result::kEnd : Result::kMore;
  }

  uint64_t chunks() const { return chunks_; }
  uint64_t lines() const { return lines_; }
  uint64_t payload_bytes() const { return payload_bytes_; }
  const char* error() const { return error_; }

 private:
  enum class State : uint8_t {
    kSize,
    kExtension,
    kSizeLf,
    kData,
    kDataCr,
    kDataLf,
    kTrailerLineStart,
    kTrailerLine,
    kLastLf,
    kEnd,
    kError,
  };

  static int HexDigit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }

  Result Fail(const char* why) {
    state_ = State::kError;
    error_ = why;
    return Result::kError;
  }

  State state_ = State::kSize;
  uint64_t size_ = 0;
  int digits_ = 0;
  uint64_t remaining_ = 0;
  uint64_t chunks_ = 0;
  uint64_t lines_ = 0;
  uint64_t payload_bytes_ = 0;
  const char* error_ = "";
};

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// The reason a response head is not a 200 chunked stream; empty when it is one.
std::string CheckHead(std::string_view head) {
  const size_t line_end = head.find("\r\n");
  const std::string_view status_line = head.substr(0, line_end);
  if (status_line.size() < 12 || status_line.substr(0, 5) != "HTTP/" ||
      status_line.substr(8, 1) != " ") {
    return "malformed status line";
  }
  const std::string_view status = status_line.substr(9, 3);
  if (status != "200") return "HTTP " + std::string(status);
  size_t pos = line_end + 2;
  while (pos < head.size()) {
    const size_t next = head.find("\r\n", pos);
    const std::string_view line = head.substr(pos, next - pos);
    pos = next == std::string_view::npos ? head.size() : next + 2;
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos ||
        !EqualsIgnoreCase(line.substr(0, colon), "transfer-encoding")) {
      continue;
    }
    std::string value(line.substr(colon + 1));
    std::transform(value.begin(), value.end(), value.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    // "chunked" must be the final coding for the body to be chunk-framed.
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.pop_back();
    if (value.size() >= 7 && value.compare(value.size() - 7, 7, "chunked") == 0) return "";
    return "transfer-encoding is not chunked";
  }
  return "no Transfer-Encoding: chunked";
}

struct Options {
  std::string host;
  std::string port;
  std::string path;
  int streams = 1000;
  double timeout_s = 60;
  uint64_t expect_chunks = 0;
  int max_opening = 256;
  bool progress = true;
};

// "http://HOST[:PORT][/PATH]" into `options`; the reason when it is not one.
std::string ParseUrl(const std::string& url, Options& options) {
  constexpr std::string_view kScheme = "http://";
  if (url.compare(0, kScheme.size(), kScheme) != 0) return "the URL must start with http://";
  const std::string rest = url.substr(kScheme.size());
  const size_t slash = rest.find('/');
  const std::string authority = rest.substr(0, slash);
  options.path = slash == std::string::npos ? "/" : rest.substr(slash);
  if (!authority.empty() && authority[0] == '[') {
    const size_t close = authority.find(']');
    if (close == std::string::npos) return "unclosed [ in the URL's host";
    options.host = authority.substr(1, close - 1);
    const std::string after = authority.substr(close + 1);
    if (!after.empty() && after[0] != ':') return "unexpected text after the URL's host";
    options.port = after.empty() ? "80" : after.substr(1);
  } else {
    const size_t colon = authority.rfind(':');
    options.host = authority.substr(0, colon);
    options.port = colon == std::string::npos ? "80" : authority.substr(colon + 1);
  }
  if (options.host.empty()) return "the URL has no host";
  if (options.port.empty() || options.port.find_first_not_of("0123456789") != std::string::npos) {
    return "the URL's port is not a number";
  }
  return "";
}

class StreamClient {
 public:
  StreamClient(const Options& options, const sockaddr_storage& address, socklen_t address_len)
      : options_(options), address_(address), address_len_(address_len) {
    request_ = "GET " + options.path + " HTTP/1.1\r\nHost: " + options.host + ":" + options.port +
               "\r\nUser-Agent: cosmo-stream-client\r\n\r\n";
    streams_.resize(static_cast<size_t>(options.streams));
  }

  // Runs until every stream has ended (or failed) or the timeout; prints the JSON line. Returns
  // the exit status: 0 when every stream completed.
  int Run();

 private:
  enum class Phase : uint8_t { kIdle, kConnecting, kSending, kHead, kBody, kDone };

  struct Stream {
    int fd = -1;
    Phase phase = Phase::kIdle;
    size_t sent = 0;
    std::string head;
    ChunkedWalker body;
  };

  void OpenMore();
  void OnEvent(size_t index, uint32_t events);
  void SendRequest(size_t index);
  void Read(size_t index);
  void OnHead(size_t index, const char* rest, size_t rest_size);
  void OnBody(size_t index, const char* data, size_t size);
  // Ends a stream that got no head (connect, send, receive or HTTP error).
  void Fail(size_t index, const std::string& why);
  // Closes a stream's connection and adds its figures; its outcome is already counted.
  void Finish(size_t index);
  void Progress();
  void PrintResult();
  size_t Ended() const { return complete_ + short_ + miscounted_ + failed_ + timed_out_; }

  const Options& options_;
  const sockaddr_storage address_;
  const socklen_t address_len_;
  std::string request_;
  std::vector<Stream> streams_;
  int epoll_fd_ = -1;
  Clock::time_point start_;
  size_t next_ = 0;     // streams_[next_] is the next one to connect
  size_t opening_ = 0;  // connecting or waiting for the head
  size_t opened_ = 0, complete_ = 0, short_ = 0, miscounted_ = 0, failed_ = 0, timed_out_ = 0;
  uint64_t chunks_total_ = 0, chunks_min_ = UINT64_MAX, chunks_max_ = 0;
  uint64_t lines_total_ = 0, payload_bytes_ = 0;
  double heads_s_ = -1, ended_s_ = -1;  // -1 until every stream has its head / has ended
  double seconds_ = 0, cpu_seconds_ = 0;
  bool past_deadline_ = false;  // the streams still open are being ended as timed out
  std::map<std::string, size_t> errors_;
  std::vector<char> buffer_ = std::vector<char>(64 * 1024);
};

int StreamClient::Run() {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) {
    std::fprintf(stderr, "cosmo-stream-client: epoll_create1: %s\n", std::strerror(errno));
    return 2;
  }
  start_ = Clock::now();
  const Clock::time_point deadline =
      start_ + std::chrono::duration_cast<Clock::duration>(
                   std::chrono::duration<double>(options_.timeout_s));
  Clock::time_point next_progress = start_ + std::chrono::seconds(1);
  const double cpu_start = SelfCpuSeconds();
  std::vector<epoll_event> events(256);
  OpenMore();
  while (Ended() < streams_.size()) {
    const Clock::time_point now = Clock::now();
    if (now >= deadline) break;
    if (now >= next_progress) {
      if (options_.progress) Progress();
      next_progress += std::chrono::seconds(1);
    }
    const auto wait = std::min(deadline, next_progress) - now;
    const int wait_ms =
        static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(wait).count());
    const int n = epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), wait_ms);
    if (n < 0 && errno != EINTR) {
      std::fprintf(stderr, "cosmo-stream-client: epoll_wait: %s\n", std::strerror(errno));
      return 2;
    }
    for (int i = 0; i < n; ++i) OnEvent(events[i].data.u64, events[i].events);
    OpenMore();
  }
  past_deadline_ = true;
  // Whatever is still open at the deadline timed out: streams without a head failed, streams
  // with one did not end in time.
  for (size_t i = 0; i < streams_.size(); ++i) {
    Stream& s = streams_[i];
    if (s.phase == Phase::kBody) {
      ++timed_out_;
      ++errors_["timeout"];
      Finish(i);
    } else if (s.phase != Phase::kDone) {
      Fail(i, "timeout before the head");
    }
  }
  seconds_ = SecondsSince(start_);
  cpu_seconds_ = SelfCpuSeconds() - cpu_start;
  if (options_.progress) Progress();
  PrintResult();
  close(epoll_fd_);
  return complete_ == streams_.size() ? 0 : 1;
}

void StreamClient::OpenMore() {
  while (next_ < streams_.size() && opening_ < static_cast<size_t>(options_.max_opening)) {
    const size_t index = next_++;
    Stream& s = streams_[index];
    ++opening_;
    s.phase = Phase::kConnecting;
    s.fd = socket(address_.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s.fd < 0) {
      Fail(index, std::string("socket: ") + std::strerror(errno));
      continue;
    }
    if (connect(s.fd, reinterpret_cast<const sockaddr*>(&address_), address_len_) != 0 &&
        errno != EINPROGRESS) {
      Fail(index, std::string("connect: ") + std::strerror(errno));
      continue;
    }
    // Writable once connected (or failed); the request is sent then.
    epoll_event event{};
    event.events = EPOLLOUT;
    event.data.u64 = index;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, s.fd, &event) != 0) {
      Fail(index, std::string("epoll_ctl: ") + std::strerror(errno));
    }
  }
}

void StreamClient::OnEvent(size_t index, uint32_t events) {
  Stream& s = streams_[index];
  if (s.phase == Phase::kConnecting) {
    int error = 0;
    socklen_t len = sizeof(error);
    getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &error, &len);
    if (error != 0) return Fail(index, std::string("connect: ") + std::strerror(error));
    s.phase = Phase::kSending;
    return SendRequest(index);
  }
  if (s.phase == Phase::kSending) return SendRequest(index);
  if (s.phase == Phase::kHead || s.phase == Phase::kBody) Read(index);
}

void StreamClient::SendRequest(size_t index) {
  Stream& s = streams_[index];
  while (s.sent < request_.size()) {
    const ssize_t n = send(s.fd, request_.data() + s.sent, request_.size() - s.sent, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;  // EPOLLOUT again
      if (errno == EINTR) continue;
      return Fail(index, std::string("send: ") + std::strerror(errno));
    }
    s.sent += static_cast<size_t>(n);
  }
  s.phase = Phase::kHead;
  epoll_event event{};
  event.events = EPOLLIN | EPOLLRDHUP;
  event.data.u64 = index;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, s.fd, &event) != 0) {
    Fail(index, std::string("epoll_ctl: ") + std::strerror(errno));
  }
}

void StreamClient::Read(size_t index) {
  Stream& s = streams_[index];
  // One read per readiness (level-triggered): a busy stream cannot starve the others, and the
  // small chunks of this benchmark fit one read.
  const ssize_t n = recv(s.fd, buffer_.data(), buffer_.size(), 0);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
    const std::string why = std::string("recv: ") + std::strerror(errno);
    if (s.phase == Phase::kHead) return Fail(index, why);
    ++short_;
    ++errors_[why];
    return Finish(index);
  }
  if (n == 0) {
    if (s.phase == Phase::kHead) return Fail(index, "closed before the head");
    ++short_;
    ++errors_["closed before the last chunk"];
    return Finish(index);
  }
  if (s.phase == Phase::kBody) return OnBody(index, buffer_.data(), static_cast<size_t>(n));

  // The head: looked for from a little before the new bytes, since "\r\n\r\n" may straddle reads.
  const size_t searched = s.head.size() >= 3 ? s.head.size() - 3 : 0;
  s.head.append(buffer_.data(), static_cast<size_t>(n));
  const size_t head_end = s.head.find("\r\n\r\n", searched);
  if (head_end == std::string::npos) {
    if (s.head.size() > 64 * 1024) Fail(index, "response head over 64 KiB");
    return;
  }
  const size_t body_start = head_end + 4;
  const std::string rest = s.head.substr(body_start);
  s.head.resize(body_start);
  OnHead(index, rest.data(), rest.size());
}

void StreamClient::OnHead(size_t index, const char* rest, size_t rest_size) {
  Stream& s = streams_[index];
  const std::string why = CheckHead(s.head);
  if (!why.empty()) return Fail(index, why);
  std::string().swap(s.head);
  s.phase = Phase::kBody;
  --opening_;
  ++opened_;
  if (opened_ + failed_ == streams_.size()) {
    heads_s_ = SecondsSince(start_);
    if (options_.progress) {
      std::fprintf(stderr, "cosmo-stream-client: all heads after %.2f s: opened %zu, failed %zu\n",
                   heads_s_, opened_, failed_);
    }
  }
  if (rest_size > 0) OnBody(index, rest, rest_size);
}

void StreamClient::OnBody(size_t index, const char* data, size_t size) {
  Stream& s = streams_[index];
  switch (s.body.Feed(data, size)) {
    case ChunkedWalker::Result::kMore:
      return;
    case ChunkedWalker::Result::kEnd:
      if (options_.expect_chunks != 0 && s.body.chunks() != options_.expect_chunks) {
        ++miscounted_;
        ++errors_["chunk count differs from --expect-chunks"];
      } else {
        ++complete_;
      }
      return Finish(index);
    case ChunkedWalker::Result::kError:
      ++short_;
      ++errors_[std::string("chunked framing: ") + s.body.error()];
      return Finish(index);
  }
}

void StreamClient::Fail(size_t index, const std::string& why) {
  Stream& s = streams_[index];
  if (s.phase != Phase::kIdle) --opening_;
  ++failed_;
  ++errors_[why];
  if (opened_ + failed_ == streams_.size() && heads_s_ < 0 && !past_deadline_)
    heads_s_ = SecondsSince(start_);
  Finish(index);
}

void StreamClient::Finish(size_t index) {
  Stream& s = streams_[index];
  if (s.fd >= 0) {
    close(s.fd);  // also leaves the epoll set
    s.fd = -1;
  }
  if (s.phase == Phase::kBody) {
    // Per-stream figures cover every stream that got its head, however it ended.
    chunks_total_ += s.body.chunks();
    chunks_min_ = std::min(chunks_min_, s.body.chunks());
    chunks_max_ = std::max(chunks_max_, s.body.chunks());
    lines_total_ += s.body.lines();
    payload_bytes_ += s.body.payload_bytes();
  }
  s.phase = Phase::kDone;
  if (Ended() == streams_.size() && !past_deadline_) ended_s_ = SecondsSince(start_);
}

void StreamClient::Progress() {
  std::fprintf(stderr,
               "cosmo-stream-client: %.1f s: opened %zu/%zu, complete %zu, short %zu, failed %zu\n",
               SecondsSince(start_), opened_, streams_.size(), complete_,
               short_ + miscounted_ + timed_out_, failed_);
}

// A JSON string literal of `text` (error reasons are ASCII; other control bytes are escaped).
std::string JsonString(const std::string& text) {
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof(escaped), "\\u%04x", c);
      out += escaped;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

void StreamClient::PrintResult() {
  auto seconds_or_null = [](double s) {
    if (s < 0) return std::string("null");
    char text[32];
    std::snprintf(text, sizeof(text), "%.3f", s);
    return std::string(text);
  };
  std::string errors;
  for (const auto& [why, count] : errors_) {
    if (!errors.empty()) errors += ",";
    errors += JsonString(why) + ":" + std::to_string(count);
  }
  const bool any = opened_ > 0;
  std::printf(
      "{\"requested\":%zu,\"opened\":%zu,\"complete\":%zu,\"short\":%zu,\"miscounted\":%zu,"
      "\"timed_out\":%zu,\"failed\":%zu,\"chunks_total\":%llu,\"chunks_min\":%llu,"
      "\"chunks_max\":%llu,\"lines_total\":%llu,\"payload_bytes\":%llu,\"all_heads_s\":%s,"
      "\"all_ended_s\":%s,\"seconds\":%.3f,\"cpu_seconds\":%.3f,\"cpu_cores\":%.3f,"
      "\"errors\":{%s}}\n",
      streams_.size(), opened_, complete_, short_, miscounted_, timed_out_, failed_,
      static_cast<unsigned long long>(chunks_total_),
      static_cast<unsigned long long>(any ? chunks_min_ : 0),
      static_cast<unsigned long long>(chunks_max_), static_cast<unsigned long long>(lines_total_),
      static_cast<unsigned long long>(payload_bytes_), seconds_or_null(heads_s_).c_str(),
      seconds_or_null(ended_s_).c_str(), seconds_, cpu_seconds_,
      seconds_ > 0 ? cpu_seconds_ / seconds_ : 0.0, errors.c_str());
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  std::string url;
  bool no_progress = false;
  CLI::App app(
      "Opens --streams streamed HTTP/1.1 responses of URL at once (one connection each, one\n"
      "thread, epoll) and reads each to the end of its chunked body, counting chunks, payload\n"
      "lines and bytes. Prints progress to stderr every second and one JSON line at the end:\n"
      "streams requested, opened (200 chunked head received), complete (last chunk received),\n"
      "short (closed or malformed before the last chunk), miscounted (complete with a chunk count\n"
      "other than --expect-chunks), timed_out (open at --timeout), failed (connect or HTTP "
      "error),\n"
      "chunks total/min/max per opened stream, seconds until every head and every end, the\n"
      "client's CPU, and errors by reason. Exit status 0 when every stream completed.",
      "cosmo-stream-client");
  app.add_option("URL", url, "http://HOST[:PORT][/PATH], a chunked streamed response")->required();
  app.add_option("-n,--streams", options.streams, "streams to open (default 1000)")
      ->check(CLI::Range(1, 1000000));
  app.add_option("--timeout", options.timeout_s,
                 "seconds after which open streams count as timed out (default 60)")
      ->check(CLI::PositiveNumber);
  app.add_option("--expect-chunks", options.expect_chunks,
                 "a complete stream must have exactly N chunks (default 0: any)");
  app.add_option("--max-opening", options.max_opening,
                 "at most N streams connecting or waiting for their head at once (default 256)")
      ->check(CLI::Range(1, 1000000));
  app.add_flag("--no-progress", no_progress, "no progress lines on stderr");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  options.progress = !no_progress;
  if (const std::string why = ParseUrl(url, options); !why.empty()) {
    std::fprintf(stderr, "cosmo-stream-client: %s: %s\n", why.c_str(), url.c_str());
    return 2;
  }

  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (const int rc = getaddrinfo(options.host.c_str(), options.port.c_str(), &hints, &found);
      rc != 0) {
    std::fprintf(stderr, "cosmo-stream-client: cannot resolve '%s': %s\n", options.host.c_str(),
                 gai_strerror(rc));
    return 2;
  }
  sockaddr_storage address{};
  std::memcpy(&address, found->ai_addr, found->ai_addrlen);
  const socklen_t address_len = found->ai_addrlen;
  freeaddrinfo(found);

  // One descriptor per stream: raise the soft limit as far as the hard one allows.
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    const rlim_t wanted = static_cast<rlim_t>(options.streams) + 64;
    if (limit.rlim_cur < wanted) {
      limit.rlim_cur = std::min(wanted, limit.rlim_max);
      setrlimit(RLIMIT_NOFILE, &limit);
    }
  }
  StreamClient client(options, address, address_len);
  return client.Run();
}
