// A command-line tool of this project run to completion, for the tests of the tools themselves
// (cosmo-loadgen, cosmo-stream-client): its exit code and everything it wrote. Small enough for a
// test that links nothing else of the project; the integration tests' RunCommand()
// (tests/integration/subprocess.h: argv, environment, a timeout, stdout and stderr apart) links
// libcosmo.
#ifndef COSMO_TESTS_SUPPORT_COMMAND_LINE_H_
#define COSMO_TESTS_SUPPORT_COMMAND_LINE_H_

#include <string>

namespace cosmo::testing {

struct CommandLineRun {
  int exit_code = -1;  // -1 when the shell could not start it or a signal ended it
  std::string out;     // stdout and stderr together, as written
};

// Runs `program args` through /bin/sh (`args` is split by the shell: quote what needs it) and
// waits for it to end. Thread-compatible.
CommandLineRun RunCommandLine(const std::string& program, const std::string& args);

}  // namespace cosmo::testing

#endif  // COSMO_TESTS_SUPPORT_COMMAND_LINE_H_
