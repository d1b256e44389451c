// The gRPC service cosmo.v1.DashboardApi (proto/cosmo/v1/dashboard.proto): the dashboard API's
// read calls for cosmo-gateway, whose own dashboard forwards them here with its caller's token.
// The caller is authenticated like every control-plane call (TokenAuthenticator), then AdminApi
// answers as it does for cosmo-server's own dashboard, with the same tenant checks; only GET
// calls exist here, so nothing through it changes state.
//
// Borrows the Runtime and TokenAuthenticator, which must outlive it. Thread-safe.
#ifndef COSMO_LIB_DASHBOARD_DASHBOARD_READ_SERVICE_H_
#define COSMO_LIB_DASHBOARD_DASHBOARD_READ_SERVICE_H_

#include "control/token_authenticator.h"
#include "cosmo/runtime.h"
#include "cosmo/v1/dashboard.grpc.pb.h"
#include "dashboard/admin_api.h"

namespace cosmo::dashboard {

class DashboardReadService final : public cosmo::v1::DashboardApi::Service {
 public:
  DashboardReadService(Runtime* runtime, const control::TokenAuthenticator* authenticator,
                       AdminApiOptions options = {})
      : authenticator_(authenticator), api_(runtime, options) {}

  grpc::Status Read(grpc::ServerContext* context, const cosmo::v1::DashboardReadRequest* request,
                    cosmo::v1::DashboardReadResponse* response) override;

 private:
  const control::TokenAuthenticator* const authenticator_;
  AdminApi api_;
};

}  // namespace cosmo::dashboard

#endif  // COSMO_LIB_DASHBOARD_DASHBOARD_READ_SERVICE_H_
