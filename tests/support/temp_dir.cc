#include "support/temp_dir.h"

#include <stdlib.h>

#include <cstdlib>
#include <filesystem>

namespace cosmo::testing {

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern =
      std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/cosmo-test-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) {
    // Tests cannot run without scratch space; fail loudly rather than share a directory.
    std::abort();
  }
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

}  // namespace cosmo::testing
