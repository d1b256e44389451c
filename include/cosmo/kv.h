// KV namespaces: durable, strongly consistent key/value state for families, with the semantics of
// the Workers KV API (docs/kv.md).
//
// A namespace is named like a family (^[a-z0-9][a-z0-9-]{0,62}$) and belongs to the tenant that
// first bound it at deploy or wrote it through the control plane. Its entries (key, value, JSON
// metadata, optional expiration) live in the platform's Store next to the registry's records:
// LevelDB on one node, etcd in a cluster.
//
// Guarantees:
//   - A Put() or Delete() that returns OK is durable (Durability::kSync) and seen by every later
//     Get() through any KvStore on the same Store. Concurrent writes share one synced commit
//     (group commit): a single committer thread gathers what is queued while the previous commit
//     syncs, so durability costs one fsync per group, not per write.
//   - Per-namespace stored bytes (key + value + metadata of live entries) are tracked exactly, in
//     the same commit as every write, and a write that would take a namespace over its quota fails
//     with RESOURCE_EXHAUSTED and writes nothing.
//   - Every limit breach fails with INVALID_ARGUMENT (or RESOURCE_EXHAUSTED for the quota) naming
//     the limit; nothing is written.
//   - An entry past its expiration is invisible at once (Get and List skip it) and deleted later
//     by SweepExpired(), which a background thread runs every `sweep_interval`.
//   - On a store only this process writes (LevelDB, memory), reads of small values come from a
//     bounded cache that every commit updates before its writers return. On a shared store
//     (Store::IsShared(), etcd) every Get() is a linearizable read of the store, so it sees every
//     write acknowledged by any server before it began; docs/kv.md says more.
//
// Error codes: INVALID_ARGUMENT (bad name, key, value, option; the message names the limit),
// NOT_FOUND (namespace, for control-plane calls), PERMISSION_DENIED (another tenant's namespace),
// FAILED_PRECONDITION (a data-plane write to a namespace that was deleted), RESOURCE_EXHAUSTED
// (quota), ABORTED (too much contention from other servers), UNAVAILABLE / DATA_LOSS from the
// Store.
//
// A KvStore borrows its Store and Clock, which must outlive it. Thread-safe.
#ifndef COSMO_KV_H_
#define COSMO_KV_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "cosmo/clock.h"
#include "cosmo/store.h"

namespace cosmo {

// The limits of DESIGN §11, as Workers KV has them, plus the per-namespace quota.
struct KvLimits {
  size_t max_key_bytes = 512;
  size_t max_value_bytes = size_t{25} << 20;
  size_t max_metadata_bytes = 1024;
  // The shortest expirationTtl, and the nearest absolute expiration (from now) a put may ask for.
  absl::Duration min_expiration_ttl = absl::Seconds(60);
  // KV operations one invocation may make (enforced by the engines' bindings).
  size_t max_operations_per_invocation = 1000;
  // Most keys one List() returns, and its default.
  size_t max_list_limit = 1000;
  // Stored bytes (keys + values + metadata) one namespace may hold: --kv-max-namespace-bytes.
  uint64_t max_namespace_bytes = uint64_t{1} << 30;

  absl::Status Validate() const;
};

struct KvStoreOptions {
  KvLimits limits;
  // Bound on the read cache: sum of cached keys and values.
  size_t cache_bytes = size_t{64} << 20;
  // Values larger than this are never cached (the cache is for hot, small entries).
  size_t max_cached_value_bytes = size_t{64} << 10;
  // Most distinct keys one group commit touches. Each needs a guard, and etcd allows 128
  // operations of a transaction's guard list by default (--max-txn-ops).
  size_t max_keys_per_commit = 100;
  // A group closes once its values reach this many bytes (a single larger write goes alone).
  size_t max_bytes_per_commit = size_t{32} << 20;
  // Attempts of one group against writes by other servers before its writes fail with ABORTED.
  int max_commit_attempts = 64;
  // How often the background sweeper deletes expired entries; zero disables the thread (tests
  // call SweepExpired()).
  absl::Duration sweep_interval = absl::Seconds(30);

  absl::Status Validate() const;
};

// What Put() stores besides the value.
struct KvPutOptions {
  // Absolute expiration, Unix seconds; 0 for none. Must be at least min_expiration_ttl from now.
  int64_t expiration = 0;
  // Relative expiration in seconds from now; 0 for none. At least min_expiration_ttl. Wins over
  // `expiration` when both are set, as in Workers KV.
  int64_t expiration_ttl = 0;
  // JSON text; std::nullopt for none. At most max_metadata_bytes.
  std::optional<std::string> metadata;
};

// One live entry.
struct KvEntry {
  std::string value;
  // JSON text, or std::nullopt when the entry has none.
  std::optional<std::string> metadata;
  // Unix seconds; 0 for none.
  int64_t expiration = 0;
};

struct KvListOptions {
  // Only keys starting with this.
  std::string prefix;
  // 1..max_list_limit; 0 means max_list_limit.
  size_t limit = 0;
  // Empty for the first page, otherwise the previous result's cursor.
  std::string cursor;
};

struct KvListKey {
  std::string name;
  int64_t expiration = 0;  // 0 for none
  std::optional<std::string> metadata;

  friend bool operator==(const KvListKey&, const KvListKey&) = default;
};

struct KvListResult {
  // In the keys' byte order.
  std::vector<KvListKey> keys;
  bool list_complete = true;
  // Pass as KvListOptions::cursor for the next page; empty when list_complete.
  std::string cursor;
};

struct KvNamespaceInfo {
  std::string name;
  std::string owner_tenant;
  absl::Time created;
  uint64_t stored_bytes = 0;
  uint64_t keys = 0;
};

// The KV service described at the top of this file; made by NewKvStore(). Thread-safe.
//
// Data-plane calls (Get, Put, Delete, List without a tenant) trust their caller: the runtime
// reaches only namespaces a family's manifest binds, and binding is tenant-checked at deploy.
// Control-plane calls take the calling tenant and check it.
class KvStore {
 public:
  using Callback = std::function<void(absl::Status)>;

  virtual ~KvStore() = default;

  // The live entry at `key`, or std::nullopt when there is none (or it has expired).
  virtual absl::StatusOr<std::optional<KvEntry>> Get(absl::string_view ns,
                                                     absl::string_view key) = 0;

  // Stores `value` at `key`, durably, and returns once the group commit that carries it is
  // synced. With a non-empty `tenant` (control plane), a missing namespace is created for that
  // tenant and another tenant's is PERMISSION_DENIED; without one (data plane) a missing
  // namespace is FAILED_PRECONDITION.
  virtual absl::Status Put(absl::string_view ns, absl::string_view key, std::string value,
                           const KvPutOptions& options, absl::string_view tenant = "") = 0;
  // Put() that returns at once and calls `done` on the committer thread once the write is durable
  // (or failed). `done` must be quick and must not call back into this KvStore synchronously.
  virtual void PutAsync(absl::string_view ns, absl::string_view key, std::string value,
                        const KvPutOptions& options, Callback done) = 0;

  // Removes `key` (OK when it is absent). Same durability and namespace rules as Put().
  virtual absl::Status Delete(absl::string_view ns, absl::string_view key,
                              absl::string_view tenant = "") = 0;
  virtual void DeleteAsync(absl::string_view ns, absl::string_view key, Callback done) = 0;

  // Live keys of the namespace in byte order, paged.
  virtual absl::StatusOr<KvListResult> List(absl::string_view ns, const KvListOptions& options) = 0;

  // Control plane: the tenant's namespaces in name order.
  virtual absl::StatusOr<std::vector<KvNamespaceInfo>> ListNamespaces(absl::string_view tenant) = 0;
  // Control plane: OK when `tenant` owns `ns`; NOT_FOUND, PERMISSION_DENIED otherwise.
  virtual absl::StatusOr<KvNamespaceInfo> GetNamespace(absl::string_view tenant,
                                                       absl::string_view ns) = 0;
  // Control plane: removes the namespace and all its entries. Families that bind it see an
  // empty namespace and cannot write to it until deployed again.
  virtual absl::Status DeleteNamespace(absl::string_view tenant, absl::string_view ns) = 0;

  // Deletes every entry whose expiration has passed, through the committer. Returns how many.
  virtual absl::StatusOr<size_t> SweepExpired() = 0;

  // Group commits made so far (for tests and metrics: puts per commit = writes / commits).
  virtual uint64_t CommitCount() const = 0;

  // The limits this store enforces (and the bindings enforce per invocation).
  virtual const KvLimits& limits() const = 0;
};

// A KvStore over `store`. Borrows `store` and `clock`. INVALID_ARGUMENT for a null pointer or a
// bad option.
absl::StatusOr<std::unique_ptr<KvStore>> NewKvStore(Store* store, Clock* clock,
                                                    KvStoreOptions options = {});

// Namespace names: ^[a-z0-9][a-z0-9-]{0,62}$, like family names.
bool IsValidKvNamespaceName(absl::string_view ns);

// Adds to `batch` what binding `namespaces` for `tenant` needs: a guard on each namespace record
// this tenant already owns (so a concurrent delete-namespace aborts the commit) and, for a new
// namespace, its creation. PERMISSION_DENIED naming the namespace when another tenant owns one.
// The registry calls this in the commit of a deploy.
absl::Status AddKvNamespaceClaims(Store* store, absl::string_view tenant,
                                  const std::vector<std::string>& namespaces, absl::Time now,
                                  WriteBatch& batch);

}  // namespace cosmo

#endif  // COSMO_KV_H_
