// The web dashboard (docs/dashboard.md): the page app under /_cosmo/ui and its JSON API under
// /_cosmo/api/, as one HttpServerOptions::dashboard handler.
//
// Every request's Host must name the listener (request_checks.h). The page's files are public
// (they hold no data); API calls are authenticated like the gRPC control plane, by the ApiBackend
// (api_backend.h): with a tokens file, `Authorization: Bearer TOKEN` names the tenant (401
// without it) and a tenant sees only its own families; without one, every caller is tenant
// "local" and only loopback peers are served. A token anywhere but the Authorization header (a
// query parameter) is refused, so it never lands in logs or browser history. State-changing calls
// (rollback) also need Content-Type application/json and an Origin that is the dashboard's own
// (or none), and are refused altogether when `read_only` (cosmo-gateway, which has no registry
// to change).
//
// Borrows what it is given (Runtime and TokenAuthenticator, or the ApiBackend), which must
// outlive it. Thread-safe.
#ifndef COSMO_LIB_DASHBOARD_DASHBOARD_H_
#define COSMO_LIB_DASHBOARD_DASHBOARD_H_

#include <memory>
#include <string>
#include <vector>

#include "control/token_authenticator.h"
#include "cosmo/http_server.h"
#include "cosmo/runtime.h"
#include "dashboard/admin_api.h"
#include "dashboard/api_backend.h"

namespace cosmo::dashboard {

struct DashboardOptions {
  // Refuse state-changing calls (rollback).
  bool read_only = false;
  // Host names (HOST or HOST:PORT) accepted besides the listener's own address: the names a
  // reverse proxy or DNS gives it (--admin-host).
  std::vector<std::string> extra_hosts;
  AdminApiOptions api;
};

class Dashboard {
 public:
  // cosmo-server's: answers from `runtime`, for the tenants of `authenticator`.
  Dashboard(Runtime* runtime, const control::TokenAuthenticator* authenticator,
            DashboardOptions options = {});
  // Answers API calls through `backend`.
  Dashboard(ApiBackend* backend, DashboardOptions options);

  HostResponse Handle(const HostRequest& request);

 private:
  HostResponse Ui(const HostRequest& request);
  HostResponse Api(const HostRequest& request);

  const DashboardOptions options_;
  std::unique_ptr<ApiBackend> owned_backend_;
  ApiBackend* const backend_;
};

}  // namespace cosmo::dashboard

#endif  // COSMO_LIB_DASHBOARD_DASHBOARD_H_
