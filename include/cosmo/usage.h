// Metered usage of families and versions.
//
// Every invocation adds its InvocationUsage to the totals of its family's version. The Runtime
// keeps totals in memory and merges them into the Store every RuntimeOptions::usage_flush_interval
// (1 s) and at shutdown, so a crash loses at most that interval's usage. A family's usage is the
// sum over its versions.
//
// The same flush keeps a history (UsagePoint): per version and minute for the last day, per hour
// beyond it, up to RuntimeOptions::usage_history_retention (7 days), merged across the servers
// and gateways sharing a store like the totals (docs/dashboard.md).
//
// Plain value types; thread-compatible.
#ifndef COSMO_USAGE_H_
#define COSMO_USAGE_H_

#include <array>
#include <cstdint>
#include <map>
#include <string>

#include "absl/time/time.h"
#include "cosmo/cpu_histogram.h"
#include "cosmo/invocation.h"
#include "cosmo/outcome.h"

namespace cosmo {

struct UsageTotals {
  uint64_t invocations = 0;
  // Invocations by Outcome, indexed by static_cast<int>(Outcome).
  std::array<uint64_t, kOutcomeCount> outcomes{};
  uint64_t cpu_us = 0;
  uint64_t wall_us = 0;
  uint64_t bytes_allocated = 0;
  // The highest peak heap of any one invocation.
  uint64_t peak_heap_bytes = 0;
  uint64_t request_bytes = 0;
  uint64_t response_bytes = 0;
  // KV operations and bytes (InvocationUsage).
  uint64_t kv_reads = 0;
  uint64_t kv_writes = 0;
  uint64_t kv_deletes = 0;
  uint64_t kv_lists = 0;
  uint64_t kv_bytes_read = 0;
  uint64_t kv_bytes_written = 0;
  // Of the invocations, runs of scheduled() for cron triggers (docs/cron.md).
  uint64_t scheduled = 0;
  // The invocations by their CPU time, for percentiles (cpu_histogram.h). Usage recorded before
  // the histogram existed is in the counters above but not here.
  CpuHistogram cpu_histogram;

  // Invocations whose outcome is not kOk.
  uint64_t errors() const { return invocations - outcomes[static_cast<int>(Outcome::kOk)]; }

  // Adds one invocation.
  void Add(Outcome outcome, const InvocationUsage& usage);
  // Adds another total (sums; peak is the max).
  void Merge(const UsageTotals& other);
  // Takes away an earlier reading of the same totals, leaving what was added since; the peak,
  // a maximum, stays as it is. `earlier` must not exceed these totals in any count.
  void Subtract(const UsageTotals& earlier);

  friend bool operator==(const UsageTotals&, const UsageTotals&) = default;
};

// Usage of one version of a family (Runtime::ServedUsage).
struct VersionUsage {
  std::string family;
  std::string version;
  UsageTotals totals;
};

struct FamilyUsage {
  std::string family;
  UsageTotals total;
  // Per version (full hash), including versions no longer active.
  std::map<std::string, UsageTotals> versions;
};

// Which usage history to read (Runtime::UsageHistory).
struct UsageHistoryQuery {
  // Buckets starting in [since, until).
  absl::Time since = absl::InfinitePast();
  absl::Time until = absl::InfiniteFuture();
  // Bucket width: absl::Minutes(1) or absl::Hours(1). Hours already rolled up stay hour-wide
  // when minutes are asked for.
  absl::Duration bucket = absl::Minutes(1);
};

// The usage of one version of a family in one bucket of time.
struct UsagePoint {
  absl::Time start;      // UTC, a whole minute or hour
  absl::Duration width;  // one minute or one hour
  std::string version;   // full hash
  UsageTotals totals;
};

}  // namespace cosmo

#endif  // COSMO_USAGE_H_
