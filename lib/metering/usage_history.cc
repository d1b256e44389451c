#include "metering/usage_history.h"

#include <algorithm>
#include <tuple>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cosmo/status_macros.h"
#include "metering/usage_proto.h"
#include "store/store_keys.h"

namespace cosmo::usage_history {
namespace {

constexpr size_t kScanPage = 1000;
constexpr int64_t kMinute = 60;
constexpr int64_t kHour = 3600;

int64_t FloorTo(absl::Time t, int64_t width_seconds) {
  const int64_t seconds = absl::ToUnixSeconds(t);
  int64_t floor = seconds / width_seconds * width_seconds;
  if (floor > seconds) floor -= width_seconds;  // negative times round down, not toward zero
  return floor;
}

// A history key split after its family prefix: "<20-digit start>/<version>".
struct ParsedKey {
  int64_t start = 0;
  std::string version;
};

std::optional<ParsedKey> ParseKey(absl::string_view key, absl::string_view prefix) {
  if (key.size() < prefix.size() + 21) return std::nullopt;
  absl::string_view rest = key.substr(prefix.size());
  ParsedKey parsed;
  if (rest[20] != '/' || !absl::SimpleAtoi(rest.substr(0, 20), &parsed.start)) return std::nullopt;
  parsed.version = std::string(rest.substr(21));
  return parsed;
}

// The scan position just before records starting at `start` (keys sort by start).
std::string StartAfter(absl::string_view prefix, int64_t start) {
  return absl::StrFormat("%s%020d", prefix, start - 1) + "/\xff";
}

int64_t ClampedSeconds(absl::Time t) {
  if (t == absl::InfinitePast()) return 0;
  if (t == absl::InfiniteFuture()) return int64_t{99999999999};
  return std::max<int64_t>(0, absl::ToUnixSeconds(t));
}

// Calls `visit(key, value, parsed)` for the records under `prefix` starting in [from, until),
// in key order. `visit` returns a status; the first error ends the walk.
template <typename Visit>
absl::Status Walk(Store& store, const std::string& prefix, int64_t from, int64_t until,
                  Visit visit) {
  ScanOptions page{.start_after = StartAfter(prefix, from), .limit = kScanPage};
  while (true) {
    COSMO_ASSIGN_OR_RETURN(std::vector<KeyValue> rows, store.Scan(prefix, page));
    for (const KeyValue& row : rows) {
      std::optional<ParsedKey> parsed = ParseKey(row.key, prefix);
      if (!parsed) {
        return absl::DataLossError(absl::StrCat("usage history key '", row.key, "' is malformed"));
      }
      if (parsed->start >= until) return absl::OkStatus();
      COSMO_RETURN_IF_ERROR(visit(row, *parsed));
    }
    if (rows.size() < page.limit) return absl::OkStatus();
    page.start_after = rows.back().key;
  }
}

}  // namespace

int64_t MinuteOf(absl::Time t) { return FloorTo(t, kMinute); }
int64_t HourOf(absl::Time t) { return FloorTo(t, kHour); }

absl::Status MergeSet::Add(Store& store, const std::string& key, const UsageTotals& delta) {
  auto [it, inserted] = entries_.try_emplace(key);
  if (inserted) {
    COSMO_ASSIGN_OR_RETURN(it->second.read, store.Find(key));
    if (it->second.read) {
      COSMO_ASSIGN_OR_RETURN(it->second.merged, ParseUsage(*it->second.read, key));
    }
  }
  it->second.merged.Merge(delta);
  return absl::OkStatus();
}

void MergeSet::AppendTo(WriteBatch& batch) const {
  for (const auto& [key, entry] : entries_) {
    batch.Expect(key, entry.read);
    batch.Put(key, SerializeUsage(entry.merged));
  }
}

void AddPoint(std::vector<UsagePoint>& points, absl::Time at, absl::Duration bucket,
              const std::string& version, const UsageTotals& totals) {
  const int64_t width = bucket >= absl::Hours(1) ? kHour : kMinute;
  const absl::Time start = absl::FromUnixSeconds(FloorTo(at, width));
  auto less = [](const UsagePoint& p, const std::pair<absl::Time, const std::string*>& k) {
    return std::tie(p.start, p.version) < std::tie(k.first, *k.second);
  };
  auto it = std::lower_bound(points.begin(), points.end(), std::make_pair(start, &version), less);
  if (it != points.end() && it->start == start && it->version == version) {
    it->totals.Merge(totals);
    it->width = std::max(it->width, absl::Seconds(width));
    return;
  }
  points.insert(
      it, UsagePoint{
              .start = start, .width = absl::Seconds(width), .version = version, .totals = totals});
}

absl::StatusOr<std::vector<UsagePoint>> Read(Store& store, absl::string_view family,
                                             const UsageHistoryQuery& query) {
  std::vector<UsagePoint> points;
  const int64_t since = ClampedSeconds(query.since);
  const int64_t until = ClampedSeconds(query.until);
  if (since >= until) return points;
  // Hour records first: they are older than every minute record of the same family.
  const std::string hour_prefix = store_keys::UsageHourPrefix(family);
  COSMO_RETURN_IF_ERROR(Walk(
      store, hour_prefix, since, until,
      [&](const KeyValue& row, const ParsedKey& key) -> absl::Status {
        COSMO_ASSIGN_OR_RETURN(UsageTotals totals, ParseUsage(row.value, row.key));
        AddPoint(points, absl::FromUnixSeconds(key.start), absl::Hours(1), key.version, totals);
        return absl::OkStatus();
      }));
  const std::string minute_prefix = store_keys::UsageMinutePrefix(family);
  COSMO_RETURN_IF_ERROR(
      Walk(store, minute_prefix, since, until,
           [&](const KeyValue& row, const ParsedKey& key) -> absl::Status {
             COSMO_ASSIGN_OR_RETURN(UsageTotals totals, ParseUsage(row.value, row.key));
             AddPoint(points, absl::FromUnixSeconds(key.start), query.bucket, key.version, totals);
             return absl::OkStatus();
           }));
  return points;
}

namespace {

// Compacts one family's records.
absl::Status CompactFamily(Store& store, absl::string_view family, int64_t minute_cutoff,
                           int64_t cutoff, CompactStats& stats) {
  const std::string minute_prefix = store_keys::UsageMinutePrefix(family);
  COSMO_RETURN_IF_ERROR(
      Walk(store, minute_prefix, 0, minute_cutoff,
           [&](const KeyValue& row, const ParsedKey& key) -> absl::Status {
             WriteBatch batch;
             batch.ExpectValue(row.key, row.value);
             batch.Delete(row.key);
             const int64_t hour = key.start / kHour * kHour;
             if (hour >= cutoff) {
               COSMO_ASSIGN_OR_RETURN(UsageTotals totals, ParseUsage(row.value, row.key));
               MergeSet hour_record;
               COSMO_RETURN_IF_ERROR(hour_record.Add(
                   store, store_keys::UsageHour(family, hour, key.version), totals));
               hour_record.AppendTo(batch);
             }
             absl::Status s = store.Commit(batch, Durability::kBuffered);
             // ABORTED: another server rolled it up, or a late flush added to it; the next run
             // sees.
             if (absl::IsAborted(s)) return absl::OkStatus();
             COSMO_RETURN_IF_ERROR(s);
             ++(hour >= cutoff ? stats.minutes_rolled_up : stats.records_deleted);
             return absl::OkStatus();
           }));
  return Walk(store, store_keys::UsageHourPrefix(family), 0, cutoff,
              [&](const KeyValue& row, const ParsedKey&) -> absl::Status {
                WriteBatch batch;
                batch.Delete(row.key);
                COSMO_RETURN_IF_ERROR(store.Commit(batch, Durability::kBuffered));
                ++stats.records_deleted;
                return absl::OkStatus();
              });
}

}  // namespace

absl::StatusOr<CompactStats> Compact(Store& store, absl::Time now, absl::Duration minute_retention,
                                     absl::Duration retention) {
  CompactStats stats;
  const int64_t cutoff = HourOf(now - retention);
  const int64_t minute_cutoff = std::max(MinuteOf(now - minute_retention), cutoff);
  // Families with history are among those with totals (`usage/<family>/<version>`): walk those,
  // skipping to the next family after each.
  ScanOptions page{.limit = 1};
  while (true) {
    COSMO_ASSIGN_OR_RETURN(std::vector<KeyValue> rows, store.Scan(store_keys::kUsagePrefix, page));
    if (rows.empty()) break;
    absl::string_view rest = absl::string_view(rows[0].key).substr(store_keys::kUsagePrefix.size());
    std::string family(rest.substr(0, rest.find('/')));
    COSMO_RETURN_IF_ERROR(CompactFamily(store, family, minute_cutoff, cutoff, stats));
    page.start_after = store_keys::UsagePrefix(family) + "\xff";
  }
  return stats;
}

}  // namespace cosmo::usage_history
