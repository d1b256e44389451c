// Resource limits of a script, and how deploy-time requests combine with server caps.
//
// A deploy may set limits in its manifest (`cosmoctl deploy --limit cpu_ms=20`); the server has
// caps (its limits flags). The manifest holds exactly what the deployer set, so the version hash
// never depends on server settings; ResolveLimits() merges them when a version is activated.
//
// Plain value types and pure functions; thread-safe.
#ifndef COSMO_LIMITS_H_
#define COSMO_LIMITS_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace cosmo {

struct ScriptLimits {
  // CPU time of one request's JavaScript (thread CPU). Manifest key `cpu_ms`.
  absl::Duration cpu_per_request = absl::Milliseconds(50);
  // Heap plus ArrayBuffer memory of one isolate. Manifest key `memory_mb`.
  size_t memory_bytes = size_t{128} << 20;
  // Wall-clock time of one request, including waits and ctx.waitUntil work. Manifest key `wall_ms`.
  absl::Duration wall_per_request = absl::Milliseconds(30000);
  // Outbound fetch() calls per request. Manifest key `subrequests`.
  uint32_t subrequests = 50;
  // CPU time of the module's top level when an isolate starts (not settable per deploy).
  absl::Duration startup_cpu = absl::Seconds(1);

  // Checks that the durations are positive and memory_bytes is at least 4 MiB; subrequests may be
  // 0 (no fetch() at all). INVALID_ARGUMENT names the field.
  absl::Status Validate() const;
};

// The manifest keys a deploy may set, with the ScriptLimits field each one maps to.
inline constexpr const char* kLimitCpuMs = "cpu_ms";
inline constexpr const char* kLimitMemoryMb = "memory_mb";
inline constexpr const char* kLimitWallMs = "wall_ms";
inline constexpr const char* kLimitSubrequests = "subrequests";

// Checks a deploy's limit requests: known keys only, values at least 1 and at most the cap in
// `caps`. INVALID_ARGUMENT names the key, the value and the cap.
absl::Status ValidateRequestedLimits(const std::map<std::string, uint64_t>& requested,
                                     const ScriptLimits& caps);

// The effective limits of a version: `caps`, lowered by each requested value. Values above a cap
// (possible when a cluster's servers run with different caps) are clamped, never an error, so an
// already-deployed version always activates.
ScriptLimits ResolveLimits(const std::map<std::string, uint64_t>& requested,
                           const ScriptLimits& caps);

}  // namespace cosmo

#endif  // COSMO_LIMITS_H_
