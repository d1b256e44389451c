// The checks every request passes before dispatch, for what cpp-httplib 0.11.4 (Debian 12) does
// not enforce itself (docs/http.md, "What the layer adds to cpp-httplib 0.11.4"). Runs on the
// parsed head, before any body byte is read.
//
// Thread-safe (immutable after construction).
#ifndef COSMO_LIB_HTTP_REQUEST_GUARD_H_
#define COSMO_LIB_HTTP_REQUEST_GUARD_H_

#include <httplib.h>

#include <cstddef>
#include <optional>
#include <string>

#include "http/outcome_status.h"

namespace cosmo::http {

struct GuardLimits {
  size_t max_request_body_bytes = size_t{10} << 20;
  size_t max_header_count = 100;
  size_t max_header_bytes = size_t{32} << 10;
  size_t max_path_bytes = 1024;
};

struct GuardError {
  Rejection rejection;
  std::string message;
};

// Header names cpp-httplib adds to every request itself, after the client's own headers (which
// may carry the same names: a client can "send" REMOTE_ADDR). Never passed on, never counted.
bool IsTransportPseudoHeader(const std::string& name);

// The wording of every 413 for a body over `limit` decoded bytes, wherever it is found out.
std::string BodyTooLargeMessage(size_t limit);

class RequestGuard {
 public:
  explicit RequestGuard(GuardLimits limits) : limits_(limits) {}

  // The first reason to refuse `req`, or nothing when it may be dispatched. Every refusal closes
  // the connection (the caller's job): after a framing doubt nothing on it can be trusted.
  std::optional<GuardError> Check(const httplib::Request& req) const;

  // True for methods whose requests carry a body that cpp-httplib reads (POST, PUT, PATCH,
  // DELETE); the others are answered before routing.
  static bool MethodReadsBody(const std::string& method);

  // True when the request declares a body (Content-Length or Transfer-Encoding).
  static bool DeclaresBody(const httplib::Request& req);

  const GuardLimits& limits() const { return limits_; }

 private:
  GuardLimits limits_;
};

}  // namespace cosmo::http

#endif  // COSMO_LIB_HTTP_REQUEST_GUARD_H_
