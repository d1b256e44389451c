// What every Program and Instance of one JavaScript engine shares.
//
// The engine object, its Programs and their Instances each hold a shared_ptr to the EngineCore,
// so the snapshot, the watchdog thread and the code caches live until the last of them is gone.
//
// Thread-safe.
#ifndef COSMO_ENGINE_V8_ENGINE_CORE_H_
#define COSMO_ENGINE_V8_ENGINE_CORE_H_

#include <v8.h>

#include <atomic>
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "cosmo/javascript_engine.h"
#include "engine/v8/code_cache.h"
#include "engine/v8/cpu_watchdog.h"
#include "engine/v8/fetch/destination_policy.h"
#include "engine/v8/fetch/http_client.h"
#include "engine/v8/fetch/trust_store.h"
#include "engine/v8/snapshot_sources.h"

namespace cosmo::v8engine {

class IsolatePool;

class EngineCore {
 public:
  // `options` must have been validated (fetch_allow parses); `snapshot` was built from `sources`;
  // `trust_store` holds the CAs of options.fetch_ca_file (or the system's).
  EngineCore(const JavaScriptEngineOptions& options, std::unique_ptr<const SnapshotSources> sources,
             std::string snapshot, std::shared_ptr<const TrustStore> trust_store);
  ~EngineCore();

  const JavaScriptEngineOptions& options() const { return options_; }
  // The startup snapshot; valid as long as the core.
  v8::StartupData* snapshot() { return &snapshot_data_; }
  // What Isolate::New needs with the snapshot (the natives and the runtime's external sources).
  const intptr_t* external_references() const { return sources_->ExternalReferences(); }
  CpuWatchdog& watchdog() { return watchdog_; }
  IsolatePool& pool() { return *pool_; }
  // What every request's fetch() client is configured with.
  const HttpClient::Options& fetch_options() const { return fetch_options_; }

  // The code cache of `version` (created empty on first use), keyed together with the V8
  // version so a cache is never fed to another V8 build.
  std::shared_ptr<CodeCache> CodeCacheFor(const std::string& version);
  // The code cache of the spares' warm-up module (JsInstance::WarmUp), written by the first
  // warm-up and read by every later one.
  CodeCache& warm_up_code_cache() { return warm_up_code_cache_; }

  std::atomic<uint64_t> modules_compiled{0};
  std::atomic<uint64_t> code_cache_hits{0};
  std::atomic<uint64_t> code_cache_rejected{0};
  std::atomic<uint64_t> isolates_created{0};
  std::atomic<uint64_t> spares_warmed{0};
  // Engine::SetMemoryShort(): isolates built on demand collect their snapshot garbage.
  std::atomic<bool> memory_short{false};

 private:
  const JavaScriptEngineOptions options_;
  // Before the snapshot and the pool: every isolate's runtime source points into it.
  const std::unique_ptr<const SnapshotSources> sources_;
  const std::string snapshot_;
  v8::StartupData snapshot_data_;
  CpuWatchdog watchdog_;
  const DestinationPolicy fetch_policy_;
  const std::shared_ptr<const TrustStore> trust_store_;
  const HttpClient::Options fetch_options_;
  CodeCache warm_up_code_cache_;
  // Declared after the snapshot, the watchdog and the warm-up's code cache: spares use them all
  // until the pool is gone.
  std::unique_ptr<IsolatePool> pool_;

  absl::Mutex mu_;
  // Most recently used key first; the map points into the list for O(1) promotion.
  std::list<std::pair<std::string, std::shared_ptr<CodeCache>>> lru_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, decltype(lru_)::iterator> caches_ ABSL_GUARDED_BY(mu_);
};

}  // namespace cosmo::v8engine

#endif  // COSMO_ENGINE_V8_ENGINE_CORE_H_
