// cosmo-gateway's dashboard backend (docs/dashboard.md, "On cosmo-gateway"): a gateway's own
// registry holds only the families it has loaded, so its dashboard answers with its servers' data,
// through their cosmo.v1.DashboardApi service. Each call is forwarded with the caller's own
// Authorization header, so the server authenticates the caller and applies its tenant rules
// exactly as on its own dashboard; the gateway holds no tokens file and decides nothing about
// tenants. Two things are the gateway's own:
//
// - Logs: the live log shows the console output of the requests this gateway ran (each process
//   keeps its own log ring, as each server does). The server is asked for the family first, which
//   checks the caller may see it.
// - Loopback: when the server has no tokens file every caller is its tenant "local", so, as on
//   the server, only loopback clients of the gateway are answered then; a client elsewhere gets
//   nothing before the server has said that it requires tokens.
//
// Borrows the ControlPlaneClient and the Runtime, which must outlive it. Thread-safe.
#ifndef COSMO_HOSTS_HTTP_GATEWAY_REMOTE_DASHBOARD_API_H_
#define COSMO_HOSTS_HTTP_GATEWAY_REMOTE_DASHBOARD_API_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "control_plane_client.h"
#include "cosmo/runtime.h"
#include "dashboard/admin_api.h"
#include "dashboard/api_backend.h"

namespace cosmo::gateway {

class RemoteDashboardApi final : public dashboard::ApiBackend {
 public:
  RemoteDashboardApi(ControlPlaneClient* client, Runtime* runtime)
      : client_(client), local_(runtime) {}

  absl::StatusOr<std::string> Answer(const HostRequest& request, dashboard::ApiCall call) override;

 private:
  // The servers' answer to GET `path` for the caller whose Authorization header is
  // `authorization`.
  absl::StatusOr<cosmo::v1::DashboardReadResponse> Read(
      const std::string& authorization, absl::string_view path,
      const std::vector<std::pair<std::string, std::string>>& params);

  ControlPlaneClient* const client_;
  // Answers `logs` from this gateway's Runtime.
  dashboard::AdminApi local_;
};

}  // namespace cosmo::gateway

#endif  // COSMO_HOSTS_HTTP_GATEWAY_REMOTE_DASHBOARD_API_H_
