#ifndef COSMO_BENCHMARKS_LOADGEN_LOAD_REPORT_H_
#define COSMO_BENCHMARKS_LOADGEN_LOAD_REPORT_H_

#include <optional>
#include <string>

#include "loadgen/load_options.h"
#include "loadgen/load_worker.h"

namespace cosmo::loadgen {

// The outcome of one run and how to print it, as text for people or as one JSON object.
// Plain data.
struct LoadReport {
  struct Target {
    int pid = 0;
    uint64_t rss_bytes = 0;       // at the end of the run
    uint64_t peak_rss_bytes = 0;  // highest of the once-a-second samples
    double cpu_cores = 0;         // CPU seconds per second of the run
  };

  LoadOptions options;
  LoadResult result;
  double elapsed_seconds = 0;
  double loadgen_cpu_cores = 0;
  std::optional<Target> target;

  double RequestsPerSecond() const;
  std::string Text() const;
  std::string Json() const;
};

}  // namespace cosmo::loadgen

#endif  // COSMO_BENCHMARKS_LOADGEN_LOAD_REPORT_H_
