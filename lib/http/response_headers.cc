#include "http/response_headers.h"

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "http/outcome_status.h"

namespace cosmo::http {

bool IsHttpToken(absl::string_view name) {
  if (name.empty()) return false;
  for (unsigned char c : name) {
    bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
        absl::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != absl::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

bool IsValidHeaderValue(absl::string_view value) {
  for (unsigned char c : value) {
    if ((c < 0x20 && c != '\t') || c == 0x7f) return false;
  }
  return true;
}

bool IsHopByHopHeader(absl::string_view name) {
  for (absl::string_view h : {"connection", "keep-alive", "transfer-encoding", "content-length",
                              "upgrade", "proxy-connection", "te", "trailer"}) {
    if (absl::EqualsIgnoreCase(name, h)) return true;
  }
  return false;
}

absl::StatusOr<HeaderList> SanitizeScriptResponse(const HttpResponse& response) {
  if (response.status < kMinScriptStatus || response.status > kMaxScriptStatus) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid response: status ", response.status, " is not in 200..599"));
  }
  HeaderList out;
  out.reserve(response.headers.size());
  size_t bytes = 0;
  for (const auto& [name, value] : response.headers) {
    if (!IsHttpToken(name)) {
      return absl::InvalidArgumentError("invalid response: a header name is not an HTTP token");
    }
    if (!IsValidHeaderValue(value)) {
      return absl::InvalidArgumentError(absl::StrCat("invalid response: header '", name,
                                                     "' has a control character in its value"));
    }
    bytes += name.size() + value.size() + 4;
    if (bytes > kMaxResponseHeaderBytes) {
      return absl::InvalidArgumentError(absl::StrCat("invalid response: headers larger than ",
                                                     kMaxResponseHeaderBytes, " bytes"));
    }
    if (IsHopByHopHeader(name)) continue;
    out.emplace_back(name, value);
  }
  return out;
}

bool IsVersionHeader(absl::string_view name) {
  return name.size() == kVersionHeader.size() && absl::EqualsIgnoreCase(name, kVersionHeader);
}

std::string VersionHeaderValue(absl::string_view version) {
  return std::string(version.substr(0, 12));
}

}  // namespace cosmo::http
