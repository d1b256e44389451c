#include "control_plane_client.h"

#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "control/status_mapping.h"
#include "cosmo/status_macros.h"

namespace cosmo::gateway {

ControlPlaneClient::ControlPlaneClient(std::vector<std::string> addresses, std::string token,
                                       absl::Duration call_timeout)
    : addresses_(std::move(addresses)), token_(std::move(token)), call_timeout_(call_timeout) {
  for (const std::string& address : addresses_) {
    grpc::ChannelArguments args;
    // gRPC's default reconnect backoff grows to 120 s; a gateway must find a restarted server
    // at once.
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
    // After a refused connection the channel waits for its name to be resolved again, which
    // gRPC allows once per 30 s by default: a server restarted within that time stayed out of
    // reach for up to 30 s (usage reports, manifests).
    args.SetInt(GRPC_ARG_DNS_MIN_TIME_BETWEEN_RESOLUTIONS_MS, 200);
    args.SetMaxReceiveMessageSize(64 << 20);
    stubs_.push_back(cosmo::v1::GatewaySync::NewStub(
        grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args)));
  }
}

void ControlPlaneClient::Prepare(grpc::ClientContext* context, bool deadline) const {
  if (!token_.empty()) context->AddMetadata("authorization", absl::StrCat("Bearer ", token_));
  if (deadline) {
    context->set_deadline(std::chrono::system_clock::now() +
                          absl::ToChronoMilliseconds(call_timeout_));
  }
}

template <typename Call>
absl::Status ControlPlaneClient::WithFailover(Call call) {
  absl::Status last = absl::UnavailableError("no control plane configured");
  size_t start = current_.load();
  for (size_t i = 0; i < stubs_.size(); ++i) {
    size_t index = (start + i) % stubs_.size();
    grpc::ClientContext context;
    Prepare(&context, true);
    grpc::Status status = call(stubs_[index].get(), &context);
    if (status.error_code() != grpc::StatusCode::UNAVAILABLE &&
        status.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED) {
      current_.store(index);
      return control::FromGrpcStatus(status);
    }
    last = absl::UnavailableError(absl::StrCat("control plane ", addresses_[index],
                                               " unreachable: ", status.error_message()));
  }
  return last;
}

absl::StatusOr<ActiveManifest> ControlPlaneClient::GetManifest(const std::string& family) {
  cosmo::v1::GetManifestRequest request;
  request.set_family(family);
  cosmo::v1::GetManifestResponse response;
  absl::Status status = WithFailover([&](auto* stub, grpc::ClientContext* context) {
    return stub->GetManifest(context, request, &response);
  });
  if (!status.ok()) return status;
  ActiveManifest active;
  active.version = response.version();
  COSMO_ASSIGN_OR_RETURN(active.manifest,
                         CheckedManifest(family, response.manifest_cbor(), response.version()));
  active.secret_names.assign(response.secret_names().begin(), response.secret_names().end());
  if (response.has_canary()) {
    const cosmo::v1::GatewayCanary& canary = response.canary();
    ActiveManifest::Canary out;
    out.version = canary.version();
    COSMO_ASSIGN_OR_RETURN(out.manifest,
                           CheckedManifest(family, canary.manifest_cbor(), canary.version()));
    out.secret_names.assign(canary.secret_names().begin(), canary.secret_names().end());
    out.percent = canary.percent();
    active.canary = std::move(out);
  }
  return active;
}

absl::StatusOr<Manifest> ControlPlaneClient::CheckedManifest(const std::string& family,
                                                             const std::string& cbor,
                                                             const std::string& version) {
  if (Sha256Hex(cbor) != version) {
    return absl::DataLossError(absl::StrCat("manifest of ", family, " does not hash to ", version));
  }
  return DecodeManifest(cbor);
}

absl::Status ControlPlaneClient::ReportUsage(const cosmo::v1::ReportUsageRequest& request) {
  cosmo::v1::ReportUsageResponse response;
  return WithFailover([&](auto* stub, grpc::ClientContext* context) {
    return stub->ReportUsage(context, request, &response);
  });
}

std::unique_ptr<grpc::ClientReader<cosmo::v1::VersionChange>> ControlPlaneClient::Watch(
    grpc::ClientContext* context) {
  Prepare(context, false);
  cosmo::v1::WatchVersionsRequest request;
  return stubs_[current_.load() % stubs_.size()]->WatchVersions(context, request);
}

}  // namespace cosmo::gateway
