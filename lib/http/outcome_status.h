// The one table from request endings to HTTP statuses and JSON error codes (docs/http.md,
// "Errors").
//
// Every status number the data plane writes comes from here: an Outcome of an invocation, or a
// Rejection decided before dispatch (by the guard, the router or the host's own endpoints). The
// JSON error body is {"error": CODE, "message": TEXT}.
//
// Pure functions and constants; thread-safe.
#ifndef COSMO_LIB_HTTP_OUTCOME_STATUS_H_
#define COSMO_LIB_HTTP_OUTCOME_STATUS_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "cosmo/outcome.h"

namespace cosmo::http {

// Why a request was answered without (or instead of) running a script.
enum class Rejection {
  kBadRequest,            // malformed or ambiguous framing, bad header bytes
  kNotFound,              // no such family or host endpoint
  kMethodNotAllowed,      // a host endpoint asked with a method it does not answer
  kLengthRequired,        // a body method without Content-Length or Transfer-Encoding
  kPayloadTooLarge,       // body over the limit (counted after decoding)
  kUriTooLong,            // path over the limit
  kUnsupportedMediaType,  // a Content-Encoding that cannot be decoded
  kHeadersTooLarge,       // too many header fields or bytes
  kNotImplemented,        // a Transfer-Encoding other than chunked
  kOverloaded,            // no worker free and the queue full: load shedding
  kInternal,              // a fault of the host
};

struct ErrorStatus {
  int http_status;
  absl::string_view code;  // the JSON "error" value
  bool retry_after;        // send Retry-After: the condition is temporary
  Outcome outcome;         // how the request ends, for metrics
};

// The status of an invocation that did not end in kOk. (kOk carries the script's own status.)
ErrorStatus StatusForOutcome(Outcome outcome);
ErrorStatus StatusForRejection(Rejection rejection);
// The status of a host endpoint's call that failed with `code` (the dashboard's JSON API,
// docs/dashboard.md), by Abseil's meaning of the code: INVALID_ARGUMENT 400 bad_request,
// UNAUTHENTICATED 401, PERMISSION_DENIED 403, NOT_FOUND 404, ALREADY_EXISTS / ABORTED /
// FAILED_PRECONDITION 409 conflict, RESOURCE_EXHAUSTED 429, UNAVAILABLE 503, others 500.
ErrorStatus StatusForCode(absl::StatusCode code);

// The rejection matching a status the HTTP library chose itself (a request it could not parse,
// a body it could not read); kBadRequest for anything unexpected.
Rejection RejectionForLibraryStatus(int http_status);

// Statuses the host answers with for its own endpoints, and the range a script may return.
inline constexpr int kHttpOk = 200;
inline constexpr int kMinScriptStatus = 200;
inline constexpr int kMaxScriptStatus = 599;
// Statuses whose responses never carry a body.
bool StatusForbidsBody(int http_status);

// {"error":"<code>","message":"<message>"} with `message` JSON-escaped (invalid UTF-8 replaced).
std::string ErrorJson(absl::string_view code, absl::string_view message);

}  // namespace cosmo::http

#endif  // COSMO_LIB_HTTP_OUTCOME_STATUS_H_
