#include "absl/strings/str_cat.h"
#include "cosmo/kv.h"

namespace cosmo {

absl::Status KvLimits::Validate() const {
  if (max_key_bytes == 0) return absl::InvalidArgumentError("max_key_bytes must be at least 1");
  if (max_list_limit == 0) return absl::InvalidArgumentError("max_list_limit must be at least 1");
  if (max_operations_per_invocation == 0) {
    return absl::InvalidArgumentError("max_operations_per_invocation must be at least 1");
  }
  if (min_expiration_ttl < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("min_expiration_ttl must not be negative");
  }
  if (max_namespace_bytes == 0) {
    return absl::InvalidArgumentError(
        "max_namespace_bytes (--kv-max-namespace-bytes) must be at least 1");
  }
  return absl::OkStatus();
}

absl::Status KvStoreOptions::Validate() const {
  if (absl::Status s = limits.Validate(); !s.ok()) return s;
  if (max_keys_per_commit == 0) {
    return absl::InvalidArgumentError("max_keys_per_commit must be at least 1");
  }
  if (max_commit_attempts < 1) {
    return absl::InvalidArgumentError("max_commit_attempts must be at least 1");
  }
  if (sweep_interval < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("sweep_interval must not be negative");
  }
  return absl::OkStatus();
}

}  // namespace cosmo
