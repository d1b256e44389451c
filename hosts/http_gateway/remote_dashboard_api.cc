#include "remote_dashboard_api.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "cosmo/status_macros.h"
#include "dashboard/request_checks.h"

namespace cosmo::gateway {
namespace {

// An Authorization header fit to travel as gRPC metadata: printable ASCII of a sane length.
bool ForwardableAuthorization(const std::string& value) {
  return value.size() <= 4096 &&
         std::all_of(value.begin(), value.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
}

}  // namespace

absl::StatusOr<cosmo::v1::DashboardReadResponse> RemoteDashboardApi::Read(
    const std::string& authorization, absl::string_view path,
    const std::vector<std::pair<std::string, std::string>>& params) {
  cosmo::v1::DashboardReadRequest request;
  request.set_path(std::string(path));
  for (const auto& [name, value] : params) {
    cosmo::v1::DashboardParam* param = request.add_params();
    param->set_name(name);
    param->set_value(value);
  }
  cosmo::v1::DashboardReadResponse response;
  absl::Status status = client_->DashboardRead(request, authorization, &response);
  // The server words its error for gRPC metadata; this is HTTP.
  if (absl::IsUnauthenticated(status)) return dashboard::MissingTokenError();
  if (!status.ok()) return status;
  return response;
}

absl::StatusOr<std::string> RemoteDashboardApi::Answer(const HostRequest& request,
                                                       dashboard::ApiCall call) {
  if (dashboard::AdminApi::ChangesState(call.method)) {
    // The Dashboard refuses these (read_only) before they get here.
    return absl::FailedPreconditionError("cosmo-gateway's dashboard is read-only");
  }
  const std::string authorization = dashboard::HeaderOf(request, "Authorization");
  if (!ForwardableAuthorization(authorization)) return dashboard::MissingTokenError();
  if (!dashboard::IsLoopbackIp(request.peer_ip)) {
    COSMO_ASSIGN_OR_RETURN(cosmo::v1::DashboardReadResponse who, Read(authorization, "whoami", {}));
    if (!who.tokens_required()) return dashboard::LoopbackOnlyError();
  }
  std::vector<std::string> parts = absl::StrSplit(call.path, '/');
  if (parts.size() == 3 && parts[0] == "families" && parts[2] == "logs") {
    COSMO_ASSIGN_OR_RETURN(cosmo::v1::DashboardReadResponse family,
                           Read(authorization, absl::StrCat("families/", parts[1]), {}));
    nlohmann::json info = nlohmann::json::parse(family.json(), nullptr, false);
    absl::Time created;
    std::string error;
    if (info.is_discarded() || !info.is_object() || !info["created"].is_string() ||
        !absl::ParseTime("%Y-%m-%dT%H:%M:%E*SZ", info["created"].get<std::string>(),
                         absl::UTCTimeZone(), &created, &error)) {
      return absl::InternalError(
          absl::StrCat("the control plane's description of ", parts[1], " has no creation time"));
    }
    return local_.Logs(call, parts[1], created);
  }
  COSMO_ASSIGN_OR_RETURN(cosmo::v1::DashboardReadResponse answer,
                         Read(authorization, call.path, call.params));
  return std::move(*answer.mutable_json());
}

}  // namespace cosmo::gateway
