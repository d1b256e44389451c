#include "control/gateway_sync_service.h"

#include <deque>
#include <utility>

#include "absl/strings/str_cat.h"
#include "control/kv_service.h"
#include "control/status_mapping.h"
#include "cosmo/manifest.h"
#include "cosmo/status_macros.h"
#include "metering/usage_proto.h"

namespace cosmo::control {
namespace {

constexpr size_t kFeedWindow = 4096;
constexpr absl::Duration kPollInterval = absl::Milliseconds(200);

}  // namespace

GatewaySyncService::GatewaySyncService(Registry* registry, Store* store,
                                       const TokenAuthenticator* authenticator)
    : registry_(registry),
      authenticator_(authenticator),
      feed_(std::make_shared<Feed>()),
      meter_(store) {
  std::weak_ptr<Feed> weak = feed_;
  registry_->AddChangeListener([weak](absl::string_view family) {
    std::shared_ptr<Feed> feed = weak.lock();
    if (feed == nullptr) return;
    absl::MutexLock lock(&feed->mu);
    feed->changes.emplace_back(feed->next++, std::string(family));
    if (feed->changes.size() > kFeedWindow) feed->changes.pop_front();
  });
}

GatewaySyncService::~GatewaySyncService() { BeginShutdown(); }

void GatewaySyncService::BeginShutdown() {
  absl::MutexLock lock(&feed_->mu);
  feed_->shutting_down = true;
}

grpc::Status GatewaySyncService::Authenticate(grpc::ServerContext* context) const {
  return ToGrpcStatus(AuthenticateGatewayCaller(*authenticator_, *context));
}

grpc::Status GatewaySyncService::GetManifest(grpc::ServerContext* context,
                                             const cosmo::v1::GetManifestRequest* request,
                                             cosmo::v1::GetManifestResponse* response) {
  if (grpc::Status auth = Authenticate(context); !auth.ok()) return auth;
  if (!IsValidFamilyName(request->family())) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "family: not a valid family name (^[a-z0-9][a-z0-9-]{0,62}$)");
  }
  auto active = registry_->GetActiveVersion(request->family());
  if (!active.ok()) return ToGrpcStatus(active.status());
  auto cbor = ManifestCbor(active->version);
  if (!cbor.ok()) return ToGrpcStatus(cbor.status());
  response->set_version(active->version);
  response->set_manifest_cbor(*std::move(cbor));
  for (const std::string& name : active->secret_names) response->add_secret_names(name);
  if (active->canary) {
    auto canary_cbor = ManifestCbor(active->canary->version);
    if (!canary_cbor.ok()) return ToGrpcStatus(canary_cbor.status());
    cosmo::v1::GatewayCanary* canary = response->mutable_canary();
    canary->set_version(active->canary->version);
    canary->set_manifest_cbor(*std::move(canary_cbor));
    for (const std::string& name : active->canary->secret_names) canary->add_secret_names(name);
    canary->set_percent(active->canary->percent);
  }
  return grpc::Status::OK;
}

absl::StatusOr<std::string> GatewaySyncService::ManifestCbor(const std::string& version) const {
  COSMO_ASSIGN_OR_RETURN(Manifest manifest, registry_->LoadManifest(version));
  return EncodeManifest(manifest);
}

grpc::Status GatewaySyncService::WatchVersions(
    grpc::ServerContext* context, const cosmo::v1::WatchVersionsRequest* request,
    grpc::ServerWriter<cosmo::v1::VersionChange>* writer) {
  if (grpc::Status auth = Authenticate(context); !auth.ok()) return auth;
  uint64_t cursor;
  {
    absl::MutexLock lock(&feed_->mu);
    cursor = feed_->next;
  }
  if (!writer->Write(cosmo::v1::VersionChange())) return grpc::Status::OK;  // live marker
  for (;;) {
    std::vector<std::string> families;
    {
      absl::MutexLock lock(&feed_->mu);
      Feed* feed = feed_.get();
      struct WaitArg {
        Feed* feed;
        uint64_t cursor;
      } arg{feed, cursor};
      feed->mu.AwaitWithTimeout(absl::Condition(
                                    +[](WaitArg* a) ABSL_NO_THREAD_SAFETY_ANALYSIS {
                                      return a->feed->next > a->cursor || a->feed->shutting_down;
                                    },
                                    &arg),
                                kPollInterval);
      if (feed->shutting_down) return grpc::Status::OK;
      for (const auto& [sequence, family] : feed->changes) {
        if (sequence >= cursor) families.push_back(family);
      }
      cursor = feed->next;
    }
    if (context->IsCancelled()) return grpc::Status::OK;
    for (const std::string& family : families) {
      cosmo::v1::VersionChange change;
      change.set_family(family);
      auto active = registry_->GetActiveVersion(family);
      if (active.ok()) change.set_version(active->version);
      if (!writer->Write(change)) return grpc::Status::OK;
    }
  }
}

grpc::Status GatewaySyncService::ReportUsage(grpc::ServerContext* context,
                                             const cosmo::v1::ReportUsageRequest* request,
                                             cosmo::v1::ReportUsageResponse* response) {
  if (grpc::Status auth = Authenticate(context); !auth.ok()) return auth;
  if (request->gateway_id().empty() || request->sequence() == 0) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "gateway_id and sequence (from 1) are required");
  }
  for (const auto& delta : request->deltas()) {
    if (!IsValidFamilyName(delta.family()) || !IsFullVersion(delta.version()) ||
        delta.totals().outcomes_size() > kOutcomeCount) {
      return grpc::Status(
          grpc::StatusCode::INVALID_ARGUMENT,
          absl::StrCat("deltas: bad family, version or outcomes for '", delta.family(), "'"));
    }
  }
  UsageMeter::Report report;
  for (const auto& delta : request->deltas()) {
    report.push_back({{delta.family(), delta.version()}, UsageFromProto(delta.totals())});
  }
  // Persisted, with the gateway's sequence, before acknowledging: an acknowledged report is never
  // lost, and a resend (to this server or another) is never counted twice.
  return ToGrpcStatus(meter_.MergeReport(request->gateway_id(), request->sequence(), report));
}

}  // namespace cosmo::control
