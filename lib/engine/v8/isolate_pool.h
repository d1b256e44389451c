// Spare isolates, created ahead of demand so activating a version does not wait for V8 to
// deserialise the startup snapshot.
//
// Deserialising the snapshot (isolate plus context with the web-API runtime) is most of an
// activation's cost; binding a version's modules to a ready context is a fraction of it. The
// pool keeps up to `target` blank instances (isolate + context + cached dispatch functions, no
// user code) for one heap size, the size asked for last: a heap limit is fixed when an isolate is
// created. A background thread refills the pool after each Take(); each spare costs the memory of
// an idle isolate (a few MiB). The refill thread also warms each spare (JsInstance::WarmUp: the
// runtime's own synthetic requests, before any user code), so the first request of the version
// bound to it compiles none of the runtime's request path.
//
// The refill runs right after a Take(), while the activation that took the spare still binds its
// module and serves its first request, and deserialising an isolate is several times that work:
// so the refill thread runs under SCHED_IDLE (its nice value, kRefillNice, is the fallback where
// that policy is refused), and hands spares over through atomic slots rather than a mutex, so a
// request never waits for a lock the preempted refill thread holds. SCHED_IDLE rather than a
// nice value because the kernel's scheduler (EEVDF) lets a running thread of any nice value
// finish its slice before a woken one runs: a cold start then waited up to milliseconds for a
// refill at nice 10 on the same core, while a SCHED_IDLE thread is preempted at once. On a
// machine with no idle CPU the refill makes no progress and activations create their own
// isolates, as they do when no spare is ready.
//
// Even on an idle CPU the refill waits kRefillDelay after a Take() before it starts: creating an
// isolate at the same time as the activation that took the spare (on the other core) put the
// slowest cold starts (p99) at 2.4-4.6 ms instead of 1.1-1.5 ms (docs/performance.md, "The
// refill waits for the activation"). The activation and its first request take well under a
// millisecond on an idle machine.
//
// Thread-safe. Owned by the EngineCore; must be destroyed before the watchdog and the snapshot.
#ifndef COSMO_ENGINE_V8_ISOLATE_POOL_H_
#define COSMO_ENGINE_V8_ISOLATE_POOL_H_

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/call_once.h"

namespace cosmo::v8engine {

class EngineCore;
class JsInstance;

class IsolatePool {
 public:
  // The refill thread's name (as /proc/self/task/*/comm shows it) and nice value (which applies
  // where SCHED_IDLE is refused).
  static constexpr char kRefillThreadName[] = "cosmo-spares";
  static constexpr int kRefillNice = 10;
  static constexpr std::chrono::milliseconds kRefillDelay{5};

  IsolatePool(EngineCore* core, size_t target);
  ~IsolatePool();
  IsolatePool(const IsolatePool&) = delete;
  IsolatePool& operator=(const IsolatePool&) = delete;

  // A blank instance for a heap of `memory_bytes`, or null when none is ready (the caller then
  // creates one itself). Starts the refill thread on first use. Never blocks on the refill.
  std::unique_ptr<JsInstance> Take(size_t memory_bytes);

 private:
  struct Spare;
  void Run();

  EngineCore* const core_;
  // One slot per spare: null, or a spare the refill thread published. Only the refill thread
  // fills a slot; Take() empties it with an exchange.
  std::vector<std::atomic<Spare*>> slots_;
  // The heap size spares are made for (0 until the first Take()).
  std::atomic<size_t> memory_bytes_{0};
  // Bumped (and notified) by every Take() and by the destructor; the refill thread sleeps on it.
  std::atomic<uint32_t> wake_{0};
  std::atomic<bool> stop_{false};
  absl::once_flag start_once_;
  std::thread thread_;
};

}  // namespace cosmo::v8engine

#endif  // COSMO_ENGINE_V8_ISOLATE_POOL_H_
