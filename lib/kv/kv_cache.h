// The hot-key read cache of a KvStore: entries (and misses) of small values, bounded by bytes,
// least recently used evicted first.
//
// Reads race with writes: a reader may fetch an old value from the Store just before a write
// commits and try to cache it just after the write invalidated the key. Every invalidation bumps
// a counter; a reader takes the counter before its Store read (BeginFill) and its insert is
// dropped if any invalidation happened since. That is conservative (a write to any key can drop a
// fill of another) but never caches a stale value.
//
// Thread-safe.
#ifndef COSMO_LIB_KV_KV_CACHE_H_
#define COSMO_LIB_KV_KV_CACHE_H_

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "cosmo/kv.h"

namespace cosmo::kv {

class KvCache {
 public:
  // What a lookup finds: a cached entry (nullptr value = cached absence).
  struct Hit {
    std::shared_ptr<const KvEntry> entry;
  };

  explicit KvCache(size_t capacity_bytes) : capacity_bytes_(capacity_bytes) {}

  // The cached state of `key` (a Store key), or std::nullopt when not cached.
  std::optional<Hit> Lookup(absl::string_view key);

  // A ticket for a fill: pass it to Insert() after reading the Store.
  uint64_t BeginFill();
  // Caches `entry` (nullptr: the key is absent) unless an invalidation happened since `ticket`.
  void Insert(absl::string_view key, std::shared_ptr<const KvEntry> entry, uint64_t ticket);

  // Sets `key` to `entry` (nullptr: absent) as a write that just committed left it. Counts as an
  // invalidation for fills in flight.
  void Replace(absl::string_view key, std::shared_ptr<const KvEntry> entry);
  void Invalidate(absl::string_view key);
  void Clear();

  size_t bytes() const;

 private:
  struct Slot {
    std::shared_ptr<const KvEntry> entry;
    std::list<std::string>::iterator lru;
    size_t bytes = 0;
  };

  void InsertLocked(absl::string_view key, std::shared_ptr<const KvEntry> entry, size_t bytes)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void EraseLocked(absl::flat_hash_map<std::string, Slot>::iterator it)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const size_t capacity_bytes_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Slot> slots_ ABSL_GUARDED_BY(mu_);
  // Most recently used at the front.
  std::list<std::string> lru_ ABSL_GUARDED_BY(mu_);
  size_t bytes_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t invalidations_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace cosmo::kv

#endif  // COSMO_LIB_KV_KV_CACHE_H_
