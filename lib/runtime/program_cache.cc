#include "runtime/program_cache.h"

#include <utility>

namespace cosmo {

std::shared_ptr<const PreparedVersion> ProgramCache::Find(const std::string& version) {
  absl::MutexLock lock(&mu_);
  auto it = index_.find(version);
  if (it == index_.end()) return nullptr;
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->second;
}

void ProgramCache::Insert(const std::string& version,
                          std::shared_ptr<const PreparedVersion> entry) {
  // Dropped entries are destroyed outside the lock: a Program may hold the last reference to
  // its code cache.
  Lru dropped;
  absl::MutexLock lock(&mu_);
  if (auto it = index_.find(version); it != index_.end()) {
    bytes_ -= it->second->second->bytes;
    dropped.splice(dropped.end(), lru_, it->second);
    index_.erase(it);
  }
  if (entry->bytes > max_bytes_) return;
  bytes_ += entry->bytes;
  lru_.emplace_front(version, std::move(entry));
  index_[version] = lru_.begin();
  while (bytes_ > max_bytes_) {
    bytes_ -= lru_.back().second->bytes;
    index_.erase(lru_.back().first);
    dropped.splice(dropped.end(), lru_, std::prev(lru_.end()));
  }
}

size_t ProgramCache::size() const {
  absl::MutexLock lock(&mu_);
  return lru_.size();
}

}  // namespace cosmo
