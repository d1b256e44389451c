// A client connection that speaks HTTP as raw bytes, for tests that compare exactly what is on
// the wire: send any bytes (malformed ones included), read one response framed by its
// Content-Length, and tell whether the server closed the connection. Every read is bounded in
// time. Thread-compatible; Send() may run on another thread than the reads.
#ifndef COSMO_TESTS_INTEGRATION_RAW_HTTP_CONNECTION_H_
#define COSMO_TESTS_INTEGRATION_RAW_HTTP_CONNECTION_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace cosmo::testing {

class RawHttpConnection {
 public:
  // Connects to 127.0.0.1:port. A `receive_buffer` of more than 0 bytes is set (SO_RCVBUF)
  // before connecting, so the TCP window the server sees is that small too: a client that reads
  // slowly, or not at all, then holds the server's output back soon.
  static absl::StatusOr<std::unique_ptr<RawHttpConnection>> Connect(int port,
                                                                    int receive_buffer = 0);
  ~RawHttpConnection();

  // Writes all of `bytes`; false if the peer closed or reset first.
  bool Send(absl::string_view bytes);

  // Reads one response: head up to the blank line plus Content-Length bytes of body (none for
  // HEAD-style heads when `head_only`). DEADLINE_EXCEEDED / UNAVAILABLE with what was read.
  absl::StatusOr<std::string> ReadResponse(absl::Duration timeout = absl::Seconds(5),
                                           bool head_only = false);

  // True when the server closes (EOF or reset) within `timeout` without sending more bytes;
  // bytes that arrive are appended to *extra.
  bool WaitClosed(absl::Duration timeout = absl::Seconds(5), std::string* extra = nullptr);

  // Reads until what arrived since the last read holds `text` (true), or until the server closes
  // or `timeout` passes (false). `*bytes` gets everything read, including anything after `text`.
  bool ReadUntil(absl::string_view text, std::string* bytes,
                 absl::Duration timeout = absl::Seconds(20));

  int fd() const { return fd_; }

 private:
  explicit RawHttpConnection(int fd) : fd_(fd) {}
  // Appends what arrives within `timeout` to buffer_; 0 on EOF/reset, -1 on timeout.
  int Fill(absl::Time deadline);

  int fd_;
  std::string buffer_;
};

// One full request/response on a fresh connection.
absl::StatusOr<std::string> RawExchange(int port, absl::string_view request,
                                        absl::Duration timeout = absl::Seconds(5));

// `GET <path> HTTP/1.1` with `Host: h` on a fresh connection; the whole response.
absl::StatusOr<std::string> RawGet(int port, absl::string_view path,
                                   absl::Duration timeout = absl::Seconds(5));

// GETs `path` on fresh connections until the response holds every one of `texts` (for state
// that settles just after a response, such as metrics); the last response (or error) after
// `timeout`.
std::string GetUntil(int port, absl::string_view path, const std::vector<std::string>& texts,
                     absl::Duration timeout = absl::Seconds(30));

// What follows the head of `response` ("" when it has no complete head).
std::string BodyOf(absl::string_view response);

// Reads from many connections at once (one thread, poll) into (*got)[i] for fds[i], until
// `done` holds for every one's bytes: true then; false when one closed first or `timeout` passed.
bool ReadFromAll(const std::vector<int>& fds, std::vector<std::string>* got,
                 const std::function<bool(const std::string& bytes)>& done,
                 absl::Duration timeout = absl::Seconds(120));

// A chunked body's payload (what follows the head); `complete` when its last chunk arrived.
std::string Dechunk(absl::string_view body, bool* complete);

}  // namespace cosmo::testing

#endif  // COSMO_TESTS_INTEGRATION_RAW_HTTP_CONNECTION_H_
