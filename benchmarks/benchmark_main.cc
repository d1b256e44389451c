// main() of every Google Benchmark binary here: Abseil's lock-order detection off, as cosmo-server
// and cosmo-gateway run (hosts/common/host_main.h), so that the figures are the hosts' path and
// not the cost of Debian's Abseil recording every lock in its deadlock graph.
#include <benchmark/benchmark.h>

#include "absl/synchronization/mutex.h"

int main(int argc, char** argv) {
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
