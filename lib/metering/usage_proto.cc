#include "metering/usage_proto.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace cosmo {

internal::UsageTotals UsageToProto(const UsageTotals& totals) {
  internal::UsageTotals proto;
  CopyCountersToProto(totals, &proto);
  for (uint64_t count : totals.outcomes) proto.add_outcomes(count);
  // Only the run of buckets from the first to the last non-empty one: a version's invocations
  // fill a few neighbouring buckets, so a record stays a few dozen bytes.
  const CpuHistogram& histogram = totals.cpu_histogram;
  int first = 0;
  int end = CpuHistogram::kBucketCount;
  while (first < end && histogram.bucket(first) == 0) ++first;
  while (end > first && histogram.bucket(end - 1) == 0) --end;
  if (first < end) proto.set_cpu_histogram_first(static_cast<uint32_t>(first));
  for (int i = first; i < end; ++i) proto.add_cpu_histogram(histogram.bucket(i));
  return proto;
}

UsageTotals UsageFromProto(const internal::UsageTotals& proto) {
  UsageTotals totals;
  totals.invocations = proto.invocations();
  for (int i = 0; i < proto.outcomes_size() && i < kOutcomeCount; ++i) {
    totals.outcomes[i] = proto.outcomes(i);
  }
  totals.cpu_us = proto.cpu_us();
  totals.wall_us = proto.wall_us();
  totals.bytes_allocated = proto.bytes_allocated();
  totals.peak_heap_bytes = proto.peak_heap_bytes();
  totals.request_bytes = proto.request_bytes();
  totals.response_bytes = proto.response_bytes();
  totals.kv_reads = proto.kv_reads();
  totals.kv_writes = proto.kv_writes();
  totals.kv_deletes = proto.kv_deletes();
  totals.kv_lists = proto.kv_lists();
  totals.kv_bytes_read = proto.kv_bytes_read();
  totals.kv_bytes_written = proto.kv_bytes_written();
  totals.scheduled = proto.scheduled();
  // Buckets beyond this build's last (from a build with more) count in its last.
  constexpr uint64_t kLast = CpuHistogram::kBucketCount - 1;
  for (int i = 0; i < proto.cpu_histogram_size(); ++i) {
    const uint64_t index = uint64_t{proto.cpu_histogram_first()} + static_cast<uint64_t>(i);
    totals.cpu_histogram.AddToBucket(static_cast<int>(std::min(index, kLast)),
                                     proto.cpu_histogram(i));
  }
  return totals;
}

std::string SerializeUsage(const UsageTotals& totals) {
  return UsageToProto(totals).SerializeAsString();
}

absl::StatusOr<UsageTotals> ParseUsage(absl::string_view bytes, absl::string_view key) {
  internal::UsageTotals proto;
  if (!proto.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::DataLossError(absl::StrCat("usage record '", key, "' is unreadable"));
  }
  return UsageFromProto(proto);
}

}  // namespace cosmo
