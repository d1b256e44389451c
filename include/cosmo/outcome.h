// The one way every request ends.
//
// Each invocation — through the library, the HTTP data plane or a gateway — ends in exactly one
// Outcome. Metrics, logs and tests speak in outcomes; the HTTP data plane turns an outcome into
// the HTTP status and JSON error code users see, in one table (docs/http.md lists it).
#ifndef COSMO_OUTCOME_H_
#define COSMO_OUTCOME_H_

#include "absl/strings/string_view.h"

namespace cosmo {

// Append-only: the numeric value of an Outcome is stored (usage records index their per-outcome
// counts by it) and sent between processes, so enumerators are never reordered or removed, and a
// new one goes last, with kLastOutcome moved to it.
enum class Outcome {
  kOk,                // the handler produced a response (of any HTTP status)
  kException,         // uncaught JS exception, invalid response, never-settling promise
  kExceededCpu,       // CPU limit of the request (or of the module's top level) hit
  kExceededMemory,    // heap or ArrayBuffer budget of the isolate hit
  kExceededWallTime,  // the request's wall-clock limit hit while it waited
  kNotFound,          // no such family, or it has no active version
  kLoadShed,          // refused for now: the host is saturated or its store unreachable; retry
  kBadRequest,        // malformed or over a size limit; decided by the host before any script
  kInternal,          // a fault of the host (store error, corrupt version); never the script's
};

// The last enumerator. Appending an Outcome without moving this fails to compile (in
// lib/common/outcome.cc, whose switch must name every enumerator).
inline constexpr Outcome kLastOutcome = Outcome::kInternal;
inline constexpr int kOutcomeCount = static_cast<int>(kLastOutcome) + 1;

// Stable snake_case name, e.g. "exceeded_cpu"; used in metrics labels and logs.
absl::string_view OutcomeName(Outcome outcome);

}  // namespace cosmo

#endif  // COSMO_OUTCOME_H_
