// The virtual-actor runtime: the whole platform behind one object.
//
// A Runtime owns the Store, the Registry, the Engines and the activation table. A family is
// activated on its first request: its active version's manifest is read from the store, the
// engine prepares it (from its compiled-code cache when it has one) and instantiates it. While the
// family is used its activation stays warm; several instances of one version serve in parallel;
// idle activations are unloaded after `idle_timeout`, and the instances are kept within
// `memory_budget_bytes`: the request whose activation passes it unloads colder families (fewest
// recent requests for the memory they hold) before it runs, and Maintain() takes back what grows
// otherwise (spare instances, idle instances' garbage, then the coldest families). While over
// the budget, the engines are told memory is short (Engine::SetMemoryShort), and the isolates of
// unloaded families are torn down on a thread of the Runtime's own, not the request's. A deploy
// or rollback through registry() switches new requests to the new version at once; requests in
// flight finish on the instance they started on. (A request that finds another one loading the
// new version waits for it up to half a second, then is served by the version the family had:
// a version switch takes milliseconds, but a lookup stuck on an unavailable store takes the
// store's timeout, and a serving family does not queue behind it.)
//
// Every invocation ends in one Outcome and is metered (usage.h); console output and failed
// outcomes go to per-family log rings (logs.h).
//
//   auto runtime = cosmo::NewRuntime({}, std::move(store));
//   (*runtime)->registry().Deploy({...});
//   cosmo::FamilyHandle hello = (*runtime)->Family("hello");
//   cosmo::InvokeResult r = hello.Invoke({.method = "GET", .url = "http://x/hello/"});
//
// Thread-safe. Invoke() may be called from any number of threads; the request path takes no
// global lock. Destroying the Runtime flushes usage; no call may be in flight then. One thread of
// the Runtime's own turns parked streams (a streamed response to a Detachable() writer that goes
// on after Invoke() returned: docs/architecture.md, "Parked streams"); destroying the Runtime cuts
// off those still parked, telling their writers Completed().
//
// Embedders: Debian's Abseil checks lock order on every absl::Mutex acquisition, through one
// process-wide graph (three times the cost of each lock, and a point all request threads meet).
// A serving process should turn that off once in main(), as cosmo-server does:
// `absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore)`. The library leaves the
// process-wide setting to its owner.
#ifndef COSMO_RUNTIME_H_
#define COSMO_RUNTIME_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "cosmo/clock.h"
#include "cosmo/engine.h"
#include "cosmo/invocation.h"
#include "cosmo/javascript_engine.h"
#include "cosmo/kv.h"
#include "cosmo/limits.h"
#include "cosmo/logs.h"
#include "cosmo/registry.h"
#include "cosmo/store.h"
#include "cosmo/usage.h"

namespace cosmo {

class Runtime;

// What RuntimeOptions::on_budget_churn reports: the memory budget unloaded families that were
// still in use, and they came back.
struct BudgetChurn {
  absl::Duration window;    // the span the counts cover
  uint64_t unloads = 0;     // families unloaded for the budget in it
  uint64_t returns = 0;     // activations of families it had unloaded while in use (cold starts)
  size_t memory_bytes = 0;  // what the instances hold now (RuntimeStats::instance_memory_bytes)
  size_t budget_bytes = 0;  // RuntimeOptions::memory_budget_bytes
};

struct RuntimeOptions {
  // Caps of every script's limits; deploys may only lower them (limits.h).
  ScriptLimits caps;
  // Largest source of one deploy through registry(): RegistryOptions::max_script_bytes.
  size_t max_script_bytes = RegistryOptions().max_script_bytes;
  // Unload an activation this long after its last request. Zero disables idle unloading.
  absl::Duration idle_timeout = absl::Seconds(60);
  // What the instances of all families may hold (V8 heaps, as last measured). A request whose
  // activation of a family takes them past it makes room before it runs: spare instances idle for
  // a second go first, then the coldest other families are unloaded: fewest requests per byte
  // held, a request counting half after 10 s, a quarter after 20 s (least recently used first
  // among equals). A family activated for one request then goes before a busy one, whichever was
  // used last. Growth that no activation causes (a busy family's extra instances, garbage) is
  // Maintain()'s: spare instances, then idle instances' garbage (Instance::ReleaseMemory(), up to
  // 30 ms of each pass), then the coldest families.
  size_t memory_budget_bytes = size_t{1} << 30;
  // Told, from the maintenance pass and at most once a minute, when the budget churns: in the
  // last minute families it had unloaded while they were still in use (their heat remembered)
  // were requested again at least 10 times, each a cold start that a larger budget would have saved
  // (RuntimeStats::budget_returns). cosmo-server and cosmo-gateway write it to stderr, naming
  // --memory-budget-mb. Runs on the maintenance thread (or Maintain()'s caller): it must return
  // quickly and must not call the runtime. Empty: not reported.
  std::function<void(const BudgetChurn&)> on_budget_churn;
  // Instances of one version that may run at once; 0 = four per hardware thread (at least 8).
  // More instances than cores pay off because a request waiting on fetch() or a timer holds its
  // instance without using a core; each instance is one isolate (a few MiB), created only when
  // that many requests of the family are in flight at once. The two versions of a traffic split
  // together run no more at once than this (each may keep up to this many).
  size_t max_instances_per_version = 0;
  // While most of a version's requests park their streamed responses (docs/architecture.md,
  // "Parked streams"), the queue a burst of them forms is CPU work, and each instance beyond the
  // cores would hold its share of the streams for their whole life, compiling and collecting on
  // its own: the pool grows only to this many then, unless its instances stop coming back (held
  // by requests that wait), when it grows as usual. 0 = the hardware threads (at least 2).
  size_t max_parking_instances_per_version = 0;
  // How long a request waits for a busy family's instance before it is shed (kLoadShed).
  absl::Duration max_queue_wait = absl::Seconds(5);
  // After an activation fails (a script error at startup), requests fail fast for this long
  // instead of retrying the activation every time; the delay doubles per failure up to 30 s.
  absl::Duration activation_retry_backoff = absl::Milliseconds(250);
  // Usage totals are merged into the store at least this often (and at shutdown).
  absl::Duration usage_flush_interval = absl::Seconds(1);
  // A gateway's usage-report record (`usagerep/<gateway-id>`, which makes resent reports count
  // once) is deleted after this long without a report, checked hourly (or at this interval, if
  // shorter). Gateway ids are per process, so records of gone gateways would otherwise pile up.
  // Must far exceed how long a gateway resends one report (seconds). Zero: never delete.
  absl::Duration usage_reporter_retention = absl::Hours(24);
  // Usage history (usage.h): per-minute records older than `usage_history_minutes` are rolled up
  // into hours, and records older than `usage_history_retention` deleted, checked hourly (or at
  // `usage_history_minutes`, if shorter) by Maintain(). Both positive; the first at least a minute.
  absl::Duration usage_history_minutes = absl::Hours(24);
  absl::Duration usage_history_retention = absl::Hours(24 * 7);
  // Once no request has started for a second, give the allocator's free memory back to the OS
  // (glibc malloc_trim), once per idle period, and again when `idle_timeout` unloads activations
  // during it, after the engines gave back what they pool for reuse (Engine::ReleaseIdleMemory).
  // Memory freed under load — isolates evicted or discarded, request buffers — otherwise stays
  // in the process's heap arenas. Process-wide, so off by default in the
  // library; cosmo-server and cosmo-gateway turn it on. A request arriving during the trim may
  // wait for it (up to tens of milliseconds with a large heap).
  bool release_memory_when_idle = false;
  // Console and outcome records kept per family: the newest `log_ring_records` of them, fewer
  // when they would hold more than `log_ring_bytes` (text plus fields, oldest dropped first).
  // A record larger than the byte bound on its own is kept with its text cut short. The byte
  // bound is what makes the rings' memory predictable: one request may log up to 1 MiB.
  size_t log_ring_records = 1000;
  size_t log_ring_bytes = size_t{256} << 10;
  // Run the background thread that unloads idle activations and flushes usage. Tests that drive
  // time with a ManualClock turn it off and call Maintain() themselves.
  bool background_maintenance = true;
  // The built-in JavaScript engine, made when NewRuntime() is given no engines. The built-in Liquid
  // engine's own JavaScript engine takes only `allow_codegen` from it: templates make no fetches,
  // so it needs neither the fetch() options nor a trust store.
  JavaScriptEngineOptions javascript;
  // KV namespaces on the runtime's store (kv.h). The built-in JavaScript engine's bindings reach
  // them; javascript.kv is set to the runtime's KvStore when it is null.
  KvStoreOptions kv;
  // Time source; nullptr = Clock::Real(). Borrowed; must outlive the Runtime.
  Clock* clock = nullptr;
  // Run families' cron triggers (docs/cron.md). Maintain() polls the schedule; each tick is
  // claimed in the store, so servers sharing a store run it once between them.
  bool run_crons = true;
  // Names this process in cron claims; empty: a random id. Must differ between servers.
  std::string server_id;
  // A cron claim's lease is the family's wall limit plus this; after it, another server reruns
  // a tick whose server never recorded its end.
  absl::Duration cron_lease_margin = absl::Seconds(30);

  absl::Status Validate() const;
};

// One cron expression of a family with its next ticks and the newest claimed run
// (Runtime::Crons).
struct CronStatus {
  std::string cron;
  std::vector<absl::Time> next_ticks;  // the next three
  std::optional<absl::Time> last_tick;
  // The last run's Outcome name ("ok", ...), empty while it runs.
  std::string last_outcome;
  absl::Duration last_duration;
};

// Counters and gauges of the activation table. Counters are monotonic since creation.
struct RuntimeStats {
  uint64_t activations = 0;  // families activated (version resolved and prepared)
  uint64_t activation_failures = 0;
  uint64_t instances_created = 0;
  uint64_t instances_discarded = 0;  // after a limit breach or error
  uint64_t idle_unloads = 0;         // activations unloaded for idleness
  uint64_t budget_unloads = 0;       // activations unloaded for the memory budget
  // Activations of families the budget had unloaded while they were still in use (unloaded with
  // heat it remembers): cold starts a larger budget would have saved.
  uint64_t budget_returns = 0;
  uint64_t version_switches = 0;  // activations moved to a new version
  uint64_t invocations = 0;
  uint64_t load_shed = 0;
  // Requests routed to a side of a traffic split whose version could not start, served by the
  // other side instead (docs/deployments.md).
  uint64_t split_fallbacks = 0;
  uint64_t idle_memory_releases = 0;  // release_memory_when_idle trims
  // Idle instances that gave back their garbage (Instance::ReleaseMemory()), once per idle spell
  // of 10 s or more, or of 100 ms or more while instances hold more than memory_budget_bytes.
  uint64_t instance_memory_releases = 0;
  // Streamed responses whose body goes on after Invoke() returned (`stream_pending`; docs/
  // architecture.md, "Parked streams"): parked now (gauge), and ended since the start.
  uint64_t parked_streams = 0;
  uint64_t streams_ended = 0;
  uint64_t active_families = 0;  // gauge
  uint64_t live_instances = 0;   // gauge
  // Gauge: what all instances hold (Instance::MemoryBytes() as their pools last measured it),
  // those of versions replaced or unloaded that still finish a request or a stream included.
  uint64_t instance_memory_bytes = 0;
  // What they may hold: RuntimeOptions::memory_budget_bytes.
  uint64_t memory_budget_bytes = 0;
};

// A handle to one route family, resolved lazily on first Invoke(). Cheap to copy, like an Orleans
// grain reference. Thread-safe. Borrows the Runtime, which must outlive it.
class FamilyHandle {
 public:
  const std::string& family() const { return family_; }

  // Runs the family's active version on `request`. Never fails as a call: an unknown family is
  // Outcome::kNotFound, a saturated one kLoadShed, and so on.
  InvokeResult Invoke(const HttpRequest& request) const;

 private:
  friend class Runtime;
  FamilyHandle(Runtime* runtime, std::string family)
      : runtime_(runtime), family_(std::move(family)) {}

  Runtime* runtime_;
  std::string family_;
};

// The runtime described at the top of this file; made by NewRuntime(). Thread-safe.
class Runtime {
 public:
  virtual ~Runtime() = default;

  // The registry; deploys, rollbacks and deletes made through it switch activations at once.
  virtual Registry& registry() = 0;
  virtual Store& store() = 0;
  // The KV namespaces on that store; control-plane KV calls go through it.
  virtual KvStore& kv() = 0;

  FamilyHandle Family(absl::string_view family) { return FamilyHandle(this, std::string(family)); }

  // Same as Family(family).Invoke(request). When the result's response says `stream_pending`
  // (request.body_writer was Detachable()), the request is recorded (usage, logs) when its stream
  // ends, and the writer's Completed() carries its final result, on another thread — perhaps at
  // once, but never before this call returned. A stream that parked and ended before this call
  // returned is returned whole (not pending), and its writer gets no Completed().
  virtual InvokeResult Invoke(absl::string_view family, const HttpRequest& request) = 0;

  // Usage of a family (persisted totals plus what is not yet flushed). NOT_FOUND if the family
  // has never been invoked. No ownership check: callers check tenants through registry().
  virtual absl::StatusOr<FamilyUsage> Usage(absl::string_view family) = 0;

  // What this process has served since it started, per family and version it still serves or
  // has not yet flushed (versions long replaced drop out), in no order: counters for
  // /_cosmo/metrics, which never read the store.
  virtual std::vector<VersionUsage> ServedUsage() { return {}; }
  // Usage history of a family (usage.h): the buckets starting in the query's range, per version,
  // persisted ones plus what is not yet flushed (in the current minute); sorted by start, then
  // version; empty when there are none. INVALID_ARGUMENT for a bucket other than a minute or an
  // hour. No ownership check: callers check tenants through registry().
  virtual absl::StatusOr<std::vector<UsagePoint>> UsageHistory(absl::string_view family,
                                                               const UsageHistoryQuery& query) = 0;

  // Log records of `family` after `after_sequence`, at most `max_records`.
  virtual LogBatch ReadLogs(absl::string_view family, uint64_t after_sequence,
                            size_t max_records) = 0;
  // Like ReadLogs, but waits until a record newer than `after_sequence` exists or `deadline`
  // passes (then returns an empty batch).
  virtual LogBatch WaitForLogs(absl::string_view family, uint64_t after_sequence,
                               size_t max_records, absl::Time deadline) = 0;

  // Unloads idle activations, enforces the memory budget and flushes usage when due. The
  // background thread calls it; tests with a ManualClock call it directly.
  virtual void Maintain() = 0;

  // Merges unflushed usage into the store now (kBuffered durability).
  virtual absl::Status FlushUsage() = 0;

  virtual RuntimeStats Stats() const = 0;

  // Runs `family`'s scheduled(controller, env, ctx) now, with its limits and on its own
  // instances (never more of them than its requests may use), metered and logged as a scheduled
  // run. The scheduler calls it for each tick; `cosmoctl trigger` calls it directly.
  virtual InvokeResult RunScheduled(absl::string_view family, const ScheduledEvent& event) = 0;

  // The family's cron expressions with their next ticks and last runs. NOT_FOUND when it has
  // none (or run_crons is off). No ownership check.
  virtual absl::StatusOr<std::vector<CronStatus>> Crons(absl::string_view family) = 0;

  // Blocks until no scheduled run started by Maintain() is queued or running: for tests that
  // drive time with a ManualClock.
  virtual void WaitForScheduledRuns() = 0;
};

// Creates a runtime over `store`, which it owns. `engines` are the languages it runs; when empty,
// the built-in engines (JavaScript on V8, and Liquid) are created from `options.javascript`.
// INVALID_ARGUMENT names a bad option; an engine's or the registry's creation error otherwise.
absl::StatusOr<std::unique_ptr<Runtime>> NewRuntime(
    RuntimeOptions options, std::unique_ptr<Store> store,
    std::vector<std::unique_ptr<Engine>> engines = {});

}  // namespace cosmo

#endif  // COSMO_RUNTIME_H_
