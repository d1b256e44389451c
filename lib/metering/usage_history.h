// Usage history in the store: per family, version and minute, rolled up into hours after a day.
//
// The usage flush (UsageMeter) adds each delta it merges into `usage/<family>/<version>` to the
// record of the minute it flushes in, `usagem/<family>/<minute>/<version>`, in the same guarded
// commit, so the history of a family sums to its totals, servers and gateways sharing a store
// merge into the same minute, and a flush writes one record per (family, version) it touches,
// however many requests it carries. Compact() (hourly, from Runtime::Maintain) rolls minute
// records older than `minute_retention` into `usageh/<family>/<hour>/<version>` and deletes
// hour records older than `retention`; each roll-up is one guarded commit, so servers compacting
// at once never count a minute twice.
//
// Stateless functions over a borrowed Store; thread-safe as the Store is.
#ifndef COSMO_LIB_METERING_USAGE_HISTORY_H_
#define COSMO_LIB_METERING_USAGE_HISTORY_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "cosmo/store.h"
#include "cosmo/usage.h"

namespace cosmo::usage_history {

// The start of the minute / hour holding `t`, in Unix seconds.
int64_t MinuteOf(absl::Time t);
int64_t HourOf(absl::Time t);

// What a guarded merge of deltas into records needs: the value each key held when read (the
// guard) and the merged value to write. Keys are read once, then every delta for them is added.
class MergeSet {
 public:
  // Adds `delta` to the record at `key`, reading it from `store` the first time `key` is seen.
  absl::Status Add(Store& store, const std::string& key, const UsageTotals& delta);
  // Guards and puts of every record added to.
  void AppendTo(WriteBatch& batch) const;

 private:
  struct Entry {
    std::optional<std::string> read;
    UsageTotals merged;
  };
  std::map<std::string, Entry> entries_;
};

// Buckets of `family` whose start lies in [query.since, query.until), from the store: minute
// records summed into `query.bucket`-wide buckets (one minute or one hour), and hour records as
// hour-wide buckets. Sorted by start, then version.
absl::StatusOr<std::vector<UsagePoint>> Read(Store& store, absl::string_view family,
                                             const UsageHistoryQuery& query);

// Adds `totals` of `version` at time `at` to `points` (the bucket of `bucket` width holding it),
// keeping the order Read() returns.
void AddPoint(std::vector<UsagePoint>& points, absl::Time at, absl::Duration bucket,
              const std::string& version, const UsageTotals& totals);

struct CompactStats {
  uint64_t minutes_rolled_up = 0;
  uint64_t records_deleted = 0;
};

// Rolls minute records older than `now - minute_retention` into hour records and deletes
// records older than `now - retention` (minute records too, when retention is the shorter).
// UNAVAILABLE / DATA_LOSS from the store; a record changed meanwhile by another server is left
// for the next run.
absl::StatusOr<CompactStats> Compact(Store& store, absl::Time now, absl::Duration minute_retention,
                                     absl::Duration retention);

}  // namespace cosmo::usage_history

#endif  // COSMO_LIB_METERING_USAGE_HISTORY_H_
