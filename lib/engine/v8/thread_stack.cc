#include "engine/v8/thread_stack.h"

#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>

namespace cosmo::v8engine {
namespace {

// Probe words per probed page, spread over it so that one frame's unwritten slots cannot hide a
// deep run from all of them.
constexpr int kProbeWords = 8;
constexpr uintptr_t kProbeValue = 0x9e3779b97f4a7c15;

std::atomic<uint64_t> g_releases{0};

// What the calling thread's stack allows, computed on the thread's first use.
struct Bounds {
  bool known = false;
  uintptr_t page = 4096;
  uintptr_t js_limit = 0;
  // Lowest address a release may reach (page-aligned); 0 when the stack's extent is unknown and
  // nothing is released.
  uintptr_t release_floor = 0;
};

Bounds& ThisThread() {
  // Constant-initialised, so reading it costs no guard.
  thread_local Bounds bounds;
  if (bounds.known) return bounds;
  bounds.known = true;
  bounds.page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  uintptr_t here = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
  uintptr_t low = 0;
  pthread_attr_t attr;
  if (pthread_getattr_np(pthread_self(), &attr) == 0) {
    void* addr = nullptr;
    size_t size = 0;
    if (pthread_attr_getstack(&attr, &addr, &size) == 0) low = reinterpret_cast<uintptr_t>(addr);
    pthread_attr_destroy(&attr);
  }
  uintptr_t by_budget = here > ThreadStack::kMaxJsStack ? here - ThreadStack::kMaxJsStack : 0;
  bounds.js_limit = std::max(low + ThreadStack::kStackReserve, by_budget);
  if (low != 0) {
    // JavaScript's share plus the reserve V8's C++ runs in past the limit: never below `low`,
    // so a release stays inside this thread's stack mapping.
    uintptr_t floor = bounds.js_limit - ThreadStack::kStackReserve;
    bounds.release_floor = (floor + bounds.page - 1) & ~(bounds.page - 1);
  }
  return bounds;
}

// The probes are below the stack pointer, where no object lives: volatile keeps the compiler
// from dropping the accesses, and ASan's shadow of that memory is whatever the last frame there
// left, so it must not check them.
__attribute__((no_sanitize("address"))) void WriteProbes(uintptr_t page, uintptr_t page_size) {
  for (int i = 0; i < kProbeWords; ++i) {
    *reinterpret_cast<volatile uintptr_t*>(page + i * (page_size / kProbeWords)) = kProbeValue;
  }
}

__attribute__((no_sanitize("address"))) bool ProbesIntact(uintptr_t page, uintptr_t page_size) {
  for (int i = 0; i < kProbeWords; ++i) {
    if (*reinterpret_cast<volatile uintptr_t*>(page + i * (page_size / kProbeWords)) !=
        kProbeValue) {
      return false;
    }
  }
  return true;
}

}  // namespace

uintptr_t ThreadStack::JsLimit() { return ThisThread().js_limit; }

ThreadStack::Scope::Scope() {
  const Bounds& bounds = ThisThread();
  uintptr_t here = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
  if (bounds.release_floor == 0 || here < kShallowBytes) return;
  uintptr_t page = (here - kShallowBytes) & ~(bounds.page - 1);
  if (page <= bounds.release_floor) return;  // a small stack: nothing deep to give back
  WriteProbes(page, bounds.page);
  probe_page_ = page;
}

ThreadStack::Scope::~Scope() {
  if (probe_page_ == 0) return;
  const Bounds& bounds = ThisThread();
  if (ProbesIntact(probe_page_, bounds.page)) return;
  // Everything below the probe page is below this frame (kShallowBytes below it), so no live
  // frame is there. An error leaves the pages resident, nothing worse.
  if (madvise(reinterpret_cast<void*>(bounds.release_floor), probe_page_ - bounds.release_floor,
              MADV_DONTNEED) == 0) {
    g_releases.fetch_add(1, std::memory_order_relaxed);
  }
}

uint64_t ThreadStack::releases() { return g_releases.load(std::memory_order_relaxed); }

}  // namespace cosmo::v8engine
