// What goes into a function and what comes out of it.
//
// HttpRequest/HttpResponse are the platform's own HTTP messages, independent of any HTTP library:
// the data plane converts to and from them, and embedders build them directly. InvokeResult
// carries the response together with the request's Outcome and its metered usage.
//
// Plain value types; thread-compatible.
#ifndef COSMO_INVOCATION_H_
#define COSMO_INVOCATION_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "cosmo/outcome.h"

namespace cosmo {

// Header fields in wire order; names as received (matching is case-insensitive). A name may repeat.
using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method = "GET";
  // Absolute URL, e.g. "http://127.0.0.1:8080/shop/cart?id=3". Scripts see it as request.url.
  std::string url;
  HeaderList headers;
  std::string body;
  // The peer's address as the transport saw it (never taken from a header).
  std::string remote_addr;
};

struct HttpResponse {
  int status = 200;
  HeaderList headers;
  std::string body;
};

// Resources one invocation used.
struct InvocationUsage {
  int64_t cpu_us = 0;            // thread CPU time spent running the script
  int64_t wall_us = 0;           // wall-clock time from start to response
  uint64_t bytes_allocated = 0;  // heap bytes allocated during the invocation
  uint64_t peak_heap_bytes = 0;  // the isolate's used heap at its highest during the invocation
  uint64_t request_bytes = 0;    // request body bytes
  uint64_t response_bytes = 0;   // response body bytes
};

enum class LogLevel { kDebug, kInfo, kLog, kWarn, kError };

// One console.* call (or a host message about the request, such as an uncaught exception).
struct ConsoleMessage {
  LogLevel level = LogLevel::kLog;
  absl::Time time;
  std::string text;
};

struct InvokeResult {
  Outcome outcome = Outcome::kInternal;
  // Meaningful when outcome == kOk. For other outcomes the data plane renders the error.
  HttpResponse response;
  // For outcomes other than kOk: what went wrong, for logs and the JSON error message,
  // e.g. "Uncaught TypeError: x is not a function\n    at fetch (index.js:3:5)".
  std::string error;
  InvocationUsage usage;
  // console output of this invocation, in call order.
  std::vector<ConsoleMessage> console;
};

}  // namespace cosmo

#endif  // COSMO_INVOCATION_H_
