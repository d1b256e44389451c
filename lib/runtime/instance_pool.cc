#include "runtime/instance_pool.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace cosmo {
namespace {

// Measuring an instance's memory asks its engine for heap statistics, which is not free; the
// pool re-measures on every Nth release, enough to follow growth for the memory budget.
constexpr uint64_t kMeasureEvery = 64;

}  // namespace

InstancePool::InstancePool(std::shared_ptr<Program> program, ScriptLimits limits,
                           size_t max_instances, InstancePoolCounters* counters)
    : program_(std::move(program)),
      limits_(limits),
      max_instances_(max_instances == 0 ? 1 : max_instances),
      counters_(counters) {}

InstancePool::~InstancePool() { Retire(); }

absl::StatusOr<std::unique_ptr<Instance>> InstancePool::Acquire(absl::Duration max_wait) {
  {
    absl::MutexLock lock(&mu_);
    auto available = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return !idle_.empty() || live_ < max_instances_;
    };
    if (!available() && !mu_.AwaitWithTimeout(absl::Condition(&available), max_wait)) {
      return absl::DeadlineExceededError(absl::StrCat(
          "all ", max_instances_, " instances of version ", program_->version().substr(0, 12),
          " stayed busy for ", absl::FormatDuration(max_wait)));
    }
    if (!idle_.empty()) {
      std::unique_ptr<Instance> instance = std::move(idle_.back());
      idle_.pop_back();
      return instance;
    }
    ++live_;  // reserve the slot; instantiate outside the lock, it takes milliseconds
  }
  absl::StatusOr<std::unique_ptr<Instance>> created = program_->Instantiate(limits_);
  absl::MutexLock lock(&mu_);
  if (!created.ok()) {
    --live_;
    return created.status();
  }
  counters_->created.fetch_add(1, std::memory_order_relaxed);
  if (bytes_per_instance_ == 0) bytes_per_instance_ = (*created)->MemoryBytes();
  return created;
}

void InstancePool::Release(std::unique_ptr<Instance> instance) {
  std::unique_ptr<Instance> doomed;
  {
    absl::MutexLock lock(&mu_);
    if (retired_ || !instance->Reusable()) {
      --live_;
      if (!instance->Reusable()) counters_->discarded.fetch_add(1, std::memory_order_relaxed);
      doomed = std::move(instance);
    } else {
      if (++releases_ % kMeasureEvery == 0) bytes_per_instance_ = instance->MemoryBytes();
      idle_.push_back(std::move(instance));
    }
  }
  // `doomed` is destroyed here, outside the lock: disposing an isolate takes a while.
}

void InstancePool::Retire() {
  std::vector<std::unique_ptr<Instance>> doomed;
  {
    absl::MutexLock lock(&mu_);
    retired_ = true;
    live_ -= idle_.size();
    doomed.swap(idle_);
  }
}

size_t InstancePool::MemoryBytes() const {
  absl::MutexLock lock(&mu_);
  return live_ * bytes_per_instance_;
}

size_t InstancePool::live_instances() const {
  absl::MutexLock lock(&mu_);
  return live_;
}

}  // namespace cosmo
