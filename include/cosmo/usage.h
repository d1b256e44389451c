// Metered usage of families and versions.
//
// Every invocation adds its InvocationUsage to the totals of its family's version. The Runtime
// keeps totals in memory and merges them into the Store every RuntimeOptions::usage_flush_interval
// (1 s) and at shutdown, so a crash loses at most that interval's usage. A family's usage is the
// sum over its versions.
//
// Plain value types; thread-compatible.
#ifndef COSMO_USAGE_H_
#define COSMO_USAGE_H_

#include <array>
#include <cstdint>
#include <map>
#include <string>

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

}  // namespace cosmo

#endif  // COSMO_USAGE_H_
