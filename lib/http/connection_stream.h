// The httplib::Stream a worker hands cpp-httplib's request parser: reads come from the bytes the
// front end buffered for the connection, writes collect into the connection's output buffer.
//
// When the parser asks for more than was buffered (a large or streamed body, Expect:
// 100-continue, framing for the parser to judge), the stream first writes out what is pending
// (so a 100 Continue reaches the client) and then reads from the socket, waiting at most
// `read_timeout` for each read, as cpp-httplib's own socket stream does. Writes never block: when
// more than a window of output is pending, what the socket takes now is sent, and the rest waits
// for the worker's final flush or the event loop.
//
// Used by one worker thread at a time, while it owns the connection.
#ifndef COSMO_LIB_HTTP_CONNECTION_STREAM_H_
#define COSMO_LIB_HTTP_CONNECTION_STREAM_H_

#include <httplib.h>

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "http/connection.h"

namespace cosmo::http {

// Sends what `c` has pending without waiting; false when the connection failed. Afterwards
// `c->out_offset == c->out.size()` means everything went out (the buffer is then emptied).
bool SendPending(Connection* c);

class ConnectionStream final : public httplib::Stream {
 public:
  ConnectionStream(Connection* connection, absl::Duration read_timeout,
                   absl::Duration write_timeout);

  bool is_readable() const override { return true; }
  bool is_writable() const override { return !write_failed_; }
  ssize_t read(char* ptr, size_t size) override;
  ssize_t write(const char* ptr, size_t size) override;
  void get_remote_ip_and_port(std::string& ip, int& port) const override;
  void get_local_ip_and_port(std::string& ip, int& port) const override;
  // Never a real descriptor: the library compares it to FD_SETSIZE (its Debian build uses
  // select()), and connections beyond descriptor 1024 are normal here.
  socket_t socket() const override { return 0; }

  // read() with its own wait for the socket instead of the read timeout, for a body the
  // function reads as it arrives. `timed_out` tells a wait that ran out from a failed socket.
  ssize_t ReadFor(char* ptr, size_t size, absl::Duration wait, bool* timed_out);

  // Writes `bytes` now, for a response a handler sends itself as it is produced: whatever is
  // pending goes out, and while more than a window is pending the call waits for the client
  // (the write timeout at most). False when the client is gone or too slow.
  bool WriteThrough(absl::string_view bytes);

  // Whether the client has shut its side or the connection failed (does not wait).
  bool PeerGone() const;
  // The connection's socket.
  int fd() const { return c_->fd; }

  // Buffered input bytes the parser consumed (to be dropped from the connection's buffer).
  size_t consumed() const { return offset_; }
  // A read or write on the socket failed or timed out. (After a failed read the parser may still
  // write its answer, as it would on a socket.)
  bool failed() const { return read_failed_ || write_failed_; }

 private:
  ssize_t ReadWithin(char* ptr, size_t size, int timeout_ms, bool* timed_out);
  // Writes everything pending, waiting for the socket up to the write timeout each time.
  bool FlushBlocking();

  Connection* const c_;
  const int read_timeout_ms_;
  const int write_timeout_ms_;
  size_t offset_ = 0;
  bool read_failed_ = false;
  bool write_failed_ = false;
};

}  // namespace cosmo::http

#endif  // COSMO_LIB_HTTP_CONNECTION_STREAM_H_
