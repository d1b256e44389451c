#include "engine/v8/isolate_pool.h"

#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <thread>

#include "engine/v8/engine_core.h"
#include "engine/v8/js_instance.h"

namespace cosmo::v8engine {

struct IsolatePool::Spare {
  std::unique_ptr<JsInstance> instance;
  size_t memory_bytes = 0;
};

IsolatePool::IsolatePool(EngineCore* core, size_t target) : core_(core), slots_(target) {}

IsolatePool::~IsolatePool() {
  stop_.store(true);
  wake_.fetch_add(1);
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
  for (std::atomic<Spare*>& slot : slots_) delete slot.exchange(nullptr);
}

std::unique_ptr<JsInstance> IsolatePool::Take(size_t memory_bytes) {
  if (slots_.empty()) return nullptr;
  // Spares of another heap size are of no use to anyone from now on: destroyed below, outside
  // the slots, and the refill makes new ones.
  const bool resized = memory_bytes_.exchange(memory_bytes) != memory_bytes;
  absl::call_once(start_once_, [this] { thread_ = std::thread([this] { Run(); }); });
  std::unique_ptr<JsInstance> taken;
  std::vector<std::unique_ptr<Spare>> stale;
  for (std::atomic<Spare*>& slot : slots_) {
    if (taken != nullptr && !resized) break;
    std::unique_ptr<Spare> spare(slot.exchange(nullptr));
    if (spare == nullptr) continue;
    if (taken == nullptr && spare->memory_bytes == memory_bytes) {
      taken = std::move(spare->instance);
    } else {
      stale.push_back(std::move(spare));
    }
  }
  wake_.fetch_add(1);
  wake_.notify_one();
  return taken;
}

void IsolatePool::Run() {
  pthread_setname_np(pthread_self(), kRefillThreadName);
  // The kernel applies a thread id's nice value to that thread only.
  (void)setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), kRefillNice);
  // Preempted by any other thread that wakes up (isolate_pool.h says why).
  sched_param no_priority{};
  (void)pthread_setschedparam(pthread_self(), SCHED_IDLE, &no_priority);
  while (!stop_.load()) {
    // Every pass follows a Take() (the thread starts on the first): the activation that took the
    // spare goes first.
    std::this_thread::sleep_for(kRefillDelay);
    const uint32_t seen = wake_.load();
    const size_t memory_bytes = memory_bytes_.load();
    for (std::atomic<Spare*>& slot : slots_) {
      if (stop_.load()) return;
      if (slot.load() != nullptr) continue;
      absl::StatusOr<std::unique_ptr<JsInstance>> blank =
          JsInstance::CreateBlank(*core_, memory_bytes);
      // Cannot happen short of a broken runtime; callers then create their own, and the next
      // Take() has this thread try again.
      if (!blank.ok() || !(*blank)->WarmUp().ok()) break;
      auto spare = std::make_unique<Spare>(Spare{*std::move(blank), memory_bytes});
      Spare* empty = nullptr;
      // A spare of a size asked for no more is destroyed here, on this thread.
      if (memory_bytes_.load() == memory_bytes &&
          slot.compare_exchange_strong(empty, spare.get())) {
        spare.release();
        core_->spares_warmed.fetch_add(1, std::memory_order_relaxed);
      }
    }
    // Until a Take() (or the destructor) moves `wake_` on from what was seen before this pass.
    wake_.wait(seen);
  }
}

}  // namespace cosmo::v8engine
