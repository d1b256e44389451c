// The single writer of a KvStore: puts, deletes and sweeps queue here, and one thread turns
// whatever is queued into one guarded, synced Store commit (group commit). While a commit syncs,
// new writes queue up and go together in the next one, so N concurrent writers cost about one
// fsync per group instead of N.
//
// A group reads the current namespace records, size records and entry metas it touches, applies
// its writes in queue order in memory (each write is checked on its own: a write over the quota or
// to a missing namespace fails alone and the rest of the group commits), and commits the outcome
// guarded on everything it read. Another server's commit in between makes the guards fail; the
// group re-reads and tries again.
//
// Thread-safe. Owns its thread; the destructor finishes every queued write first.
#ifndef COSMO_LIB_KV_GROUP_COMMITTER_H_
#define COSMO_LIB_KV_GROUP_COMMITTER_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "cosmo/clock.h"
#include "cosmo/kv.h"
#include "cosmo/store.h"

namespace cosmo::kv {

// One queued write.
struct KvWrite {
  enum class Kind {
    kPut,
    kDelete,
    // Delete the entry only if it still carries `sweep_write_id` and has expired.
    kSweep,
  };
  Kind kind = Kind::kPut;
  std::string ns;
  std::string key;
  std::string value;
  std::optional<std::string> metadata;
  int64_t expiration = 0;  // Unix seconds; 0 for none
  // Control-plane writes: create the namespace for this tenant if missing, refuse another's.
  std::string tenant;
  uint64_t sweep_write_id = 0;
  KvStore::Callback done;
};

class GroupCommitter {
 public:
  // An entry a commit changed.
  struct Change {
    const std::string& ns;
    const std::string& key;
    bool deleted = false;
    // The new entry, for a put of a value of at most max_cached_value_bytes; nullptr otherwise.
    std::shared_ptr<const KvEntry> entry;
  };
  // Runs for every entry a commit changed, before any write's callback.
  using CommittedFn = std::function<void(const Change& change)>;

  GroupCommitter(Store* store, Clock* clock, const KvStoreOptions& options, CommittedFn committed);
  ~GroupCommitter();

  void Submit(KvWrite write);

  uint64_t commits() const { return commits_.load(std::memory_order_relaxed); }

 private:
  void Run();
  bool HasWorkOrStopping() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return stopping_ || !queue_.empty();
  }
  // The next group, in queue order; empty once stopping and drained.
  std::vector<KvWrite> TakeGroup();
  void CommitGroup(std::vector<KvWrite>& group);
  // One attempt: per-write statuses, or the status of the whole commit (ABORTED: re-read).
  absl::Status TryCommit(const std::vector<KvWrite>& group, std::vector<absl::Status>& results);

  Store* const store_;
  Clock* const clock_;
  const KvStoreOptions options_;
  const CommittedFn committed_;
  std::atomic<uint64_t> commits_{0};

  mutable absl::Mutex mu_;
  std::deque<KvWrite> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // Writes the last group carried and how long its commit took: how long to wait for stragglers
  // (TakeGroup).
  size_t last_group_size_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Duration last_commit_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace cosmo::kv

#endif  // COSMO_LIB_KV_GROUP_COMMITTER_H_
