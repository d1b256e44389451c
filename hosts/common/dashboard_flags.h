// The dashboard flags of cosmo-server and cosmo-gateway (docs/dashboard.md): where /_cosmo/ui and
// /_cosmo/api/ are served, and which host names they answer to besides the listener's address.
//
// Each flag has a COSMO_* environment fallback.
#ifndef COSMO_HOSTS_COMMON_DASHBOARD_FLAGS_H_
#define COSMO_HOSTS_COMMON_DASHBOARD_FLAGS_H_

#include <CLI/CLI.hpp>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "control/token_authenticator.h"
#include "cosmo/http_server.h"
#include "cosmo/runtime.h"
#include "dashboard/dashboard.h"

namespace cosmo::host {

struct DashboardFlags {
  // Empty: the dashboard is served on the data plane's listener.
  std::string admin_listen;
  std::vector<std::string> admin_hosts;
};

// Registers the flags on `app`, writing into `flags` (which must outlive the parse).
void AddDashboardFlags(CLI::App& app, DashboardFlags* flags);

// The dashboard's listeners: `dashboard` serves on the data plane (`data_plane`, whose
// `dashboard` handler this sets) unless --admin-listen is set, and then on an HTTP server of its
// own, returned (started) here; nullptr when there is none. INVALID_ARGUMENT / UNAVAILABLE name
// the flag.
absl::StatusOr<std::unique_ptr<HttpServer>> WireDashboard(const DashboardFlags& flags,
                                                          dashboard::Dashboard* dashboard,
                                                          HttpServerOptions* data_plane);

}  // namespace cosmo::host

#endif  // COSMO_HOSTS_COMMON_DASHBOARD_FLAGS_H_
