// The KvStore of cosmo-gateway's families: every data-plane call (Get, Put, Delete, List) is a
// cosmo.v1.GatewayKv call to a cosmo-server, which answers from its own KvStore. The gateway keeps
// no KV state, not even a cache: a cached read could miss a write made through another server
// or gateway, and the server's read already costs what checking a cache would (one round trip).
// So families served by a gateway see every acknowledged write, as on the servers.
//
// The data plane needs nothing else: control-plane calls (namespaces, tenant-checked writes,
// sweeping) are the servers' business and fail here with UNIMPLEMENTED.
//
// Borrows the ControlPlaneClient, which must outlive it. Thread-safe.
#ifndef COSMO_HOSTS_HTTP_GATEWAY_REMOTE_KV_STORE_H_
#define COSMO_HOSTS_HTTP_GATEWAY_REMOTE_KV_STORE_H_

#include <optional>
#include <string>
#include <vector>

#include "control_plane_client.h"
#include "cosmo/kv.h"

namespace cosmo::gateway {

class RemoteKvStore final : public KvStore {
 public:
  // `limits` are what the bindings enforce per invocation (operations); the server enforces the
  // others and names them in its errors.
  RemoteKvStore(ControlPlaneClient* client, KvLimits limits) : client_(client), limits_(limits) {}

  absl::StatusOr<std::optional<KvEntry>> Get(absl::string_view ns, absl::string_view key) override;
  absl::Status Put(absl::string_view ns, absl::string_view key, std::string value,
                   const KvPutOptions& options, absl::string_view tenant) override;
  void PutAsync(absl::string_view ns, absl::string_view key, std::string value,
                const KvPutOptions& options, Callback done) override;
  absl::Status Delete(absl::string_view ns, absl::string_view key,
                      absl::string_view tenant) override;
  void DeleteAsync(absl::string_view ns, absl::string_view key, Callback done) override;
  absl::StatusOr<KvListResult> List(absl::string_view ns, const KvListOptions& options) override;
  absl::StatusOr<std::vector<KvNamespaceInfo>> ListNamespaces(absl::string_view tenant) override;
  absl::StatusOr<KvNamespaceInfo> GetNamespace(absl::string_view tenant,
                                               absl::string_view ns) override;
  absl::Status DeleteNamespace(absl::string_view tenant, absl::string_view ns) override;
  absl::StatusOr<size_t> SweepExpired() override;
  // The gateway commits nothing itself.
  uint64_t CommitCount() const override { return 0; }
  const KvLimits& limits() const override { return limits_; }

 private:
  ControlPlaneClient* const client_;
  const KvLimits limits_;
};

}  // namespace cosmo::gateway

#endif  // COSMO_HOSTS_HTTP_GATEWAY_REMOTE_KV_STORE_H_
