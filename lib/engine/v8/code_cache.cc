#include "engine/v8/code_cache.h"

namespace cosmo::v8engine {

std::shared_ptr<const std::string> CodeCache::Find(const std::string& file) const {
  absl::MutexLock lock(&mu_);
  auto it = files_.find(file);
  return it == files_.end() ? nullptr : it->second;
}

void CodeCache::Store(const std::string& file, std::string bytes) {
  absl::MutexLock lock(&mu_);
  auto& slot = files_[file];
  if (slot != nullptr) bytes_ -= slot->size();
  bytes_ += bytes.size();
  slot = std::make_shared<const std::string>(std::move(bytes));
}

void CodeCache::Drop(const std::string& file) {
  absl::MutexLock lock(&mu_);
  auto it = files_.find(file);
  if (it == files_.end()) return;
  bytes_ -= it->second->size();
  files_.erase(it);
}

size_t CodeCache::Bytes() const {
  absl::MutexLock lock(&mu_);
  return bytes_;
}

}  // namespace cosmo::v8engine
