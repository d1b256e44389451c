#include <algorithm>

#include "cosmo/usage.h"
#include "metering/usage_proto.h"

namespace cosmo {

void UsageTotals::Add(Outcome outcome, const InvocationUsage& usage) {
  ++invocations;
  ++outcomes[static_cast<int>(outcome)];
  const auto cpu = static_cast<uint64_t>(std::max<int64_t>(usage.cpu_us, 0));
  cpu_us += cpu;
  cpu_histogram.Add(cpu);
  wall_us += static_cast<uint64_t>(std::max<int64_t>(usage.wall_us, 0));
  bytes_allocated += usage.bytes_allocated;
  peak_heap_bytes = std::max(peak_heap_bytes, usage.peak_heap_bytes);
  request_bytes += usage.request_bytes;
  response_bytes += usage.response_bytes;
  kv_reads += usage.kv_reads;
  kv_writes += usage.kv_writes;
  kv_deletes += usage.kv_deletes;
  kv_lists += usage.kv_lists;
  kv_bytes_read += usage.kv_bytes_read;
  kv_bytes_written += usage.kv_bytes_written;
}

void UsageTotals::Merge(const UsageTotals& other) {
  invocations += other.invocations;
  for (int i = 0; i < kOutcomeCount; ++i) outcomes[i] += other.outcomes[i];
  cpu_us += other.cpu_us;
  wall_us += other.wall_us;
  bytes_allocated += other.bytes_allocated;
  peak_heap_bytes = std::max(peak_heap_bytes, other.peak_heap_bytes);
  request_bytes += other.request_bytes;
  response_bytes += other.response_bytes;
  kv_reads += other.kv_reads;
  kv_writes += other.kv_writes;
  kv_deletes += other.kv_deletes;
  kv_lists += other.kv_lists;
  kv_bytes_read += other.kv_bytes_read;
  kv_bytes_written += other.kv_bytes_written;
  scheduled += other.scheduled;
  cpu_histogram.Merge(other.cpu_histogram);
}

void UsageTotals::Subtract(const UsageTotals& earlier) {
  invocations -= earlier.invocations;
  for (int i = 0; i < kOutcomeCount; ++i) outcomes[i] -= earlier.outcomes[i];
  cpu_us -= earlier.cpu_us;
  wall_us -= earlier.wall_us;
  bytes_allocated -= earlier.bytes_allocated;
  request_bytes -= earlier.request_bytes;
  response_bytes -= earlier.response_bytes;
  kv_reads -= earlier.kv_reads;
  kv_writes -= earlier.kv_writes;
  kv_deletes -= earlier.kv_deletes;
  kv_lists -= earlier.kv_lists;
  kv_bytes_read -= earlier.kv_bytes_read;
  kv_bytes_written -= earlier.kv_bytes_written;
  scheduled -= earlier.scheduled;
  cpu_histogram.Subtract(earlier.cpu_histogram);
}

}  // namespace cosmo
