#include "support/command_line.h"

#include <sys/wait.h>

#include <cstdio>

namespace cosmo::testing {

CommandLineRun RunCommandLine(const std::string& program, const std::string& args) {
  CommandLineRun run;
  const std::string command = program + " " + args + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return run;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) run.out.append(buffer, n);
  const int status = pclose(pipe);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

}  // namespace cosmo::testing
