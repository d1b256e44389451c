#ifndef COSMO_BENCHMARKS_LOADGEN_RESPONSE_PARSER_H_
#define COSMO_BENCHMARKS_LOADGEN_RESPONSE_PARSER_H_

#include <cstddef>
#include <cstdint>
#include <string>

namespace cosmo::loadgen {

// An incremental parser of one HTTP/1.1 response at a time on a keep-alive connection: bytes
// are fed as they arrive, in pieces of any size. Understands Content-Length, chunked transfer
// encoding, bodies delimited by the end of the connection, responses without a body (HEAD,
// 1xx, 204, 304) and `Connection: close`. Bodies are skipped, not kept.
//
// Thread-compatible: one per connection.
class ResponseParser {
 public:
  enum class State { kIncomplete, kComplete, kError };

  // Starts a new response. `head_request` says the request was HEAD (no body follows).
  void Reset(bool head_request);

  // Consumes bytes from `data` and returns how many it used: fewer than `size` only when the
  // response completed (the rest belongs to the next response) or on error.
  size_t Feed(const char* data, size_t size);
  // The peer closed the connection: completes a body delimited by the end of the connection,
  // and is an error anywhere else.
  void FeedEof();

  State state() const { return state_; }
  int status() const { return status_; }
  // Whether the server asked to close the connection after this response.
  bool close_after() const { return close_after_; }
  // What went wrong, for kError.
  const std::string& error() const { return error_; }

 private:
  enum class Phase { kHead, kBody, kChunkSize, kChunkData, kChunkDataEnd, kTrailers, kUntilEof };

  bool ParseHead();
  bool ParseChunkSizeLine();
  void Complete();
  void Fail(std::string message);

  State state_ = State::kIncomplete;
  Phase phase_ = Phase::kHead;
  bool head_request_ = false;
  int status_ = 0;
  bool close_after_ = false;
  uint64_t remaining_ = 0;
  // The partial line or head being assembled.
  std::string line_;
  std::string error_;
};

}  // namespace cosmo::loadgen

#endif  // COSMO_BENCHMARKS_LOADGEN_RESPONSE_PARSER_H_
