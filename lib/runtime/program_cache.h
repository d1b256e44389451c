// Versions an engine has prepared, kept across the unloading of the activations that used them.
//
// A version is its content (content-addressed and immutable), so what preparing it produced — the
// engine's Program with its code cache, the manifest's environment, its resolved limits — stays
// right for as long as anything refers to the version. An activation unloaded after idling drops
// its instances (the memory worth reclaiming) but not this: its next request then skips reading
// and decoding the manifest from the store and preparing it, and goes straight to a spare
// isolate and the code cache (docs/performance.md, "Cold start").
//
// Bounded by the source bytes its Programs hold (least recently used dropped first), so a
// server that has served many versions does not keep all their sources. Thread-safe.
#ifndef COSMO_LIB_RUNTIME_PROGRAM_CACHE_H_
#define COSMO_LIB_RUNTIME_PROGRAM_CACHE_H_

#include <cstddef>
#include <list>
#include <map>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "cosmo/engine.h"
#include "cosmo/limits.h"

namespace cosmo {

// One prepared version. Immutable.
struct PreparedVersion {
  std::string engine;
  std::shared_ptr<Program> program;
  // The manifest's environment, for masking secret values in logs.
  std::map<std::string, std::string> env;
  ScriptLimits limits;
  // What the entry counts against the cache's bound: the manifest's source bytes.
  size_t bytes = 0;
};

class ProgramCache {
 public:
  explicit ProgramCache(size_t max_bytes) : max_bytes_(max_bytes) {}

  // The entry of `version`, or null.
  std::shared_ptr<const PreparedVersion> Find(const std::string& version);
  // Keeps `entry` for `version` (replacing one held), then drops least recently used entries
  // while the total is over the bound; an entry larger than the bound alone is not kept.
  void Insert(const std::string& version, std::shared_ptr<const PreparedVersion> entry);
  size_t size() const;

 private:
  using Lru = std::list<std::pair<std::string, std::shared_ptr<const PreparedVersion>>>;

  const size_t max_bytes_;
  mutable absl::Mutex mu_;
  Lru lru_ ABSL_GUARDED_BY(mu_);  // most recently used first
  absl::flat_hash_map<std::string, Lru::iterator> index_ ABSL_GUARDED_BY(mu_);
  size_t bytes_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace cosmo

#endif  // COSMO_LIB_RUNTIME_PROGRAM_CACHE_H_
