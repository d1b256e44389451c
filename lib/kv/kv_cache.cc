#include "kv/kv_cache.h"

#include <utility>

namespace cosmo::kv {
namespace {

// Bookkeeping per slot beyond the key and value: map slot, list node, KvEntry.
constexpr size_t kSlotOverheadBytes = 128;

size_t EntryBytes(absl::string_view key, const KvEntry* entry) {
  size_t bytes = key.size() * 2 + kSlotOverheadBytes;  // the key is held by the map and the list
  if (entry != nullptr) bytes += entry->value.size() + entry->metadata.value_or("").size();
  return bytes;
}

}  // namespace

std::optional<KvCache::Hit> KvCache::Lookup(absl::string_view key) {
  absl::MutexLock lock(&mu_);
  auto it = slots_.find(key);
  if (it == slots_.end()) return std::nullopt;
  lru_.splice(lru_.begin(), lru_, it->second.lru);
  return Hit{it->second.entry};
}

uint64_t KvCache::BeginFill() {
  absl::MutexLock lock(&mu_);
  return invalidations_;
}

void KvCache::Insert(absl::string_view key, std::shared_ptr<const KvEntry> entry, uint64_t ticket) {
  const size_t bytes = EntryBytes(key, entry.get());
  if (bytes > capacity_bytes_) return;
  absl::MutexLock lock(&mu_);
  if (ticket != invalidations_) return;
  InsertLocked(key, std::move(entry), bytes);
}

void KvCache::Replace(absl::string_view key, std::shared_ptr<const KvEntry> entry) {
  const size_t bytes = EntryBytes(key, entry.get());
  absl::MutexLock lock(&mu_);
  ++invalidations_;
  if (bytes > capacity_bytes_) {
    if (auto it = slots_.find(key); it != slots_.end()) EraseLocked(it);
    return;
  }
  InsertLocked(key, std::move(entry), bytes);
}

void KvCache::InsertLocked(absl::string_view key, std::shared_ptr<const KvEntry> entry,
                           size_t bytes) {
  if (auto it = slots_.find(key); it != slots_.end()) EraseLocked(it);
  while (bytes_ + bytes > capacity_bytes_ && !lru_.empty()) EraseLocked(slots_.find(lru_.back()));
  lru_.emplace_front(key);
  slots_.emplace(std::string(key), Slot{std::move(entry), lru_.begin(), bytes});
  bytes_ += bytes;
}

void KvCache::Invalidate(absl::string_view key) {
  absl::MutexLock lock(&mu_);
  ++invalidations_;
  if (auto it = slots_.find(key); it != slots_.end()) EraseLocked(it);
}

void KvCache::Clear() {
  absl::MutexLock lock(&mu_);
  ++invalidations_;
  slots_.clear();
  lru_.clear();
  bytes_ = 0;
}

size_t KvCache::bytes() const {
  absl::MutexLock lock(&mu_);
  return bytes_;
}

void KvCache::EraseLocked(absl::flat_hash_map<std::string, Slot>::iterator it) {
  bytes_ -= it->second.bytes;
  lru_.erase(it->second.lru);
  slots_.erase(it);
}

}  // namespace cosmo::kv
