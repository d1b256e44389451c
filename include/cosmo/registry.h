// The versioned registry of route families: deploy, validate, history, rollback, delete.
//
// A family (the first URL path segment, e.g. `shop` for /shop/*) has one active version at a time
// — or, during a gradual deployment, two versions sharing its requests by percentage (a traffic
// split: TrafficSplit, docs/deployments.md) — and a history of every change. A version is the
// SHA-256 of its manifest's canonical CBOR (manifest.h); the manifest is stored once per version as
// a blob, shared by every family that deploys the same content. Every change is one atomic, guarded
// Store commit, so concurrent deploys to one family serialise (by compare-and-set on the family
// record) and an acknowledged deploy is never lost; a commit whose outcome is unknown (UNAVAILABLE)
// is safe to retry because deploys are idempotent by content.
//
// Ownership: a family belongs to the tenant that first deployed it; every operation names the
// calling tenant and gets PERMISSION_DENIED on another tenant's family. Deleting a family frees
// its name.
//
// Error codes: INVALID_ARGUMENT (bad name, manifest, limits, or code — the message names the
// field), NOT_FOUND (family, version), PERMISSION_DENIED (another tenant's family),
// FAILED_PRECONDITION (rollback with no earlier version, a split where none can be, promote
// without a split), ABORTED (expected_version did not match,
// or too much contention), UNAVAILABLE / DATA_LOSS from the store.
//
// The Registry borrows its Store, Clock and Engines, which must outlive it. Thread-safe.
#ifndef COSMO_REGISTRY_H_
#define COSMO_REGISTRY_H_

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
#include "cosmo/engine.h"
#include "cosmo/limits.h"
#include "cosmo/manifest.h"
#include "cosmo/store.h"

namespace cosmo {

// Bounds on what a deploy may ask for and hold (Deploy() and Validate() answer INVALID_ARGUMENT
// naming the bound a manifest exceeds), and how hard a change retries. Checked by NewRegistry().
struct RegistryOptions {
  // Server caps: a manifest's `limits` may lower them, never raise them (limits.h).
  ScriptLimits caps;
  // Largest source of one deploy: names plus contents of its files (Manifest::SourceBytes()).
  // The server's --max-script-bytes.
  size_t max_script_bytes = size_t{5} << 20;
  // Most files one deploy may hold.
  size_t max_files = 100;
  // Most env variables, and their total size (names plus values).
  size_t max_env_vars = 128;
  size_t max_env_bytes = 64 << 10;
  // Attempts of one change against concurrent writers (in other processes) before ABORTED.
  int max_commit_attempts = 64;

  absl::Status Validate() const;
};

struct DeployRequest {
  std::string tenant;
  std::string family;
  Manifest manifest;
  // Names of env variables whose values are secret; each must be a key of manifest.env
  // (INVALID_ARGUMENT otherwise). Recorded per family and version, outside the manifest, so they
  // do not change the version: deploying the active content with other names updates them
  // without a new version or history entry (created == false). Order and repeats do not matter.
  std::vector<std::string> secret_names;
  // When set, deploy only if the family's active version starts with this (8+ hex digits), or,
  // when empty, only if the family does not exist yet; ABORTED otherwise.
  std::optional<std::string> expected_version;
  // When set (0..100), the deployed version becomes the canary of a traffic split serving this
  // percent of requests, and the version active before serves the rest. FAILED_PRECONDITION for a
  // family with no version yet. While a family is split, a deploy of a version other than the
  // split's two is refused (FAILED_PRECONDITION: promote or roll back first); a deploy of one of
  // the two changes nothing (created == false).
  std::optional<uint32_t> percent;
};

// Two versions sharing a family's requests: `canary` serves `canary_percent` (0..100) percent of
// them and `base` the rest. A request with a Cosmo-Version-Key hashes to a bucket 0..99 and goes
// to the canary when the bucket is below canary_percent (version_router.h), so raising the
// canary's share only moves keys to it and lowering it only moves keys away.
struct TrafficSplit {
  std::string base;    // full version
  std::string canary;  // full version
  uint32_t canary_percent = 0;

  friend bool operator==(const TrafficSplit&, const TrafficSplit&) = default;
};

// One version and its share, as `cosmoctl split FAMILY VERSION=PERCENT VERSION=PERCENT` names it.
struct VersionShare {
  // A version of the family's history: the full hash or a unique prefix of 8+ hex digits.
  std::string version;
  uint32_t percent = 0;
};

struct SplitRequest {
  std::string tenant;
  std::string family;
  // Two different versions of the family's history with percents summing to 100.
  VersionShare first;
  VersionShare second;
  // Which one is the canary. By default the registry keeps keys where they are: the pair of the
  // current split keeps its roles; otherwise the version serving now (the base while split)
  // stays the base, or the current canary stays the canary; failing all that, the version the
  // family got later is the canary. A replica copying another registry's split sets this and
  // names the canary `second`.
  bool second_is_canary = false;
};

struct DeployResult {
  std::string version;
  // True when the deploy changed the active version (and so wrote a history entry); false when
  // the content was already active.
  bool created = false;
  // The version that was active before (empty for a new family).
  std::string previous_version;
};

enum class HistoryAction { kDeploy, kRollback, kSplit, kPromote };

struct HistoryEntry {
  uint64_t sequence = 0;  // 1 for the family's first deploy, then consecutive
  // The version deployed, rolled back to or promoted; for kSplit the split's canary.
  std::string version;
  HistoryAction action = HistoryAction::kDeploy;
  absl::Time time;
  uint64_t size_bytes = 0;  // stored manifest size
  std::string tenant;
  std::string previous_version;  // active before this entry; empty for the first
  // The split this entry left in place; none when it left one version serving.
  std::optional<TrafficSplit> split;
};

struct FamilyInfo {
  std::string family;
  std::string owner_tenant;
  // The version serving requests; during a split, the split's base.
  std::string active_version;
  std::string engine;
  // Set while the family's requests are split between two versions.
  std::optional<TrafficSplit> split;
  absl::Time created;
  absl::Time updated;
  uint64_t history_length = 0;
  // Secret env names of the active version, sorted. Filled by GetFamily(), not ListFamilies().
  std::vector<std::string> secret_names;
};

// What the data plane needs to serve a family; no ownership check.
struct ActiveVersion {
  // The version serving requests; during a split, the split's base.
  std::string version;
  std::string engine;
  // Env names whose values are secret in this version, sorted: whoever shows the script's output
  // masks their values.
  std::vector<std::string> secret_names;
  // During a traffic split: the canary, which serves `percent` percent of requests.
  struct Canary {
    std::string version;
    std::string engine;
    std::vector<std::string> secret_names;
    uint32_t percent = 0;
  };
  std::optional<Canary> canary;
};

struct PageRequest {
  // 0 means the default (100); larger values are capped at 1000.
  size_t page_size = 0;
  // Empty for the first page, otherwise the previous page's next_page_token.
  std::string page_token;
};

template <typename T>
struct Page {
  std::vector<T> items;
  // Empty when there are no more items.
  std::string next_page_token;
};

// The registry described at the top of this file; made by NewRegistry(). Thread-safe.
class Registry {
 public:
  virtual ~Registry() = default;

  // Validates and stores `request.manifest`, then makes it the family's active version. Deploying
  // the active content again changes nothing (created == false).
  virtual absl::StatusOr<DeployResult> Deploy(const DeployRequest& request) = 0;

  // Everything Deploy() checks about a manifest, without storing it.
  virtual absl::Status Validate(const Manifest& manifest) = 0;

  virtual absl::StatusOr<FamilyInfo> GetFamily(absl::string_view tenant,
                                               absl::string_view family) = 0;

  // The tenant's families in name order.
  virtual absl::StatusOr<Page<FamilyInfo>> ListFamilies(absl::string_view tenant,
                                                        const PageRequest& page) = 0;

  // The family's history, newest first.
  virtual absl::StatusOr<Page<HistoryEntry>> History(absl::string_view tenant,
                                                     absl::string_view family,
                                                     const PageRequest& page) = 0;

  // Activates `version` (a full hash or a unique prefix of 8+ hex digits of a version this family
  // has had) or, without one, the version that was active before the current one — so two
  // rollbacks in a row return to where they started, like `kubectl rollout undo`. On a split
  // family it ends the split: without a version it returns to the split's base. Recorded in
  // history. Returns the history entry written (or, if `version` is already active, the latest).
  virtual absl::StatusOr<HistoryEntry> Rollback(absl::string_view tenant, absl::string_view family,
                                                std::optional<absl::string_view> version) = 0;

  // Sets or changes the family's traffic split (SplitRequest). Recorded in history as kSplit;
  // returns that entry (or, when the split is already exactly this, the latest entry).
  // INVALID_ARGUMENT for percents not summing to 100 or one version named twice.
  virtual absl::StatusOr<HistoryEntry> Split(const SplitRequest& request) = 0;

  // Ends the family's split by making its canary the only version (FAILED_PRECONDITION when the
  // family is not split). Recorded in history as kPromote; returns that entry.
  virtual absl::StatusOr<HistoryEntry> Promote(absl::string_view tenant,
                                               absl::string_view family) = 0;

  // Removes the family, its history and its version list; manifests no other family uses are
  // deleted too. The name becomes free.
  virtual absl::Status DeleteFamily(absl::string_view tenant, absl::string_view family) = 0;

  // The full version this family has had that starts with `prefix` (8+ hex digits). NOT_FOUND if
  // none, INVALID_ARGUMENT if several match or the prefix is malformed.
  virtual absl::StatusOr<std::string> ResolveVersion(absl::string_view tenant,
                                                     absl::string_view family,
                                                     absl::string_view prefix) = 0;

  // The stored manifest of `version`, verified against its hash (DATA_LOSS on mismatch).
  virtual absl::StatusOr<Manifest> LoadManifest(absl::string_view version) = 0;

  // The active version of `family` (NOT_FOUND if none), for serving requests.
  virtual absl::StatusOr<ActiveVersion> GetActiveVersion(absl::string_view family) = 0;

  // Called with the family's name after every committed deploy, rollback, split, promote or
  // delete of it. For a
  // change made through this Registry, the listener runs on the caller's thread before the call
  // that made it returns. When the Store supports Watch() (etcd), changes made through other
  // Registries on the same store (other cosmo-servers) are reported too, on the store's watch
  // thread, usually within milliseconds of their commit; a local change is then reported a second
  // time, and after a watch resync every family is reported, so listeners must treat a call as
  // "look again", never as "exactly one change happened". Listeners must be quick and must not
  // call the Registry's mutating methods. Listeners cannot be removed: whoever adds one must
  // outlive the Registry or make the listener safe after it is gone; destroying the Registry stops
  // the watch first, so no listener runs after the destructor returns.
  using ChangeListener = std::function<void(absl::string_view family)>;
  virtual void AddChangeListener(ChangeListener listener) = 0;
};

// A registry over `store`. `engines` are the languages it accepts, looked up by Engine::name();
// they validate code at deploy. All pointers are borrowed. INVALID_ARGUMENT for a null pointer,
// two engines of one name or a bad option. On a store that supports Watch() it follows changes
// made through other Registries from here on (see AddChangeListener); an error starting that
// watch fails the call.
absl::StatusOr<std::unique_ptr<Registry>> NewRegistry(Store* store, std::vector<Engine*> engines,
                                                      Clock* clock, RegistryOptions options = {});

// Family names: ^[a-z0-9][a-z0-9-]{0,62}$. Tenants: ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$.
bool IsValidFamilyName(absl::string_view family);
bool IsValidTenantName(absl::string_view tenant);

}  // namespace cosmo

#endif  // COSMO_REGISTRY_H_
