#include <algorithm>

#include "cosmo/usage.h"

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
}

}  // namespace cosmo
