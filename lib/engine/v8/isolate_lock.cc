#include "engine/v8/isolate_lock.h"

namespace cosmo::v8engine {

namespace {
std::atomic<uint64_t> g_next_thread{1};
}  // namespace

uint64_t IsolateMutex::ThisThread() {
  thread_local const uint64_t self = g_next_thread.fetch_add(1, std::memory_order_relaxed);
  return self;
}

bool IsolateMutex::Lock() {
  const uint64_t self = ThisThread();
  if (owner_.load(std::memory_order_relaxed) == self) {
    ++depth_;
    return false;
  }
  mu_.Lock();
  owner_.store(self, std::memory_order_relaxed);
  depth_ = 1;
  const bool changed = last_owner_ != self;
  last_owner_ = self;
  return changed;
}

void IsolateMutex::Unlock() {
  if (--depth_ > 0) return;
  owner_.store(0, std::memory_order_relaxed);
  mu_.Unlock();
}

}  // namespace cosmo::v8engine
