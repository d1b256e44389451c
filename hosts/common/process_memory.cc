#include "process_memory.h"

#include <malloc.h>
#include <sys/mman.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace cosmo::host {
namespace {

// One mapping of /proc/self/smaps: its header line and the fields that decide whether its pages
// may be dropped.
struct Mapping {
  uintptr_t start = 0;
  uintptr_t end = 0;
  bool droppable = false;  // from the header: permissions and what is mapped
  size_t rss_kib = 0;
  size_t anonymous_kib = 0;
  bool anonymous_known = false;  // the kernel reported Anonymous: for it
};

// "START-END PERMS OFFSET DEV INODE [PATH]": read-only or executable, private, and a path of a
// regular file (not [heap], a memfd, a device, or a file deleted since it was mapped).
bool ParseHeader(absl::string_view line, Mapping* mapping) {
  std::vector<absl::string_view> fields = absl::StrSplit(line, ' ', absl::SkipEmpty());
  if (fields.size() < 5) return false;
  std::pair<absl::string_view, absl::string_view> range = absl::StrSplit(fields[0], '-');
  uint64_t start = 0;
  uint64_t end = 0;
  if (!absl::SimpleHexAtoi(range.first, &start) || !absl::SimpleHexAtoi(range.second, &end)) {
    return false;
  }
  *mapping = Mapping{.start = start, .end = end};
  const absl::string_view perms = fields[1];
  const absl::string_view path = fields.size() >= 6 ? fields[5] : "";
  mapping->droppable = perms.size() == 4 && perms[0] == 'r' && perms[1] == '-' && perms[3] == 'p' &&
                       absl::StartsWith(path, "/") && !absl::StartsWith(path, "/dev/") &&
                       !absl::StartsWith(path, "/memfd:") && !absl::EndsWith(line, "(deleted)");
  return true;
}

size_t Drop(const Mapping& mapping) {
  // A page copied on write (relocated read-only data) holds what the file does not: never drop a
  // mapping that has one.
  if (!mapping.droppable || !mapping.anonymous_known || mapping.anonymous_kib != 0 ||
      mapping.rss_kib == 0) {
    return 0;
  }
  if (madvise(reinterpret_cast<void*>(mapping.start), mapping.end - mapping.start, MADV_DONTNEED) !=
      0) {
    return 0;
  }
  return mapping.rss_kib << 10;
}

}  // namespace

int LimitMallocArenas() {
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  if (std::getenv("MALLOC_ARENA_MAX") != nullptr ||
      (tunables != nullptr && absl::StrContains(tunables, "glibc.malloc.arena_max"))) {
    return 0;
  }
  return mallopt(M_ARENA_MAX, kMallocArenas) == 1 ? kMallocArenas : 0;
}

size_t ReleaseStartupMemory() {
  malloc_trim(0);
  std::ifstream smaps("/proc/self/smaps");
  size_t dropped = 0;
  Mapping mapping;
  bool have = false;
  std::string line;
  while (std::getline(smaps, line)) {
    absl::string_view text = line;
    size_t* field = nullptr;
    if (absl::ConsumePrefix(&text, "Rss:")) {
      field = &mapping.rss_kib;
    } else if (absl::ConsumePrefix(&text, "Anonymous:")) {
      field = &mapping.anonymous_kib;
      mapping.anonymous_known = true;
    }
    if (field != nullptr) {
      if (!absl::SimpleAtoi(absl::StripSuffix(absl::StripAsciiWhitespace(text), " kB"), field)) {
        have = false;  // a format this code does not know: leave the mapping alone
      }
      continue;
    }
    // Field lines are "Name:   value"; a header's first field is the address range.
    const size_t colon = line.find(':');
    const size_t space = line.find(' ');
    if (colon != std::string::npos && (space == std::string::npos || colon < space)) continue;
    if (have) dropped += Drop(mapping);
    have = ParseHeader(line, &mapping);
  }
  if (have) dropped += Drop(mapping);
  return dropped;
}

}  // namespace cosmo::host
