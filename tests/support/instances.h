// Instances of any Engine for engine tests: version names that never collide, a manifest started
// in one call, GET requests, response headers by name, and invocations timed on the wall clock.
// The functions are thread-safe.
#ifndef COSMO_TESTS_SUPPORT_INSTANCES_H_
#define COSMO_TESTS_SUPPORT_INSTANCES_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "cosmo/engine.h"

namespace cosmo::testing {

// A version name nobody else in the process uses, so code caches never collide across tests.
std::string UniqueVersion();

// Prepares `manifest` under a UniqueVersion() and instantiates it within `limits`.
absl::StatusOr<std::unique_ptr<Instance>> StartInstance(Engine& engine, const Manifest& manifest,
                                                        const ScriptLimits& limits = {});

// A GET of `url` without headers or body.
HttpRequest GetRequest(std::string url);

// The value of the header `name` (as the engine spelled it), or "".
std::string HeaderOf(const HttpResponse& response, const std::string& name);

// One invocation and what it cost on the wall clock.
struct TimedInvocation {
  InvokeResult result;
  double wall_ms = 0;
  bool reusable = false;  // Instance::Reusable() afterwards
};
TimedInvocation InvokeTimed(Instance& instance, const HttpRequest& request);

}  // namespace cosmo::testing

#endif  // COSMO_TESTS_SUPPORT_INSTANCES_H_
