// How much of a connection's buffered bytes the next request needs before a worker may run it.
//
// The front end buffers requests without a thread and hands a worker only what it can serve
// without waiting on the network. This scan finds where the request head ends, the way
// cpp-httplib 0.11.4 reads it (lines end at LF; the head ends at the first line that is exactly
// CRLF), and where a small body ends (Content-Length, or chunked framing as that library reads
// it). It is not the parser: cpp-httplib still parses the request and the RequestGuard judges it.
// Whenever the framing is not plain — Expect: 100-continue, a body larger than the buffer, a
// chunked body not yet complete, more than one length, a chunk size that does not parse — the
// scan says to dispatch at the end of the head, and the worker reads the rest from the socket as
// the parser (or the function, reading `request.body`) asks for it.
//
// Pure functions; thread-safe.
#ifndef COSMO_LIB_HTTP_REQUEST_FRAMER_H_
#define COSMO_LIB_HTTP_REQUEST_FRAMER_H_

#include <cstddef>

#include "absl/strings/string_view.h"

namespace cosmo::http {

struct FramingLimits {
  // A head longer than this is refused (431, or 414 when the request line alone is that long).
  size_t max_head_bytes = size_t{80} << 10;
  // Bodies of a known length up to this size are buffered before dispatch; larger ones (and
  // chunked ones still arriving) are read by the worker.
  size_t max_buffered_body_bytes = size_t{64} << 10;
};

struct Framing {
  enum class Status {
    kNeedMore,      // the head (or a small body) is incomplete: keep reading
    kComplete,      // `request_bytes` bytes hold the whole request
    kDispatchHead,  // the head is complete; the worker reads the body itself
    kHeadTooLarge,  // no end of head within max_head_bytes
  };
  Status status = Status::kNeedMore;
  size_t head_bytes = 0;     // when the head is complete
  size_t request_bytes = 0;  // when kComplete
  size_t header_lines = 0;   // header lines seen (complete or not)
  bool request_line_complete = false;
};

Framing ScanRequest(absl::string_view buffered, const FramingLimits& limits);

}  // namespace cosmo::http

#endif  // COSMO_LIB_HTTP_REQUEST_FRAMER_H_
