#include "runtime/instance_pool.h"

#include <algorithm>
#include <iterator>
#include <utility>

#include "absl/strings/str_cat.h"

namespace cosmo {
namespace {

// Measuring an instance's memory asks its engine for heap statistics, which is not free; the
// pool re-measures on every Nth release, enough to follow growth for the memory budget.
constexpr uint64_t kMeasureEvery = 64;

}  // namespace

InstancePool::InstancePool(std::shared_ptr<Program> program, ScriptLimits limits,
                           size_t max_instances, InstancePoolCounters* counters, const Clock* clock,
                           std::function<void()> parked_wake, ParkingLimits parking)
    : program_(std::move(program)),
      limits_(limits),
      max_instances_(max_instances == 0 ? 1 : max_instances),
      counters_(counters),
      clock_(clock),
      parked_wake_(std::move(parked_wake)),
      parking_(parking) {}

InstancePool::~InstancePool() {
  Retire();
  absl::MutexLock lock(&mu_);
  counters_->memory_bytes.fetch_sub(counted_bytes_, std::memory_order_relaxed);
}

absl::StatusOr<std::unique_ptr<Instance>> InstancePool::Acquire(absl::Duration max_wait) {
  {
    absl::MutexLock lock(&mu_);
    if (!idle_.empty()) return TakeIdle();
    if (live_ > 0) {
      // Every instance is busy: wait for one to come back, unless waiting has cost a start.
      const absl::Time give_up = absl::Now() + max_wait;
      CountWaiter(true, absl::Now());
      const Turn turn = AwaitTurn(give_up);
      CountWaiter(false, absl::Now());
      if (turn == Turn::kShed) {
        return absl::DeadlineExceededError(absl::StrCat(
            "all ", max_instances_, " instances of version ", program_->version().substr(0, 12),
            " stayed busy for ", absl::FormatDuration(max_wait)));
      }
      if (turn == Turn::kIdle) return TakeIdle();
    }
    // Reserve the slot; instantiate outside the lock, it takes milliseconds. The rent paid so
    // far bought this start; waits from now on count towards the next one, once this one is up.
    const absl::Time now = absl::Now();
    PauseRent(now);
    ++live_;
    ++starting_;
    rent_ = absl::ZeroDuration();
    CountMemory();
  }
  return Create();
}

InstancePool::Turn InstancePool::AwaitTurn(absl::Time give_up) {
  for (;;) {
    if (!idle_.empty()) return Turn::kIdle;
    const absl::Time now = absl::Now();
    // Every instance was discarded (limits) or retired meanwhile: none will come back.
    if (live_ == 0) return Turn::kStart;
    const bool below_max = live_ < max_instances_;
    // Rent buys no instance beyond the parking bound while it holds (the class comment).
    const bool bound = ParkingBound(now);
    const bool may_buy = below_max && !(bound && live_ >= parking_.instances);
    if (below_max) {
      // Buying: renting has cost as much as a start. Only one start is bought at a time (a
      // start under way stops the rent), so the waiters that reach this together start one
      // instance, not one each: the first resets the rent, the others see it reset and wait on.
      if (may_buy && starting_ == 0 && RentAt(now) >= start_cost_) return Turn::kStart;
      // A request never waits longer than it was allowed while the pool may still grow.
      if (now >= give_up) return Turn::kStart;
    } else if (now >= give_up) {
      return Turn::kShed;
    }
    absl::Time until = give_up;
    // While the rent runs, look again when it will have reached a start's cost; while the
    // parking bound holds, when it will lapse unless an instance comes back.
    if (may_buy && RentRunning()) {
      until = std::min(until, now + (start_cost_ - RentAt(now)));
    } else if (below_max && bound) {
      until = std::min(until, last_return_ + parking_.release_gap);
    }
    const uint64_t starts_ended = starts_ended_;
    auto changed = [this, starts_ended, below_max]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return !idle_.empty() || starts_ended_ != starts_ended || live_ == 0 ||
             (live_ < max_instances_) != below_max;
    };
    mu_.AwaitWithDeadline(absl::Condition(&changed), until);
  }
}

bool InstancePool::RentRunning() const { return waiting_ > 0 && starting_ == 0; }

bool InstancePool::ParkingBound(absl::Time now) const {
  return parking_.instances > 0 && parked_share_ >= 0.5 &&
         now - last_return_ < parking_.release_gap;
}

absl::Duration InstancePool::RentAt(absl::Time now) const {
  return RentRunning() ? rent_ + (now - rent_since_) : rent_;
}

void InstancePool::PauseRent(absl::Time now) {
  if (RentRunning()) rent_ += now - rent_since_;
}

void InstancePool::ResumeRent(absl::Time now) {
  if (RentRunning()) rent_since_ = now;
}

void InstancePool::CountWaiter(bool waits, absl::Time now) {
  PauseRent(now);
  if (waits) {
    if (waiting_ == 0) last_return_ = now;
    ++waiting_;
  } else {
    --waiting_;
  }
  ResumeRent(now);
}

std::unique_ptr<Instance> InstancePool::TakeIdle() {
  std::unique_ptr<Instance> instance = std::move(idle_.back().instance);
  idle_.pop_back();
  return instance;
}

std::vector<InstancePool::Idle> InstancePool::TakeOldestIdle(size_t n) {
  std::vector<Idle> taken;
  std::vector<Idle> kept;
  for (size_t i = 0; i < idle_.size(); ++i) {
    // An instance with parked streams is still producing their bodies.
    if (i < n && idle_[i].instance->ParkedStreams() == 0) {
      taken.push_back(std::move(idle_[i]));
    } else {
      kept.push_back(std::move(idle_[i]));
    }
  }
  idle_.swap(kept);
  live_ -= taken.size();
  CountMemory();
  return taken;
}

absl::StatusOr<std::unique_ptr<Instance>> InstancePool::Create() {
  const absl::Time start = absl::Now();
  absl::StatusOr<std::unique_ptr<Instance>> created = program_->Instantiate(limits_);
  const absl::Duration took = absl::Now() - start;
  // Outside mu_: the handler's lock is taken by writers' wakes, which then take the driver's.
  if (created.ok() && parked_wake_) (*created)->SetParkedWakeHandler(parked_wake_);
  absl::MutexLock lock(&mu_);
  // The rent runs again (when requests wait), and waiters look again at what it owes.
  const absl::Time now = absl::Now();
  PauseRent(now);
  --starting_;
  ResumeRent(now);
  ++starts_ended_;
  if (!created.ok()) {
    --live_;
    CountMemory();
    return created.status();
  }
  counters_->created.fetch_add(1, std::memory_order_relaxed);
  start_cost_ = start_cost_ == absl::ZeroDuration() ? took : (start_cost_ * 3 + took) / 4;
  if (bytes_per_instance_ == 0) bytes_per_instance_ = (*created)->MemoryBytes();
  CountMemory();
  return created;
}

void InstancePool::Release(std::unique_ptr<Instance> instance, Lent lent) {
  std::unique_ptr<Instance> doomed;
  {
    absl::MutexLock lock(&mu_);
    if (lent != Lent::kOther) {
      parked_share_ += ((lent == Lent::kParked ? 1.0 : 0.0) - parked_share_) / 8;
    }
    // Only waiters look at it: no clock read when nobody waits.
    if (waiting_ > 0) last_return_ = absl::Now();
    if (CountOutIfUnwanted(*instance)) {
      doomed = std::move(instance);
    } else {
      if (++releases_ % kMeasureEvery == 0) bytes_per_instance_ = instance->MemoryBytes();
      idle_.push_back({std::move(instance), clock_->Now()});
    }
    CountMemory();
  }
  // `doomed` is destroyed here, outside the lock: disposing an isolate takes a while.
}

bool InstancePool::CountOutIfUnwanted(const Instance& instance) {
  // A retired pool keeps an instance until its parked streams ended (the driver turns them).
  const bool reusable = instance.Reusable();
  if (reusable && !(retired_ && instance.ParkedStreams() == 0)) return false;
  --live_;
  if (!reusable) counters_->discarded.fetch_add(1, std::memory_order_relaxed);
  return true;
}

std::unique_ptr<Instance> InstancePool::TakeParkedDue(absl::Time now) {
  absl::MutexLock lock(&mu_);
  for (auto it = idle_.begin(); it != idle_.end(); ++it) {
    if (it->instance->ParkedStreams() == 0 || it->instance->NextParkedWake() > now) continue;
    std::unique_ptr<Instance> instance = std::move(it->instance);
    idle_.erase(it);
    return instance;
  }
  return nullptr;
}

absl::Time InstancePool::NextParkedWake() const {
  absl::MutexLock lock(&mu_);
  absl::Time next = absl::InfiniteFuture();
  for (const Idle& idle : idle_) {
    if (idle.instance->ParkedStreams() > 0) next = std::min(next, idle.instance->NextParkedWake());
  }
  return next;
}

size_t InstancePool::ParkedStreams() const {
  absl::MutexLock lock(&mu_);
  size_t parked = 0;
  for (const Idle& idle : idle_) parked += idle.instance->ParkedStreams();
  return parked;
}

size_t InstancePool::TrimIdle(absl::Duration idle_for) {
  std::vector<Idle> doomed;
  {
    absl::MutexLock lock(&mu_);
    doomed = TakeIdleSpares(idle_for, clock_->Now());
  }
  return doomed.size();
}

std::vector<InstancePool::Idle> InstancePool::TakeIdleSpares(absl::Duration idle_for,
                                                             absl::Time now) {
  if (idle_.size() < 2) return {};
  // Oldest first; the newest always stays.
  size_t n = 0;
  while (n + 1 < idle_.size() && now - idle_[n].since >= idle_for) ++n;
  return TakeOldestIdle(n);
}

size_t InstancePool::ShedSpares(absl::Duration idle_for, Doomed* doomed) {
  std::vector<Idle> taken;
  size_t freed = 0;
  {
    absl::MutexLock lock(&mu_);
    taken = TakeIdleSpares(idle_for, clock_->Now());
    freed = taken.size() * bytes_per_instance_;
  }
  HandOver(taken, doomed);
  return freed;
}

size_t InstancePool::MaintainIdle(absl::Duration spare_idle_for, absl::Duration release_idle_for,
                                  absl::Time deadline) {
  std::vector<Idle> doomed;
  Idle taken;
  bool due = false;
  {
    absl::MutexLock lock(&mu_);
    const absl::Time now = clock_->Now();
    doomed = TakeIdleSpares(spare_idle_for, now);
    // Destroying spares takes a while: when there are some, the release deadline is looked at
    // after they are gone.
    if (doomed.empty()) due = TakeDueForRelease(release_idle_for, 0, now, deadline, &taken);
  }
  if (!doomed.empty()) {
    doomed.clear();  // outside the lock: disposing an isolate takes a while
    absl::MutexLock lock(&mu_);
    due = TakeDueForRelease(release_idle_for, 0, clock_->Now(), deadline, &taken);
  }
  return ReleaseWhileDue(std::move(taken), due, release_idle_for, 0, deadline);
}

InstancePool::Released InstancePool::ReleaseIdleMemory(absl::Duration idle_for, size_t min_gain,
                                                       absl::Time deadline) {
  Idle taken;
  bool due = false;
  size_t before = 0;
  {
    absl::MutexLock lock(&mu_);
    before = live_ * bytes_per_instance_;
    due = TakeDueForRelease(idle_for, min_gain, clock_->Now(), deadline, &taken);
  }
  if (!due) return {};
  Released released;
  released.instances = ReleaseWhileDue(std::move(taken), due, idle_for, min_gain, deadline);
  absl::MutexLock lock(&mu_);
  const size_t after = live_ * bytes_per_instance_;
  released.bytes = before > after ? before - after : 0;
  return released;
}

size_t InstancePool::ReleaseWhileDue(Idle taken, bool due, absl::Duration idle_for, size_t min_gain,
                                     absl::Time deadline) {
  size_t released = 0;
  while (due) {
    // Outside the lock: a full GC takes milliseconds, and requests must not wait for it.
    taken.instance->ReleaseMemory();
    taken.memory_released = true;
    ++released;
    std::unique_ptr<Instance> unwanted;
    {
      absl::MutexLock lock(&mu_);
      if (CountOutIfUnwanted(*taken.instance)) {
        unwanted = std::move(taken.instance);
      } else {
        bytes_per_instance_ = taken.instance->MemoryBytes();
        released_floor_ = bytes_per_instance_;
        // Back where its idle time puts it: the idle list stays oldest first.
        auto place =
            std::upper_bound(idle_.begin(), idle_.end(), taken.since,
                             [](absl::Time since, const Idle& idle) { return since < idle.since; });
        idle_.insert(place, std::move(taken));
      }
      CountMemory();
      due = TakeDueForRelease(idle_for, min_gain, clock_->Now(), deadline, &taken);
    }
  }
  return released;
}

bool InstancePool::TakeDueForRelease(absl::Duration idle_for, size_t min_gain, absl::Time now,
                                     absl::Time deadline, Idle* taken) {
  if (absl::Now() >= deadline) return false;
  auto due = std::find_if(idle_.begin(), idle_.end(), [&](const Idle& idle) {
    return !idle.memory_released && now - idle.since >= idle_for &&
           (min_gain == 0 || released_floor_ == 0 ||
            idle.instance->MemoryBytes() >= released_floor_ + min_gain);
  });
  if (due == idle_.end()) return false;
  *taken = std::move(*due);
  idle_.erase(due);
  return true;
}

void InstancePool::Retire(Doomed* doomed) {
  std::vector<Idle> taken;
  {
    absl::MutexLock lock(&mu_);
    retired_ = true;
    std::vector<Idle> kept;
    for (Idle& idle : idle_) {
      (idle.instance->ParkedStreams() > 0 ? kept : taken).push_back(std::move(idle));
    }
    idle_.swap(kept);
    live_ -= taken.size();
    CountMemory();
  }
  HandOver(taken, doomed);
}

void InstancePool::HandOver(std::vector<Idle>& taken, Doomed* doomed) {
  if (doomed == nullptr) return;
  for (Idle& idle : taken) doomed->push_back(std::move(idle.instance));
}

void InstancePool::CountMemory() {
  const size_t bytes = live_ * bytes_per_instance_;
  // The common case (a request gives its instance back): nothing changed, and the shared sum's
  // cache line stays where it is.
  if (bytes == counted_bytes_) return;
  if (bytes > counted_bytes_) {
    counters_->memory_bytes.fetch_add(bytes - counted_bytes_, std::memory_order_relaxed);
  } else {
    counters_->memory_bytes.fetch_sub(counted_bytes_ - bytes, std::memory_order_relaxed);
  }
  counted_bytes_ = bytes;
}

size_t InstancePool::MemoryBytes() const {
  absl::MutexLock lock(&mu_);
  return live_ * bytes_per_instance_;
}

size_t InstancePool::live_instances() const {
  absl::MutexLock lock(&mu_);
  return live_;
}

size_t InstancePool::waiting() const {
  absl::MutexLock lock(&mu_);
  return waiting_;
}

}  // namespace cosmo
