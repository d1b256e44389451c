#include "http/request_guard.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace cosmo::http {

std::string BodyTooLargeMessage(size_t limit) {
  return absl::StrCat("request body larger than ", limit, " bytes");
}

bool IsTransportPseudoHeader(const std::string& name) {
  return absl::EqualsIgnoreCase(name, "REMOTE_ADDR") ||
         absl::EqualsIgnoreCase(name, "REMOTE_PORT") ||
         absl::EqualsIgnoreCase(name, "LOCAL_ADDR") || absl::EqualsIgnoreCase(name, "LOCAL_PORT");
}

bool RequestGuard::MethodReadsBody(const std::string& method) {
  // cpp-httplib's expect_content(): only these get their body read (PRI is HTTP/2's preface,
  // which never reaches a handler).
  return method == "POST" || method == "PUT" || method == "PATCH" || method == "DELETE";
}

bool RequestGuard::DeclaresBody(const httplib::Request& req) {
  return req.has_header("Content-Length") || req.has_header("Transfer-Encoding");
}

std::optional<GuardError> RequestGuard::Check(const httplib::Request& req) const {
  // Header floods: cpp-httplib reads every header line before we run, so this bounds the work
  // done with them, not the memory they took (docs/http.md: put a proxy in front).
  size_t count = 0;
  size_t bytes = 0;
  for (const auto& [name, value] : req.headers) {
    if (IsTransportPseudoHeader(name)) continue;
    ++count;
    bytes += name.size() + value.size() + 4;
  }
  if (count > limits_.max_header_count) {
    return GuardError{Rejection::kHeadersTooLarge,
                      absl::StrCat("more than ", limits_.max_header_count, " header fields")};
  }
  if (bytes > limits_.max_header_bytes) {
    return GuardError{
        Rejection::kHeadersTooLarge,
        absl::StrCat("header fields larger than ", limits_.max_header_bytes, " bytes in total")};
  }
  // cpp-httplib percent-decodes header values, so `%0D%0A` arrives as a real CR LF.
  for (const auto& [name, value] : req.headers) {
    if (value.find_first_of(std::string("\r\n\0", 3)) != std::string::npos) {
      return GuardError{Rejection::kBadRequest,
                        absl::StrCat("header '", name, "' contains CR, LF or NUL")};
    }
  }

  if (req.target.empty() || req.target[0] != '/') {
    return GuardError{Rejection::kBadRequest, "the request target must be an absolute path"};
  }
  size_t query = req.target.find('?');
  size_t path_bytes = query == std::string::npos ? req.target.size() : query;
  if (path_bytes > limits_.max_path_bytes || req.path.size() > limits_.max_path_bytes) {
    return GuardError{Rejection::kUriTooLong,
                      absl::StrCat("path longer than ", limits_.max_path_bytes, " bytes")};
  }

  // Framing (request smuggling): exactly one way to know where the body ends.
  size_t cl_count = req.get_header_value_count("Content-Length");
  size_t te_count = req.get_header_value_count("Transfer-Encoding");
  if (cl_count > 1) {
    return GuardError{Rejection::kBadRequest, "more than one Content-Length header"};
  }
  if (cl_count == 1 && te_count > 0) {
    return GuardError{Rejection::kBadRequest,
                      "both Content-Length and Transfer-Encoding are present"};
  }
  if (te_count > 1 ||
      (te_count == 1 &&
       !absl::EqualsIgnoreCase(req.get_header_value("Transfer-Encoding"), "chunked"))) {
    return GuardError{Rejection::kNotImplemented,
                      "Transfer-Encoding other than exactly 'chunked' is not supported"};
  }
  uint64_t content_length = 0;
  if (cl_count == 1) {
    const std::string value = req.get_header_value("Content-Length");
    if (value.empty() || value.size() > 19 ||
        value.find_first_not_of("0123456789") != std::string::npos ||
        !absl::SimpleAtoi(value, &content_length)) {
      return GuardError{Rejection::kBadRequest, "Content-Length is not a decimal number"};
    }
  }
  if (!MethodReadsBody(req.method)) {
    // cpp-httplib would leave such a body unread and parse it as the next request.
    if (te_count > 0 || content_length > 0) {
      return GuardError{Rejection::kBadRequest,
                        absl::StrCat(req.method, " requests may not carry a body")};
    }
  } else if (cl_count == 0 && te_count == 0 && req.method != "DELETE") {
    return GuardError{
        Rejection::kLengthRequired,
        absl::StrCat(req.method, " needs Content-Length or Transfer-Encoding: chunked")};
  }
  if (content_length > limits_.max_request_body_bytes) {
    return GuardError{Rejection::kPayloadTooLarge,
                      BodyTooLargeMessage(limits_.max_request_body_bytes)};
  }
  return std::nullopt;
}

}  // namespace cosmo::http
