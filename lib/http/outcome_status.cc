#include "http/outcome_status.h"

#include <array>

#include "common/json_string.h"
#include "common/utf8.h"

namespace cosmo::http {
namespace {

// docs/http.md, "Errors": CPU, memory and wall-time limits answer 503 limit_exceeded; a saturated
// host 503 unavailable with Retry-After.
constexpr std::array<ErrorStatus, kOutcomeCount> kOutcomeTable = {{
    /* kOk */ {200, "ok", false, Outcome::kOk},
    /* kException */ {500, "script_error", false, Outcome::kException},
    /* kExceededCpu */ {503, "limit_exceeded", false, Outcome::kExceededCpu},
    /* kExceededMemory */ {503, "limit_exceeded", false, Outcome::kExceededMemory},
    /* kExceededWallTime */ {503, "limit_exceeded", false, Outcome::kExceededWallTime},
    /* kNotFound */ {404, "not_found", false, Outcome::kNotFound},
    /* kLoadShed */ {503, "unavailable", true, Outcome::kLoadShed},
    /* kBadRequest */ {400, "bad_request", false, Outcome::kBadRequest},
    /* kInternal */ {500, "internal", false, Outcome::kInternal},
}};

ErrorStatus RejectionRow(Rejection rejection) {
  switch (rejection) {
    case Rejection::kBadRequest:
      return {400, "bad_request", false, Outcome::kBadRequest};
    case Rejection::kNotFound:
      return {404, "not_found", false, Outcome::kNotFound};
    case Rejection::kMethodNotAllowed:
      return {405, "method_not_allowed", false, Outcome::kBadRequest};
    case Rejection::kLengthRequired:
      return {411, "length_required", false, Outcome::kBadRequest};
    case Rejection::kPayloadTooLarge:
      return {413, "payload_too_large", false, Outcome::kBadRequest};
    case Rejection::kUriTooLong:
      return {414, "uri_too_long", false, Outcome::kBadRequest};
    case Rejection::kUnsupportedMediaType:
      return {415, "unsupported_media_type", false, Outcome::kBadRequest};
    case Rejection::kHeadersTooLarge:
      return {431, "headers_too_large", false, Outcome::kBadRequest};
    case Rejection::kNotImplemented:
      return {501, "not_implemented", false, Outcome::kBadRequest};
    case Rejection::kOverloaded:
      return {503, "unavailable", true, Outcome::kLoadShed};
    case Rejection::kInternal:
      return {500, "internal", false, Outcome::kInternal};
  }
  return {500, "internal", false, Outcome::kInternal};
}

}  // namespace

ErrorStatus StatusForOutcome(Outcome outcome) {
  int index = static_cast<int>(outcome);
  if (index < 0 || index >= kOutcomeCount)
    return kOutcomeTable[static_cast<int>(Outcome::kInternal)];
  return kOutcomeTable[index];
}

ErrorStatus StatusForRejection(Rejection rejection) { return RejectionRow(rejection); }

ErrorStatus StatusForCode(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk:
      return kOutcomeTable[static_cast<int>(Outcome::kOk)];
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
      return RejectionRow(Rejection::kBadRequest);
    case absl::StatusCode::kUnauthenticated:
      return {401, "unauthenticated", false, Outcome::kBadRequest};
    case absl::StatusCode::kPermissionDenied:
      return {403, "permission_denied", false, Outcome::kBadRequest};
    case absl::StatusCode::kNotFound:
      return RejectionRow(Rejection::kNotFound);
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kFailedPrecondition:
      return {409, "conflict", false, Outcome::kBadRequest};
    case absl::StatusCode::kResourceExhausted:
      return {429, "resource_exhausted", false, Outcome::kBadRequest};
    case absl::StatusCode::kUnavailable:
      return RejectionRow(Rejection::kOverloaded);
    default:
      return RejectionRow(Rejection::kInternal);
  }
}

Rejection RejectionForLibraryStatus(int http_status) {
  for (Rejection r : {Rejection::kNotFound, Rejection::kLengthRequired, Rejection::kPayloadTooLarge,
                      Rejection::kUriTooLong, Rejection::kUnsupportedMediaType,
                      Rejection::kHeadersTooLarge, Rejection::kNotImplemented}) {
    if (RejectionRow(r).http_status == http_status) return r;
  }
  return Rejection::kBadRequest;
}

bool StatusForbidsBody(int http_status) {
  return http_status == 204 || http_status == 304 || (http_status >= 100 && http_status < 200);
}

std::string ErrorJson(absl::string_view code, absl::string_view message) {
  std::string safe;
  size_t bad = 0;
  if (!IsValidUtf8(message, &bad)) {
    // Keep the valid prefix; the rest is not text we can promise to render.
    safe = std::string(message.substr(0, bad));
    safe += "\xEF\xBF\xBD";
    message = safe;
  }
  std::string out = "{\"error\":";
  AppendJsonString(code, &out);
  out += ",\"message\":";
  AppendJsonString(message, &out);
  out += "}";
  return out;
}

}  // namespace cosmo::http
