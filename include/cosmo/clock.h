// Time source seam.
//
// Everything in CosmoCompute that reads the time for behaviour (history timestamps, idle
// unloading, metering flush intervals) reads it through a Clock, so tests can drive time with a
// ManualClock instead of sleeping. CPU time of a running script is not read here: it is a
// property of a thread, measured by the engine.
#ifndef COSMO_CLOCK_H_
#define COSMO_CLOCK_H_

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace cosmo {

// A source of the current wall-clock time. Implementations are thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;

  // The process-wide real clock. Never null; never destroyed.
  static Clock* Real();
};

// A clock that only moves when told to. Thread-safe. Starts at the Unix epoch plus one day unless
// given a start time, so "zero" timestamps in tests stay distinguishable from unset ones.
class ManualClock final : public Clock {
 public:
  ManualClock();
  explicit ManualClock(absl::Time start);

  absl::Time Now() const override;
  void Advance(absl::Duration d);
  void Set(absl::Time t);

 private:
  mutable absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
};

}  // namespace cosmo

#endif  // COSMO_CLOCK_H_
