#include "engine/v8/isolate_pool.h"

#include "engine/v8/js_instance.h"

namespace cosmo::v8engine {

IsolatePool::IsolatePool(EngineCore* core, size_t target) : core_(core), target_(target) {}

IsolatePool::~IsolatePool() {
  std::vector<std::unique_ptr<JsInstance>> spares;
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
    spares.swap(spares_);
  }
  if (thread_.joinable()) thread_.join();
}

std::unique_ptr<JsInstance> IsolatePool::Take(size_t memory_bytes) {
  if (target_ == 0) return nullptr;
  std::unique_ptr<JsInstance> spare;
  std::vector<std::unique_ptr<JsInstance>> stale;  // destroyed outside the lock
  {
    absl::MutexLock lock(&mu_);
    if (!started_) {
      started_ = true;
      thread_ = std::thread([this] { Run(); });
    }
    if (memory_bytes != memory_bytes_) {
      memory_bytes_ = memory_bytes;
      stale.swap(spares_);
    } else if (!spares_.empty()) {
      spare = std::move(spares_.back());
      spares_.pop_back();
    }
  }
  return spare;
}

void IsolatePool::Run() {
  mu_.Lock();
  while (true) {
    auto work = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return stop_ || spares_.size() < target_;
    };
    mu_.Await(absl::Condition(&work));
    if (stop_) break;
    size_t memory_bytes = memory_bytes_;
    mu_.Unlock();
    absl::StatusOr<std::unique_ptr<JsInstance>> blank =
        JsInstance::CreateBlank(*core_, memory_bytes);
    mu_.Lock();
    if (!blank.ok()) break;  // cannot happen short of a broken runtime; callers create their own
    if (!stop_ && memory_bytes == memory_bytes_) {
      spares_.push_back(std::move(*blank));
    } else {
      mu_.Unlock();
      blank->reset();
      mu_.Lock();
    }
  }
  mu_.Unlock();
}

}  // namespace cosmo::v8engine
