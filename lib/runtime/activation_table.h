// Family name -> Activation, sharded so that requests to different families never contend on one
// lock. Lookups take a shard's reader lock; inserts and removals its writer lock.
//
// Thread-safe.
#ifndef COSMO_LIB_RUNTIME_ACTIVATION_TABLE_H_
#define COSMO_LIB_RUNTIME_ACTIVATION_TABLE_H_

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "runtime/activation.h"

namespace cosmo {

class ActivationTable {
 public:
  std::shared_ptr<Activation> Find(absl::string_view family) const;
  // The family's activation, created (unloaded, stale) if absent.
  std::shared_ptr<Activation> FindOrCreate(absl::string_view family);
  // Removes `activation` if it is still the one registered for its family.
  bool Remove(const std::shared_ptr<Activation>& activation);
  std::vector<std::shared_ptr<Activation>> All() const;
  size_t size() const;

 private:
  static constexpr size_t kShards = 16;
  struct Shard {
    mutable absl::Mutex mu;
    absl::flat_hash_map<std::string, std::shared_ptr<Activation>> map ABSL_GUARDED_BY(mu);
  };
  Shard& ShardFor(absl::string_view family);
  const Shard& ShardFor(absl::string_view family) const;

  std::array<Shard, kShards> shards_;
};

}  // namespace cosmo

#endif  // COSMO_LIB_RUNTIME_ACTIVATION_TABLE_H_
