// The running instances of one version of one family.
//
// Requests borrow an idle instance (or start a new one while fewer than `max_instances` exist,
// or wait for one to be returned) and give it back afterwards. An instance that reports it is no
// longer reusable (it hit a limit) is destroyed on return; so is every instance returned after
// the pool was retired (its version was replaced or unloaded), which is how in-flight requests
// finish on the old version while new ones start on the new.
//
// Thread-safe.
#ifndef COSMO_LIB_RUNTIME_INSTANCE_POOL_H_
#define COSMO_LIB_RUNTIME_INSTANCE_POOL_H_

#include <atomic>
#include <cstddef>
#include <memory>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "cosmo/engine.h"
#include "cosmo/limits.h"

namespace cosmo {

struct InstancePoolCounters {
  std::atomic<uint64_t> created{0};
  std::atomic<uint64_t> discarded{0};
};

class InstancePool {
 public:
  InstancePool(std::shared_ptr<Program> program, ScriptLimits limits, size_t max_instances,
               InstancePoolCounters* counters);
  ~InstancePool();

  // An idle instance, a new one, or — when `max_instances` are busy — one returned within
  // `max_wait` (real time). DEADLINE_EXCEEDED when none came back in time; the Instantiate()
  // error when a new instance failed to start.
  absl::StatusOr<std::unique_ptr<Instance>> Acquire(absl::Duration max_wait);

  // Gives an instance back after a request.
  void Release(std::unique_ptr<Instance> instance);

  // Destroys idle instances; later releases destroy theirs. Idempotent.
  void Retire();

  // Memory held by idle instances, as last measured, plus an estimate for busy ones.
  size_t MemoryBytes() const;
  size_t live_instances() const;
  const ScriptLimits& limits() const { return limits_; }
  const std::shared_ptr<Program>& program() const { return program_; }

 private:
  const std::shared_ptr<Program> program_;
  const ScriptLimits limits_;
  const size_t max_instances_;
  InstancePoolCounters* const counters_;

  mutable absl::Mutex mu_;
  std::vector<std::unique_ptr<Instance>> idle_ ABSL_GUARDED_BY(mu_);
  size_t live_ ABSL_GUARDED_BY(mu_) = 0;  // idle + busy + being created
  bool retired_ ABSL_GUARDED_BY(mu_) = false;
  // Memory of one instance as last measured; busy instances are counted at this size.
  size_t bytes_per_instance_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t releases_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace cosmo

#endif  // COSMO_LIB_RUNTIME_INSTANCE_POOL_H_
