#ifndef COSMO_BENCHMARKS_LOADGEN_PROCESS_SAMPLER_H_
#define COSMO_BENCHMARKS_LOADGEN_PROCESS_SAMPLER_H_

#include <cstdint>

#include "absl/status/statusor.h"

namespace cosmo::loadgen {

// Reads another process's resident memory and CPU time from /proc/PID/status and
// /proc/PID/stat (Linux). Thread-compatible.
class ProcessSampler {
 public:
  struct Sample {
    uint64_t rss_bytes = 0;
    // utime + stime, in seconds.
    double cpu_seconds = 0;
  };

  explicit ProcessSampler(int pid) : pid_(pid) {}

  // NOT_FOUND when the process is gone.
  absl::StatusOr<Sample> Take() const;
  int pid() const { return pid_; }

 private:
  int pid_;
};

}  // namespace cosmo::loadgen

#endif  // COSMO_BENCHMARKS_LOADGEN_PROCESS_SAMPLER_H_
