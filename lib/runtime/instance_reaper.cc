#include "runtime/instance_reaper.h"

#include <utility>

#include "common/thread_name.h"

namespace cosmo {

InstanceReaper::InstanceReaper() : thread_([this] { Run(); }) {}

InstanceReaper::~InstanceReaper() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

void InstanceReaper::Reap(std::vector<std::unique_ptr<Instance>>& instances) {
  if (instances.empty()) return;
  {
    absl::MutexLock lock(&mu_);
    if (queue_.size() < kMaxQueued) {
      for (std::unique_ptr<Instance>& instance : instances) queue_.push_back(std::move(instance));
      instances.clear();
      return;
    }
    reaped_inline_ += instances.size();
    reaped_ += instances.size();
  }
  instances.clear();  // the reaper is behind: the caller destroys its own
}

uint64_t InstanceReaper::reaped() const {
  absl::MutexLock lock(&mu_);
  return reaped_;
}

uint64_t InstanceReaper::reaped_inline() const {
  absl::MutexLock lock(&mu_);
  return reaped_inline_;
}

void InstanceReaper::Run() {
  NameThisThread("cosmo-reaper");
  for (;;) {
    std::vector<std::unique_ptr<Instance>> batch;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](InstanceReaper* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mu_) {
            return self->stopping_ || !self->queue_.empty();
          },
          this));
      if (queue_.empty()) return;  // stopping, and nothing left
      batch.swap(queue_);
    }
    const size_t count = batch.size();
    batch.clear();  // outside the lock: Reap() never waits for a teardown
    absl::MutexLock lock(&mu_);
    reaped_ += count;
  }
}

}  // namespace cosmo
