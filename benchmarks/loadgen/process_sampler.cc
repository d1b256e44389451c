#include "loadgen/process_sampler.h"

#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace cosmo::loadgen {

absl::StatusOr<ProcessSampler::Sample> ProcessSampler::Take() const {
  Sample sample;
  const std::string dir = absl::StrCat("/proc/", pid_, "/");
  std::ifstream status(dir + "status");
  if (!status) return absl::NotFoundError(absl::StrCat("no process ", pid_));
  std::string line;
  bool have_rss = false;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      std::istringstream in(line.substr(6));
      uint64_t kib = 0;
      in >> kib;
      sample.rss_bytes = kib * 1024;
      have_rss = true;
      break;
    }
  }
  if (!have_rss) return absl::NotFoundError(absl::StrCat("process ", pid_, " has no VmRSS"));

  std::ifstream stat(dir + "stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  // The command name in parentheses may hold spaces; fields are counted after its ')'.
  const size_t close = text.rfind(')');
  if (close == std::string::npos) {
    return absl::NotFoundError(absl::StrCat("unreadable /proc/", pid_, "/stat"));
  }
  std::istringstream fields(text.substr(close + 2));
  std::string field;
  uint64_t utime = 0, stime = 0;
  // Field 3 (state) is the first after ')'; utime and stime are fields 14 and 15.
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  sample.cpu_seconds =
      static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
  return sample;
}

}  // namespace cosmo::loadgen
