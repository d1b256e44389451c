// Runs families' cron triggers: each tick of each expression once across every server that
// shares the store (docs/cron.md, "Exactly once").
//
// The scheduler keeps, per family with crons, the active version's expressions and the next tick
// of each. When a tick is due it claims it in the store — a create guarded on the key being
// absent, so exactly one server wins — and hands it to the Runner on one of its run threads. The
// claim carries a lease (the family's wall limit plus a margin): a server that lost the claim
// looks again when the lease ends and, if the run never recorded its end and never called
// noRetry(), takes the claim over with compare-and-set and runs the tick again. When a tick was
// missed (the scheduler did not poll for a while, or no server ran at all), only the most recent
// missed tick of each expression runs, once; an expression no server has claimed a tick of yet
// starts with its next tick.
//
// Time comes from the Clock: nothing happens between Poll() calls, so tests drive it with a
// ManualClock and WaitForRuns(). Thread-safe; runs happen on the scheduler's own threads, which
// the destructor joins (after the runs in flight end).
#ifndef COSMO_LIB_RUNTIME_CRON_SCHEDULER_H_
#define COSMO_LIB_RUNTIME_CRON_SCHEDULER_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "cosmo/clock.h"
#include "cosmo/invocation.h"
#include "cosmo/registry.h"
#include "cosmo/runtime.h"
#include "cosmo/store.h"
#include "cron/cron_expression.h"

namespace cosmo {

struct CronSchedulerOptions {
  // Names this server in its claims; must differ between the servers sharing a store.
  std::string server_id;
  // A claim's lease: the family's wall limit plus this.
  absl::Duration lease_margin = absl::Seconds(30);
  // Threads that run ticks. A tick waits for a free one; a family's own instance limit still
  // applies inside the Runner.
  int run_threads = 2;
};

class CronScheduler {
 public:
  // Runs one tick of `family` (the Runtime's RunScheduled). Must not call back into the
  // scheduler.
  using Runner = std::function<InvokeResult(const std::string& family, const ScheduledEvent&)>;
  // The family's wall limit, for the lease.
  using WallLimit = std::function<absl::Duration(const Manifest&)>;

  // Borrows `store`, `registry` and `clock`, which must outlive it.
  CronScheduler(Store* store, Registry* registry, Clock* clock, Runner runner, WallLimit wall_limit,
                CronSchedulerOptions options);
  ~CronScheduler();

  CronScheduler(const CronScheduler&) = delete;
  CronScheduler& operator=(const CronScheduler&) = delete;

  // Reads every family's crons and the newest claim of each expression (catch-up), and starts
  // the run threads.
  absl::Status Start();

  // The family was deployed, rolled back or deleted: its schedule is read again at the next
  // Poll(). Quick; callable from any thread, including the registry's watch thread.
  void FamilyChanged(absl::string_view family);

  // Claims and starts the ticks that are due, re-reads changed families and takes over claims
  // whose lease ended. Returns at once when nothing is due.
  void Poll();

  // Blocks until no run is queued or running (tests).
  void WaitForRuns();

  // The family's expressions with their next ticks (a change not yet polled is read first),
  // NOT_FOUND when it has none.
  absl::StatusOr<std::vector<CronStatus>> Schedule(absl::string_view family);

  // Ticks this scheduler claimed (first runs and takeovers), for tests and metrics.
  uint64_t claims() const;

 private:
  struct Entry {
    std::string cron;
    CronExpression expression;
    std::string hash;  // names the expression in store keys
    int64_t next_us = 0;
  };
  struct FamilySchedule {
    std::string version;
    absl::Duration lease;
    std::vector<Entry> entries;
  };
  // A claim another server won, looked at again when its lease ends.
  struct Watched {
    std::string family;
    std::string key;
    int64_t lease_until_us = 0;
  };
  struct Job {
    std::string family;
    std::string key;
    ScheduledEvent event;
    std::string record;  // the claim as written
  };

  // Reads `family`'s active version and crons, keeping the next ticks of expressions it still
  // has; new ones start after `since_us`. `catch_up`: an expression new to this scheduler starts
  // from its newest claim instead.
  void Reload(const std::string& family, int64_t since_us, bool catch_up)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Reads `family` again at the next Poll(), as changed at `since_us`.
  void Retry(const std::string& family, int64_t since_us);
  // The newest tick in (last claimed tick, now], if the expression has a claim and missed one.
  std::optional<int64_t> MissedTick(const std::string& family, const Entry& entry, int64_t now_us)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Claims the tick; queues it when won, watches it when lost.
  void Claim(const std::string& family, const FamilySchedule& schedule, const Entry& entry,
             int64_t tick_us, int64_t now_us) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void TakeOverExpired(int64_t now_us) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Enqueue(Job job);
  void RunThread();
  void Run(Job job);
  // Rewrites the claim at `key` with `update` applied, by compare-and-set from `*record`, which
  // is refreshed; gives up when the claim is gone.
  void UpdateClaim(const std::string& key, std::string* record,
                   const std::function<void(std::string*)>& update);

  Store* const store_;
  Registry* const registry_;
  Clock* const clock_;
  const Runner runner_;
  const WallLimit wall_limit_;
  const CronSchedulerOptions options_;

  // Held by Poll() and Start() across their store calls; they are the only writers of the
  // schedule.
  mutable absl::Mutex mu_;
  std::map<std::string, FamilySchedule> families_ ABSL_GUARDED_BY(mu_);
  std::vector<Watched> watched_ ABSL_GUARDED_BY(mu_);
  // The earliest next tick of any expression: Poll() returns at once before it.
  int64_t earliest_us_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t claims_ ABSL_GUARDED_BY(mu_) = 0;

  // Apart from mu_, so that FamilyChanged() never waits for the store.
  absl::Mutex changed_mu_;
  // Changed families, with when they first changed since the last Poll(): new expressions start
  // with their first tick after the change, however late the poll.
  absl::flat_hash_map<std::string, int64_t> changed_ ABSL_GUARDED_BY(changed_mu_);

  absl::Mutex queue_mu_;
  std::deque<Job> queue_ ABSL_GUARDED_BY(queue_mu_);
  int running_ ABSL_GUARDED_BY(queue_mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(queue_mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace cosmo

#endif  // COSMO_LIB_RUNTIME_CRON_SCHEDULER_H_
