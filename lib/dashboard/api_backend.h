// Who answers the dashboard's API calls once the HTTP layer (Dashboard) has let them through:
// authenticates the caller and runs the call. cosmo-server answers from its own Runtime
// (LocalApiBackend); cosmo-gateway asks its servers (hosts/http_gateway/remote_dashboard_api.h).
#ifndef COSMO_LIB_DASHBOARD_API_BACKEND_H_
#define COSMO_LIB_DASHBOARD_API_BACKEND_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "control/token_authenticator.h"
#include "cosmo/http_server.h"
#include "cosmo/runtime.h"
#include "dashboard/admin_api.h"

namespace cosmo::dashboard {

class ApiBackend {
 public:
  virtual ~ApiBackend() = default;

  // Answers `call` (method, path, params, body and read_only set; the tenant not yet) for the
  // caller of `request`, whose Authorization header and peer address it judges. The JSON body, or
  // the error (UNAUTHENTICATED, PERMISSION_DENIED, the call's own).
  virtual absl::StatusOr<std::string> Answer(const HostRequest& request, ApiCall call) = 0;
};

// The value of the header `name` (case-insensitive) of `request`, "" when absent.
std::string HeaderOf(const HostRequest& request, absl::string_view name);

// The errors both backends answer for a caller without a valid token, and for a caller that is
// not on loopback when the server has no tokens file.
absl::Status MissingTokenError();
absl::Status LoopbackOnlyError();

// cosmo-server's backend: its TokenAuthenticator names the tenant (every caller is "local", and
// only loopback peers are served, without a tokens file), and an AdminApi over its Runtime
// answers. Borrows both, which must outlive it. Thread-safe.
class LocalApiBackend final : public ApiBackend {
 public:
  LocalApiBackend(Runtime* runtime, const control::TokenAuthenticator* authenticator,
                  AdminApiOptions options = {})
      : authenticator_(authenticator), api_(runtime, options) {}

  absl::StatusOr<std::string> Answer(const HostRequest& request, ApiCall call) override;

 private:
  const control::TokenAuthenticator* const authenticator_;
  AdminApi api_;
};

}  // namespace cosmo::dashboard

#endif  // COSMO_LIB_DASHBOARD_API_BACKEND_H_
