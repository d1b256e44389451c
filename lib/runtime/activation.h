// One family's activation: the version serving it (or two, during a traffic split), their
// instances and usage cells, and the bookkeeping the runtime needs around it (staleness, last use,
// activation failures).
//
// The runtime (local_runtime.cc) decides; an Activation only holds state. Thread-safe.
#ifndef COSMO_LIB_RUNTIME_ACTIVATION_H_
#define COSMO_LIB_RUNTIME_ACTIVATION_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "metering/usage_meter.h"
#include "runtime/instance_gate.h"
#include "runtime/instance_pool.h"
#include "runtime/version_router.h"

namespace cosmo {

// What serves one version of a family. Immutable once published; shared by the requests using it.
struct VersionSlot {
  std::string version;
  std::shared_ptr<InstancePool> pool;
  std::shared_ptr<UsageCell> usage;
  // Values of the version's secret env variables (4+ bytes, longest first), replaced by "***" in
  // every log record the version writes.
  std::vector<std::string> secret_values;
  // The secret names those values came from, to notice when a deploy changes only them.
  std::vector<std::string> secret_names;
};

// One side of a traffic split whose version could not start (a script that throws at the top
// level, say) while the other side did. Requests routed to it are served by the other side,
// except those that pin it with Cosmo-Version-Override.
struct BrokenSide {
  VersionRouter::Side side = VersionRouter::Side::kCanary;
  std::string version;
  absl::Status why;
  // The version's usage cell: pinned requests it cannot serve count as its errors.
  std::shared_ptr<UsageCell> usage;
  // When a request next tries to start it (the runtime's clock), and the wait before that try,
  // which doubles per failure like an activation's.
  absl::Time retry_at;
  absl::Duration backoff;
};

// What serves a family's new requests: one version, or two during a traffic split, and the router
// that picks between them. Immutable once published; a change of percentages publishes a new
// Serving over the same slots, so instances stay warm and requests in flight are untouched.
struct Serving {
  // Null only for the side `broken` names.
  std::shared_ptr<const VersionSlot> base;
  std::shared_ptr<const VersionSlot> canary;  // null unless split
  VersionRouter router;
  // Bounds the requests running on both sides together (instance_gate.h); null unless split.
  std::shared_ptr<InstanceGate> gate;
  // The side of the split that could not start, if one could not.
  std::optional<BrokenSide> broken;

  // The slot serving requests routed to `side`; null when that side could not start.
  const VersionSlot* SlotOf(VersionRouter::Side side) const {
    return side == VersionRouter::Side::kCanary ? canary.get() : base.get();
  }
  // The slot standing in for `side` when it could not start.
  const VersionSlot& Other(VersionRouter::Side side) const {
    return side == VersionRouter::Side::kCanary ? *base : *canary;
  }
  // Whether a side that could not start is due another try.
  bool RetryDue(absl::Time now) const { return broken.has_value() && now >= broken->retry_at; }

  template <typename Visit>
  void ForEachSlot(Visit visit) const {
    if (base != nullptr) visit(*base);
    if (canary != nullptr) visit(*canary);
  }
  // Whether `slot`'s pool still serves here.
  bool Uses(const VersionSlot& slot) const {
    return (base != nullptr && base->pool == slot.pool) ||
           (canary != nullptr && canary->pool == slot.pool);
  }
};

class Activation {
 public:
  explicit Activation(std::string family) : family_(std::move(family)) {}

  const std::string& family() const { return family_; }

  // What serves new requests, or null before the first successful load.
  std::shared_ptr<const Serving> serving() const {
    absl::MutexLock lock(&serving_mu_);
    return serving_;
  }
  // Publishes `serving` for new requests and returns what it replaced.
  std::shared_ptr<const Serving> Swap(std::shared_ptr<const Serving> serving) {
    absl::MutexLock lock(&serving_mu_);
    std::swap(serving_, serving);
    return serving;
  }

  // The family changed in the registry: the next request re-resolves its version, even if an
  // earlier activation failure is still backing off (the change may be the fix).
  void MarkChanged() { changes_.fetch_add(1, std::memory_order_acq_rel); }
  // How many changes were announced; a load that starts by reading this and then resolves the
  // version reflects at least that many.
  uint64_t changes() const { return changes_.load(std::memory_order_acquire); }
  // Records that the published serving reflects every change up to `changes`. Called by the loader,
  // under load_mu, after Swap(): a reader that sees it fresh then also sees the new slot.
  void MarkPublished(uint64_t changes) {
    if (changes > published_.load(std::memory_order_relaxed)) {
      published_.store(changes, std::memory_order_release);
    }
  }
  // True when a change was announced after the published serving was resolved. Read it before
  // serving(): if it says fresh, the slot read afterwards is the fresh one.
  bool stale() const {
    return published_.load(std::memory_order_acquire) < changes_.load(std::memory_order_acquire);
  }

  // The store could not be read at the last load (UNAVAILABLE: an etcd cluster without a
  // majority, say) and the published serving keeps serving meanwhile. Set and cleared by the
  // loader.
  bool serving_through_outage() const {
    return serving_through_outage_.load(std::memory_order_acquire);
  }
  void set_serving_through_outage(bool value) {
    serving_through_outage_.store(value, std::memory_order_release);
  }

  // A request arrived `now`: the time for idle unloading, and one more for the family's heat.
  void Touch(absl::Time now) {
    last_used_us_.store(absl::ToUnixMicros(now), std::memory_order_relaxed);
    recent_requests_.fetch_add(1, std::memory_order_relaxed);
  }
  absl::Time last_used() const {
    return absl::FromUnixMicros(last_used_us_.load(std::memory_order_relaxed));
  }

  // How much the family is used: its requests, each counted in full when it arrives and
  // halving every half-life after. The memory budget unloads the coldest families first, so a
  // one-off request does not push out a family that serves many. FoldHeat() is for one thread
  // at a time (the runtime's maintenance); heat() may be read from any.
  double FoldHeat(double decay) {
    const double heat =
        heat_.load(std::memory_order_relaxed) * decay +
        static_cast<double>(recent_requests_.exchange(0, std::memory_order_relaxed)) +
        restored_heat_.exchange(0, std::memory_order_relaxed);
    heat_.store(heat, std::memory_order_relaxed);
    return heat;
  }
  double heat() const { return heat_.load(std::memory_order_relaxed); }
  // heat() with the requests since the last fold counted in full: a family activated a moment
  // ago is worth its request, not nothing, to a budget deciding before the next fold.
  double heat_with_recent() const {
    return heat() + static_cast<double>(recent_requests_.load(std::memory_order_relaxed)) +
           restored_heat_.load(std::memory_order_relaxed);
  }
  // Adds the heat an earlier activation of the family had when the memory budget unloaded it
  // (decayed since), folded in by the next FoldHeat(). From any thread.
  void RestoreHeat(double heat) { restored_heat_.fetch_add(heat, std::memory_order_relaxed); }

  // Retires the published servings' instances (the activation is being unloaded): destroys the
  // idle ones, or moves them into `*doomed` when given (InstancePool::Retire()).
  void Unload(InstancePool::Doomed* doomed = nullptr) {
    std::shared_ptr<const Serving> old = Swap(nullptr);
    if (old != nullptr) {
      old->ForEachSlot([doomed](const VersionSlot& slot) { slot.pool->Retire(doomed); });
    }
  }

  // The right to load this family's version, held by one caller for a whole load (taken before
  // load_mu, released after it). A caller with no slot to serve waits for the holder however
  // long it takes. One that has a slot waits at most `patience`, and not at all while the holder
  // has already outlasted another caller's patience (its lookup is likely stuck on the store);
  // false means: serve the slot you have.
  bool AcquireLoad(bool has_slot, absl::Duration patience) {
    absl::MutexLock lock(&load_token_mu_);
    if (!has_slot) {
      load_token_mu_.Await(absl::Condition(&load_token_free_));
    } else if (load_overdue_ ||
               !load_token_mu_.AwaitWithTimeout(absl::Condition(&load_token_free_), patience)) {
      load_overdue_ = true;
      return false;
    }
    load_token_free_ = false;
    return true;
  }
  void ReleaseLoad() {
    absl::MutexLock lock(&load_token_mu_);
    load_token_free_ = true;
    load_overdue_ = false;
  }

  // Guards the failure state below; held (uncontended) by the holder of the load right.
  absl::Mutex load_mu;
  // The last activation failure, the changes() count it failed at, and when to try again (the
  // runtime's clock).
  absl::Status failure ABSL_GUARDED_BY(load_mu);
  uint64_t failed_at_change ABSL_GUARDED_BY(load_mu) = 0;
  absl::Time retry_at ABSL_GUARDED_BY(load_mu) = absl::InfinitePast();
  absl::Duration backoff ABSL_GUARDED_BY(load_mu) = absl::ZeroDuration();

 private:
  const std::string family_;
  mutable absl::Mutex serving_mu_;
  std::shared_ptr<const Serving> serving_ ABSL_GUARDED_BY(serving_mu_);
  // Starts one ahead of published_: a new activation is stale until its first load.
  std::atomic<uint64_t> changes_{1};
  std::atomic<uint64_t> published_{0};
  std::atomic<int64_t> last_used_us_{0};
  std::atomic<uint64_t> recent_requests_{0};  // since the last FoldHeat()
  std::atomic<double> heat_{0};
  std::atomic<double> restored_heat_{0};  // RestoreHeat() since the last FoldHeat()
  std::atomic<bool> serving_through_outage_{false};
  absl::Mutex load_token_mu_;
  bool load_token_free_ ABSL_GUARDED_BY(load_token_mu_) = true;
  bool load_overdue_ ABSL_GUARDED_BY(load_token_mu_) = false;
};

}  // namespace cosmo

#endif  // COSMO_LIB_RUNTIME_ACTIVATION_H_
