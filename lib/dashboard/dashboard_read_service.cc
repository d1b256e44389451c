#include "dashboard/dashboard_read_service.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "control/kv_service.h"
#include "control/status_mapping.h"

namespace cosmo::dashboard {
namespace {

// What an HTTP request of the dashboard can carry, roughly (the data plane's caps on paths and
// headers are larger, but no API call needs more).
constexpr size_t kMaxPathBytes = 1024;
constexpr int kMaxParams = 32;
constexpr size_t kMaxParamBytes = 1024;

absl::Status CheckSizes(const cosmo::v1::DashboardReadRequest& request) {
  if (request.path().size() > kMaxPathBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("path: ", request.path().size(), " bytes; at most ", kMaxPathBytes));
  }
  if (request.params_size() > kMaxParams) {
    return absl::InvalidArgumentError(
        absl::StrCat("params: ", request.params_size(), " parameters; at most ", kMaxParams));
  }
  for (const cosmo::v1::DashboardParam& param : request.params()) {
    if (param.name().size() > kMaxParamBytes || param.value().size() > kMaxParamBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat("params: a parameter's name or value is over ", kMaxParamBytes, " bytes"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

grpc::Status DashboardReadService::Read(grpc::ServerContext* context,
                                        const cosmo::v1::DashboardReadRequest* request,
                                        cosmo::v1::DashboardReadResponse* response) {
  absl::StatusOr<std::string> tenant = control::CallerTenant(*authenticator_, *context);
  if (!tenant.ok()) return control::ToGrpcStatus(tenant.status());
  if (absl::Status sizes = CheckSizes(*request); !sizes.ok()) {
    return control::ToGrpcStatus(sizes);
  }
  ApiCall call;
  call.method = "GET";
  call.path = request->path();
  for (const cosmo::v1::DashboardParam& param : request->params()) {
    call.params.emplace_back(param.name(), param.value());
  }
  call.tenant = *std::move(tenant);
  call.tokens_required = authenticator_->requires_tokens();
  call.read_only = true;  // the dashboard asking (a gateway's) can change nothing
  absl::StatusOr<std::string> json = api_.Handle(call);
  if (!json.ok()) return control::ToGrpcStatus(json.status());
  response->set_json(*std::move(json));
  response->set_tokens_required(call.tokens_required);
  return grpc::Status::OK;
}

}  // namespace cosmo::dashboard
