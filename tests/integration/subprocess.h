// Child processes for integration tests: cosmo-server and cosmo-gateway started and waited for
// through their readiness lines, and one-shot commands (cosmoctl) with their output captured.
// Everything is bounded in time: a child that does not answer is killed and the test fails, never
// hangs.
#ifndef COSMO_TESTS_INTEGRATION_SUBPROCESS_H_
#define COSMO_TESTS_INTEGRATION_SUBPROCESS_H_

#include <sys/types.h>

#include <initializer_list>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace cosmo::testing {

// Paths of the binaries under test.
std::string CosmoServerPath();
std::string CosmoGatewayPath();
std::string CosmoctlPath();

// What a finished command did.
struct CommandResult {
  int exit_code = -1;  // -1 when killed by a signal or timed out
  std::string out;
  std::string err;
};

// Runs `argv` (argv[0] is the program path) with `env` added to this process's environment
// (a value of "\x01" unsets the variable), waits at most `timeout`.
CommandResult RunCommand(const std::vector<std::string>& argv,
                         const std::map<std::string, std::string>& env = {},
                         absl::Duration timeout = absl::Seconds(30));

// A running child whose stdout is read line by line. Killed (SIGKILL) and reaped on destruction
// if still running. Thread-compatible.
class Subprocess {
 public:
  static absl::StatusOr<std::unique_ptr<Subprocess>> Start(
      const std::vector<std::string>& argv, const std::map<std::string, std::string>& env = {});
  ~Subprocess();

  pid_t pid() const { return pid_; }
  // The child's resident set size now (VmRSS), 0 when it cannot be read.
  size_t ResidentBytes() const;

  // Reads stdout until a line containing `marker` arrives; returns that line. DEADLINE_EXCEEDED
  // or UNAVAILABLE (the child exited; its output so far is in the message).
  absl::StatusOr<std::string> WaitForLine(const std::string& marker, absl::Duration timeout);

  // Sends `signal`.
  void Signal(int signal);
  // Waits for exit (SIGKILL after `timeout`); returns the exit code, or -signal if killed.
  int Wait(absl::Duration timeout = absl::Seconds(30));
  // SIGTERM, then Wait(timeout): a graceful stop returns 0.
  int Stop(absl::Duration timeout = absl::Seconds(30));
  // Everything read from stdout and stderr so far (after Wait(): all of it).
  const std::string& output() const { return output_; }

 private:
  Subprocess(pid_t pid, int out_fd) : pid_(pid), out_fd_(out_fd) {}
  // Reads what is available within `timeout`; false at EOF.
  bool ReadSome(absl::Duration timeout);

  pid_t pid_;
  int out_fd_;
  bool exited_ = false;
  int status_ = 0;
  std::string output_;
  size_t scanned_ = 0;
};

// Sends SIGTERM to every one of `processes` at once, then waits for each; returns their exit
// codes in order (a graceful stop is 0), for EXPECT_THAT(StopAll({...}), Each(0)).
std::vector<int> StopAll(std::initializer_list<Subprocess*> processes);

// Starts `cosmo-server --grpc-listen=127.0.0.1:0 <args>` and waits for its readiness line;
// `address` receives the gRPC HOST:PORT. Without `http_port` the HTTP data plane is off
// (--http-listen=); with it, HTTP listens on a free loopback port, stored there once ready. A
// --grpc-listen or --http-listen in `args` replaces the default.
absl::StatusOr<std::unique_ptr<Subprocess>> StartCosmoServer(const std::vector<std::string>& args,
                                                             std::string* address,
                                                             int* http_port = nullptr);

// Starts `cosmo-gateway --control=<control> --http-listen=127.0.0.1:0
// --usage-report-interval=200ms <args>` and waits until it serves HTTP; `http_port` receives the
// port.
absl::StatusOr<std::unique_ptr<Subprocess>> StartCosmoGateway(
    const std::string& control, int* http_port, const std::vector<std::string>& args = {});

// cosmoctl --server=<server> <args>, run to completion. COSMO_TOKEN and COSMO_SERVER are unset
// unless `env` sets them, so the caller's environment cannot change what is tested.
CommandResult RunCosmoctl(const std::string& server, const std::vector<std::string>& args,
                          std::map<std::string, std::string> env = {},
                          absl::Duration timeout = absl::Seconds(30));

// The same command left running (`logs -f`), its output read with WaitForLine().
absl::StatusOr<std::unique_ptr<Subprocess>> StartCosmoctl(const std::string& server,
                                                          const std::vector<std::string>& args);

}  // namespace cosmo::testing

#endif  // COSMO_TESTS_INTEGRATION_SUBPROCESS_H_
