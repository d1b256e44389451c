// The policy for responses produced by scripts, before they reach the wire (docs/http.md):
//
// - the status must be 200..599;
// - header names must be RFC 9110 tokens and values free of control characters (HTAB allowed);
//   total header bytes at most kMaxResponseHeaderBytes. A violation fails the whole response
//   (500 script_error): a response that meant something else is never half-sent;
// - hop-by-hop and framing headers (Connection, Keep-Alive, Transfer-Encoding, Content-Length,
//   Upgrade, Proxy-Connection, TE, Trailer) are dropped: the server frames every response itself.
//
// Pure functions; thread-safe.
#ifndef COSMO_LIB_HTTP_RESPONSE_HEADERS_H_
#define COSMO_LIB_HTTP_RESPONSE_HEADERS_H_

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cosmo/invocation.h"

namespace cosmo::http {

inline constexpr size_t kMaxResponseHeaderBytes = size_t{64} << 10;

bool IsHttpToken(absl::string_view name);
bool IsValidHeaderValue(absl::string_view value);
// Connection-level headers a function may not set.
bool IsHopByHopHeader(absl::string_view name);

// The response header naming the version that served a request (docs/deployments.md), set by the
// host only: a script's own is dropped. Its value is the version's first 12 hex digits.
inline constexpr absl::string_view kVersionHeader = "Cosmo-Version";
bool IsVersionHeader(absl::string_view name);
std::string VersionHeaderValue(absl::string_view version);

// The headers of `response` to send, or INVALID_ARGUMENT naming what is wrong with it.
absl::StatusOr<HeaderList> SanitizeScriptResponse(const HttpResponse& response);

}  // namespace cosmo::http

#endif  // COSMO_LIB_HTTP_RESPONSE_HEADERS_H_
