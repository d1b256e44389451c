#include "integration/raw_http_connection.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"

namespace cosmo::testing {

absl::StatusOr<std::unique_ptr<RawHttpConnection>> RawHttpConnection::Connect(int port,
                                                                              int receive_buffer) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError("socket failed");
  if (receive_buffer > 0 &&
      ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof(receive_buffer)) != 0) {
    ::close(fd);
    return absl::InternalError("setsockopt(SO_RCVBUF) failed");
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return absl::UnavailableError(absl::StrCat("connect to port ", port, " failed"));
  }
  return std::unique_ptr<RawHttpConnection>(new RawHttpConnection(fd));
}

RawHttpConnection::~RawHttpConnection() { ::close(fd_); }

bool RawHttpConnection::Send(absl::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

int RawHttpConnection::Fill(absl::Time deadline) {
  for (;;) {
    int64_t ms = absl::ToInt64Milliseconds(deadline - absl::Now());
    if (ms <= 0) return -1;
    pollfd p{fd_, POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(ms));
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) return -1;
    char buf[65536];
    ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return 0;
    buffer_.append(buf, static_cast<size_t>(n));
    return 1;
  }
}

absl::StatusOr<std::string> RawHttpConnection::ReadResponse(absl::Duration timeout,
                                                            bool head_only) {
  absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    size_t end = buffer_.find("\r\n\r\n");
    if (end != std::string::npos) {
      size_t length = 0;
      for (absl::string_view line : absl::StrSplit(buffer_.substr(0, end), "\r\n")) {
        if (absl::StartsWithIgnoreCase(line, "content-length:")) {
          std::string v(absl::StripAsciiWhitespace(line.substr(15)));
          if (!absl::SimpleAtoi(v, &length)) length = 0;
        }
      }
      if (head_only) length = 0;
      size_t total = end + 4 + length;
      if (buffer_.size() >= total) {
        std::string out = buffer_.substr(0, total);
        buffer_.erase(0, total);
        return out;
      }
    }
    int r = Fill(deadline);
    if (r < 0) return absl::DeadlineExceededError(absl::StrCat("timed out; read: ", buffer_));
    if (r == 0) return absl::UnavailableError(absl::StrCat("connection closed; read: ", buffer_));
  }
}

bool RawHttpConnection::WaitClosed(absl::Duration timeout, std::string* extra) {
  absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    int r = Fill(deadline);
    if (r < 0) {
      if (extra != nullptr) *extra += buffer_;
      return false;
    }
    if (r == 0) {
      if (extra != nullptr) *extra += buffer_;
      return true;
    }
  }
}

bool RawHttpConnection::ReadUntil(absl::string_view text, std::string* bytes,
                                  absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  while (!absl::StrContains(buffer_, text)) {
    if (Fill(deadline) <= 0) break;
  }
  const bool found = absl::StrContains(buffer_, text);
  bytes->append(buffer_);
  buffer_.clear();
  return found;
}

absl::StatusOr<std::string> RawExchange(int port, absl::string_view request,
                                        absl::Duration timeout) {
  auto c = RawHttpConnection::Connect(port);
  if (!c.ok()) return c.status();
  if (!(*c)->Send(request)) return absl::UnavailableError("send failed");
  return (*c)->ReadResponse(timeout);
}

absl::StatusOr<std::string> RawGet(int port, absl::string_view path, absl::Duration timeout) {
  return RawExchange(port, absl::StrCat("GET ", path, " HTTP/1.1\r\nHost: h\r\n\r\n"), timeout);
}

std::string BodyOf(absl::string_view response) {
  const size_t at = response.find("\r\n\r\n");
  return at == absl::string_view::npos ? "" : std::string(response.substr(at + 4));
}

std::string GetUntil(int port, absl::string_view path, const std::vector<std::string>& texts,
                     absl::Duration timeout) {
  std::string last;
  for (absl::Time deadline = absl::Now() + timeout; absl::Now() < deadline;) {
    absl::StatusOr<std::string> response = RawGet(port, path);
    last = response.ok() ? *response : response.status().ToString();
    bool all = true;
    for (const std::string& text : texts) all = all && absl::StrContains(last, text);
    if (all) break;
    absl::SleepFor(absl::Milliseconds(50));
  }
  return last;
}

bool ReadFromAll(const std::vector<int>& fds, std::vector<std::string>* got,
                 const std::function<bool(const std::string& bytes)>& done,
                 absl::Duration timeout) {
  got->resize(fds.size());
  const absl::Time deadline = absl::Now() + timeout;
  std::vector<pollfd> polls;
  std::vector<size_t> index;
  for (;;) {
    polls.clear();
    index.clear();
    for (size_t i = 0; i < fds.size(); ++i) {
      if (done((*got)[i])) continue;
      polls.push_back({.fd = fds[i], .events = POLLIN, .revents = 0});
      index.push_back(i);
    }
    if (polls.empty()) return true;
    if (absl::Now() > deadline) return false;
    if (::poll(polls.data(), polls.size(), 1000) <= 0) continue;
    for (size_t k = 0; k < polls.size(); ++k) {
      if (polls[k].revents == 0) continue;
      char buffer[4096];
      ssize_t n = ::recv(polls[k].fd, buffer, sizeof(buffer), 0);
      if (n <= 0) return false;  // closed before `done`
      (*got)[index[k]].append(buffer, static_cast<size_t>(n));
    }
  }
}

std::string Dechunk(absl::string_view body, bool* complete) {
  std::string out;
  *complete = false;
  for (;;) {
    size_t eol = body.find("\r\n");
    if (eol == absl::string_view::npos) return out;
    size_t size = 0;
    if (!absl::SimpleHexAtoi(body.substr(0, eol), &size)) return out;
    if (size == 0) {
      *complete = body.substr(eol) == "\r\n\r\n";
      return out;
    }
    if (body.size() < eol + 2 + size + 2) return out;
    absl::StrAppend(&out, body.substr(eol + 2, size));
    body.remove_prefix(eol + 2 + size + 2);
  }
}

}  // namespace cosmo::testing
