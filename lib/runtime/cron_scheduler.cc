#include "runtime/cron_scheduler.h"

#include <algorithm>
#include <limits>
#include <optional>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/thread_name.h"
#include "cosmo/internal/store_records.pb.h"
#include "cosmo/manifest.h"
#include "cosmo/outcome.h"
#include "store/store_keys.h"

namespace cosmo {
namespace {

// Catching up walks tick by tick from the newest claim; beyond this many ticks (a year of an
// every-minute expression) the expression simply starts again from now.
constexpr int kMaxCatchUpSteps = 600'000;
// Attempts of one compare-and-set rewrite of a claim against concurrent writers.
constexpr int kMaxClaimUpdates = 8;

int64_t NowMicros(Clock* clock) { return absl::ToUnixMicros(clock->Now()); }

std::string ExpressionHash(const std::string& cron) { return Sha256Hex(cron).substr(0, 16); }

// The tick at the end of a claim key.
int64_t TickOfKey(absl::string_view key) {
  int64_t tick = 0;
  const size_t slash = key.rfind('/');
  if (slash == absl::string_view::npos || !absl::SimpleAtoi(key.substr(slash + 1), &tick)) {
    return 0;
  }
  return tick;
}

bool Finished(const internal::CronRunRecord& record) { return record.done() || record.no_retry(); }

}  // namespace

CronScheduler::CronScheduler(Store* store, Registry* registry, Clock* clock, Runner runner,
                             WallLimit wall_limit, CronSchedulerOptions options)
    : store_(store),
      registry_(registry),
      clock_(clock),
      runner_(std::move(runner)),
      wall_limit_(std::move(wall_limit)),
      options_(std::move(options)) {}

CronScheduler::~CronScheduler() {
  {
    absl::MutexLock lock(&queue_mu_);
    stopping_ = true;
  }
  for (std::thread& thread : threads_) thread.join();
}

absl::Status CronScheduler::Start() {
  absl::StatusOr<std::vector<KeyValue>> families = store_->Scan(store_keys::kFamilyPrefix, {});
  if (!families.ok()) return families.status();
  {
    absl::MutexLock lock(&mu_);
    const int64_t now_us = NowMicros(clock_);
    for (const KeyValue& kv : *families) {
      Reload(kv.key.substr(store_keys::kFamilyPrefix.size()), now_us, /*catch_up=*/true);
    }
  }
  for (int i = 0; i < std::max(1, options_.run_threads); ++i) {
    threads_.emplace_back([this] {
      NameThisThread("cosmo-cron");
      RunThread();
    });
  }
  return absl::OkStatus();
}

void CronScheduler::FamilyChanged(absl::string_view family) {
  const int64_t now_us = NowMicros(clock_);
  absl::MutexLock lock(&changed_mu_);
  changed_.try_emplace(std::string(family), now_us);
}

void CronScheduler::Retry(const std::string& family, int64_t since_us) {
  absl::MutexLock lock(&changed_mu_);
  changed_.try_emplace(family, since_us);
}

void CronScheduler::Reload(const std::string& family, int64_t since_us, bool catch_up) {
  absl::StatusOr<ActiveVersion> active = registry_->GetActiveVersion(family);
  if (absl::IsNotFound(active.status())) {
    if (families_.erase(family) > 0 || catch_up) {
      // A deleted family's claims go with it (every server may try; deleting twice is fine).
      absl::StatusOr<std::vector<KeyValue>> claims =
          store_->Scan(store_keys::CronFamilyPrefix(family), {});
      if (claims.ok() && !claims->empty()) {
        WriteBatch batch;
        for (const KeyValue& kv : *claims) batch.Delete(kv.key);
        (void)store_->Commit(batch, Durability::kBuffered);
      }
    }
    return;
  }
  if (!active.ok()) {
    Retry(family, since_us);  // the store is unavailable: look again at the next poll
    return;
  }
  auto existing = families_.find(family);
  if (existing != families_.end() && existing->second.version == active->version) return;
  absl::StatusOr<Manifest> manifest = registry_->LoadManifest(active->version);
  if (!manifest.ok()) {
    Retry(family, since_us);
    return;
  }
  if (manifest->crons.empty()) {
    families_.erase(family);
    return;
  }
  FamilySchedule schedule;
  schedule.version = active->version;
  schedule.lease = wall_limit_(*manifest) + options_.lease_margin;
  for (const std::string& cron : manifest->crons) {
    absl::StatusOr<CronExpression> expression = CronExpression::Parse(cron);
    if (!expression.ok()) continue;  // validated at deploy; a stored one never fails
    Entry entry{cron, *std::move(expression), ExpressionHash(cron), 0};
    entry.next_us = entry.expression.NextAfterMicros(since_us);
    bool kept = false;
    if (existing != families_.end()) {
      for (const Entry& old : existing->second.entries) {
        if (old.cron == cron) entry.next_us = old.next_us, kept = true;
      }
    }
    if (!kept && catch_up) {
      if (std::optional<int64_t> missed = MissedTick(family, entry, since_us)) {
        entry.next_us = *missed;
      }
    }
    schedule.entries.push_back(std::move(entry));
  }
  earliest_us_ = 0;  // recomputed by the next Poll()
  families_[family] = std::move(schedule);
}

std::optional<int64_t> CronScheduler::MissedTick(const std::string& family, const Entry& entry,
                                                 int64_t now_us) {
  absl::StatusOr<std::vector<KeyValue>> newest =
      store_->Scan(store_keys::CronRunPrefix(family, entry.hash), {.limit = 1, .reverse = true});
  if (!newest.ok() || newest->empty()) return std::nullopt;
  const KeyValue& claim = newest->front();
  internal::CronRunRecord record;
  if (record.ParseFromString(claim.value) && !Finished(record)) {
    // Its server may have died mid-run: take it over once its lease ends.
    watched_.push_back({family, claim.key, record.lease_until_unix_micros()});
  }
  std::optional<int64_t> missed;
  int64_t tick = entry.expression.NextAfterMicros(TickOfKey(claim.key));
  for (int i = 0; tick <= now_us && i < kMaxCatchUpSteps; ++i) {
    missed = tick;
    tick = entry.expression.NextAfterMicros(tick);
  }
  return missed;
}

void CronScheduler::Poll() {
  absl::flat_hash_map<std::string, int64_t> changed;
  {
    absl::MutexLock lock(&changed_mu_);
    changed.swap(changed_);
  }
  absl::MutexLock lock(&mu_);
  const int64_t now_us = NowMicros(clock_);
  for (const auto& [family, since_us] : changed) Reload(family, since_us, /*catch_up=*/false);
  bool lease_due = false;
  for (const Watched& w : watched_) lease_due |= w.lease_until_us <= now_us;
  if (earliest_us_ != 0 && now_us < earliest_us_ && !lease_due) return;

  int64_t earliest = std::numeric_limits<int64_t>::max();
  for (auto& [family, schedule] : families_) {
    for (Entry& entry : schedule.entries) {
      if (entry.next_us <= now_us) {
        // Only the newest due tick runs: ticks missed while nothing polled are not replayed.
        int64_t due = entry.next_us;
        while (entry.next_us <= now_us) {
          due = entry.next_us;
          entry.next_us = entry.expression.NextAfterMicros(entry.next_us);
        }
        Claim(family, schedule, entry, due, now_us);
      }
      earliest = std::min(earliest, entry.next_us);
    }
  }
  earliest_us_ = earliest;
  if (lease_due) TakeOverExpired(now_us);
}

void CronScheduler::Claim(const std::string& family, const FamilySchedule& schedule,
                          const Entry& entry, int64_t tick_us, int64_t now_us) {
  const std::string key = store_keys::CronRun(family, entry.hash, tick_us);
  internal::CronRunRecord record;
  record.set_server(options_.server_id);
  record.set_lease_until_unix_micros(now_us + absl::ToInt64Microseconds(schedule.lease));
  record.set_attempt(1);
  record.set_cron(entry.cron);
  record.set_started_unix_micros(now_us);
  record.set_version(schedule.version);
  std::string value = record.SerializeAsString();
  WriteBatch batch;
  batch.ExpectAbsent(key).Put(key, value);
  absl::Status committed = store_->Commit(batch, Durability::kSync);
  Job job{family, key, {entry.cron, absl::FromUnixMicros(tick_us), nullptr}, value};
  if (committed.ok()) {
    ++claims_;
    Enqueue(std::move(job));
    return;
  }
  // Lost to another server, or the outcome of the commit is unknown: read what is there.
  absl::StatusOr<std::string> stored = store_->Get(key);
  internal::CronRunRecord holder;
  if (!stored.ok() || !holder.ParseFromString(*stored)) return;
  if (holder.server() == options_.server_id && !Finished(holder) && *stored == value) {
    ++claims_;  // our own commit went through after all
    Enqueue(std::move(job));
    return;
  }
  if (!Finished(holder)) watched_.push_back({family, key, holder.lease_until_unix_micros()});
}

void CronScheduler::TakeOverExpired(int64_t now_us) {
  std::vector<Watched> still;
  for (Watched& w : watched_) {
    if (w.lease_until_us > now_us) {
      still.push_back(std::move(w));
      continue;
    }
    absl::StatusOr<std::string> stored = store_->Get(w.key);
    internal::CronRunRecord record;
    if (!stored.ok()) {
      if (!absl::IsNotFound(stored.status())) still.push_back(std::move(w));  // retry later
      continue;
    }
    if (!record.ParseFromString(*stored) || Finished(record)) continue;
    if (record.lease_until_unix_micros() > now_us) {
      w.lease_until_us = record.lease_until_unix_micros();  // someone took it over
      still.push_back(std::move(w));
      continue;
    }
    auto schedule = families_.find(w.family);
    const absl::Duration lease = schedule != families_.end()
                                     ? schedule->second.lease
                                     : absl::Seconds(30) + options_.lease_margin;
    record.set_server(options_.server_id);
    record.set_lease_until_unix_micros(now_us + absl::ToInt64Microseconds(lease));
    record.set_attempt(record.attempt() + 1);
    record.set_started_unix_micros(now_us);
    std::string value = record.SerializeAsString();
    absl::Status taken = store_->CompareAndSet(w.key, *stored, value);
    if (absl::IsAborted(taken)) {
      still.push_back(std::move(w));  // changed meanwhile: look again
      continue;
    }
    if (!taken.ok()) {
      still.push_back(std::move(w));
      continue;
    }
    ++claims_;
    Enqueue({w.family,
             w.key,
             {record.cron(), absl::FromUnixMicros(TickOfKey(w.key)), nullptr},
             std::move(value)});
  }
  watched_ = std::move(still);
}

void CronScheduler::Enqueue(Job job) {
  absl::MutexLock lock(&queue_mu_);
  queue_.push_back(std::move(job));
}

void CronScheduler::RunThread() {
  while (true) {
    Job job;
    {
      absl::MutexLock lock(&queue_mu_);
      queue_mu_.Await(absl::Condition(
          +[](CronScheduler* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->queue_mu_) {
            return self->stopping_ || !self->queue_.empty();
          },
          this));
      if (stopping_) return;
      job = std::move(queue_.front());
      queue_.pop_front();
      ++running_;
    }
    Run(std::move(job));
    absl::MutexLock lock(&queue_mu_);
    --running_;
  }
}

void CronScheduler::Run(Job job) {
  std::string record = job.record;
  job.event.on_no_retry = [&] {
    UpdateClaim(job.key, &record, [](std::string* value) {
      internal::CronRunRecord r;
      r.ParseFromString(*value);
      r.set_no_retry(true);
      *value = r.SerializeAsString();
    });
  };
  const InvokeResult result = runner_(job.family, job.event);
  UpdateClaim(job.key, &record, [&](std::string* value) {
    internal::CronRunRecord r;
    r.ParseFromString(*value);
    r.set_done(true);
    r.set_no_retry(r.no_retry() || result.no_retry);
    r.set_outcome(std::string(OutcomeName(result.outcome)));
    r.set_duration_micros(result.usage.wall_us);
    *value = r.SerializeAsString();
  });
  // Finished claims older than this one are history: keep only the newest per expression.
  const std::string prefix = job.key.substr(0, job.key.rfind('/') + 1);
  absl::StatusOr<std::vector<KeyValue>> older = store_->Scan(prefix, {});
  if (!older.ok()) return;
  WriteBatch batch;
  for (const KeyValue& kv : *older) {
    internal::CronRunRecord r;
    if (kv.key >= job.key || !r.ParseFromString(kv.value) || !Finished(r)) continue;
    batch.ExpectValue(kv.key, kv.value).Delete(kv.key);
  }
  if (!batch.empty()) (void)store_->Commit(batch, Durability::kBuffered);
}

void CronScheduler::UpdateClaim(const std::string& key, std::string* record,
                                const std::function<void(std::string*)>& update) {
  for (int attempt = 0; attempt < kMaxClaimUpdates; ++attempt) {
    internal::CronRunRecord current;
    if (!current.ParseFromString(*record) || current.server() != options_.server_id) return;
    std::string next = *record;
    update(&next);
    absl::Status set = store_->CompareAndSet(key, *record, next);
    if (set.ok()) {
      *record = std::move(next);
      return;
    }
    if (!absl::IsAborted(set) && !absl::IsUnavailable(set)) return;
    absl::StatusOr<std::string> stored = store_->Get(key);
    if (!stored.ok()) return;
    *record = *std::move(stored);
  }
}

void CronScheduler::WaitForRuns() {
  absl::MutexLock lock(&queue_mu_);
  queue_mu_.Await(absl::Condition(
      +[](CronScheduler* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->queue_mu_) {
        return self->queue_.empty() && self->running_ == 0;
      },
      this));
}

absl::StatusOr<std::vector<CronStatus>> CronScheduler::Schedule(absl::string_view family) {
  // A change not yet polled is read now, so a schedule asked for right after a deploy is the
  // deployed one.
  std::optional<int64_t> changed_since_us;
  {
    absl::MutexLock lock(&changed_mu_);
    auto changed = changed_.find(family);
    if (changed != changed_.end()) {
      changed_since_us = changed->second;
      changed_.erase(changed);
    }
  }
  absl::MutexLock lock(&mu_);
  if (changed_since_us) Reload(std::string(family), *changed_since_us, /*catch_up=*/false);
  auto it = families_.find(std::string(family));
  if (it == families_.end()) {
    return absl::NotFoundError(absl::StrCat("family '", family, "' has no crons"));
  }
  std::vector<CronStatus> out;
  for (const Entry& entry : it->second.entries) {
    CronStatus e;
    e.cron = entry.cron;
    int64_t tick = entry.next_us;
    for (int i = 0; i < 3; ++i, tick = entry.expression.NextAfterMicros(tick)) {
      e.next_ticks.push_back(absl::FromUnixMicros(tick));
    }
    absl::StatusOr<std::vector<KeyValue>> newest =
        store_->Scan(store_keys::CronRunPrefix(family, entry.hash), {.limit = 1, .reverse = true});
    internal::CronRunRecord record;
    if (newest.ok() && !newest->empty() && record.ParseFromString(newest->front().value)) {
      e.last_tick = absl::FromUnixMicros(TickOfKey(newest->front().key));
      e.last_outcome = record.outcome();
      e.last_duration = absl::Microseconds(record.duration_micros());
    }
    out.push_back(std::move(e));
  }
  return out;
}

uint64_t CronScheduler::claims() const {
  absl::MutexLock lock(&mu_);
  return claims_;
}

}  // namespace cosmo
