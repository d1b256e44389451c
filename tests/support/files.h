// Whole files read for tests: test data, documents and sources checked against each other.
#ifndef COSMO_TESTS_SUPPORT_FILES_H_
#define COSMO_TESTS_SUPPORT_FILES_H_

#include <filesystem>
#include <string>

#include "absl/status/statusor.h"

namespace cosmo::testing {

// The bytes of the file at `path`; NOT_FOUND naming the path when it cannot be read.
absl::StatusOr<std::string> ReadFile(const std::filesystem::path& path);

}  // namespace cosmo::testing

#endif  // COSMO_TESTS_SUPPORT_FILES_H_
