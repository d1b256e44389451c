// The running instances of one version of one family.
//
// Requests borrow an idle instance (or start a new one while fewer than `max_instances` exist,
// or wait for one to be returned) and give it back afterwards. An instance that reports it is no
// longer reusable (it hit a limit) is destroyed on return; so is every instance returned after
// the pool was retired (its version was replaced or unloaded), which is how in-flight requests
// finish on the old version while new ones start on the new.
//
// How many instances a version gets is decided like renting against buying: a request that finds
// every instance busy first waits for one to come back, and the pool starts another only once
// requests have been kept waiting, since its last start, for as long as starting one costs (the
// last starts' measured time). The rent is the wall time during which at least one request waited
// and no instance was starting — the union of the waits, not their sum: one more instance could
// have served at most one waiter at a time, so it would have spared at most that much, however
// many waited together. A burst of short requests arriving at once (streams that park after their
// first section, say) then costs the time the queue took to drain, not that time once per request
// in it; and the waits while an instance starts are what that start answers, so they do not buy
// another. The waiters that reach the price together start one instance between them, not one
// each. A family whose requests take microseconds and rarely find every instance busy keeps one
// or two, instead of paying milliseconds and megabytes (and the optimizing compiler's work
// again) for an isolate per burst; one whose requests keep others waiting (network waits, long
// computations, or simply more requests than its instances serve: a queue that lasts many
// starts' time) grows, one instance per start's worth of waiting, up to `max_instances`.
// Instances idle beyond the newest are destroyed by TrimIdle() (and first when memory is short,
// ShedSpares()), so a family whose concurrency dropped goes back to one.
//
// Instances with parked streams (Instance::ParkedStreams(), docs/architecture.md "Parked
// streams") stay idle in the pool between the sections the StreamDriver runs for them, serving
// other requests meanwhile; TakeParkedDue() lends one out to run those. Trimming, shedding and
// retiring never destroy such an instance: a retired pool keeps it until its streams ended.
//
// A pool most of whose requests park their streams (Release(..., Lent::kParked)) grows by rent
// only up to ParkingLimits::instances (the hardware threads, at least 2), for as long as its
// instances keep coming back. Such a request holds its instance only for its first section, well
// under a millisecond of CPU, so the queue a burst of them forms is work for the cores, which
// more instances than cores do not do sooner; each extra instance, though, keeps its share of the
// streams for their whole life, compiling and collecting their JavaScript on its own and holding
// its memory. When no instance came back for ParkingLimits::release_gap while requests waited,
// requests are holding instances (a fetch, a slow computation) and the pool grows as usual.
//
// Thread-safe.
#ifndef COSMO_LIB_RUNTIME_INSTANCE_POOL_H_
#define COSMO_LIB_RUNTIME_INSTANCE_POOL_H_

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "cosmo/clock.h"
#include "cosmo/engine.h"
#include "cosmo/limits.h"

namespace cosmo {

// Shared by every pool of a runtime.
struct InstancePoolCounters {
  std::atomic<uint64_t> created{0};
  std::atomic<uint64_t> discarded{0};
  // The sum of the pools' MemoryBytes(), kept as they change: what the memory budget reads on
  // every activation without visiting a thousand pools.
  std::atomic<size_t> memory_bytes{0};
};

// How an InstancePool most of whose requests park their streams grows (its class comment).
struct InstancePoolParkingLimits {
  // The most instances rent buys while most requests park; 0: no bound but max_instances.
  size_t instances = 0;
  // Rent buys more again once no instance came back for this long while requests waited.
  absl::Duration release_gap = absl::Milliseconds(25);
};

class InstancePool {
 public:
  using ParkingLimits = InstancePoolParkingLimits;
  // What the request an instance was lent for did, told when it comes back (Release()).
  enum class Lent {
    kServed,  // answered a request
    kParked,  // answered a request whose streamed response parked in the instance
    kOther,   // anything else: the stream driver's turn, a warm-up
  };

  // `clock` (not owned, outlives the pool) times how long instances stay idle. `parked_wake`
  // becomes each new instance's Instance::SetParkedWakeHandler() (may be empty).
  InstancePool(std::shared_ptr<Program> program, ScriptLimits limits, size_t max_instances,
               InstancePoolCounters* counters, const Clock* clock,
               std::function<void()> parked_wake = nullptr, ParkingLimits parking = {});
  ~InstancePool();

  // An idle instance; else, while fewer than `max_instances` exist, one returned before the
  // requests kept waiting have waited as long as a start takes (the class comment), or a new one,
  // at the latest after `max_wait`; else one returned within `max_wait` (real time).
  // DEADLINE_EXCEEDED when none came back in time; the Instantiate() error when a new instance
  // failed to start.
  absl::StatusOr<std::unique_ptr<Instance>> Acquire(absl::Duration max_wait);

  // Gives an instance back after what it was lent for.
  void Release(std::unique_ptr<Instance> instance, Lent lent = Lent::kOther);

  // An idle instance with parked streams whose NextParkedWake() is at or before `now`, out of the
  // pool until Release(); null when none is. Requests meanwhile get another instance.
  std::unique_ptr<Instance> TakeParkedDue(absl::Time now);
  // The earliest NextParkedWake() of the idle instances (InfiniteFuture() when none has parked
  // streams), and the streams parked in idle instances.
  absl::Time NextParkedWake() const;
  size_t ParkedStreams() const;

  // Instances taken out of a pool for the caller to destroy, outside any lock of its own that
  // others wait for: disposing an isolate takes a while (~0.4 ms of CPU for a small one).
  using Doomed = std::vector<std::unique_ptr<Instance>>;

  // Destroys idle instances, other than the most recently used one, that have been idle for
  // `idle_for` or longer. Returns how many.
  size_t TrimIdle(absl::Duration idle_for);
  // Destroys the idle instances, other than the most recently used one, idle for `idle_for` or
  // longer (every one but the newest with the default), or moves them into `*doomed` when given.
  // Returns the bytes that frees, as MemoryBytes() counts them (at once, either way).
  size_t ShedSpares(absl::Duration idle_for = absl::ZeroDuration(), Doomed* doomed = nullptr);

  // The maintenance pass over the idle instances, one lock of the pool when nothing is due:
  // TrimIdle(`spare_idle_for`), then gives back the memory idle instances can spare
  // (Instance::ReleaseMemory(), a full GC for JavaScript), once per idle spell: for instances idle
  // `release_idle_for` or longer, oldest first, until `deadline` (real time) passes. Each is out
  // of the pool while it releases (a request arriving then starts or rents another), and returns
  // to its place. Returns how many released their memory.
  size_t MaintainIdle(absl::Duration spare_idle_for, absl::Duration release_idle_for,
                      absl::Time deadline);
  // MaintainIdle()'s memory release alone, for the memory budget: instances idle `idle_for` or
  // longer that have not released in this idle spell, and hold `min_gain` bytes or more over what
  // an instance of this pool held after its last release (any, before the first), give back
  // their garbage, oldest first, until `deadline` (real time) passes. Returns how many released
  // and the bytes that frees, as MemoryBytes() counts them.
  struct Released {
    size_t instances = 0;
    size_t bytes = 0;
  };
  Released ReleaseIdleMemory(absl::Duration idle_for, size_t min_gain, absl::Time deadline);

  // Destroys idle instances without parked streams (or moves them into `*doomed` when given);
  // later releases destroy theirs, once they have no parked streams. Idempotent.
  void Retire(Doomed* doomed = nullptr);

  // Memory held by idle instances, as last measured, plus an estimate for busy ones.
  size_t MemoryBytes() const;
  size_t live_instances() const;
  // Requests waiting in Acquire() for a busy instance now.
  size_t waiting() const;
  const ScriptLimits& limits() const { return limits_; }
  const std::shared_ptr<Program>& program() const { return program_; }

 private:
  struct Idle {
    std::unique_ptr<Instance> instance;
    absl::Time since;
    bool memory_released = false;  // MaintainIdle() released its memory in this idle spell
  };
  enum class Turn { kIdle, kStart, kShed };
  // What a request that found every instance busy does (mu_ held, the caller counted in
  // waiting_): waits until an instance is idle (kIdle), or until it should start one (kStart:
  // the rent reached a start's cost with no start under way, or `give_up` passed below the
  // limit), or until `give_up` passed at the limit (kShed).
  Turn AwaitTurn(absl::Time give_up) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The rent clock runs while a request waits and no instance is starting. RentAt() is the rent
  // at `now`; PauseRent() before waiting_ or starting_ change and ResumeRent() after keep rent_
  // and rent_since_ true across the change.
  bool RentRunning() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Duration RentAt(absl::Time now) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void PauseRent(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ResumeRent(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // One more request waiting (`waits`), or one fewer.
  void CountWaiter(bool waits, absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Whether the parking bound holds at `now`: most requests park, and an instance came back (or
  // the waiting began) within the release gap.
  bool ParkingBound(absl::Time now) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<std::unique_ptr<Instance>> Create() ABSL_LOCKS_EXCLUDED(mu_);
  std::unique_ptr<Instance> TakeIdle() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Moves the idle instances among the `n` least recently used that have no parked streams out
  // of the pool (n < idle_.size()), for the caller to destroy after dropping mu_.
  std::vector<Idle> TakeOldestIdle(size_t n) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // TrimIdle()'s choice: the idle spares (all but the newest) idle `idle_for` or longer at `now`,
  // taken as TakeOldestIdle() does.
  std::vector<Idle> TakeIdleSpares(absl::Duration idle_for, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Moves the oldest idle instance idle `idle_for` or longer at `now` that has not released its
  // memory in this idle spell (and, with a `min_gain`, holds that much over released_floor_) into
  // *taken; false when there is none or `deadline` (real time) passed.
  bool TakeDueForRelease(absl::Duration idle_for, size_t min_gain, absl::Time now,
                         absl::Time deadline, Idle* taken) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Releases the memory of `taken` (when `due`) and of each next instance TakeDueForRelease()
  // finds, outside mu_, putting each back in its place. Returns how many released.
  size_t ReleaseWhileDue(Idle taken, bool due, absl::Duration idle_for, size_t min_gain,
                         absl::Time deadline) ABSL_LOCKS_EXCLUDED(mu_);
  // What Release() and MaintainIdle() do first with an instance coming back: one that hit a limit
  // (counted as discarded), or whose pool was retired and whose parked streams ended, leaves the
  // pool. Then it is counted out of live_ here and true is returned; the caller destroys it after
  // dropping mu_. Otherwise the caller puts it back in idle_.
  bool CountOutIfUnwanted(const Instance& instance) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Moves the instances of `taken` (out of the pool) into `*doomed` when given; otherwise they
  // stay in `taken`, to be destroyed with it.
  static void HandOver(std::vector<Idle>& taken, Doomed* doomed);
  // Brings counters_->memory_bytes up to date with MemoryBytes(); called after every change of
  // live_ or bytes_per_instance_.
  void CountMemory() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::shared_ptr<Program> program_;
  const ScriptLimits limits_;
  const size_t max_instances_;
  InstancePoolCounters* const counters_;
  const Clock* const clock_;
  const std::function<void()> parked_wake_;
  const ParkingLimits parking_;

  mutable absl::Mutex mu_;
  std::vector<Idle> idle_ ABSL_GUARDED_BY(mu_);  // most recently released last
  size_t live_ ABSL_GUARDED_BY(mu_) = 0;         // idle + busy + being created
  bool retired_ ABSL_GUARDED_BY(mu_) = false;
  // Memory of one instance as last measured; busy instances are counted at this size.
  size_t bytes_per_instance_ ABSL_GUARDED_BY(mu_) = 0;
  // What this pool last added to counters_->memory_bytes.
  size_t counted_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t releases_ ABSL_GUARDED_BY(mu_) = 0;
  // What an instance held right after its last ReleaseMemory(); 0 before the first.
  size_t released_floor_ ABSL_GUARDED_BY(mu_) = 0;
  // What starting an instance took (a moving average), and the rent: the wall time since the last
  // start during which at least one request waited for a busy instance and none was starting
  // (up to rent_since_ while the clock runs). When the rent reaches the cost, a start is due.
  absl::Duration start_cost_ ABSL_GUARDED_BY(mu_) = absl::ZeroDuration();
  absl::Duration rent_ ABSL_GUARDED_BY(mu_) = absl::ZeroDuration();
  absl::Time rent_since_ ABSL_GUARDED_BY(mu_);
  size_t waiting_ ABSL_GUARDED_BY(mu_) = 0;   // requests in AwaitTurn()
  size_t starting_ ABSL_GUARDED_BY(mu_) = 0;  // instances being instantiated
  // Counts finished starts (failed ones too), so that waiters look again at the rent.
  uint64_t starts_ended_ ABSL_GUARDED_BY(mu_) = 0;
  // The share of recent requests that parked a stream (a moving average over about 8).
  double parked_share_ ABSL_GUARDED_BY(mu_) = 0;
  // While requests wait: when an instance last came back, or the waiting began if later.
  absl::Time last_return_ ABSL_GUARDED_BY(mu_);
};

}  // namespace cosmo

#endif  // COSMO_LIB_RUNTIME_INSTANCE_POOL_H_
