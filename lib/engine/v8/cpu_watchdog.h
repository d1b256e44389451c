// Enforces per-request CPU limits on isolates, and measures the CPU a request used, without
// reading the thread CPU clock on the request path when the request is short.
//
// One watchdog thread serves every isolate of an engine. An isolate registers a Slot once; around
// every entry into JavaScript its thread Arm()s the slot with a CPU budget and Disarm()s it
// afterwards. `CLOCK_THREAD_CPUTIME_ID` is a system call (no vDSO path), about a microsecond on a
// virtual machine, so the request path reads it at most once per 5 ms of a thread's wall time:
// Arm() and Disarm() read the steady clock (vDSO, tens of nanoseconds) and count the wall time
// spent armed. The watchdog polls armed slots every `interval`; the first time it sees a slot
// armed it reads that thread's CPU clock and fixes the section's CPU origin as if all the armed
// wall time so far had been CPU (an upper bound, tightened by another when the watchdog looked
// late: FirstLookCharge), and from then on it compares the thread's clock with origin + budget
// and, past it, marks the slot fired and calls v8::Isolate::TerminateExecution() (safe from any
// thread).
//
// What that means for a request's CPU figure (CpuUsedNanos): a section the watchdog saw is
// measured on the thread's CPU clock (one read at its end), counting as CPU at most the wall time
// between its start and the watchdog's first look (about one interval); a section that ended
// before the watchdog looked (the common case: most requests take microseconds) is charged its
// armed wall time, which is its CPU time unless the thread was preempted meanwhile. The wall
// time between a section's phases (waiting on timers, fetches or the client) is never counted;
// CPU the thread spends between them is, once the watchdog fixed the origin.
//
// Firing and disarming exclude each other (a per-slot mutex), so a termination can never land
// after Disarm() returned: a request that sees Disarm() == false was not, and will not be,
// terminated by the watchdog. Arm/Disarm are a steady-clock read, a few uncontended atomics and
// one uncontended lock. When nothing has been armed for a while the thread blocks instead of
// polling, so an idle engine costs no CPU.
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
    // Mirrors `armed` so Poll() skips idle slots without their lock.
    std::atomic<bool> armed_hint{false};
    bool armed = false;
    bool fired = false;
    clockid_t clock = CLOCK_THREAD_CPUTIME_ID;
    int64_t budget_ns = 0;
    int64_t armed_at_ns = 0;      // steady clock at Arm()
    int64_t armed_before_ns = 0;  // armed wall time of the section's earlier phases
    int64_t cpu_origin_ns = -1;   // as in CpuAccount
    // The arming thread's CPU clock as that thread last read it (at Arm() or at the end of a
    // measured section, at most 5 ms of wall time before this phase's Arm()), or -1: a bound for
    // the first look (FirstLookCharge).
    int64_t thread_cpu_seen_ns = -1;
  };

  // The CPU used by one guarded section (a request, or a module's top level), which may be armed
  // and disarmed several times (the event loop disarms while it waits). Owned by the caller,
  // carried from each Disarm() to the next Arm() on the same thread.
  struct CpuAccount {
    // The thread CPU clock reading at which the section would have started if every armed
    // nanosecond so far had been CPU; -1 until the watchdog read the thread's clock.
    int64_t cpu_origin_ns = -1;
    // Wall time spent armed so far.
    int64_t armed_wall_ns = 0;
  };

  explicit CpuWatchdog(absl::Duration interval);
  ~CpuWatchdog();
  CpuWatchdog(const CpuWatchdog&) = delete;
  CpuWatchdog& operator=(const CpuWatchdog&) = delete;

  Slot* Register(v8::Isolate* isolate);
  // After this returns the watchdog never touches the slot's isolate again.
  void Unregister(Slot* slot);

  // Starts watching the calling thread for the section `account` describes: it may use
  // `budget_ns` of CPU in all, what it used before this phase included. No system call unless
  // the thread's last reading of its CPU clock is more than 5 ms old (FirstLookCharge).
  // `now_ns`: the steady clock (std::chrono::steady_clock, in ns) the caller read just before,
  // counted as the phase's start (the work between then and now counts as armed); -1 reads it.
  void Arm(Slot* slot, int64_t budget_ns, const CpuAccount& account, int64_t now_ns = -1);
  // Stops watching and adds this phase to `account`. True when the watchdog fired since Arm():
  // the isolate was (or is about to find itself) terminated, and the caller must
  // CancelTerminateExecution() after unwinding.
  bool Disarm(Slot* slot, CpuAccount* account);

  // The CPU a section used, from its account after its last Disarm(), on the calling thread (the
  // section's): a read of the thread's CPU clock when the watchdog fixed the origin, else the
  // armed wall time (no system call).
  static int64_t CpuUsedNanos(const CpuAccount& account);

  // The calling thread's CPU time in nanoseconds (a system call).
  static int64_t ThreadCpuNanos();

  // What the first look at an armed section counts as the CPU it used so far: the lesser of two
  // upper bounds — its armed wall time `armed_wall_ns`, and the armed wall time of its earlier
  // phases `armed_before_ns` plus the CPU the calling thread used in the phase under way. The
  // latter is the thread's CPU since `thread_cpu_seen_ns`, a reading of its clock at most 5 ms of
  // wall time before the phase began (Arm() reads it again when it is older, so whatever
  // unwatched work the thread did before adds at most 5 ms), or, with no reading (-1), the
  // thread's whole CPU time `cpu_now_ns`. Armed wall time alone would count time the section
  // spent preempted: on a loaded machine the watchdog's own thread waits its turn too, looks late,
  // and would stop a script that used little CPU.
  static int64_t FirstLookCharge(int64_t armed_wall_ns, int64_t armed_before_ns, int64_t cpu_now_ns,
                                 int64_t thread_cpu_seen_ns);

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
