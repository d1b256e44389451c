// What every CosmoCompute host's main() does the same way: shutdown signals, command-line parsing
// with CLI11, and error lines that name the program.
//
// Call BlockShutdownSignals() first in main(), before any thread starts, so that SIGTERM and
// SIGINT reach only WaitForShutdownSignal(). Not for libraries: these change process-wide state.
#ifndef COSMO_HOSTS_COMMON_HOST_MAIN_H_
#define COSMO_HOSTS_COMMON_HOST_MAIN_H_

#include <CLI/CLI.hpp>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace cosmo::host {

// Blocks SIGTERM and SIGINT in the calling thread, and so in every thread it starts later, and
// ignores SIGPIPE (a peer closing a socket must not kill the process).
void BlockShutdownSignals();

// Turns off Abseil's lock-order (deadlock) detection for the process in release builds. Debian's
// Abseil is built with it on, and it then records every absl::Mutex acquisition in a process-wide
// graph behind one global lock: 43 ns per uncontended lock and unlock instead of 13 here, and a
// point every request thread meets (docs/performance.md, "Lock-order checks"). The test suite keeps
// it on; builds without NDEBUG keep it on too.
void DisableLockOrderChecks();

// Waits for SIGTERM or SIGINT (blocked by BlockShutdownSignals()) and returns which.
int WaitForShutdownSignal();

// Parses the command line. Returns the exit code when main() should return now: 0 after --help,
// 2 (with "PROGRAM: ERROR (see PROGRAM --help)" on stderr) for bad arguments.
std::optional<int> ParseCommandLine(CLI::App& app, int argc, char** argv,
                                    absl::string_view program);

// Prints "PROGRAM: MESSAGE" to stderr and returns 1, for `return Fail(...)` in main().
int Fail(absl::string_view program, absl::string_view message);

// A non-negative duration flag such as "60s", "500ms" or "2m"; INVALID_ARGUMENT names the flag.
absl::StatusOr<absl::Duration> ParseDurationFlag(absl::string_view flag, const std::string& text);

}  // namespace cosmo::host

#endif  // COSMO_HOSTS_COMMON_HOST_MAIN_H_
