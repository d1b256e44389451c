// In-memory usage accumulation and its periodic merge into the Store.
//
// Each (family, version) that is invoked gets a UsageCell; the request path adds to its cell
// (one uncontended mutex). Flush() takes every cell's pending delta and merges it into
// `usage/<family>/<version>` with compare-and-set, so several processes sharing a store (a
// cluster) never overwrite each other's counts, and the same delta into the minute's history
// record (usage_history.h) in the same commit; a delta whose merge fails is put back and retried
// on the next flush, so nothing is lost or counted twice.
//
// Thread-safe. Borrows the Store and the Clock.
#ifndef COSMO_LIB_METERING_USAGE_METER_H_
#define COSMO_LIB_METERING_USAGE_METER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "cosmo/clock.h"
#include "cosmo/store.h"
#include "cosmo/usage.h"

namespace cosmo {

// The not-yet-flushed usage of one version of one family. Thread-safe.
class UsageCell {
 public:
  void Add(Outcome outcome, const InvocationUsage& usage) {
    absl::MutexLock lock(&mu_);
    pending_.Add(outcome, usage);
    served_.Add(outcome, usage);
  }
  // One run of scheduled() for a cron trigger: an invocation, counted as scheduled too.
  void AddScheduled(Outcome outcome, const InvocationUsage& usage) {
    absl::MutexLock lock(&mu_);
    pending_.Add(outcome, usage);
    ++pending_.scheduled;
    served_.Add(outcome, usage);
    ++served_.scheduled;
  }
  // Takes the pending totals, leaving zero.
  UsageTotals Take() {
    absl::MutexLock lock(&mu_);
    return std::exchange(pending_, UsageTotals());
  }
  // Puts back totals whose flush failed.
  void Restore(const UsageTotals& totals) {
    absl::MutexLock lock(&mu_);
    pending_.Merge(totals);
  }
  UsageTotals Peek() const {
    absl::MutexLock lock(&mu_);
    return pending_;
  }
  // Everything added since the cell was made (flushes do not reset it): this process's counters
  // for /_cosmo/metrics.
  UsageTotals Served() const {
    absl::MutexLock lock(&mu_);
    return served_;
  }

 private:
  mutable absl::Mutex mu_;
  UsageTotals pending_ ABSL_GUARDED_BY(mu_);
  UsageTotals served_ ABSL_GUARDED_BY(mu_);
};

class UsageMeter {
 public:
  // `clock` stamps reporter records (MergeReport) and judges their age (ForgetIdleReporters).
  explicit UsageMeter(Store* store, Clock* clock = Clock::Real()) : store_(store), clock_(clock) {}

  // The cell of (family, version), created on first use. Callers keep the shared_ptr and add to
  // it directly, so the request path never looks the cell up.
  std::shared_ptr<UsageCell> CellFor(absl::string_view family, absl::string_view version);

  // Merges every pending delta into the store. Returns the first error; deltas that failed are
  // kept for the next flush. Afterwards forgets the cells nobody else holds (versions no longer
  // served) once their usage is in the store.
  absl::Status Flush();

  // One report of usage measured elsewhere (a gateway), keyed by (family, version).
  using Report = std::vector<std::pair<std::pair<std::string, std::string>, UsageTotals>>;

  // Merges `report` into the store and records `sequence` as the last one applied for
  // `reporter`, all in one guarded commit; a report whose sequence is not above the recorded one
  // changes nothing. The record lives in the store, so a report resent to another process sharing
  // it (after a call whose outcome was unknown, e.g. a timeout during an etcd election) is counted
  // exactly once. Reporters must use a fresh id per process (sequences restart at 1). Bypasses
  // this meter's cells. UNAVAILABLE / DATA_LOSS from the store; ABORTED when contended.
  absl::Status MergeReport(absl::string_view reporter, uint64_t sequence, const Report& report);

  // Deletes the records of reporters that have reported nothing for `idle` (gateway processes
  // that are gone: each process has its own id, so without this their records would pile up).
  // Safe while reporters run: a reporter resends a report for seconds, not for `idle`, and each
  // delete is guarded on the record it read, so a report merged meanwhile keeps its record.
  // Records from before records were stamped count as idle. Returns how many were deleted;
  // UNAVAILABLE from the store. Any process sharing the store may run it; concurrent runs are
  // harmless.
  absl::StatusOr<size_t> ForgetIdleReporters(absl::Duration idle);

  // Persisted totals plus pending deltas. NOT_FOUND if the family has no usage at all.
  absl::StatusOr<FamilyUsage> Read(absl::string_view family);

  // What this process measured per (family, version) it serves (UsageCell::Served), in no order.
  std::vector<VersionUsage> Served();
  // Persisted history (usage_history.h) plus pending deltas, which count in the current minute.
  // Empty when the family has none in the range.
  absl::StatusOr<std::vector<UsagePoint>> ReadHistory(absl::string_view family,
                                                      const UsageHistoryQuery& query);

 private:
  // Drops the cells of versions nothing serves any more whose usage is all in the store.
  void ForgetUnusedCells();
  absl::Status MergeIntoStore(const std::string& family, const std::string& version,
                              const UsageTotals& delta);

  Store* const store_;
  Clock* const clock_;
  // Serialises flushes so two never race on the same records within this process.
  absl::Mutex flush_mu_;
  absl::Mutex mu_;
  // (family, version) -> cell, for the versions being served (and not yet flushed ones).
  absl::flat_hash_map<std::pair<std::string, std::string>, std::shared_ptr<UsageCell>> cells_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace cosmo

#endif  // COSMO_LIB_METERING_USAGE_METER_H_
