// Conversions between cosmo::UsageTotals (include/cosmo/usage.h) and its protobuf forms: the
// internal cosmo.internal.UsageTotals, which is both the stored value of usage/<family>/<version>
// and what a gateway reports, and (counters only) the public API's cosmo.v1.UsageTotals. No other
// code copies usage fields one by one.
//
// Adding a metered field: the member in include/cosmo/usage.h and kUsageCounterFields below (the
// static_assert holds them together and fails the build of every file that copies fields);
// UsageTotals::Add/Merge/Subtract in usage_totals.cc; CopyCountersToProto and UsageFromProto
// here; and the field, under the member's name, in proto/cosmo/internal/usage_totals.proto and
// proto/cosmo/v1/control.proto (CopyCountersToProto does not compile for a message without it).
#ifndef COSMO_LIB_METERING_USAGE_PROTO_H_
#define COSMO_LIB_METERING_USAGE_PROTO_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cosmo/internal/usage_totals.pb.h"
#include "cosmo/outcome.h"
#include "cosmo/usage.h"

namespace cosmo {

// The uint64_t members of UsageTotals besides the per-outcome counts (and the CPU histogram,
// which UsageToProto and UsageFromProto carry in their own fields).
inline constexpr size_t kUsageCounterFields = 14;
static_assert(sizeof(UsageTotals) ==
                  (kUsageCounterFields + kOutcomeCount) * sizeof(uint64_t) + sizeof(CpuHistogram),
              "UsageTotals has another field: update kUsageCounterFields and every function "
              "listed in lib/metering/usage_proto.h");

// Sets the counters (every field but the per-outcome counts) of any message that names them as
// UsageTotals does.
template <typename Proto>
void CopyCountersToProto(const UsageTotals& totals, Proto* out) {
  out->set_invocations(totals.invocations);
  out->set_cpu_us(totals.cpu_us);
  out->set_wall_us(totals.wall_us);
  out->set_bytes_allocated(totals.bytes_allocated);
  out->set_peak_heap_bytes(totals.peak_heap_bytes);
  out->set_request_bytes(totals.request_bytes);
  out->set_response_bytes(totals.response_bytes);
  out->set_kv_reads(totals.kv_reads);
  out->set_kv_writes(totals.kv_writes);
  out->set_kv_deletes(totals.kv_deletes);
  out->set_kv_lists(totals.kv_lists);
  out->set_kv_bytes_read(totals.kv_bytes_read);
  out->set_kv_bytes_written(totals.kv_bytes_written);
  out->set_scheduled(totals.scheduled);
}

// Every field; the outcome counts in Outcome order.
internal::UsageTotals UsageToProto(const UsageTotals& totals);

// Outcome counts beyond kOutcomeCount (from a build with more outcomes) are dropped; missing ones
// are zero.
UsageTotals UsageFromProto(const internal::UsageTotals& proto);

// The stored form (a serialized internal::UsageTotals).
std::string SerializeUsage(const UsageTotals& totals);
// DATA_LOSS naming `key` when `bytes` is no UsageTotals.
absl::StatusOr<UsageTotals> ParseUsage(absl::string_view bytes, absl::string_view key);

}  // namespace cosmo

#endif  // COSMO_LIB_METERING_USAGE_PROTO_H_
