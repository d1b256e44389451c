// The gRPC service cosmo.v1.GatewaySync (proto/cosmo/v1/gateway.proto): what cosmo-gateway needs
// from cosmo-server. GetManifest reads the active version from the Registry; WatchVersions streams
// the family names the Registry reports as changed (its change listener), each with the family's
// active version at the time it is sent; ReportUsage merges gateway usage into the Store in one
// guarded commit that also records the gateway's report sequence there, so a report resent to
// another server of a cluster after an unanswered call is counted once.
//
// Borrows the Registry, Store and TokenAuthenticator, which must outlive it; the change feed the
// Registry's listener writes to is shared, so the listener stays safe after the service is gone.
// Thread-safe.
#ifndef COSMO_LIB_CONTROL_GATEWAY_SYNC_SERVICE_H_
#define COSMO_LIB_CONTROL_GATEWAY_SYNC_SERVICE_H_

#include <atomic>
#include <deque>
#include <memory>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "control/token_authenticator.h"
#include "cosmo/registry.h"
#include "cosmo/store.h"
#include "cosmo/v1/gateway.grpc.pb.h"
#include "metering/usage_meter.h"

namespace cosmo::control {

class GatewaySyncService final : public cosmo::v1::GatewaySync::Service {
 public:
  GatewaySyncService(Registry* registry, Store* store, const TokenAuthenticator* authenticator);
  ~GatewaySyncService() override;

  // Ends WatchVersions streams promptly; call before grpc::Server::Shutdown().
  void BeginShutdown();

  grpc::Status GetManifest(grpc::ServerContext* context,
                           const cosmo::v1::GetManifestRequest* request,
                           cosmo::v1::GetManifestResponse* response) override;
  grpc::Status WatchVersions(grpc::ServerContext* context,
                             const cosmo::v1::WatchVersionsRequest* request,
                             grpc::ServerWriter<cosmo::v1::VersionChange>* writer) override;
  grpc::Status ReportUsage(grpc::ServerContext* context,
                           const cosmo::v1::ReportUsageRequest* request,
                           cosmo::v1::ReportUsageResponse* response) override;

  // The feed of changed family names, written by the Registry's listener.
  struct Feed {
    absl::Mutex mu;
    uint64_t next ABSL_GUARDED_BY(mu) = 0;  // sequence of the next change
    // The most recent changes (sequence -> family), bounded; a slow stream that falls behind the
    // window resynchronises from the oldest kept.
    std::deque<std::pair<uint64_t, std::string>> changes ABSL_GUARDED_BY(mu);
    bool shutting_down ABSL_GUARDED_BY(mu) = false;
  };

 private:
  grpc::Status Authenticate(grpc::ServerContext* context) const;
  // The stored manifest of `version`, in its canonical CBOR.
  absl::StatusOr<std::string> ManifestCbor(const std::string& version) const;

  Registry* const registry_;
  const TokenAuthenticator* const authenticator_;
  std::shared_ptr<Feed> feed_;
  UsageMeter meter_;
};

}  // namespace cosmo::control

#endif  // COSMO_LIB_CONTROL_GATEWAY_SYNC_SERVICE_H_
