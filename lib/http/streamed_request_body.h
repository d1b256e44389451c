// A request body read from its connection as the function asks for it, instead of buffered whole
// before the function starts: what `request.body` reads when the body was still arriving when the
// request was dispatched (larger than the front end buffers, or a chunked upload in progress).
//
// It decodes the body's framing itself — Content-Length, or chunked transfer coding read as
// cpp-httplib reads it (a hex size, optional extensions, CRLF or LF line ends, trailers) — over
// the ConnectionStream the parser read the head from, so the next request on the connection
// starts right after it when the body was read to its end. The body limit is counted in decoded
// bytes; a body over it is RESOURCE_EXHAUSTED (the data plane answers 413). Bodies with a
// Content-Encoding are never streamed (the library decodes them, buffered).
//
// Used on the worker thread running the request only; borrows the stream.
#ifndef COSMO_LIB_HTTP_STREAMED_REQUEST_BODY_H_
#define COSMO_LIB_HTTP_STREAMED_REQUEST_BODY_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "cosmo/invocation.h"
#include "http/connection_stream.h"

namespace cosmo::http {

class StreamedRequestBody final : public RequestBodyReader {
 public:
  // A body of exactly `length` bytes.
  static StreamedRequestBody WithLength(ConnectionStream* stream, uint64_t length, size_t limit);
  // A chunked body.
  static StreamedRequestBody Chunked(ConnectionStream* stream, size_t limit);

  absl::StatusOr<std::string> Read(size_t max, absl::Duration wait) override;

  // The body was read to its end: the connection is at the start of the next request.
  bool complete() const { return state_ == State::kDone; }
  // Why reading failed (OK while it has not): RESOURCE_EXHAUSTED for a body over the limit,
  // INVALID_ARGUMENT for malformed chunked framing, others for a client gone or too slow.
  const absl::Status& error() const { return error_; }
  // Decoded body bytes handed out.
  uint64_t bytes_read() const { return bytes_read_; }

 private:
  enum class State { kLength, kChunkSize, kChunkData, kChunkEnd, kTrailers, kDone, kFailed };

  StreamedRequestBody(ConnectionStream* stream, State state, uint64_t remaining, size_t limit)
      : stream_(stream), limit_(limit), state_(state), remaining_(remaining) {}

  // Reads one line of framing (without its line end) into `line`.
  absl::Status ReadLine(std::string* line, absl::Duration wait);
  // Reads up to `max` bytes of the current chunk or length.
  absl::StatusOr<std::string> ReadData(size_t max, absl::Duration wait);
  // Reads one byte of framing.
  absl::StatusOr<char> ReadByte(absl::Duration wait);
  absl::Status Fail(absl::Status error);

  ConnectionStream* const stream_;
  const size_t limit_;
  State state_;
  uint64_t remaining_;  // bytes left of the body (kLength) or of the current chunk (kChunkData)
  uint64_t bytes_read_ = 0;
  absl::Status error_;
};

}  // namespace cosmo::http

#endif  // COSMO_LIB_HTTP_STREAMED_REQUEST_BODY_H_
