// Enforces per-request CPU limits on isolates by polling their threads' CPU clocks.
//
// One watchdog thread serves every isolate of an engine. An isolate registers a Slot once; around
// every entry into JavaScript its thread Arm()s the slot with a deadline on its own thread CPU
// clock and Disarm()s it afterwards. The watchdog polls armed slots every `interval`, and when a
// thread's CPU time passes its deadline it marks the slot fired and calls
// v8::Isolate::TerminateExecution() (which is safe from any thread).
//
// Firing and disarming exclude each other (a per-slot mutex), so a termination can never land
// after Disarm() returned: a request that sees Disarm() == false was not, and will not be,
// terminated by the watchdog. Arm/Disarm are a few uncontended atomics and one uncontended lock,
// cheap enough for the warm-invoke path. When nothing has been armed for a while the thread
// blocks instead of polling, so an idle engine costs no CPU.
//
// Thread-safe. Slots are owned by the watchdog; Unregister() before destroying the isolate.
#ifndef COSMO_ENGINE_V8_CPU_WATCHDOG_H_
#define COSMO_ENGINE_V8_CPU_WATCHDOG_H_

#include <time.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace v8 {
class Isolate;
}  // namespace v8

namespace cosmo::v8engine {

class CpuWatchdog {
 public:
  // What the watchdog knows about one isolate. Opaque to callers.
  class Slot {
   private:
    friend class CpuWatchdog;
    v8::Isolate* isolate = nullptr;
    std::mutex mu;
    bool armed = false;
    bool fired = false;
    clockid_t clock = CLOCK_THREAD_CPUTIME_ID;
    int64_t deadline_ns = 0;
  };

  explicit CpuWatchdog(absl::Duration interval);
  ~CpuWatchdog();
  CpuWatchdog(const CpuWatchdog&) = delete;
  CpuWatchdog& operator=(const CpuWatchdog&) = delete;

  Slot* Register(v8::Isolate* isolate);
  // After this returns the watchdog never touches the slot's isolate again.
  void Unregister(Slot* slot);

  // Starts watching the calling thread: it may use CPU until its thread CPU clock reads
  // `cpu_deadline_ns` (CLOCK_THREAD_CPUTIME_ID of the caller).
  void Arm(Slot* slot, int64_t cpu_deadline_ns);
  // Stops watching. True when the watchdog fired since Arm(): the isolate was (or is about to
  // find itself) terminated, and the caller must CancelTerminateExecution() after unwinding.
  bool Disarm(Slot* slot);

  // The calling thread's CPU time in nanoseconds.
  static int64_t ThreadCpuNanos();

 private:
  void Run();
  void Poll() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const absl::Duration interval_;
  absl::Mutex mu_;
  std::vector<std::unique_ptr<Slot>> slots_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  // Armed slots right now; the thread blocks while this stays zero.
  std::atomic<int> active_{0};
  // True while the thread is (about to be) blocked waiting for active_ > 0.
  std::atomic<bool> sleeping_{false};
  std::thread thread_;
};

}  // namespace cosmo::v8engine

#endif  // COSMO_ENGINE_V8_CPU_WATCHDOG_H_
