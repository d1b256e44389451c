#include "dashboard_flags.h"

#include "absl/strings/str_cat.h"

namespace cosmo::host {

void AddDashboardFlags(CLI::App& app, DashboardFlags* flags) {
  app.add_option("--admin-listen", flags->admin_listen,
                 "Serve the dashboard (/_cosmo/ui, /_cosmo/api/) on this HOST:PORT of its own "
                 "instead of the HTTP data plane's listener (docs/dashboard.md)")
      ->envname("COSMO_ADMIN_LISTEN");
  app.add_option("--admin-host", flags->admin_hosts,
                 "A host name the dashboard answers to besides its listener's address (for a "
                 "proxy or DNS name; repeatable); other Host headers are refused")
      ->envname("COSMO_ADMIN_HOST");
}

absl::StatusOr<std::unique_ptr<HttpServer>> WireDashboard(const DashboardFlags& flags,
                                                          dashboard::Dashboard* dashboard,
                                                          HttpServerOptions* data_plane) {
  auto handler = [dashboard](const HostRequest& request) { return dashboard->Handle(request); };
  if (flags.admin_listen.empty()) {
    if (data_plane != nullptr) data_plane->dashboard = handler;
    return nullptr;
  }
  HttpServerOptions options;
  options.listen_address = flags.admin_listen;
  options.worker_threads = 8;
  options.max_connections = 256;
  options.serve_families = false;
  options.dashboard = handler;
  auto server =
      NewHttpServer(std::move(options), nullptr, [](absl::string_view, const HttpRequest&) {
        return InvokeResult{};  // never called: serve_families is off
      });
  if (!server.ok()) {
    return absl::Status(server.status().code(),
                        absl::StrCat("--admin-listen: ", server.status().message()));
  }
  (*server)->Start();
  return server;
}

}  // namespace cosmo::host
