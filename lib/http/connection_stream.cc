#include "http/connection_stream.h"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace cosmo::http {
namespace {

// Output pending beyond this is pushed to the socket while the response is still being written.
constexpr size_t kWriteWindow = size_t{256} << 10;
constexpr size_t kReadChunk = size_t{64} << 10;
// A streamed response waits for the client while more than this is pending.
constexpr size_t kStreamWindow = size_t{64} << 10;

int Millis(absl::Duration d) {
  return static_cast<int>(std::clamp<int64_t>(absl::ToInt64Milliseconds(d), 1, 1 << 30));
}

// Waits until `fd` is ready for `events`; false on timeout or error.
bool WaitFor(int fd, short events, int timeout_ms) {
  pollfd p{.fd = fd, .events = events, .revents = 0};
  for (;;) {
    int n = ::poll(&p, 1, timeout_ms);
    if (n > 0) return true;
    if (n == 0 || errno != EINTR) return false;
  }
}

}  // namespace

bool SendPending(Connection* c) {
  while (c->out_offset < c->out.size()) {
    ssize_t n =
        ::send(c->fd, c->out.data() + c->out_offset, c->out.size() - c->out_offset, MSG_NOSIGNAL);
    if (n > 0) {
      c->out_offset += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    return false;
  }
  c->out.clear();
  c->out_offset = 0;
  return true;
}

ConnectionStream::ConnectionStream(Connection* connection, absl::Duration read_timeout,
                                   absl::Duration write_timeout)
    : c_(connection),
      read_timeout_ms_(Millis(read_timeout)),
      write_timeout_ms_(Millis(write_timeout)) {}

ssize_t ConnectionStream::read(char* ptr, size_t size) {
  return ReadWithin(ptr, size, read_timeout_ms_, nullptr);
}

ssize_t ConnectionStream::ReadFor(char* ptr, size_t size, absl::Duration wait, bool* timed_out) {
  *timed_out = false;
  return ReadWithin(ptr, size, Millis(wait), timed_out);
}

ssize_t ConnectionStream::ReadWithin(char* ptr, size_t size, int timeout_ms, bool* timed_out) {
  if (offset_ >= c_->in.size()) {
    if (read_failed_) return -1;
    if (c_->peer_closed) return 0;
    // The parser wants bytes nobody sent yet: whatever it wrote (a 100 Continue) goes out first.
    if (!FlushBlocking()) {
      read_failed_ = true;
      return -1;
    }
    // Consumed bytes are no longer needed, so a long body never accumulates.
    c_->in.clear();
    offset_ = 0;
    for (;;) {
      if (!WaitFor(c_->fd, POLLIN, timeout_ms)) {
        read_failed_ = true;
        if (timed_out != nullptr) *timed_out = !PeerGone();
        return -1;
      }
      c_->in.resize(kReadChunk);
      ssize_t n = ::recv(c_->fd, c_->in.data(), kReadChunk, 0);
      c_->in.resize(n > 0 ? static_cast<size_t>(n) : 0);
      if (n > 0) break;
      if (n == 0) {
        c_->peer_closed = true;
        return 0;
      }
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        read_failed_ = true;
        return -1;
      }
    }
  }
  size = std::min(size, c_->in.size() - offset_);
  std::memcpy(ptr, c_->in.data() + offset_, size);
  offset_ += size;
  return static_cast<ssize_t>(size);
}

ssize_t ConnectionStream::write(const char* ptr, size_t size) {
  if (write_failed_) return -1;
  // The response was written by its handler already (streamed); the library's own is dropped.
  if (c_->state.response_sent) return static_cast<ssize_t>(size);
  c_->out.append(ptr, size);
  if (c_->out.size() - c_->out_offset > kWriteWindow && !SendPending(c_)) {
    write_failed_ = true;
    return -1;
  }
  return static_cast<ssize_t>(size);
}

bool ConnectionStream::WriteThrough(absl::string_view bytes) {
  if (write_failed_) return false;
  c_->out.append(bytes.data(), bytes.size());
  if (!SendPending(c_)) {
    write_failed_ = true;
    return false;
  }
  while (c_->out.size() - c_->out_offset > kStreamWindow) {
    if (!WaitFor(c_->fd, POLLOUT, write_timeout_ms_) || !SendPending(c_)) {
      write_failed_ = true;
      return false;
    }
  }
  return true;
}

bool ConnectionStream::PeerGone() const {
  if (write_failed_) return true;
  pollfd p{.fd = c_->fd, .events = POLLRDHUP, .revents = 0};
  return ::poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

bool ConnectionStream::FlushBlocking() {
  for (;;) {
    if (!SendPending(c_)) {
      write_failed_ = true;
      return false;
    }
    if (c_->out.empty()) return true;
    if (!WaitFor(c_->fd, POLLOUT, write_timeout_ms_)) {
      write_failed_ = true;
      return false;
    }
  }
}

void ConnectionStream::get_remote_ip_and_port(std::string& ip, int& port) const {
  ip = c_->peer_ip;
  port = c_->peer_port;
}

void ConnectionStream::get_local_ip_and_port(std::string& ip, int& port) const {
  ip = c_->local_ip;
  port = c_->local_port;
}

}  // namespace cosmo::http
