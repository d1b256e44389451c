// What goes into a function and what comes out of it.
//
// HttpRequest/HttpResponse are the platform's own HTTP messages, independent of any HTTP library:
// the data plane converts to and from them, and embedders build them directly. InvokeResult
// carries the response together with the request's Outcome and its metered usage.
//
// Plain value types; thread-compatible. A ResponseBodyWriter is the caller's, borrowed for one
// invocation.
#ifndef COSMO_INVOCATION_H_
#define COSMO_INVOCATION_H_

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "cosmo/outcome.h"

namespace cosmo {

struct InvokeResult;

// Header fields in wire order; names as received (matching is case-insensitive). A name may repeat.
using HeaderList = std::vector<std::pair<std::string, std::string>>;

// Takes a response body in pieces, as the function produces it: what a function's `Response`
// whose body is a ReadableStream is written to when the caller can send a body before it is
// complete (the HTTP data plane does: chunked transfer encoding). Called on the invoking thread,
// in order: Start once, Write per piece, then Finish when the body ended (not after a failure).
class ResponseBodyWriter {
 public:
  virtual ~ResponseBodyWriter() = default;
  // The status and headers, before any body byte. INVALID_ARGUMENT when they cannot be sent
  // (the invocation then ends in a script error, as a buffered response with them would);
  // UNAVAILABLE when the receiver is gone (the stream is then cancelled).
  virtual absl::Status Start(int status, const HeaderList& headers) = 0;
  // One piece of the body. May wait while the receiver is slower than the function (that is the
  // backpressure the function's stream sees), bounded by the writer's own timeout. False when the
  // receiver is gone: the function's stream is cancelled and the invocation ends.
  virtual bool Write(absl::string_view bytes) = 0;
  // The body is complete.
  virtual void Finish() = 0;
  // Whether the receiver has gone away, asked while the function's stream produces nothing (so
  // that a stream waiting for its next piece is cancelled when nobody will read it). Must not
  // wait.
  virtual bool ReceiverGone() { return false; }
  // The version (full hash) about to serve the request, told by the Runtime before the function
  // runs, so that the response head can name it (the data plane's Cosmo-Version header).
  virtual void SetVersion(absl::string_view version) {}

  // Detached streams (docs/http.md, "Streamed responses"). A writer that can take the body
  // without a thread waiting on it says so here, before Start(). The engine may then return from
  // Invoke() once the response has started and its stream waits (for a timer, a fetch or this
  // writer): the result's response says `stream_pending`, and the rest of the body is produced
  // later on another thread, which calls only TryWrite(), WhenWritable(), ReceiverGone() and
  // Finish() (never two at once) and at last Completed(), exactly once.
  virtual bool Detachable() const { return false; }
  enum class Offered { kTaken, kFull, kGone };
  // One piece of a detached body, without waiting: kTaken (all of it), kFull (none of it: the
  // writer's buffer is full; call WhenWritable() and offer it again), kGone (the receiver is gone).
  virtual Offered TryWrite(absl::string_view bytes) {
    return Write(bytes) ? Offered::kTaken : Offered::kGone;
  }
  // Calls `wake` once, on any thread (perhaps before returning), when TryWrite() may take bytes
  // again or the receiver has gone.
  virtual void WhenWritable(std::function<void()> wake) { wake(); }
  // The end of a detached invocation: its final outcome, error, usage and console; the response
  // says whether the body completed (Finish() was called) or was cut off. The last call on the
  // writer.
  virtual void Completed(InvokeResult&& result) {}
};

// Gives a request body in pieces as it arrives, for a function that reads `request.body` while
// the client is still sending it (the HTTP data plane does this for bodies too large to buffer
// before the function starts). Called on the invoking thread only, in order.
class RequestBodyReader {
 public:
  virtual ~RequestBodyReader() = default;
  // The next bytes of the body, at most `max` (> 0), waiting up to `wait` for at least one. An
  // empty string at the end of the body. Errors: DEADLINE_EXCEEDED when nothing arrived in
  // time, RESOURCE_EXHAUSTED when the body is larger than the caller's limit, INVALID_ARGUMENT
  // when its framing is malformed, UNAVAILABLE when the sender went away before the end. After
  // an error every later call returns the same error.
  virtual absl::StatusOr<std::string> Read(size_t max, absl::Duration wait) = 0;
};

struct HttpRequest {
  std::string method = "GET";
  // Absolute URL, e.g. "http://127.0.0.1:8080/shop/cart?id=3". Scripts see it as request.url.
  std::string url;
  HeaderList headers;
  std::string body;
  // When set, the body is not in `body` (which is empty) but arrives through this reader as the
  // function reads it. Engines that cannot read a body in pieces (Liquid) ignore it; the caller
  // then closes the connection (it cannot tell where the next request starts).
  RequestBodyReader* body_reader = nullptr;
  // The peer's address as the transport saw it (never taken from a header).
  std::string remote_addr;
  // When set, a JavaScript function's streamed response body (a Response over a ReadableStream)
  // is written here as it is produced, and the InvokeResult's response says `streamed`. When
  // null, such a body is read to its end (up to 32 MiB) and returned whole.
  ResponseBodyWriter* body_writer = nullptr;
};

struct HttpResponse {
  int status = 200;
  HeaderList headers;
  std::string body;
  // The body went to HttpRequest::body_writer (`body` is empty). The writer was started; it was
  // finished only when the outcome is kOk and `stream_complete`.
  bool streamed = false;
  bool stream_complete = false;
  // The invocation returned while its stream goes on detached (ResponseBodyWriter::Detachable):
  // the outcome and usage here are those so far; the writer's Completed() carries the final ones.
  bool stream_pending = false;
};

// Resources one invocation used.
struct InvocationUsage {
  // CPU time spent running the script: its thread's CPU clock when the invocation ran long
  // enough for the CPU watchdog to look at it (about a millisecond), else the wall time it spent
  // entering the isolate and running JavaScript (its CPU time unless preempted); not waits.
  int64_t cpu_us = 0;
  int64_t wall_us = 0;  // wall-clock time from start to response
  // Heap bytes allocated during the invocation. Exact to the byte for what the script's objects
  // take in the young generation (where new objects go, large ones included). Memory the engine
  // itself places directly in the old generation (compiled code, pretenured objects) is counted
  // by the invocation that next reads the whole heap (one a GC ran in, or within 16 invocations
  // of an instance), so totals over many invocations are complete while one invocation's figure
  // may include a few KB of such growth from the ones before it.
  uint64_t bytes_allocated = 0;
  // The isolate's used heap at its highest during the invocation (as bytes_allocated measures
  // it: old-generation growth not yet read is left out).
  uint64_t peak_heap_bytes = 0;
  uint64_t request_bytes = 0;   // request body bytes
  uint64_t response_bytes = 0;  // response body bytes
  // KV operations of the invocation's bindings (kv.h), and the value bytes they moved.
  uint64_t kv_reads = 0;
  uint64_t kv_writes = 0;
  uint64_t kv_deletes = 0;
  uint64_t kv_lists = 0;
  uint64_t kv_bytes_read = 0;
  uint64_t kv_bytes_written = 0;
};

enum class LogLevel { kDebug, kInfo, kLog, kWarn, kError };

// One console.* call (or a host message about the request, such as an uncaught exception).
struct ConsoleMessage {
  LogLevel level = LogLevel::kLog;
  absl::Time time;
  std::string text;
};

// One run of a module's scheduled(controller, env, ctx) handler (docs/cron.md): what the
// controller says, and whom to tell at once when the script calls controller.noRetry().
struct ScheduledEvent {
  std::string cron;           // controller.cron: the expression as deployed
  absl::Time scheduled_time;  // controller.scheduledTime (epoch ms): the tick being run
  // Called on the invoking thread, during the run, the first time the script calls
  // controller.noRetry(), so the decision is recorded before the run ends (a run whose server
  // dies after that call is not repeated). May be empty.
  std::function<void()> on_no_retry;
};

struct InvokeResult {
  Outcome outcome = Outcome::kInternal;
  // Meaningful when outcome == kOk. For other outcomes the data plane renders the error.
  HttpResponse response;
  // For outcomes other than kOk: what went wrong, for logs and the JSON error message,
  // e.g. "Uncaught TypeError: x is not a function\n    at fetch (index.js:3:5)".
  std::string error;
  InvocationUsage usage;
  // The version (full hash) that served the request — during a traffic split, the side it was
  // routed to; empty when none did (an unknown family, a refused Cosmo-Version-Override, a
  // version that could not be activated).
  std::string version;
  // console output of this invocation, in call order.
  std::vector<ConsoleMessage> console;
  // A scheduled run whose script called controller.noRetry().
  bool no_retry = false;
};

}  // namespace cosmo

#endif  // COSMO_INVOCATION_H_
