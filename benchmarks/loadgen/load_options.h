#ifndef COSMO_BENCHMARKS_LOADGEN_LOAD_OPTIONS_H_
#define COSMO_BENCHMARKS_LOADGEN_LOAD_OPTIONS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace cosmo::loadgen {

// One kind of request in the mix: `--target=[METHOD:]PATH[:BODY_FILE][@WEIGHT]`.
struct TargetSpec {
  std::string method = "GET";
  std::string path = "/";
  // Read from the file named in the spec; sent with Content-Length.
  std::string body;
  std::string content_type;
  double weight = 1.0;
};

// What cosmo-loadgen was asked to do, validated. Plain data.
struct LoadOptions {
  bool help = false;

  std::string host = "127.0.0.1";
  int port = 8080;
  // Without it, only loopback addresses are accepted: CI machines forbid other traffic.
  bool allow_remote = false;

  int threads = 1;
  int connections = 32;
  // The run stops at whichever comes first: `duration` after the warm-up, or `requests`
  // responses (0: no count). `duration` always bounds the run.
  absl::Duration duration = absl::Seconds(10);
  long long requests = 0;
  // Load is applied but nothing is recorded during the warm-up.
  absl::Duration warmup = absl::ZeroDuration();
  // A request without a complete response after this long counts as a timeout and its
  // connection is replaced.
  absl::Duration request_timeout = absl::Seconds(5);
  bool keep_alive = true;

  std::vector<TargetSpec> targets;
  // `--zipf-families=N`: GET requests over N paths made from `zipf_pattern` (its `{}` replaced
  // by the rank 0..N-1), rank k drawn with probability proportional to 1 / (k + 1)^s.
  int zipf_families = 0;
  double zipf_s = 1.1;
  std::string zipf_pattern = "/f{}/";
  std::vector<std::string> headers;

  // A process whose RSS and CPU are reported (the server under load); 0 for none.
  int pid = 0;
  bool json = false;
  // Progress once a second on stderr: automatic when stderr is a terminal.
  bool progress = false;
};

// Parses the command line (argv[0] is skipped). Errors name the flag and what was wrong.
absl::StatusOr<LoadOptions> ParseLoadOptions(int argc, char** argv);

// The text of --help.
std::string LoadOptionsUsage();

}  // namespace cosmo::loadgen

#endif  // COSMO_BENCHMARKS_LOADGEN_LOAD_OPTIONS_H_
