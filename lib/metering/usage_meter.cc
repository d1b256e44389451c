#include "metering/usage_meter.h"

#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "cosmo/internal/store_records.pb.h"
#include "cosmo/status_macros.h"
#include "metering/usage_history.h"
#include "metering/usage_proto.h"
#include "store/store_keys.h"

namespace cosmo {
namespace {

constexpr int kMaxMergeAttempts = 32;

// A reporter record: UsageReporterRecord, or (written before records were stamped) the sequence
// in decimal, which reads as last updated at the epoch.
absl::StatusOr<internal::UsageReporterRecord> ParseReporter(absl::string_view raw,
                                                            absl::string_view key) {
  internal::UsageReporterRecord record;
  uint64_t legacy_sequence = 0;
  if (!raw.empty() && absl::SimpleAtoi(raw, &legacy_sequence)) {
    record.set_sequence(legacy_sequence);
    return record;
  }
  if (!record.ParseFromArray(raw.data(), static_cast<int>(raw.size()))) {
    return absl::DataLossError(absl::StrCat("usage record '", key, "' is unreadable"));
  }
  return record;
}

}  // namespace

std::shared_ptr<UsageCell> UsageMeter::CellFor(absl::string_view family,
                                               absl::string_view version) {
  absl::MutexLock lock(&mu_);
  auto [it, inserted] =
      cells_.try_emplace(std::make_pair(std::string(family), std::string(version)));
  if (inserted) it->second = std::make_shared<UsageCell>();
  return it->second;
}

absl::Status UsageMeter::Flush() {
  absl::MutexLock flush_lock(&flush_mu_);
  std::vector<std::pair<std::pair<std::string, std::string>, std::shared_ptr<UsageCell>>> cells;
  {
    absl::MutexLock lock(&mu_);
    cells.assign(cells_.begin(), cells_.end());
  }
  absl::Status first_error;
  for (auto& [key, cell] : cells) {
    UsageTotals delta = cell->Take();
    if (delta.invocations == 0) continue;
    absl::Status merged = MergeIntoStore(key.first, key.second, delta);
    if (!merged.ok()) {
      cell->Restore(delta);
      if (first_error.ok()) first_error = merged;
    }
  }
  cells.clear();
  ForgetUnusedCells();
  return first_error;
}

std::vector<VersionUsage> UsageMeter::Served() {
  std::vector<VersionUsage> out;
  absl::MutexLock lock(&mu_);
  out.reserve(cells_.size());
  for (const auto& [key, cell] : cells_) out.push_back({key.first, key.second, cell->Served()});
  return out;
}

void UsageMeter::ForgetUnusedCells() {
  // A cell only this map holds belongs to a version no slot serves any more (replaced or
  // unloaded); once its delta has reached the store, it can go. CellFor() hands out references
  // under mu_, so none can appear while it is held. Every deploy makes a version, so without this
  // the map would grow by one cell per version ever served.
  absl::MutexLock lock(&mu_);
  absl::erase_if(cells_, [](const auto& entry) {
    return entry.second.use_count() == 1 && entry.second->Peek().invocations == 0;
  });
}

absl::Status UsageMeter::MergeIntoStore(const std::string& family, const std::string& version,
                                        const UsageTotals& delta) {
  // The totals and the minute's history record move together, so the history sums to the totals.
  const std::string minute_key =
      store_keys::UsageMinute(family, usage_history::MinuteOf(clock_->Now()), version);
  for (int attempt = 0; attempt < kMaxMergeAttempts; ++attempt) {
    usage_history::MergeSet merged;
    COSMO_RETURN_IF_ERROR(merged.Add(*store_, store_keys::Usage(family, version), delta));
    COSMO_RETURN_IF_ERROR(merged.Add(*store_, minute_key, delta));
    WriteBatch batch;
    merged.AppendTo(batch);
    absl::Status s = store_->Commit(batch, Durability::kBuffered);
    if (!absl::IsAborted(s)) return s;
  }
  return absl::AbortedError(absl::StrCat("usage of ", family, " is contended; will retry"));
}

absl::Status UsageMeter::MergeReport(absl::string_view reporter, uint64_t sequence,
                                     const Report& report) {
  const std::string reporter_key = store_keys::UsageReporter(reporter);
  for (int attempt = 0; attempt < kMaxMergeAttempts; ++attempt) {
    WriteBatch batch;
    COSMO_ASSIGN_OR_RETURN(std::optional<std::string> applied_raw, store_->Find(reporter_key));
    internal::UsageReporterRecord applied;
    if (applied_raw) {
      COSMO_ASSIGN_OR_RETURN(applied, ParseReporter(*applied_raw, reporter_key));
    }
    if (sequence <= applied.sequence()) return absl::OkStatus();
    internal::UsageReporterRecord next;
    next.set_sequence(sequence);
    next.set_updated_unix_micros(absl::ToUnixMicros(clock_->Now()));
    batch.Expect(reporter_key, applied_raw);
    batch.Put(reporter_key, next.SerializeAsString());
    // One record per key even if the report names a (family, version) twice; the report's usage
    // goes to the minute it is merged in, like a flush's.
    const int64_t minute = usage_history::MinuteOf(clock_->Now());
    usage_history::MergeSet merged;
    for (const auto& [key, delta] : report) {
      COSMO_RETURN_IF_ERROR(merged.Add(*store_, store_keys::Usage(key.first, key.second), delta));
      COSMO_RETURN_IF_ERROR(
          merged.Add(*store_, store_keys::UsageMinute(key.first, minute, key.second), delta));
    }
    merged.AppendTo(batch);
    absl::Status s = store_->Commit(batch, Durability::kSync);
    if (!absl::IsAborted(s)) return s;
  }
  return absl::AbortedError(absl::StrCat("usage report of ", reporter, " is contended; retry"));
}

absl::StatusOr<size_t> UsageMeter::ForgetIdleReporters(absl::Duration idle) {
  const int64_t cutoff_micros = absl::ToUnixMicros(clock_->Now() - idle);
  size_t forgotten = 0;
  ScanOptions page{.limit = 1000};
  while (true) {
    COSMO_ASSIGN_OR_RETURN(std::vector<KeyValue> rows,
                           store_->Scan(store_keys::kUsageReporterPrefix, page));
    for (const KeyValue& row : rows) {
      absl::StatusOr<internal::UsageReporterRecord> record = ParseReporter(row.value, row.key);
      // An unreadable record stays for MergeReport to report; it is not this sweep's to judge.
      if (!record.ok()) continue;
      const bool stamped = record->updated_unix_micros() != 0;
      if (stamped && record->updated_unix_micros() >= cutoff_micros) continue;
      WriteBatch batch;
      batch.ExpectValue(row.key, row.value);
      batch.Delete(row.key);
      absl::Status s = store_->Commit(batch, Durability::kBuffered);
      if (s.ok()) {
        ++forgotten;
      } else if (!absl::IsAborted(s)) {  // ABORTED: reported meanwhile, so not idle after all
        return s;
      }
    }
    if (page.limit == 0 || rows.size() < page.limit) break;
    page.start_after = rows.back().key;
  }
  return forgotten;
}

absl::StatusOr<FamilyUsage> UsageMeter::Read(absl::string_view family) {
  // Excludes a concurrent flush, which would otherwise move a delta from a cell into the store
  // between the scan and the peek below and be seen twice or not at all.
  absl::MutexLock flush_lock(&flush_mu_);
  FamilyUsage usage;
  usage.family = std::string(family);
  const std::string prefix = store_keys::UsagePrefix(family);
  COSMO_ASSIGN_OR_RETURN(std::vector<KeyValue> rows, store_->Scan(prefix, {}));
  for (const KeyValue& row : rows) {
    COSMO_ASSIGN_OR_RETURN(UsageTotals totals, ParseUsage(row.value, row.key));
    usage.versions[row.key.substr(prefix.size())] = totals;
  }
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [key, cell] : cells_) {
      if (key.first != family) continue;
      UsageTotals pending = cell->Peek();
      if (pending.invocations > 0) usage.versions[key.second].Merge(pending);
    }
  }
  if (usage.versions.empty()) {
    return absl::NotFoundError(absl::StrCat("no usage recorded for family '", family, "'"));
  }
  for (const auto& [version, totals] : usage.versions) usage.total.Merge(totals);
  return usage;
}

absl::StatusOr<std::vector<UsagePoint>> UsageMeter::ReadHistory(absl::string_view family,
                                                                const UsageHistoryQuery& query) {
  // As in Read(): no flush may move a delta into the store between the scan and the peek.
  absl::MutexLock flush_lock(&flush_mu_);
  COSMO_ASSIGN_OR_RETURN(std::vector<UsagePoint> points,
                         usage_history::Read(*store_, family, query));
  // Pending deltas belong to the minute the next flush will write them in: now.
  const absl::Time now = clock_->Now();
  if (now < query.since || now >= query.until) return points;
  absl::MutexLock lock(&mu_);
  for (const auto& [key, cell] : cells_) {
    if (key.first != family) continue;
    UsageTotals pending = cell->Peek();
    if (pending.invocations > 0) {
      usage_history::AddPoint(points, now, query.bucket, key.second, pending);
    }
  }
  return points;
}

}  // namespace cosmo
