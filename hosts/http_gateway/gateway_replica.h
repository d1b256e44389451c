// The data plane of cosmo-gateway: a local Runtime over an in-memory Store, filled from the
// control plane. A family is pulled (GetManifest) on its first request and deployed into the
// local registry, which reproduces the same version (versions are content hashes, checked), so
// activation, compiled-code caching, limits and metering are the library's own code. A family
// whose traffic is split gets both versions and the same split (with the same canary), so the
// local runtime routes every request exactly as the servers do. A watch
// stream (WatchVersions) moves loaded families to new versions as they are deployed or rolled
// back, and drops deleted ones. Usage is reported as deltas of the local totals; while no server
// answers, the deltas simply grow (the buffer is one total per family and version, so it is
// bounded and loses nothing while the process lives), and the next report carries them.
//
// When no control plane is reachable, loaded families keep serving; a family never loaded ends
// kLoadShed (503 unavailable + Retry-After).
//
// Thread-safe. Owns its threads; Stop() (or destruction) joins them after a last usage report.
#ifndef COSMO_HOSTS_HTTP_GATEWAY_GATEWAY_REPLICA_H_
#define COSMO_HOSTS_HTTP_GATEWAY_GATEWAY_REPLICA_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "control_plane_client.h"
#include "cosmo/invocation.h"
#include "cosmo/runtime.h"
#include "cosmo/usage.h"

namespace cosmo::gateway {

struct GatewayReplicaOptions {
  absl::Duration usage_report_interval = absl::Seconds(1);
  // Random when empty.
  std::string gateway_id;
};

class GatewayReplica {
 public:
  // Borrows `client` and `runtime`, which must outlive it. Starts the watch and usage threads.
  GatewayReplica(GatewayReplicaOptions options, ControlPlaneClient* client, Runtime* runtime);
  ~GatewayReplica();

  // The HttpServer invoke function: loads the family when needed, then runs it.
  InvokeResult Invoke(absl::string_view family, const HttpRequest& request);

  // Reports usage one last time (best effort) and joins the threads. Idempotent.
  void Stop();

 private:
  static constexpr absl::string_view kTenant = "gateway";

  // What a family was loaded with: its version(s), secret names and split.
  struct Loaded {
    std::string version;
    std::vector<std::string> secret_names;
    std::string canary;
    std::vector<std::string> canary_secret_names;
    uint32_t percent = 0;
    friend bool operator==(const Loaded&, const Loaded&) = default;
  };
  static Loaded Describe(const ActiveManifest& active);

  // Pulls the family's active version (or split) and makes it the local one. NOT_FOUND removes it.
  absl::Status Load(const std::string& family);
  // Makes the local family serve `active`, as the servers do.
  absl::Status Apply(const std::string& family, const ActiveManifest& active);
  void WatchLoop();
  void UsageLoop();
  // Sends the pending report, building one from the current totals if none is pending.
  absl::Status ReportOnce();
  bool Stopping(absl::Duration wait);

  const GatewayReplicaOptions options_;
  ControlPlaneClient* const client_;
  Runtime* const runtime_;
  std::string gateway_id_;

  absl::Mutex mu_;
  // family -> what is served locally (a deploy may change only the secret names, a split only
  // the percent).
  absl::flat_hash_map<std::string, Loaded> loaded_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  grpc::ClientContext* watch_context_ ABSL_GUARDED_BY(mu_) = nullptr;

  // Serialises loads, so concurrent first requests pull a family once.
  absl::Mutex load_mu_ ABSL_ACQUIRED_BEFORE(mu_);

  // Usage reporting; touched by the usage thread (and Stop() after it joined).
  uint64_t sequence_ = 0;
  // (family, version) -> totals already acknowledged by the control plane.
  std::map<std::pair<std::string, std::string>, UsageTotals> reported_;
  struct Pending {
    cosmo::v1::ReportUsageRequest request;
    std::map<std::pair<std::string, std::string>, UsageTotals> totals;  // reported_ once acked
  };
  std::optional<Pending> pending_;

  std::thread watch_thread_;
  std::thread usage_thread_;
};

}  // namespace cosmo::gateway

#endif  // COSMO_HOSTS_HTTP_GATEWAY_GATEWAY_REPLICA_H_
