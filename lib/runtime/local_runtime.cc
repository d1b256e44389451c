// The Runtime: activation table, instance pools, metering and logs over a Store, a Registry and
// the Engines (see include/cosmo/runtime.h for the contract).
//
// The request path: find the family's Activation (a shard reader lock), take its published
// Serving (one small mutex and a shared_ptr copy), let its router pick the version (during a
// traffic split: a look at two headers and a hash or a thread-local random draw, then a place at
// the split's gate), borrow an instance from that VersionSlot's pool, invoke, give the instance
// back, add the usage to the slot's cell. Loading a version happens off that path, under the
// activation's own load mutex, so a cold family never blocks another.
#include <malloc.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <map>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/random/random.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "common/thread_name.h"
#include "cosmo/javascript_engine.h"
#include "cosmo/liquid_engine.h"
#include "cosmo/runtime.h"
#include "cosmo/status_macros.h"
#include "metering/usage_history.h"
#include "metering/usage_meter.h"
#include "runtime/activation.h"
#include "runtime/activation_table.h"
#include "runtime/cron_scheduler.h"
#include "runtime/instance_gate.h"
#include "runtime/instance_pool.h"
#include "runtime/instance_reaper.h"
#include "runtime/log_ring.h"
#include "runtime/program_cache.h"
#include "runtime/stream_driver.h"

namespace cosmo {
namespace {

constexpr absl::Duration kMaxActivationBackoff = absl::Seconds(30);
// How often the background thread runs Maintain(); idle unloading and flushing are each done
// when due, so this only bounds how late they can be.
constexpr absl::Duration kMaintenanceTick = absl::Milliseconds(100);
// RuntimeOptions::on_budget_churn: the window it counts over (and so the most often it is told),
// and how many returns of families the budget unloaded in use it takes in that window.
constexpr absl::Duration kBudgetChurnWindow = absl::Minutes(1);
constexpr uint64_t kBudgetChurnMinReturns = 10;
constexpr absl::Duration kReporterSweepInterval = absl::Hours(1);
constexpr absl::Duration kIdleBeforeRelease = absl::Seconds(1);
// Half-life of a family's heat (Activation::FoldHeat): its requests count half as much for the
// memory budget after this long, so a family that was busy a minute ago and is quiet now goes
// before one that serves a request a second.
constexpr absl::Duration kHeatHalfLife = absl::Seconds(10);
// The heat of an unloaded family below which it is forgotten (a request ~20 s ago).
constexpr double kUnloadedHeatFloor = 0.25;
// An instance idle this long gives back what it can (Instance::ReleaseMemory(), for JavaScript a
// memory-reducing full GC: a tenth to an eighth of a busy hello instance, docs/performance.md),
// with at most kInstanceMemoryReleasePerPass of each Maintain() pass spent on it.
constexpr absl::Duration kIdleBeforeInstanceRelease = absl::Seconds(10);
constexpr absl::Duration kInstanceMemoryReleasePerPass = absl::Milliseconds(10);
// How long an instance beyond a version's first may stay idle before Maintain() destroys it.
constexpr absl::Duration kSpareInstanceIdle = absl::Seconds(30);
// How long a spare instance must have been idle for the memory budget to take it before it
// unloads a colder family: a spare used within this long is part of its family's concurrency.
constexpr absl::Duration kBudgetSpareIdle = absl::Seconds(1);
// What one pass over the memory budget may spend on giving back idle instances' garbage (a full
// GC of a few milliseconds each) before it unloads families; how long an instance must have been
// idle for it (a request arriving during the GC finds it out of its pool); and the least garbage
// worth a GC: what an instance holds over its pool's last instance after a release. A tail
// family under a Zipf mix serves a request every second or so, each adding a few KB.
constexpr absl::Duration kBudgetReleasePerPass = absl::Milliseconds(30);
constexpr absl::Duration kBudgetReleaseIdle = absl::Milliseconds(100);
constexpr size_t kBudgetReleaseMinGain = size_t{128} << 10;
// How long a request of a family that is serving waits for another request's load of the
// family's new version before it is served by the version it has (see LocalRuntime::Load).
constexpr absl::Duration kLoadPatience = absl::Milliseconds(500);
// Source bytes of the prepared versions kept for activations to come back to (ProgramCache):
// thousands of small families, or a few at the largest deployable size.
constexpr size_t kPreparedSourceBytes = size_t{64} << 20;

// An activation that could not start ends its requests with the outcome of its cause.
Outcome OutcomeForActivationFailure(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kNotFound:
      return Outcome::kNotFound;
    case absl::StatusCode::kResourceExhausted:
      return absl::StrContains(status.message(), "memory") ? Outcome::kExceededMemory
                                                           : Outcome::kExceededCpu;
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kInvalidArgument:
      return Outcome::kException;
    case absl::StatusCode::kUnavailable:
      // The store cannot be read (an etcd cluster without a majority): come back later, as a
      // gateway answers for a family it cannot load.
      return Outcome::kLoadShed;
    default:
      return Outcome::kInternal;
  }
}

// Secret values shorter than this are not masked in logs: a short value ("1", "on") would mask
// unrelated text everywhere and hide little.
constexpr size_t kMinMaskedSecretBytes = 4;
constexpr absl::string_view kMaskedSecret = "***";

// The values of `names` in `env` worth masking, longest first so a secret that contains another
// is masked whole.
std::vector<std::string> SecretValues(const std::vector<std::string>& names,
                                      const std::map<std::string, std::string>& env) {
  std::vector<std::string> values;
  for (const std::string& name : names) {
    auto it = env.find(name);
    if (it != env.end() && it->second.size() >= kMinMaskedSecretBytes) values.push_back(it->second);
  }
  std::sort(values.begin(), values.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  values.erase(std::unique(values.begin(), values.end()), values.end());
  return values;
}

// `text` with every occurrence of each of `secrets` replaced by "***".
std::string Redact(std::string text, const std::vector<std::string>& secrets) {
  for (const std::string& secret : secrets) {
    if (text.find(secret) == std::string::npos) continue;
    text = absl::StrReplaceAll(text, {{secret, kMaskedSecret}});
  }
  return text;
}

InvokeResult Failed(Outcome outcome, std::string error) {
  InvokeResult result;
  result.outcome = outcome;
  result.error = std::move(error);
  return result;
}

InvokeResult ActivationFailed(const absl::Status& status) {
  return Failed(OutcomeForActivationFailure(status), std::string(status.message()));
}

struct Counters {
  std::atomic<uint64_t> activations{0};
  std::atomic<uint64_t> activation_failures{0};
  std::atomic<uint64_t> idle_unloads{0};
  std::atomic<uint64_t> budget_unloads{0};
  std::atomic<uint64_t> budget_returns{0};
  std::atomic<uint64_t> version_switches{0};
  std::atomic<uint64_t> invocations{0};
  std::atomic<uint64_t> load_shed{0};
  std::atomic<uint64_t> split_fallbacks{0};
  std::atomic<uint64_t> idle_memory_releases{0};
  std::atomic<uint64_t> instance_memory_releases{0};
  std::atomic<uint64_t> streams_parked{0};
  InstancePoolCounters pools;
};

class LocalRuntime final : public Runtime {
 public:
  LocalRuntime(RuntimeOptions options, std::unique_ptr<Store> store, std::unique_ptr<KvStore> kv,
               std::vector<std::unique_ptr<Engine>> engines)
      : options_(std::move(options)),
        clock_(options_.clock != nullptr ? options_.clock : Clock::Real()),
        store_(std::move(store)),
        kv_(std::move(kv)),
        engines_(std::move(engines)),
        meter_(store_.get(), clock_),
        request_id_prefix_(absl::StrFormat(
            "%012x", absl::Uniform<uint64_t>(absl::BitGen(), 0, uint64_t{1} << 48))),
        last_flush_(clock_->Now()),
        last_reporter_sweep_(clock_->Now()),
        last_history_compaction_(clock_->Now()),
        churn_window_start_(clock_->Now()) {
    for (const auto& engine : engines_) engines_by_name_[engine->name()] = engine.get();
    streams_ = std::make_unique<StreamDriver>(
        [this](const std::string& family, const VersionSlot& slot, Instance::EndedStream ended) {
          EndStream(family, slot, std::move(ended));
        });
    max_instances_ = options_.max_instances_per_version != 0
                         ? options_.max_instances_per_version
                         : std::max<size_t>(8, 4 * std::thread::hardware_concurrency());
    parking_instances_ = options_.max_parking_instances_per_version != 0
                             ? options_.max_parking_instances_per_version
                             : std::max<size_t>(2, std::thread::hardware_concurrency());
  }

  absl::Status Start() {
    std::vector<Engine*> engines;
    for (const auto& engine : engines_) engines.push_back(engine.get());
    COSMO_ASSIGN_OR_RETURN(registry_, NewRegistry(store_.get(), engines, clock_,
                                                  {.caps = options_.caps,
                                                   .max_script_bytes = options_.max_script_bytes}));
    if (options_.run_crons) {
      crons_ = std::make_unique<CronScheduler>(
          store_.get(), registry_.get(), clock_,
          [this](const std::string& family, const ScheduledEvent& event) {
            return RunScheduled(family, event);
          },
          [this](const Manifest& manifest) {
            return ResolveLimits(manifest.limits, options_.caps).wall_per_request;
          },
          CronSchedulerOptions{
              .server_id = options_.server_id.empty() ? request_id_prefix_ : options_.server_id,
              .lease_margin = options_.cron_lease_margin});
    }
    registry_->AddChangeListener([this](absl::string_view family) {
      if (std::shared_ptr<Activation> activation = table_.Find(family)) activation->MarkChanged();
      if (crons_ != nullptr) crons_->FamilyChanged(family);
    });
    if (crons_ != nullptr) COSMO_RETURN_IF_ERROR(crons_->Start());
    if (options_.background_maintenance) {
      maintenance_ = std::thread([this] {
        NameThisThread("cosmo-maintain");
        while (!stop_.WaitForNotificationWithTimeout(kMaintenanceTick)) Maintain();
      });
    }
    return absl::OkStatus();
  }

  ~LocalRuntime() override {
    if (maintenance_.joinable()) {
      stop_.Notify();
      maintenance_.join();
    }
    // Scheduled runs use the whole runtime: they end before anything else goes.
    crons_.reset();
    // The registry's store watch calls the change listener, which uses table_, from its own
    // thread; stop it before any member goes.
    registry_.reset();
    // Streams still parked are cut off (recorded, their writers told) while the meter is here.
    streams_->Shutdown("cut off: the runtime is shutting down");
    for (const auto& activation : table_.All()) activation->Unload();
    // Usage must reach the store at shutdown; there is no caller left to report an error to.
    (void)meter_.Flush();
  }

  Registry& registry() override { return *registry_; }
  Store& store() override { return *store_; }
  KvStore& kv() override { return *kv_; }

  InvokeResult Invoke(absl::string_view family, const HttpRequest& request) override {
    counters_.invocations.fetch_add(1, std::memory_order_relaxed);
    absl::StatusOr<std::shared_ptr<const Serving>> active = ActiveServing(family);
    if (!active.ok()) return ActivationFailed(active.status());
    // Holds both slots alive for the whole request, whatever is published meanwhile.
    const std::shared_ptr<const Serving> serving = *std::move(active);
    bool pinned = false;
    absl::StatusOr<VersionRouter::Side> side = serving->router.Route(request.headers, &pinned);
    if (!side.ok()) return Failed(Outcome::kBadRequest, std::string(side.status().message()));
    const VersionSlot* chosen = serving->SlotOf(*side);
    if (chosen == nullptr) {
      // That side of the split could not start: the other side answers, unless the request asked
      // for this one by name.
      if (pinned) return RefusePinnedBrokenSide(family, *serving->broken);
      counters_.split_fallbacks.fetch_add(1, std::memory_order_relaxed);
      chosen = &serving->Other(*side);
    }
    const VersionSlot& slot = *chosen;
    if (request.body_writer != nullptr) request.body_writer->SetVersion(slot.version);

    InstanceGate* const gate = serving->gate.get();
    if (gate != nullptr && !gate->Enter(options_.max_queue_wait)) {
      counters_.load_shed.fetch_add(1, std::memory_order_relaxed);
      InvokeResult result =
          Failed(Outcome::kLoadShed,
                 absl::StrCat("all ", gate->capacity(), " instances of the split family '", family,
                              "' stayed busy for ", absl::FormatDuration(options_.max_queue_wait)));
      result.version = slot.version;
      Record(family, slot, result);
      return result;
    }
    absl::StatusOr<std::unique_ptr<Instance>> instance =
        slot.pool->Acquire(options_.max_queue_wait);
    if (!instance.ok()) {
      if (gate != nullptr) gate->Leave();
      const bool shed = absl::IsDeadlineExceeded(instance.status());
      if (shed) counters_.load_shed.fetch_add(1, std::memory_order_relaxed);
      InvokeResult result =
          Failed(shed ? Outcome::kLoadShed : OutcomeForActivationFailure(instance.status()),
                 std::string(instance.status().message()));
      result.version = slot.version;
      Record(family, slot, result);
      return result;
    }
    InvokeResult result = (*instance)->Invoke(request);
    const bool pending = result.response.stream_pending;
    // Until this call returns, the stream's end is kept here rather than told to its writer.
    if (pending) HandOff(request.body_writer);
    ReleaseInstance(family, serving->base.get() == &slot ? serving->base : serving->canary,
                    *std::move(instance),
                    pending ? InstancePool::Lent::kParked : InstancePool::Lent::kServed);
    if (gate != nullptr) gate->Leave();
    result.version = slot.version;
    if (pending) {
      // Recorded when the stream ends (EndStream), with its final outcome and usage.
      counters_.streams_parked.fetch_add(1, std::memory_order_relaxed);
      std::optional<InvokeResult> ended = HandedOff(request.body_writer);
      // Not `ended ? *ended : result`: that conditional copied the whole result.
      if (ended.has_value()) result = *std::move(ended);
      return result;
    }
    // The error text also reaches the HTTP client (first line of a 500): mask it for both.
    if (!result.error.empty()) result.error = Redact(std::move(result.error), slot.secret_values);
    Record(family, slot, result);
    return result;
  }

  absl::StatusOr<FamilyUsage> Usage(absl::string_view family) override {
    return meter_.Read(family);
  }

  std::vector<VersionUsage> ServedUsage() override { return meter_.Served(); }
  absl::StatusOr<std::vector<UsagePoint>> UsageHistory(absl::string_view family,
                                                       const UsageHistoryQuery& query) override {
    if (query.bucket != absl::Minutes(1) && query.bucket != absl::Hours(1)) {
      return absl::InvalidArgumentError(
          absl::StrCat("usage history bucket must be one minute or one hour, not ",
                       absl::FormatDuration(query.bucket)));
    }
    return meter_.ReadHistory(family, query);
  }

  LogBatch ReadLogs(absl::string_view family, uint64_t after_sequence,
                    size_t max_records) override {
    std::shared_ptr<LogRing> ring = FindRing(family);
    return ring == nullptr ? LogBatch() : ring->Read(after_sequence, max_records);
  }

  LogBatch WaitForLogs(absl::string_view family, uint64_t after_sequence, size_t max_records,
                       absl::Time deadline) override {
    return RingFor(family)->Wait(after_sequence, max_records, deadline);
  }

  void Maintain() override {
    if (crons_ != nullptr) crons_->Poll();
    const absl::Time now = clock_->Now();
    std::vector<std::shared_ptr<Activation>> activations = table_.All();
    bool unloaded_idle = false;
    if (options_.idle_timeout > absl::ZeroDuration()) {
      for (const auto& activation : activations) {
        if (now - activation->last_used() >= options_.idle_timeout && table_.Remove(activation)) {
          activation->Unload();
          counters_.idle_unloads.fetch_add(1, std::memory_order_relaxed);
          unloaded_idle = true;
        }
      }
    }
    // A family whose concurrency dropped goes back to one instance, and instances idle for a
    // while give back their garbage, a bounded share of each pass (a full GC takes milliseconds).
    const absl::Time release_deadline = absl::Now() + kInstanceMemoryReleasePerPass;
    for (const auto& activation : activations) {
      std::shared_ptr<const Serving> serving = activation->serving();
      if (serving == nullptr) continue;
      serving->ForEachSlot([&](const VersionSlot& slot) {
        counters_.instance_memory_releases.fetch_add(
            slot.pool->MaintainIdle(kSpareInstanceIdle, kIdleBeforeInstanceRelease,
                                    release_deadline),
            std::memory_order_relaxed);
      });
    }
    FoldHeat(now);
    EnforceMemoryBudget();
    ReportBudgetChurn(now);
    bool flush_due = false;
    bool sweep_due = false;
    bool compact_due = false;
    bool release_due = false;
    {
      absl::MutexLock lock(&maintenance_mu_);
      if (now - last_flush_ >= options_.usage_flush_interval) {
        last_flush_ = now;
        flush_due = true;
      }
      const absl::Duration retention = options_.usage_reporter_retention;
      if (retention > absl::ZeroDuration() &&
          now - last_reporter_sweep_ >= std::min(retention, kReporterSweepInterval)) {
        last_reporter_sweep_ = now;
        sweep_due = true;
      }
      if (now - last_history_compaction_ >=
          std::min(options_.usage_history_minutes, kReporterSweepInterval)) {
        last_history_compaction_ = now;
        compact_due = true;
      }
      // Idle unloads come after the idle period's first trim (the idle timeout is longer than a
      // second): what the isolates held is returned by a second trim, else it would stay in the
      // arenas until the next request and the next idle period.
      if (unloaded_idle) released_since_ = false;
      release_due = options_.release_memory_when_idle && IdleLongEnoughToRelease(now);
    }
    // A failed flush keeps its deltas for the next one.
    if (flush_due) (void)meter_.Flush();
    // A failed sweep is retried at the next interval; the records only take space meanwhile.
    if (sweep_due) (void)meter_.ForgetIdleReporters(options_.usage_reporter_retention);
    // Likewise: records past their time only take space until the next run.
    if (compact_due) {
      (void)usage_history::Compact(*store_, now, options_.usage_history_minutes,
                                   options_.usage_history_retention);
    }
    // Last, after the unloading and flushing above have freed what they free.
    if (release_due) {
      // The engines first: what they pool for reuse (the JavaScript engine's heap pages) is not
      // malloc's, and an idle host should hold none of it.
      for (const auto& engine : engines_) engine->ReleaseIdleMemory();
      malloc_trim(0);
      counters_.idle_memory_releases.fetch_add(1, std::memory_order_relaxed);
    }
  }

  absl::Status FlushUsage() override { return meter_.Flush(); }

  InvokeResult RunScheduled(absl::string_view family, const ScheduledEvent& event) override {
    absl::StatusOr<std::shared_ptr<const Serving>> active = ActiveServing(family);
    if (!active.ok()) return ActivationFailed(active.status());
    // Cron ticks run on the base of a split (the version whose crons the scheduler follows).
    const std::shared_ptr<const Serving> serving = *std::move(active);
    const std::shared_ptr<const VersionSlot>& slot = serving->base;
    if (slot == nullptr) return ActivationFailed(serving->broken->why);
    // The family's own pool: a scheduled run waits for one of its instances like a request,
    // and never takes another family's.
    absl::StatusOr<std::unique_ptr<Instance>> instance =
        slot->pool->Acquire(options_.max_queue_wait);
    InvokeResult result;
    if (!instance.ok()) {
      result = Failed(absl::IsDeadlineExceeded(instance.status())
                          ? Outcome::kLoadShed
                          : OutcomeForActivationFailure(instance.status()),
                      std::string(instance.status().message()));
    } else {
      result = (*instance)->RunScheduled(event);
      ReleaseInstance(family, slot, *std::move(instance), InstancePool::Lent::kServed);
      // `cosmoctl trigger` shows the output and error: masked as the logs are.
      result.error = Redact(std::move(result.error), slot->secret_values);
      for (ConsoleMessage& message : result.console) {
        message.text = Redact(std::move(message.text), slot->secret_values);
      }
    }
    slot->usage->AddScheduled(result.outcome, result.usage);
    RecordScheduled(family, *slot, event, result);
    return result;
  }

  absl::StatusOr<std::vector<CronStatus>> Crons(absl::string_view family) override {
    if (crons_ == nullptr) return absl::NotFoundError("this runtime runs no crons");
    return crons_->Schedule(family);
  }

  void WaitForScheduledRuns() override {
    if (crons_ != nullptr) crons_->WaitForRuns();
  }

  RuntimeStats Stats() const override {
    RuntimeStats stats;
    stats.activations = counters_.activations.load();
    stats.activation_failures = counters_.activation_failures.load();
    stats.instances_created = counters_.pools.created.load();
    stats.instances_discarded = counters_.pools.discarded.load();
    stats.idle_unloads = counters_.idle_unloads.load();
    stats.budget_unloads = counters_.budget_unloads.load();
    stats.budget_returns = counters_.budget_returns.load();
    stats.version_switches = counters_.version_switches.load();
    stats.invocations = counters_.invocations.load();
    stats.load_shed = counters_.load_shed.load();
    stats.split_fallbacks = counters_.split_fallbacks.load();
    stats.idle_memory_releases = counters_.idle_memory_releases.load();
    stats.instance_memory_releases = counters_.instance_memory_releases.load();
    stats.streams_ended = streams_->streams_ended();
    const uint64_t parked = counters_.streams_parked.load();
    stats.parked_streams = parked > stats.streams_ended ? parked - stats.streams_ended : 0;
    for (const auto& activation : table_.All()) {
      std::shared_ptr<const Serving> serving = activation->serving();
      if (serving == nullptr) continue;
      ++stats.active_families;
      serving->ForEachSlot(
          [&](const VersionSlot& slot) { stats.live_instances += slot.pool->live_instances(); });
    }
    stats.instance_memory_bytes = InstanceMemory();
    stats.memory_budget_bytes = options_.memory_budget_bytes;
    return stats;
  }

 private:
  // What serves the family, loading its active version(s) first when it has nothing published or
  // the registry changed. A family that does not exist leaves the table.
  absl::StatusOr<std::shared_ptr<const Serving>> ActiveServing(absl::string_view family) {
    if (!IsValidFamilyName(family)) {
      return absl::NotFoundError(absl::StrCat("no family '", family, "'"));
    }
    std::shared_ptr<Activation> activation = table_.FindOrCreate(family);
    const absl::Time now = clock_->Now();
    activation->Touch(now);
    // Staleness before the slot: see Activation::stale().
    const bool stale = activation->stale();
    std::shared_ptr<const Serving> serving = activation->serving();
    if (serving != nullptr && !stale && !serving->RetryDue(now)) return serving;
    if (serving == nullptr) RestoreHeat(*activation, now);
    absl::StatusOr<std::shared_ptr<const Serving>> loaded = Load(activation);
    if (absl::IsNotFound(loaded.status())) table_.Remove(activation);
    if (loaded.ok()) MakeRoomAfterLoad(*activation);
    return loaded;
  }

  // Resolves the family's active version and, when it changed, prepares it and publishes a new
  // slot with one warm instance. Concurrent callers for one family wait for the first, so new
  // requests switch to a new version at once — except that a family with a published slot does
  // not queue behind a load for long: not at all during a store outage (see LoadLocked), and at
  // most kLoadPatience otherwise, which a version switch (milliseconds) stays far below but a
  // version lookup stuck in the store's retries does not.
  absl::StatusOr<std::shared_ptr<const Serving>> Load(
      const std::shared_ptr<Activation>& activation) {
    std::shared_ptr<const Serving> serving = activation->serving();
    const bool has_slot = serving != nullptr;
    const absl::Duration patience =
        activation->serving_through_outage() ? absl::ZeroDuration() : kLoadPatience;
    if (!activation->AcquireLoad(has_slot, patience)) return serving;
    absl::StatusOr<std::shared_ptr<const Serving>> loaded;
    {
      absl::MutexLock lock(&activation->load_mu);
      loaded = LoadLocked(*activation);
    }
    activation->ReleaseLoad();
    return loaded;
  }

  // Load() with the activation's load_mu held. When the store cannot be read (UNAVAILABLE) and
  // the family already has a slot, the slot keeps serving — the data plane outlives the store, as
  // docs/cluster.md promises — and the version is looked up again after the usual backoff.
  absl::StatusOr<std::shared_ptr<const Serving>> LoadLocked(Activation& activation)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(activation.load_mu) {
    const bool stale = activation.stale();
    std::shared_ptr<const Serving> current = activation.serving();
    const absl::Time now = clock_->Now();
    // Loaded while we waited.
    if (current != nullptr && !stale && !current->RetryDue(now)) return current;
    // Read before resolving the version: a change committed after this read is counted after it
    // too, and leaves the activation stale for the next request.
    const uint64_t changes = activation.changes();
    if (!activation.failure.ok() && now < activation.retry_at &&
        changes == activation.failed_at_change) {
      if (current != nullptr && activation.serving_through_outage()) return current;
      return activation.failure;
    }

    absl::StatusOr<std::shared_ptr<const Serving>> loaded = LoadVersion(activation, current);
    if (!loaded.ok()) {
      if (absl::IsNotFound(loaded.status())) return loaded.status();
      counters_.activation_failures.fetch_add(1, std::memory_order_relaxed);
      activation.backoff = activation.backoff == absl::ZeroDuration()
                               ? options_.activation_retry_backoff
                               : std::min(activation.backoff * 2, kMaxActivationBackoff);
      activation.retry_at = now + activation.backoff;
      activation.failure = loaded.status();
      activation.failed_at_change = changes;
      const bool outage = current != nullptr && absl::IsUnavailable(loaded.status());
      activation.set_serving_through_outage(outage);
      if (outage) return current;
      return loaded.status();
    }
    activation.MarkPublished(changes);
    activation.failure = absl::OkStatus();
    activation.backoff = absl::ZeroDuration();
    activation.set_serving_through_outage(false);
    return loaded;
  }

  // Resolves what serves the family now and publishes it, reusing the slots (and warm instances)
  // of versions already serving: a split's percentages change without touching any instance.
  // A split one of whose versions cannot start serves from the other (Serving::broken); the
  // family fails only when nothing can serve it.
  absl::StatusOr<std::shared_ptr<const Serving>> LoadVersion(
      Activation& activation, const std::shared_ptr<const Serving>& current)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(activation.load_mu) {
    const std::string& family = activation.family();
    COSMO_ASSIGN_OR_RETURN(ActiveVersion active, registry_->GetActiveVersion(family));
    absl::StatusOr<std::shared_ptr<const VersionSlot>> base =
        SlotFor(family, active.version, active.engine, active.secret_names, current);
    if (!active.canary && !base.ok()) return base.status();
    absl::StatusOr<std::shared_ptr<const VersionSlot>> canary =
        std::shared_ptr<const VersionSlot>();
    uint32_t percent = 0;
    std::optional<BrokenSide> broken;
    // A split keeps one gate for as long as it lasts, so requests in flight across a change of
    // percentages stay counted.
    std::shared_ptr<InstanceGate> gate;
    if (active.canary) {
      canary = SlotFor(family, active.canary->version, active.canary->engine,
                       active.canary->secret_names, current);
      percent = active.canary->percent;
      if (!base.ok() && !canary.ok()) return base.status();
      if (!base.ok()) {
        broken = Broken(family, VersionRouter::Side::kBase, active.version, base.status(), **canary,
                        current);
      } else if (!canary.ok()) {
        broken = Broken(family, VersionRouter::Side::kCanary, active.canary->version,
                        canary.status(), **base, current);
      }
      gate = current != nullptr && current->gate != nullptr
                 ? current->gate
                 : std::make_shared<InstanceGate>(max_instances_);
    }
    auto serving = std::make_shared<Serving>(
        Serving{base.ok() ? *base : nullptr, canary.ok() ? *canary : nullptr,
                VersionRouter(active.version, active.canary ? active.canary->version : "", percent),
                std::move(gate), std::move(broken)});
    std::shared_ptr<const Serving> replaced = activation.Swap(serving);
    if (replaced != nullptr) {
      bool switched = false;
      replaced->ForEachSlot([&](const VersionSlot& slot) {
        if (serving->Uses(slot)) return;
        slot.pool->Retire();
        switched = true;
      });
      if (switched) counters_.version_switches.fetch_add(1, std::memory_order_relaxed);
    }
    return serving;
  }

  // The slot of `version`: the one `current` serves it with (re-masked if its secret names
  // changed), or a new one, prepared with one warm instance.
  absl::StatusOr<std::shared_ptr<const VersionSlot>> SlotFor(
      const std::string& family, const std::string& version, const std::string& engine_name,
      std::vector<std::string>& secret_names, const std::shared_ptr<const Serving>& current) {
    std::shared_ptr<const VersionSlot> existing;
    if (current != nullptr) {
      if (current->base != nullptr && current->base->version == version) existing = current->base;
      if (current->canary != nullptr && current->canary->version == version) {
        existing = current->canary;
      }
    }
    if (existing != nullptr && existing->secret_names == secret_names) return existing;
    COSMO_ASSIGN_OR_RETURN(std::shared_ptr<const PreparedVersion> prepared,
                           Prepared(family, version, engine_name));
    if (existing != nullptr) {
      // Same content deployed with other secret names: same instances, new masking.
      auto slot = std::make_shared<VersionSlot>(*existing);
      slot->secret_values = SecretValues(secret_names, prepared->env);
      slot->secret_names = std::move(secret_names);
      return slot;
    }
    auto pool = std::make_shared<InstancePool>(
        prepared->program, prepared->limits, max_instances_, &counters_.pools, clock_,
        [driver = streams_.get()] { driver->Wake(); },
        InstancePool::ParkingLimits{.instances = parking_instances_});
    // Start one instance now, so a script that cannot start fails here, once, with backoff —
    // not on every request.
    COSMO_ASSIGN_OR_RETURN(std::unique_ptr<Instance> warm, pool->Acquire(absl::ZeroDuration()));
    pool->Release(std::move(warm));

    auto slot = std::make_shared<VersionSlot>();
    slot->version = version;
    slot->pool = std::move(pool);
    slot->usage = meter_.CellFor(family, version);
    slot->secret_values = SecretValues(secret_names, prepared->env);
    slot->secret_names = std::move(secret_names);
    counters_.activations.fetch_add(1, std::memory_order_relaxed);
    return slot;
  }

  // `version` prepared by its engine: from programs_, or read from the store, prepared and kept
  // there, so an activation unloaded after idling comes back without either.
  absl::StatusOr<std::shared_ptr<const PreparedVersion>> Prepared(const std::string& family,
                                                                  const std::string& version,
                                                                  const std::string& engine_name) {
    std::shared_ptr<const PreparedVersion> cached = programs_.Find(version);
    if (cached != nullptr && cached->engine == engine_name) return cached;
    COSMO_ASSIGN_OR_RETURN(Manifest manifest, registry_->LoadManifest(version));
    auto engine = engines_by_name_.find(engine_name);
    if (engine == engines_by_name_.end()) {
      return absl::InternalError(absl::StrCat("family '", family, "' needs engine '", engine_name,
                                              "', which this server does not run"));
    }
    auto prepared = std::make_shared<PreparedVersion>();
    prepared->engine = engine_name;
    prepared->limits = ResolveLimits(manifest.limits, options_.caps);
    for (const auto& [name, source] : manifest.files)
      prepared->bytes += name.size() + source.size();
    COSMO_ASSIGN_OR_RETURN(prepared->program, engine->second->Prepare(version, manifest));
    prepared->env = std::move(manifest.env);
    programs_.Insert(version, prepared);
    return prepared;
  }

  // The side of a split whose version `why` could not start, `stand_in` serving its requests:
  // logged to the family (with the version, the reason and when it is tried again) and counted as
  // an activation failure. Tried again after a backoff that doubles while it keeps failing.
  BrokenSide Broken(const std::string& family, VersionRouter::Side side, const std::string& version,
                    absl::Status why, const VersionSlot& stand_in,
                    const std::shared_ptr<const Serving>& current) {
    counters_.activation_failures.fetch_add(1, std::memory_order_relaxed);
    BrokenSide broken{.side = side, .version = version, .why = std::move(why)};
    broken.usage = meter_.CellFor(family, version);
    const bool again = current != nullptr && current->broken && current->broken->version == version;
    broken.backoff = again ? std::min(current->broken->backoff * 2, kMaxActivationBackoff)
                           : options_.activation_retry_backoff;
    broken.retry_at = clock_->Now() + broken.backoff;
    LogRecord record;
    record.time = clock_->Now();
    record.family = family;
    record.version = version;
    record.level = LogLevel::kError;
    record.text = absl::StrCat("version ", version.substr(0, 12),
                               " could not start; its share of the split is served by ",
                               stand_in.version.substr(0, 12), " (next try in ",
                               absl::FormatDuration(broken.backoff), "): ", broken.why.message());
    RingFor(family)->Append(std::move(record));
    return broken;
  }

  // A request that pins (Cosmo-Version-Override) the side of a split that could not start: 503,
  // naming the version and why, counted in that version's usage.
  InvokeResult RefusePinnedBrokenSide(absl::string_view family, const BrokenSide& broken) {
    InvokeResult result =
        Failed(Outcome::kLoadShed,
               absl::StrCat("version ", broken.version.substr(0, 12), " of family '", family,
                            "' could not start, so ", kVersionOverrideHeader,
                            " cannot pin it (requests without the header are served by the other "
                            "version of the split): ",
                            broken.why.message()));
    result.version = broken.version;
    broken.usage->Add(result.outcome, result.usage);
    return result;
  }

  // True once per idle period: when no invocation has started for kIdleBeforeRelease, the first
  // time this is asked after the last one (and again after Maintain unloaded idle activations).
  bool IdleLongEnoughToRelease(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(maintenance_mu_) {
    const uint64_t invocations = counters_.invocations.load(std::memory_order_relaxed);
    if (invocations != invocations_seen_) {
      invocations_seen_ = invocations;
      last_invocation_seen_ = now;
      released_since_ = false;
      return false;
    }
    if (released_since_ || now - last_invocation_seen_ < kIdleBeforeRelease) return false;
    released_since_ = true;
    return true;
  }

  // Folds the requests since the last call into every activation's heat, decayed by the time
  // since then (kHeatHalfLife), and forgets the heat of unloaded families that has faded.
  void FoldHeat(absl::Time now) {
    absl::MutexLock lock(&heat_mu_);
    const double decay =
        last_heat_fold_ == absl::InfinitePast() ? 1 : HeatDecay(now - last_heat_fold_);
    last_heat_fold_ = now;
    for (const auto& activation : table_.All()) activation->FoldHeat(decay);
    absl::MutexLock ghosts(&unloaded_heat_mu_);
    absl::erase_if(unloaded_heat_, [&](const auto& entry) {
      return Decayed(entry.second, now) < kUnloadedHeatFloor;
    });
  }

  // A family the memory budget unloaded keeps its heat (requests, decayed) for when it comes
  // back: without it, every family returns worth one request and the next activations unload it
  // before the families that stayed, however busy it was. (Idle unloading forgets: an idle
  // family's heat has faded.)
  struct UnloadedHeat {
    double heat;
    absl::Time at;
  };
  // What heat keeps of itself after `elapsed` (kHeatHalfLife); 1 for no time or negative time.
  static double HeatDecay(absl::Duration elapsed) {
    const double seconds = std::max(absl::ToDoubleSeconds(elapsed), 0.0);
    return std::exp2(-seconds / absl::ToDoubleSeconds(kHeatHalfLife));
  }
  static double Decayed(const UnloadedHeat& unloaded, absl::Time now) {
    return unloaded.heat * HeatDecay(now - unloaded.at);
  }
  void RememberHeat(const Activation& activation) {
    const double heat = activation.heat_with_recent();
    if (heat < kUnloadedHeatFloor) return;
    absl::MutexLock lock(&unloaded_heat_mu_);
    unloaded_heat_[activation.family()] = {heat, clock_->Now()};
  }
  void RestoreHeat(Activation& activation, absl::Time now) {
    absl::MutexLock lock(&unloaded_heat_mu_);
    auto it = unloaded_heat_.find(activation.family());
    if (it == unloaded_heat_.end()) return;
    activation.RestoreHeat(Decayed(it->second, now));
    unloaded_heat_.erase(it);
    counters_.budget_returns.fetch_add(1, std::memory_order_relaxed);
  }

  // What a family's instances hold in memory, and what keeping it is worth (BudgetCandidates()).
  struct BudgetCandidate {
    double worth;  // heat per byte
    double heat;
    absl::Time last_used;
    size_t bytes;
    std::shared_ptr<Activation> activation;  // null for a newcomer (MakeRoomLocked())
  };

  // The memory budget's view of the serving families other than `keep` (may be null), least
  // worth keeping first. A family's worth is its heat (requests, decayed, with those since the
  // last fold counted in full) per byte it holds: bringing any family back costs about one cold
  // start, so unloading the one that serves the fewest requests for the memory it frees loses the
  // fewest. A family activated for one request is then among the first to go, not the busy family
  // used least recently; among equally cold families, the least recently used goes first.
  static BudgetCandidate Candidate(const Activation& activation) {
    const size_t bytes = MemoryBytes(activation);
    const double heat = activation.heat_with_recent();
    return {heat / static_cast<double>(std::max<size_t>(bytes, 1)), heat, activation.last_used(),
            bytes, nullptr};
  }
  std::vector<BudgetCandidate> BudgetCandidates(const Activation* keep) const {
    std::vector<BudgetCandidate> candidates;
    for (const auto& activation : table_.All()) {
      if (activation.get() == keep || activation->serving() == nullptr) continue;
      BudgetCandidate candidate = Candidate(*activation);
      candidate.activation = activation;
      candidates.push_back(std::move(candidate));
    }
    std::sort(candidates.begin(), candidates.end(), KeepsLess);
    return candidates;
  }

  // Frees from each of `c`'s pools what `freed_by` frees, taking it off *total and c.bytes (both
  // measured at the sizes the pools last measured, as their shedding and releases report).
  template <typename FreedBy>
  static void FreeFrom(BudgetCandidate& c, size_t* total, const FreedBy& freed_by) {
    std::shared_ptr<const Serving> serving = c.activation->serving();
    if (serving == nullptr) {
      c.bytes = 0;  // unloaded meanwhile: it holds nothing more
      return;
    }
    serving->ForEachSlot([&](const VersionSlot& slot) {
      const size_t freed = freed_by(*slot.pool);
      *total -= std::min(*total, freed);
      c.bytes -= std::min(c.bytes, freed);
    });
  }
  static void ShedSpares(BudgetCandidate& c, size_t* total, absl::Duration idle_for,
                         InstancePool::Doomed* doomed) {
    FreeFrom(c, total,
             [idle_for, doomed](InstancePool& pool) { return pool.ShedSpares(idle_for, doomed); });
  }

  // The spare instances nobody has used for kBudgetSpareIdle, in `candidates`' order (coldest
  // families first), until *total is within the budget; true when it is. Each family keeps one,
  // so none of them has to start again on its next request.
  bool ShedIdleSparesUntilWithinBudget(std::vector<BudgetCandidate>& candidates, size_t* total,
                                       InstancePool::Doomed* doomed) const {
    for (BudgetCandidate& c : candidates) {
      if (*total <= options_.memory_budget_bytes) return true;
      ShedSpares(c, total, kBudgetSpareIdle, doomed);
    }
    return *total <= options_.memory_budget_bytes;
  }

  // RuntimeOptions::on_budget_churn: once per kBudgetChurnWindow, when families the budget
  // unloaded in use came back at least kBudgetChurnMinReturns times in it.
  void ReportBudgetChurn(absl::Time now) {
    if (!options_.on_budget_churn) return;
    BudgetChurn churn;
    {
      absl::MutexLock lock(&maintenance_mu_);
      if (now - churn_window_start_ < kBudgetChurnWindow) return;
      const uint64_t unloads = counters_.budget_unloads.load(std::memory_order_relaxed);
      const uint64_t returns = counters_.budget_returns.load(std::memory_order_relaxed);
      churn.window = now - churn_window_start_;
      churn.unloads = unloads - churn_unloads_seen_;
      churn.returns = returns - churn_returns_seen_;
      churn_window_start_ = now;
      churn_unloads_seen_ = unloads;
      churn_returns_seen_ = returns;
    }
    if (churn.returns < kBudgetChurnMinReturns) return;
    churn.memory_bytes = InstanceMemory();
    churn.budget_bytes = options_.memory_budget_bytes;
    options_.on_budget_churn(churn);
  }

  // Engine::SetMemoryShort(), told on each change: short once the pools pass the budget, and no
  // longer once a maintenance pass finds them under nine tenths of it, so that a budget held at
  // its edge does not flip it with every activation.
  void NoteMemoryShort(bool short_of_memory) {
    if (memory_short_.load(std::memory_order_relaxed) == short_of_memory) return;
    absl::MutexLock lock(&memory_short_mu_);
    if (memory_short_.load(std::memory_order_relaxed) == short_of_memory) return;
    memory_short_.store(short_of_memory, std::memory_order_relaxed);
    for (const auto& engine : engines_) engine->SetMemoryShort(short_of_memory);
  }

  // What the pools hold now, kept by them as they change (InstancePoolCounters::memory_bytes).
  size_t InstanceMemory() const {
    return counters_.pools.memory_bytes.load(std::memory_order_relaxed);
  }

  // The memory budget, kept by the requests that take memory past it: a load that activated a
  // family (or switched its version) and left the pools over the budget sheds the spare
  // instances idle for a while, then unloads the families that give way to the one it loaded
  // (GivesWayTo(), in BudgetCandidates()' order) until they fit again, before its request runs. The
  // activations that cause the churn under a mix larger than the budget pay for it as they
  // happen, one family for one family, instead of the maintenance thread in batches of hundreds a
  // second late (docs/performance.md "Evicting on activation"); memory stays within the budget
  // but for the activations under way. A family with more heat than the newcomer, and more per
  // byte, stays: a one-off request does not push out a busy family, and what it leaves over the
  // budget is Maintain()'s, which collects idle instances' garbage first and may unload the
  // newcomer itself. (A family unloaded for the budget keeps its heat for when it comes back:
  // RestoreHeat().) The isolates of the families it unloads are torn down on the reaper's thread
  // (InstanceReaper: ~0.4 ms of CPU each), so the request pays only for the isolate and context
  // its own activation built.
  //
  // One request makes room at a time, and the others do not wait for it: under a mix whose
  // activations come faster than one thread makes room, requests queueing here were a convoy
  // (p99 ~190 ms, a third of the throughput). The one making room starts from what the pools
  // hold when it begins, the memory of activations that did not wait included; what comes later
  // is the next activation's.
  void MakeRoomAfterLoad(const Activation& loaded) {
    if (InstanceMemory() <= options_.memory_budget_bytes) return;
    NoteMemoryShort(true);
    if (!room_mu_.TryLock()) return;
    InstancePool::Doomed doomed;
    MakeRoomLocked(loaded, &doomed);
    room_mu_.Unlock();
    reaper_.Reap(doomed);  // torn down on the reaper's thread, not this request's
  }
  void MakeRoomLocked(const Activation& loaded, InstancePool::Doomed* doomed)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(room_mu_) {
    size_t total = InstanceMemory();
    if (total <= options_.memory_budget_bytes) return;
    std::vector<BudgetCandidate> candidates = BudgetCandidates(&loaded);
    if (ShedIdleSparesUntilWithinBudget(candidates, &total, doomed)) return;
    const BudgetCandidate newcomer = Candidate(loaded);
    std::erase_if(candidates, [&](const BudgetCandidate& c) { return !GivesWayTo(c, newcomer); });
    UnloadUntilWithinBudget(candidates, total, doomed);
  }

  // BudgetCandidates()' order: whether `a` is less worth keeping than `b`.
  static bool KeepsLess(const BudgetCandidate& a, const BudgetCandidate& b) {
    return a.worth != b.worth ? a.worth < b.worth : a.last_used < b.last_used;
  }
  // Whether an activation may unload `c` for `newcomer`: `c` is less worth keeping, or has no
  // more heat and was used less recently. (Per byte alone, a newcomer built from scratch, a few
  // hundred KB larger than an instance whose garbage was collected, would be worth less than
  // every family of equal heat and could unload none of them.)
  static bool GivesWayTo(const BudgetCandidate& c, const BudgetCandidate& newcomer) {
    return KeepsLess(c, newcomer) || (c.heat <= newcomer.heat && c.last_used <= newcomer.last_used);
  }

  // Maintain()'s pass over the budget, for what requests do not keep: instances a busy family
  // added for its concurrency, and garbage growing in instances. While the pools hold more than
  // the budget: spare instances idle for a while go first, then the garbage of idle instances (a
  // bounded share of each pass), then whole families, least worth keeping first
  // (BudgetCandidates()), each losing its other spares just before it.
  void EnforceMemoryBudget() {
    size_t total = InstanceMemory();
    if (total <= options_.memory_budget_bytes - options_.memory_budget_bytes / 10) {
      NoteMemoryShort(false);
    }
    if (total <= options_.memory_budget_bytes) return;
    NoteMemoryShort(true);
    std::vector<BudgetCandidate> candidates = BudgetCandidates(nullptr);
    if (ShedIdleSparesUntilWithinBudget(candidates, &total, nullptr)) return;
    // Then the garbage of idle instances: a full GC takes milliseconds and loses nothing, where
    // an unloaded family pays an activation on its next request (an isolate, its context, the
    // module: several times that). Bounded per pass, what it does not free in time goes the way
    // below, coldest family first; so it starts with the families that way would take last,
    // whose GC is not wasted on a family unloaded a moment later.
    const absl::Time release_deadline = absl::Now() + kBudgetReleasePerPass;
    for (auto it = candidates.rbegin(); it != candidates.rend(); ++it) {
      if (total <= options_.memory_budget_bytes) return;
      if (absl::Now() >= release_deadline) break;
      FreeFrom(*it, &total, [&](InstancePool& pool) {
        const InstancePool::Released released =
            pool.ReleaseIdleMemory(kBudgetReleaseIdle, kBudgetReleaseMinGain, release_deadline);
        counters_.instance_memory_releases.fetch_add(released.instances, std::memory_order_relaxed);
        return released.bytes;
      });
    }
    InstancePool::Doomed doomed;
    absl::MutexLock lock(&room_mu_);
    // Activations may have made room meanwhile.
    total = std::min(total, InstanceMemory());
    UnloadUntilWithinBudget(candidates, total, &doomed);
  }

  // Unloads whole families in `candidates`' order while `total` (what the pools hold) is over the
  // budget. A family's spares in use a moment ago are its concurrency: shedding them only makes
  // it build isolates again on its next requests (under a Zipf mix the busiest family lost and
  // rebuilt them on every pass), so they go only when its turn comes, before the family itself.
  // The instances it takes out go to `*doomed`, for the caller to destroy.
  void UnloadUntilWithinBudget(std::vector<BudgetCandidate>& candidates, size_t total,
                               InstancePool::Doomed* doomed)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(room_mu_) {
    for (BudgetCandidate& c : candidates) {
      if (total <= options_.memory_budget_bytes) break;
      ShedSpares(c, &total, absl::ZeroDuration(), doomed);
      if (total <= options_.memory_budget_bytes) break;
      if (table_.Remove(c.activation)) {
        c.activation->Unload(doomed);
        total -= std::min(total, c.bytes);
        counters_.budget_unloads.fetch_add(1, std::memory_order_relaxed);
        RememberHeat(*c.activation);
      }
    }
  }

  static size_t MemoryBytes(const Activation& activation) {
    std::shared_ptr<const Serving> serving = activation.serving();
    size_t bytes = 0;
    if (serving != nullptr) {
      serving->ForEachSlot([&](const VersionSlot& slot) { bytes += slot.pool->MemoryBytes(); });
    }
    return bytes;
  }

  // Gives `instance` back to `slot`'s pool after a request. An instance with parked streams is
  // turned here first when they have work due (or it was condemned, which ends them), and its
  // pool is handed to the stream driver: instances busy with a request are turned by the thread
  // that releases them, never by two threads at once.
  void ReleaseInstance(absl::string_view family, const std::shared_ptr<const VersionSlot>& slot,
                       std::unique_ptr<Instance> instance, InstancePool::Lent lent) {
    std::vector<Instance::EndedStream> ended;
    if (instance->ParkedStreams() > 0 &&
        (!instance->Reusable() || instance->NextParkedWake() <= absl::Now())) {
      ended = instance->ResumeParked();
    }
    const bool parked = instance->ParkedStreams() > 0;
    slot->pool->Release(std::move(instance), lent);
    if (parked) streams_->Track(std::string(family), slot);
    streams_->Ended(ended.size());
    for (Instance::EndedStream& stream : ended) EndStream(family, *slot, std::move(stream));
  }

  // A parked stream's end: recorded like any invocation, then its writer is told.
  // A stream that ends before the Invoke() that parked it returned is returned by that call, as
  // a whole (not pending): the writer's Completed() never comes before its caller knows the
  // stream is pending.
  void EndStream(absl::string_view family, const VersionSlot& slot, Instance::EndedStream ended) {
    InvokeResult& result = ended.result;
    result.version = slot.version;
    if (!result.error.empty()) result.error = Redact(std::move(result.error), slot.secret_values);
    Record(family, slot, result);
    {
      absl::MutexLock lock(&handoff_mu_);
      auto it = handoff_.find(ended.writer);
      if (it != handoff_.end()) {
        it->second = std::move(result);
        return;
      }
    }
    ended.writer->Completed(std::move(result));
  }

  void HandOff(ResponseBodyWriter* writer) {
    absl::MutexLock lock(&handoff_mu_);
    handoff_.emplace(writer, std::nullopt);
  }

  // The stream's final result if it ended meanwhile; from now on its end goes to its writer.
  std::optional<InvokeResult> HandedOff(ResponseBodyWriter* writer) {
    absl::MutexLock lock(&handoff_mu_);
    auto it = handoff_.find(writer);
    std::optional<InvokeResult> ended = std::move(it->second);
    handoff_.erase(it);
    return ended;
  }

  void Record(absl::string_view family, const VersionSlot& slot, const InvokeResult& result) {
    slot.usage->Add(result.outcome, result.usage);
    if (result.console.empty() && result.outcome == Outcome::kOk) return;
    AppendLogs(family, slot, result, NextRequestId());
  }

  std::string NextRequestId() {
    return absl::StrCat(
        request_id_prefix_, "-",
        absl::Hex(next_request_id_.fetch_add(1, std::memory_order_relaxed), absl::kZeroPad6));
  }

  // A scheduled run is always logged: one line with its tick and outcome, after its console
  // output (docs/cron.md, "Logs").
  void RecordScheduled(absl::string_view family, const VersionSlot& slot,
                       const ScheduledEvent& event, const InvokeResult& result) {
    const std::string request_id = NextRequestId();
    AppendLogs(family, slot, result, request_id);
    LogRecord record;
    record.time = clock_->Now();
    record.family = std::string(family);
    record.version = slot.version;
    record.request_id = request_id;
    record.level = result.outcome == Outcome::kOk ? LogLevel::kInfo : LogLevel::kError;
    record.text = absl::StrCat(
        "scheduled \"", event.cron, "\" at ",
        absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", event.scheduled_time, absl::UTCTimeZone()), ": ",
        OutcomeName(result.outcome), " in ", result.usage.wall_us / 1000, " ms",
        result.no_retry ? " (noRetry)" : "");
    record.is_outcome = true;
    record.outcome = result.outcome;
    RingFor(family)->Append(std::move(record));
  }

  void AppendLogs(absl::string_view family, const VersionSlot& slot, const InvokeResult& result,
                  const std::string& request_id) {
    std::shared_ptr<LogRing> ring = RingFor(family);
    for (const ConsoleMessage& message : result.console) {
      LogRecord record;
      record.time = message.time;
      record.family = std::string(family);
      record.version = slot.version;
      record.request_id = request_id;
      record.level = message.level;
      record.text = Redact(message.text, slot.secret_values);
      ring->Append(std::move(record));
    }
    if (result.outcome != Outcome::kOk) {
      LogRecord record;
      record.time = clock_->Now();
      record.family = std::string(family);
      record.version = slot.version;
      record.request_id = request_id;
      record.level = LogLevel::kError;
      record.text =
          Redact(absl::StrCat(OutcomeName(result.outcome), ": ", result.error), slot.secret_values);
      record.is_outcome = true;
      record.outcome = result.outcome;
      ring->Append(std::move(record));
    }
  }

  std::shared_ptr<LogRing> FindRing(absl::string_view family) {
    absl::MutexLock lock(&rings_mu_);
    auto it = rings_.find(family);
    return it == rings_.end() ? nullptr : it->second;
  }

  std::shared_ptr<LogRing> RingFor(absl::string_view family) {
    absl::MutexLock lock(&rings_mu_);
    auto [it, inserted] = rings_.try_emplace(family);
    if (inserted) {
      it->second = std::make_shared<LogRing>(options_.log_ring_records, options_.log_ring_bytes);
    }
    return it->second;
  }

  const RuntimeOptions options_;
  Clock* const clock_;
  const std::unique_ptr<Store> store_;
  // Engines' KV bindings borrow it: declared before engines_, so destroyed after them.
  const std::unique_ptr<KvStore> kv_;
  const std::vector<std::unique_ptr<Engine>> engines_;
  absl::flat_hash_map<std::string, Engine*> engines_by_name_;
  size_t max_instances_ = 1;
  // A pool most of whose requests park streams grows by rent up to this many (InstancePool).
  size_t parking_instances_ = 2;
  UsageMeter meter_;
  std::unique_ptr<Registry> registry_;
  std::unique_ptr<CronScheduler> crons_;
  // Before table_: pools (whose instances' wake handlers call it) go first.
  std::unique_ptr<StreamDriver> streams_;
  ActivationTable table_;
  ProgramCache programs_{kPreparedSourceBytes};
  Counters counters_;

  const std::string request_id_prefix_;
  std::atomic<uint64_t> next_request_id_{1};

  // Writers of streams that parked in an Invoke() that has not returned yet, each with the
  // stream's final result once it ended (EndStream).
  absl::Mutex handoff_mu_;
  absl::flat_hash_map<ResponseBodyWriter*, std::optional<InvokeResult>> handoff_
      ABSL_GUARDED_BY(handoff_mu_);

  absl::Mutex rings_mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<LogRing>> rings_ ABSL_GUARDED_BY(rings_mu_);

  absl::Mutex heat_mu_;  // one FoldHeat() at a time
  absl::Time last_heat_fold_ ABSL_GUARDED_BY(heat_mu_) = absl::InfinitePast();
  // One unloading for the memory budget at a time (MakeRoomAfterLoad, EnforceMemoryBudget).
  absl::Mutex room_mu_;
  // NoteMemoryShort(): what the engines were last told (written under the mutex, so that they
  // hear the changes in order; read without it on the request path).
  absl::Mutex memory_short_mu_;
  std::atomic<bool> memory_short_{false};
  // The heat of families the memory budget unloaded, until it fades (RememberHeat()).
  absl::Mutex unloaded_heat_mu_;
  absl::flat_hash_map<std::string, UnloadedHeat> unloaded_heat_ ABSL_GUARDED_BY(unloaded_heat_mu_);
  // Maintain()'s schedule: when each periodic job last ran, so concurrent calls run each once.
  absl::Mutex maintenance_mu_;
  absl::Time last_flush_ ABSL_GUARDED_BY(maintenance_mu_);
  absl::Time last_reporter_sweep_ ABSL_GUARDED_BY(maintenance_mu_);
  absl::Time last_history_compaction_ ABSL_GUARDED_BY(maintenance_mu_);
  // For release_memory_when_idle: the invocation count last seen, when it last moved, and
  // whether memory was released since.
  uint64_t invocations_seen_ ABSL_GUARDED_BY(maintenance_mu_) = 0;
  absl::Time last_invocation_seen_ ABSL_GUARDED_BY(maintenance_mu_);
  bool released_since_ ABSL_GUARDED_BY(maintenance_mu_) = true;
  // ReportBudgetChurn(): where the current window began, and the counters then.
  absl::Time churn_window_start_ ABSL_GUARDED_BY(maintenance_mu_);
  uint64_t churn_unloads_seen_ ABSL_GUARDED_BY(maintenance_mu_) = 0;
  uint64_t churn_returns_seen_ ABSL_GUARDED_BY(maintenance_mu_) = 0;

  absl::Notification stop_;
  std::thread maintenance_;
  // Declared last, so destroyed first: what requests left it is torn down while the engines
  // are still here.
  InstanceReaper reaper_;
};

}  // namespace

absl::Status RuntimeOptions::Validate() const {
  COSMO_RETURN_IF_ERROR(caps.Validate());
  if (max_script_bytes == 0) {
    return absl::InvalidArgumentError("runtime: max_script_bytes must be positive");
  }
  if (idle_timeout < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("runtime: idle_timeout must not be negative");
  }
  if (memory_budget_bytes == 0) {
    return absl::InvalidArgumentError("runtime: memory_budget_bytes must be positive");
  }
  if (usage_flush_interval <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("runtime: usage_flush_interval must be positive");
  }
  if (usage_history_minutes < absl::Minutes(1)) {
    return absl::InvalidArgumentError("runtime: usage_history_minutes must be at least 1m");
  }
  if (usage_history_retention <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "runtime: usage_history_retention must be positive (--usage-history-retention)");
  }
  if (max_queue_wait < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("runtime: max_queue_wait must not be negative");
  }
  if (log_ring_bytes < LogRing::kMinBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("runtime: log_ring_bytes must be at least ", LogRing::kMinBytes));
  }
  return absl::OkStatus();
}

InvokeResult FamilyHandle::Invoke(const HttpRequest& request) const {
  return runtime_->Invoke(family_, request);
}

absl::StatusOr<std::unique_ptr<Runtime>> NewRuntime(RuntimeOptions options,
                                                    std::unique_ptr<Store> store,
                                                    std::vector<std::unique_ptr<Engine>> engines) {
  COSMO_RETURN_IF_ERROR(options.Validate());
  if (store == nullptr) return absl::InvalidArgumentError("runtime: store must not be null");
  COSMO_ASSIGN_OR_RETURN(
      std::unique_ptr<KvStore> kv,
      NewKvStore(store.get(), options.clock != nullptr ? options.clock : Clock::Real(),
                 options.kv));
  if (options.javascript.kv == nullptr) options.javascript.kv = kv.get();
  if (engines.empty()) {
    COSMO_ASSIGN_OR_RETURN(std::unique_ptr<JavaScriptEngine> js,
                           NewJavaScriptEngine(options.javascript));
    engines.push_back(std::move(js));
    COSMO_ASSIGN_OR_RETURN(
        std::unique_ptr<Engine> liquid,
        NewLiquidEngine({.javascript = {.allow_codegen = options.javascript.allow_codegen,
                                        .kv = options.javascript.kv}}));
    engines.push_back(std::move(liquid));
  }
  auto runtime = std::make_unique<LocalRuntime>(std::move(options), std::move(store), std::move(kv),
                                                std::move(engines));
  COSMO_RETURN_IF_ERROR(runtime->Start());
  return runtime;
}

}  // namespace cosmo
