#include "engine/v8/cpu_watchdog.h"

#include <pthread.h>
#include <v8.h>

#include <algorithm>
#include <chrono>

#include "common/thread_name.h"

namespace cosmo::v8engine {
namespace {

// Polls in a row with nothing armed before the thread blocks. Keeps the thread awake (and
// Arm() lock-free) while requests arrive steadily.
constexpr int kIdlePollsBeforeSleep = 200;

int64_t ReadClock(clockid_t clock) {
  timespec ts;
  if (clock_gettime(clock, &ts) != 0) return -1;
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

int64_t SteadyNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// The calling thread's CPU clock as it last read it, or -1, and the steady clock when it did.
thread_local int64_t t_thread_cpu_seen_ns = -1;
thread_local int64_t t_thread_cpu_seen_at_ns = 0;
// How old (in wall time) the reading a section's first look is bounded by may be: Arm() reads the
// thread's clock again when its last reading is older. CPU time never runs faster than wall time,
// so work nobody watched between that reading and the section (an isolate made or torn down,
// a code cache written, V8's tasks pumped, the HTTP work around requests) adds at most this much
// to a late first look's charge. One system call per 5 ms of a busy thread; one per request when
// requests come further apart than that.
constexpr int64_t kThreadCpuFreshForNs = 5'000'000;

void NoteThreadCpu(int64_t steady_now_ns) {
  if (const int64_t now = CpuWatchdog::ThreadCpuNanos(); now >= 0) {
    t_thread_cpu_seen_ns = now;
    t_thread_cpu_seen_at_ns = steady_now_ns;
  }
}

clockid_t CurrentThreadClock() {
  // pthread_getcpuclockid computes the id from the thread id; no system call.
  thread_local clockid_t clock = [] {
    clockid_t c;
    if (pthread_getcpuclockid(pthread_self(), &c) != 0) c = CLOCK_THREAD_CPUTIME_ID;
    return c;
  }();
  return clock;
}

}  // namespace

CpuWatchdog::CpuWatchdog(absl::Duration interval)
    : interval_(std::max(interval, absl::Microseconds(100))), thread_([this] {
        NameThisThread("cosmo-watchdog");
        Run();
      }) {}

CpuWatchdog::~CpuWatchdog() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  thread_.join();
}

CpuWatchdog::Slot* CpuWatchdog::Register(v8::Isolate* isolate) {
  auto slot = std::make_unique<Slot>();
  slot->isolate = isolate;
  Slot* raw = slot.get();
  absl::MutexLock lock(&mu_);
  slots_.push_back(std::move(slot));
  return raw;
}

void CpuWatchdog::Unregister(Slot* slot) {
  absl::MutexLock lock(&mu_);
  {
    std::lock_guard<std::mutex> slot_lock(slot->mu);
    if (slot->armed) active_.fetch_sub(1);
  }
  auto it = std::find_if(slots_.begin(), slots_.end(),
                         [slot](const std::unique_ptr<Slot>& s) { return s.get() == slot; });
  if (it != slots_.end()) slots_.erase(it);
}

void CpuWatchdog::Arm(Slot* slot, int64_t budget_ns, const CpuAccount& account, int64_t now_ns) {
  const int64_t now = now_ns >= 0 ? now_ns : SteadyNanos();
  // Read after `now`: what the caller did since it read `now` (microseconds: taking the isolate,
  // the heap reading) and this read itself are armed time but not in this bound, a few microseconds
  // late.
  if (t_thread_cpu_seen_ns < 0 || now - t_thread_cpu_seen_at_ns >= kThreadCpuFreshForNs) {
    NoteThreadCpu(now);
  }
  {
    std::lock_guard<std::mutex> lock(slot->mu);
    slot->armed = true;
    slot->fired = false;
    slot->clock = CurrentThreadClock();
    slot->budget_ns = budget_ns;
    slot->armed_at_ns = now;
    slot->armed_before_ns = account.armed_wall_ns;
    slot->cpu_origin_ns = account.cpu_origin_ns;
    slot->thread_cpu_seen_ns = t_thread_cpu_seen_ns;
    slot->armed_hint.store(true, std::memory_order_relaxed);
  }
  active_.fetch_add(1);
  // Sequentially consistent with the watchdog's `sleeping_ = true; read active_`: either it sees
  // our increment, or we see it sleeping and wake it by releasing mu_ (which re-evaluates its
  // Await condition).
  if (sleeping_.load()) absl::MutexLock lock(&mu_);
}

bool CpuWatchdog::Disarm(Slot* slot, CpuAccount* account) {
  const int64_t now = SteadyNanos();
  bool fired;
  {
    std::lock_guard<std::mutex> lock(slot->mu);
    if (!slot->armed) return false;
    slot->armed = false;
    slot->armed_hint.store(false, std::memory_order_relaxed);
    fired = slot->fired;
    account->armed_wall_ns = slot->armed_before_ns + std::max<int64_t>(now - slot->armed_at_ns, 0);
    account->cpu_origin_ns = slot->cpu_origin_ns;
  }
  active_.fetch_sub(1);
  return fired;
}

int64_t CpuWatchdog::CpuUsedNanos(const CpuAccount& account) {
  if (account.cpu_origin_ns < 0) return account.armed_wall_ns;
  const int64_t now = ThreadCpuNanos();
  if (now < 0) return account.armed_wall_ns;
  t_thread_cpu_seen_ns = now;
  t_thread_cpu_seen_at_ns = SteadyNanos();
  return std::max<int64_t>(now - account.cpu_origin_ns, 0);
}

int64_t CpuWatchdog::FirstLookCharge(int64_t armed_wall_ns, int64_t armed_before_ns,
                                     int64_t cpu_now_ns, int64_t thread_cpu_seen_ns) {
  // The phase under way ran on this thread, since the reading if there is one; the section's
  // earlier phases (perhaps on other threads) used at most their armed wall time.
  int64_t phase = cpu_now_ns;
  if (thread_cpu_seen_ns >= 0 && thread_cpu_seen_ns <= cpu_now_ns) {
    phase = cpu_now_ns - thread_cpu_seen_ns;
  }
  return std::max<int64_t>(std::min(armed_wall_ns, armed_before_ns + phase), 0);
}

int64_t CpuWatchdog::ThreadCpuNanos() { return ReadClock(CLOCK_THREAD_CPUTIME_ID); }

void CpuWatchdog::Poll() {
  for (const std::unique_ptr<Slot>& slot : slots_) {
    if (!slot->armed_hint.load(std::memory_order_relaxed)) continue;
    std::lock_guard<std::mutex> lock(slot->mu);
    if (!slot->armed || slot->fired) continue;
    const int64_t cpu_now = ReadClock(slot->clock);
    if (cpu_now < 0) continue;
    if (slot->cpu_origin_ns < 0) {
      // First look at this section: count an upper bound of its CPU so far, so a limit errs
      // towards stopping a script early, never late. The wall clock is read after the CPU clock:
      // read before it, a watchdog preempted between the two reads would see more CPU than wall
      // time since Arm() and undercount the section (seen as 150 us short on a loaded machine).
      const int64_t armed_wall =
          slot->armed_before_ns + std::max<int64_t>(SteadyNanos() - slot->armed_at_ns, 0);
      slot->cpu_origin_ns = cpu_now - FirstLookCharge(armed_wall, slot->armed_before_ns, cpu_now,
                                                      slot->thread_cpu_seen_ns);
    }
    if (cpu_now - slot->cpu_origin_ns >= slot->budget_ns) {
      slot->fired = true;
      slot->isolate->TerminateExecution();
    }
  }
}

void CpuWatchdog::Run() {
  int idle_polls = 0;
  mu_.Lock();
  while (!stop_) {
    if (active_.load() == 0) {
      if (++idle_polls >= kIdlePollsBeforeSleep) {
        sleeping_.store(true);
        auto wake = [this]()
                        ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_ || active_.load() > 0; };
        mu_.Await(absl::Condition(&wake));
        sleeping_.store(false);
        idle_polls = 0;
        continue;
      }
    } else {
      idle_polls = 0;
      Poll();
    }
    mu_.Unlock();
    absl::SleepFor(interval_);
    mu_.Lock();
  }
  mu_.Unlock();
}

}  // namespace cosmo::v8engine
