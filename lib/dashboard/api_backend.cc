#include "dashboard/api_backend.h"

#include <utility>

#include "absl/strings/match.h"
#include "dashboard/request_checks.h"

namespace cosmo::dashboard {

std::string HeaderOf(const HostRequest& request, absl::string_view name) {
  for (const auto& [key, value] : request.headers) {
    if (absl::EqualsIgnoreCase(key, name)) return value;
  }
  return "";
}

absl::Status MissingTokenError() {
  // The authenticator words its error for gRPC metadata; this is HTTP.
  return absl::UnauthenticatedError(
      "missing or unknown token: send `Authorization: Bearer TOKEN` (cosmoctl token new)");
}

absl::Status LoopbackOnlyError() {
  return absl::PermissionDeniedError(
      "without a tokens file the dashboard answers loopback clients only; start the server "
      "with --auth-tokens-file to serve others");
}

absl::StatusOr<std::string> LocalApiBackend::Answer(const HostRequest& request, ApiCall call) {
  call.tokens_required = authenticator_->requires_tokens();
  if (call.tokens_required) {
    absl::StatusOr<std::string> tenant =
        authenticator_->Authenticate(HeaderOf(request, "Authorization"));
    if (!tenant.ok()) return MissingTokenError();
    call.tenant = *std::move(tenant);
  } else if (!IsLoopbackIp(request.peer_ip)) {
    return LoopbackOnlyError();
  } else {
    call.tenant = std::string(control::TokenAuthenticator::kLocalTenant);
  }
  return api_.Handle(call);
}

}  // namespace cosmo::dashboard
