// Key-range arithmetic shared by the Store backends' reverse scans.
#ifndef COSMO_LIB_STORE_SCAN_RANGE_H_
#define COSMO_LIB_STORE_SCAN_RANGE_H_

#include <string>

#include "absl/strings/string_view.h"

namespace cosmo {

// The smallest key greater than every key that starts with `prefix`, or "" when there is none
// (the prefix is empty or all 0xFF bytes).
inline std::string PrefixSuccessor(absl::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    unsigned char last = static_cast<unsigned char>(end.back());
    if (last != 0xFF) {
      end.back() = static_cast<char>(last + 1);
      return end;
    }
    end.pop_back();
  }
  return end;
}

// Exclusive upper end of a reverse scan of `prefix` that starts strictly before `start_after`
// ("" = start from the end of the prefix range). "" as a result means "the end of the keyspace".
inline std::string ScanUpperBound(absl::string_view prefix, absl::string_view start_after) {
  std::string end = PrefixSuccessor(prefix);
  if (!start_after.empty() && (end.empty() || start_after < end)) end = std::string(start_after);
  return end;
}

}  // namespace cosmo

#endif  // COSMO_LIB_STORE_SCAN_RANGE_H_
