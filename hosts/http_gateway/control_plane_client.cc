#include "control_plane_client.h"

#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "control/status_mapping.h"
#include "cosmo/status_macros.h"

namespace cosmo::gateway {

ControlPlaneClient::ControlPlaneClient(std::vector<std::string> addresses, std::string token,
                                       absl::Duration call_timeout, absl::Duration kv_call_timeout)
    : addresses_(std::move(addresses)),
      token_(std::move(token)),
      call_timeout_(call_timeout),
      kv_call_timeout_(kv_call_timeout) {
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
    // KV puts carry values up to 25 MiB.
    args.SetMaxSendMessageSize(64 << 20);
    std::shared_ptr<grpc::Channel> channel =
        grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
    stubs_.push_back(cosmo::v1::GatewaySync::NewStub(channel));
    kv_stubs_.push_back(cosmo::v1::GatewayKv::NewStub(channel));
    dashboard_stubs_.push_back(cosmo::v1::DashboardApi::NewStub(channel));
  }
}

void ControlPlaneClient::Prepare(grpc::ClientContext* context, bool deadline,
                                 absl::Duration timeout, const std::string* authorization) const {
  if (authorization != nullptr) {
    if (!authorization->empty()) context->AddMetadata("authorization", *authorization);
  } else if (!token_.empty()) {
    context->AddMetadata("authorization", absl::StrCat("Bearer ", token_));
  }
  if (deadline) {
    if (timeout == absl::ZeroDuration()) timeout = call_timeout_;
    context->set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(timeout));
  }
}

template <typename Call>
absl::Status ControlPlaneClient::WithFailover(Call call, absl::Duration timeout,
                                              const std::string* authorization) {
  absl::Status last = absl::UnavailableError("no control plane configured");
  size_t start = current_.load();
  for (size_t i = 0; i < stubs_.size(); ++i) {
    size_t index = (start + i) % stubs_.size();
    grpc::ClientContext context;
    Prepare(&context, true, timeout, authorization);
    grpc::Status status = call(index, &context);
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
  absl::Status status = WithFailover([&](size_t index, grpc::ClientContext* context) {
    return stubs_[index]->GetManifest(context, request, &response);
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
  return WithFailover([&](size_t index, grpc::ClientContext* context) {
    return stubs_[index]->ReportUsage(context, request, &response);
  });
}

absl::Status ControlPlaneClient::KvGet(const cosmo::v1::GetKvValueRequest& request,
                                       cosmo::v1::GetKvValueResponse* response) {
  return WithFailover(
      [&](size_t index, grpc::ClientContext* context) {
        response->Clear();
        return kv_stubs_[index]->Get(context, request, response);
      },
      kv_call_timeout_);
}

absl::Status ControlPlaneClient::KvPut(const cosmo::v1::PutKvValueRequest& request) {
  cosmo::v1::PutKvValueResponse response;
  return WithFailover(
      [&](size_t index, grpc::ClientContext* context) {
        return kv_stubs_[index]->Put(context, request, &response);
      },
      kv_call_timeout_);
}

absl::Status ControlPlaneClient::KvDelete(const cosmo::v1::DeleteKvValueRequest& request) {
  cosmo::v1::DeleteKvValueResponse response;
  return WithFailover(
      [&](size_t index, grpc::ClientContext* context) {
        return kv_stubs_[index]->Delete(context, request, &response);
      },
      kv_call_timeout_);
}

absl::Status ControlPlaneClient::KvList(const cosmo::v1::ListKvKeysRequest& request,
                                        cosmo::v1::ListKvKeysResponse* response) {
  return WithFailover(
      [&](size_t index, grpc::ClientContext* context) {
        response->Clear();
        return kv_stubs_[index]->List(context, request, response);
      },
      kv_call_timeout_);
}

absl::Status ControlPlaneClient::DashboardRead(const cosmo::v1::DashboardReadRequest& request,
                                               const std::string& authorization,
                                               cosmo::v1::DashboardReadResponse* response) {
  return WithFailover(
      [&](size_t index, grpc::ClientContext* context) {
        response->Clear();
        return dashboard_stubs_[index]->Read(context, request, response);
      },
      absl::Seconds(15), &authorization);
}

std::unique_ptr<grpc::ClientReader<cosmo::v1::VersionChange>> ControlPlaneClient::Watch(
    grpc::ClientContext* context) {
  Prepare(context, false);
  cosmo::v1::WatchVersionsRequest request;
  return stubs_[current_.load() % stubs_.size()]->WatchVersions(context, request);
}

}  // namespace cosmo::gateway
