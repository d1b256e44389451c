// cosmo-gateway's client of cosmo.v1.GatewaySync on one or more cosmo-servers, failing over
// between them: each call goes to the current server; when it is unreachable (UNAVAILABLE,
// DEADLINE_EXCEEDED) the next one is tried, each once per call, and the one that answered becomes
// current. Channels reconnect quickly (100 ms .. 1 s backoff) so a restarted server is found
// within a second.
//
// Thread-safe.
#ifndef COSMO_HOSTS_HTTP_GATEWAY_CONTROL_PLANE_CLIENT_H_
#define COSMO_HOSTS_HTTP_GATEWAY_CONTROL_PLANE_CLIENT_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "cosmo/manifest.h"
#include "cosmo/v1/dashboard.grpc.pb.h"
#include "cosmo/v1/gateway.grpc.pb.h"
#include "cosmo/v1/gateway_kv.grpc.pb.h"

namespace cosmo::gateway {

struct ActiveManifest {
  // During a traffic split, the base.
  std::string version;
  Manifest manifest;
  // Env names whose values are secret, sorted.
  std::vector<std::string> secret_names;
  // During a traffic split: the canary and its percent.
  struct Canary {
    std::string version;
    Manifest manifest;
    std::vector<std::string> secret_names;
    uint32_t percent = 0;
  };
  std::optional<Canary> canary;
};

class ControlPlaneClient {
 public:
  // `addresses`: HOST:PORT of each server; `token` ("" for none) is sent as a bearer token.
  ControlPlaneClient(std::vector<std::string> addresses, std::string token,
                     absl::Duration call_timeout = absl::Seconds(1),
                     absl::Duration kv_call_timeout = absl::Seconds(30));

  // The family's active version and manifest (hash checked). NOT_FOUND when the family has none;
  // UNAVAILABLE when no server answered.
  absl::StatusOr<ActiveManifest> GetManifest(const std::string& family);

  absl::Status ReportUsage(const cosmo::v1::ReportUsageRequest& request);

  // The KV calls of families' bindings (cosmo.v1.GatewayKv), failing over like the others but
  // with `kv_call_timeout` per server: a put waits for a durable commit, which an etcd leader
  // election delays by seconds. Every KV call is safe to repeat on the next server.
  // KvGet is NOT_FOUND for a missing key.
  absl::Status KvGet(const cosmo::v1::GetKvValueRequest& request,
                     cosmo::v1::GetKvValueResponse* response);
  absl::Status KvPut(const cosmo::v1::PutKvValueRequest& request);
  absl::Status KvDelete(const cosmo::v1::DeleteKvValueRequest& request);
  absl::Status KvList(const cosmo::v1::ListKvKeysRequest& request,
                      cosmo::v1::ListKvKeysResponse* response);

  // One read call of the dashboard's API (cosmo.v1.DashboardApi) for a user of this gateway's
  // dashboard: `authorization` (their Authorization header, "" for none) is sent instead of this
  // gateway's token, so the server judges them as it judges its own dashboard's users. Fails over
  // like the others, with up to 15 s per server (sorting 10,000 families by usage takes a while).
  absl::Status DashboardRead(const cosmo::v1::DashboardReadRequest& request,
                             const std::string& authorization,
                             cosmo::v1::DashboardReadResponse* response);

  // Opens WatchVersions on the current server. `context` must outlive the reader.
  std::unique_ptr<grpc::ClientReader<cosmo::v1::VersionChange>> Watch(grpc::ClientContext* context);
  // Makes the next server current (after a watch stream broke).
  void Advance() { current_.fetch_add(1); }

  size_t size() const { return stubs_.size(); }
  std::string current_address() const { return addresses_[current_.load() % addresses_.size()]; }

 private:
  // The manifest in `cbor`, checked against its `version` (DATA_LOSS otherwise).
  static absl::StatusOr<Manifest> CheckedManifest(const std::string& family,
                                                  const std::string& cbor,
                                                  const std::string& version);
  // `authorization`, when set, replaces this gateway's bearer token.
  void Prepare(grpc::ClientContext* context, bool deadline,
               absl::Duration timeout = absl::ZeroDuration(),
               const std::string* authorization = nullptr) const;
  // `call(index, context)` on each server in turn from the current one, until one answers.
  template <typename Call>
  absl::Status WithFailover(Call call, absl::Duration timeout = absl::ZeroDuration(),
                            const std::string* authorization = nullptr);

  const std::vector<std::string> addresses_;
  const std::string token_;
  const absl::Duration call_timeout_;
  const absl::Duration kv_call_timeout_;
  std::vector<std::unique_ptr<cosmo::v1::GatewaySync::Stub>> stubs_;
  std::vector<std::unique_ptr<cosmo::v1::GatewayKv::Stub>> kv_stubs_;
  std::vector<std::unique_ptr<cosmo::v1::DashboardApi::Stub>> dashboard_stubs_;
  std::atomic<size_t> current_{0};
};

}  // namespace cosmo::gateway

#endif  // COSMO_HOSTS_HTTP_GATEWAY_CONTROL_PLANE_CLIENT_H_
