#include "loadgen/load_worker.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>

namespace cosmo::loadgen {
namespace {

constexpr int64_t kMillisecond = 1'000'000;
constexpr int64_t kTimerPeriodNs = 10 * kMillisecond;
constexpr size_t kReadBufferBytes = 64 * 1024;

int64_t Now() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

uint64_t EventKey(size_t index, uint32_t generation) {
  return (static_cast<uint64_t>(generation) << 32) | static_cast<uint64_t>(index);
}

}  // namespace

void LoadResult::Merge(const LoadResult& other) {
  latency.Merge(other.latency);
  for (size_t i = 0; i < status.size(); ++i) status[i] += other.status[i];
  for (size_t i = 0; i < errors.size(); ++i) errors[i] += other.errors[i];
  bytes_read += other.bytes_read;
}

uint64_t LoadResult::responses() const {
  uint64_t n = 0;
  for (uint64_t c : status) n += c;
  return n;
}

uint64_t LoadResult::error_count() const {
  uint64_t n = 0;
  for (size_t code = 400; code < status.size(); ++code) n += status[code];
  for (uint64_t c : errors) n += c;
  return n;
}

LoadWorker::LoadWorker(const RequestMix& mix, RunControl& control, int connections, uint64_t seed)
    : mix_(mix),
      control_(control),
      random_(seed),
      epoll_fd_(epoll_create1(EPOLL_CLOEXEC)),
      connections_(static_cast<size_t>(connections)),
      buffer_(kReadBufferBytes) {}

LoadWorker::~LoadWorker() {
  for (Connection& c : connections_) CloseFd(c);
  if (epoll_fd_ >= 0) close(epoll_fd_);
}

bool LoadWorker::TakeBudget() {
  return control_.budget.fetch_sub(1, std::memory_order_relaxed) > 0;
}

void LoadWorker::CloseFd(Connection& c) {
  if (c.fd >= 0) {
    // Closing removes the socket from the epoll set.
    close(c.fd);
    c.fd = -1;
  }
  ++c.generation;
  c.want_write = false;
}

void LoadWorker::SetWantWrite(Connection& c, bool on) {
  if (c.want_write == on) return;
  c.want_write = on;
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLRDHUP | (on ? EPOLLOUT : 0u);
  ev.data.u64 = EventKey(static_cast<size_t>(&c - connections_.data()), c.generation);
  epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c.fd, &ev);
}

void LoadWorker::Connect(Connection& c, int64_t now) {
  if (control_.counted && control_.budget.load(std::memory_order_relaxed) <= 0) {
    c.state = ConnState::kDone;
    return;
  }
  c.fd = socket(control_.address.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c.fd < 0) {
    Fail(c, LoadResult::kConnect, now);
    return;
  }
  int one = 1;
  setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  c.started_ns = now;
  const int rc =
      connect(c.fd, reinterpret_cast<const sockaddr*>(&control_.address), control_.address_len);
  if (rc != 0 && errno != EINPROGRESS) {
    Fail(c, LoadResult::kConnect, now);
    return;
  }
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP;
  ev.data.u64 = EventKey(static_cast<size_t>(&c - connections_.data()), c.generation);
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, c.fd, &ev) != 0) {
    Fail(c, LoadResult::kConnect, now);
    return;
  }
  c.want_write = true;
  c.state = ConnState::kConnecting;
  if (rc == 0) OnConnected(c, now);
}

void LoadWorker::OnConnected(Connection& c, int64_t now) {
  int error = 0;
  socklen_t len = sizeof error;
  if (getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &error, &len) != 0 || error != 0) {
    Fail(c, LoadResult::kConnect, now);
    return;
  }
  c.backoff_ns = 0;
  StartRequest(c, now);
}

void LoadWorker::StartRequest(Connection& c, int64_t now) {
  if (control_.counted && !TakeBudget()) {
    CloseFd(c);
    c.state = ConnState::kDone;
    return;
  }
  c.request = &mix_.Pick(random_);
  c.written = 0;
  c.parser.Reset(c.request->head);
  c.state = ConnState::kWriting;
  c.started_ns = Now();
  WriteSome(c, now);
}

void LoadWorker::WriteSome(Connection& c, int64_t now) {
  const std::string& wire = c.request->wire;
  while (c.written < wire.size()) {
    const ssize_t n = send(c.fd, wire.data() + c.written, wire.size() - c.written, MSG_NOSIGNAL);
    if (n > 0) {
      c.written += static_cast<size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      SetWantWrite(c, true);
      return;
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      Fail(c, LoadResult::kWrite, now);
      return;
    }
  }
  SetWantWrite(c, false);
  c.state = ConnState::kReading;
}

void LoadWorker::ReadSome(Connection& c, int64_t now) {
  // Bounded: each pass either completes the response, fails, or stops at EAGAIN or a short
  // read; a server streaming without end is cut by the request timeout.
  for (int pass = 0; pass < 64; ++pass) {
    const ssize_t n = recv(c.fd, buffer_.data(), buffer_.size(), 0);
    if (n > 0) {
      if (now >= control_.record_from_ns) result_.bytes_read += static_cast<uint64_t>(n);
      const size_t used = c.parser.Feed(buffer_.data(), static_cast<size_t>(n));
      if (c.parser.state() == ResponseParser::State::kError ||
          (c.parser.state() == ResponseParser::State::kComplete && used < static_cast<size_t>(n))) {
        // Bytes beyond the response we asked for mean the framing was misread.
        Fail(c, LoadResult::kParse, now);
        return;
      }
      if (c.parser.state() == ResponseParser::State::kComplete) {
        Finish(c, now);
        return;
      }
      if (static_cast<size_t>(n) < buffer_.size()) return;
    } else if (n == 0) {
      c.parser.FeedEof();
      if (c.parser.state() == ResponseParser::State::kComplete) {
        Finish(c, now);
      } else {
        Fail(c, LoadResult::kRead, now);
      }
      return;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      return;
    } else if (errno != EINTR) {
      Fail(c, LoadResult::kRead, now);
      return;
    }
  }
}

void LoadWorker::Finish(Connection& c, int64_t now) {
  const int64_t done = Now();
  if (done >= control_.record_from_ns) {
    result_.latency.Record(static_cast<uint64_t>(std::max<int64_t>(0, done - c.started_ns)));
    const int status = c.parser.status();
    if (status >= 0 && static_cast<size_t>(status) < result_.status.size()) {
      ++result_.status[static_cast<size_t>(status)];
    }
    completed_.fetch_add(1, std::memory_order_relaxed);
    if (status >= 400) failed_.fetch_add(1, std::memory_order_relaxed);
  }
  if (c.parser.close_after() || !control_.keep_alive) {
    CloseFd(c);
    Connect(c, done);
  } else {
    StartRequest(c, done);
  }
}

void LoadWorker::Fail(Connection& c, LoadResult::Error kind, int64_t now) {
  if (now >= control_.record_from_ns) {
    ++result_.errors[kind];
    failed_.fetch_add(1, std::memory_order_relaxed);
  }
  CloseFd(c);
  if (kind == LoadResult::kConnect) {
    // A refused connection is retried with a growing pause, so a dead server is not spun on.
    c.backoff_ns = std::clamp<int64_t>(c.backoff_ns * 2, kMillisecond, 100 * kMillisecond);
    c.retry_at_ns = now + c.backoff_ns;
    c.state = ConnState::kWaitRetry;
  } else {
    // Reconnected from the timer pass, not from here: a server that resets every connection at
    // once must not recurse Connect -> Fail -> Connect.
    c.retry_at_ns = now;
    c.state = ConnState::kWaitRetry;
  }
}

void LoadWorker::CheckTimers(int64_t now) {
  for (Connection& c : connections_) {
    switch (c.state) {
      case ConnState::kWaitRetry:
        if (now >= c.retry_at_ns) Connect(c, now);
        break;
      case ConnState::kConnecting:
        if (now - c.started_ns > control_.request_timeout_ns) Fail(c, LoadResult::kConnect, now);
        break;
      case ConnState::kWriting:
      case ConnState::kReading:
        if (now - c.started_ns > control_.request_timeout_ns) Fail(c, LoadResult::kTimeout, now);
        break;
      case ConnState::kIdle:
      case ConnState::kDone:
        break;
    }
  }
}

void LoadWorker::Run() {
  if (epoll_fd_ < 0) {
    ++result_.errors[LoadResult::kConnect];
    return;
  }
  int64_t now = Now();
  for (Connection& c : connections_) Connect(c, now);
  epoll_event events[256];
  int64_t next_timers = now + kTimerPeriodNs;
  while (!control_.stop.load(std::memory_order_relaxed)) {
    const int n = epoll_wait(epoll_fd_, events, 256, 10);
    now = Now();
    for (int i = 0; i < n; ++i) {
      const uint64_t key = events[i].data.u64;
      Connection& c = connections_[key & 0xffffffffu];
      if (static_cast<uint32_t>(key >> 32) != c.generation || c.fd < 0) continue;
      const uint32_t ev = events[i].events;
      switch (c.state) {
        case ConnState::kConnecting:
          if (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)) OnConnected(c, now);
          break;
        case ConnState::kWriting:
          if (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)) WriteSome(c, now);
          break;
        case ConnState::kReading:
          if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP)) ReadSome(c, now);
          break;
        default:
          break;
      }
    }
    if (now >= next_timers) {
      CheckTimers(now);
      next_timers = now + kTimerPeriodNs;
      if (control_.counted) {
        bool all_done = true;
        for (const Connection& c : connections_) {
          if (c.state != ConnState::kDone) {
            all_done = false;
            break;
          }
        }
        if (all_done) break;
      }
    }
  }
  for (Connection& c : connections_) CloseFd(c);
}

}  // namespace cosmo::loadgen
