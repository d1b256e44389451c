#include <algorithm>

#include "cosmo/usage.h"
#include "metering/usage_proto.h"

namespace cosmo {

void UsageTotals::Add(Outcome outcome, const InvocationUsage& usage) {
  ++invocations;
  ++outcomes[static_cast<int>(outcome)];
  cpu_us += static_cast<uint64_t>(std::max<int64_t>(usage.cpu_us, 0));
  wall_us += static_cast<uint64_t>(std::max<int64_t>(usage.wall_us, 0));
  bytes_allocated += usage.bytes_allocated;
  peak_heap_bytes = std::max(peak_heap_bytes, usage.peak_heap_bytes);
  request_bytes += usage.request_bytes;
  response_bytes += usage.response_bytes;
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
  scheduled += other.scheduled;
}

void UsageTotals::Subtract(const UsageTotals& earlier) {
  invocations -= earlier.invocations;
  for (int i = 0; i < kOutcomeCount; ++i) outcomes[i] -= earlier.outcomes[i];
  cpu_us -= earlier.cpu_us;
  wall_us -= earlier.wall_us;
  bytes_allocated -= earlier.bytes_allocated;
  request_bytes -= earlier.request_bytes;
  response_bytes -= earlier.response_bytes;
  scheduled -= earlier.scheduled;
}

}  // namespace cosmo
