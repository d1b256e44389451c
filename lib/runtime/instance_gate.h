// How many requests of a split family run at once over both its versions.
//
// Each version has its own InstancePool, and each pool lets up to RuntimeOptions::
// max_instances_per_version instances run. Without a common bound a family split 50/50 under
// load would run twice the isolates of the same family unsplit, on the same cores: more isolates
// switching on each core and twice the heaps competing for the caches, which cost a tenth of its
// throughput (docs/performance.md, "Gradual deployments"). The gate holds the two sides together
// to one version's number, whatever the percentages; the pools below it then never wait.
//
// Thread-safe. One per split activation, shared by every Serving of the split so that a change
// of percentages keeps counting the requests in flight.
#ifndef COSMO_LIB_RUNTIME_INSTANCE_GATE_H_
#define COSMO_LIB_RUNTIME_INSTANCE_GATE_H_

#include <cstddef>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace cosmo {

class InstanceGate {
 public:
  explicit InstanceGate(size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}

  // Takes one of the places, waiting up to `max_wait` (real time) for one; false when none came
  // free in time. Every true is followed by one Leave().
  bool Enter(absl::Duration max_wait);
  void Leave();

  size_t capacity() const { return capacity_; }

 private:
  const size_t capacity_;
  absl::Mutex mu_;
  size_t running_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace cosmo

#endif  // COSMO_LIB_RUNTIME_INSTANCE_GATE_H_
