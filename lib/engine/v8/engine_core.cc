#include "engine/v8/engine_core.h"

#include "absl/strings/str_cat.h"
#include "engine/v8/isolate_pool.h"
#include "engine/v8/v8_platform.h"

namespace cosmo::v8engine {

EngineCore::EngineCore(const JavaScriptEngineOptions& options,
                       std::unique_ptr<const SnapshotSources> sources, std::string snapshot,
                       std::shared_ptr<const TrustStore> trust_store)
    : options_(options),
      sources_(std::move(sources)),
      snapshot_(std::move(snapshot)),
      snapshot_data_{snapshot_.data(), static_cast<int>(snapshot_.size())},
      watchdog_(options.watchdog_interval),
      fetch_policy_(DestinationPolicy::Create(options.fetch_allow).value_or(DestinationPolicy())),
      trust_store_(std::move(trust_store)),
      fetch_options_{.policy = &fetch_policy_,
                     .trust_store = trust_store_.get(),
                     .max_response_bytes = options.fetch_max_response_bytes,
                     .connect_timeout = options.fetch_connect_timeout},
      pool_(std::make_unique<IsolatePool>(this, options.spare_isolates)) {}

EngineCore::~EngineCore() = default;

std::shared_ptr<CodeCache> EngineCore::CodeCacheFor(const std::string& version) {
  std::string key = absl::StrCat(version, "@", V8Platform::Version());
  absl::MutexLock lock(&mu_);
  auto it = caches_.find(key);
  if (it != caches_.end()) {
    lru_.splice(lru_.begin(), lru_, it->second);
    return it->second->second;
  }
  lru_.emplace_front(key, std::make_shared<CodeCache>());
  caches_[key] = lru_.begin();
  while (lru_.size() > std::max<size_t>(options_.max_cached_versions, 1)) {
    caches_.erase(lru_.back().first);
    lru_.pop_back();
  }
  return lru_.front().second;
}

}  // namespace cosmo::v8engine
