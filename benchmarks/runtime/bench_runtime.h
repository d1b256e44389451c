// A Runtime for in-process benchmarks: an in-memory store, no background maintenance (the
// benchmark's loop is the only thing running), families deployed from JavaScript source. A
// benchmark cannot run without them, so failures end the process with the reason.
#ifndef COSMO_BENCHMARKS_RUNTIME_BENCH_RUNTIME_H_
#define COSMO_BENCHMARKS_RUNTIME_BENCH_RUNTIME_H_

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>

#include "cosmo/runtime.h"

namespace cosmo::bench {

inline std::unique_ptr<Runtime> NewBenchRuntime(RuntimeOptions options = {}) {
  options.background_maintenance = false;
  absl::StatusOr<std::unique_ptr<Runtime>> created = NewRuntime(options, NewInMemoryStore());
  if (!created.ok()) {
    fprintf(stderr, "runtime: %s\n", created.status().ToString().c_str());
    std::abort();
  }
  return *std::move(created);
}

// Deploys `source` as index.js of `family` (as the canary of a split serving `percent` of its
// requests when set).
inline void DeployJavaScript(Runtime& runtime, const std::string& family, const std::string& source,
                             std::optional<uint32_t> percent = std::nullopt) {
  Manifest m;
  m.engine = "javascript";
  m.main = "index.js";
  m.files["index.js"] = source;
  absl::StatusOr<DeployResult> deployed = runtime.registry().Deploy(
      {.tenant = "bench", .family = family, .manifest = m, .percent = percent});
  if (!deployed.ok()) {
    fprintf(stderr, "deploy %s: %s\n", family.c_str(), deployed.status().ToString().c_str());
    std::abort();
  }
}

}  // namespace cosmo::bench

#endif  // COSMO_BENCHMARKS_RUNTIME_BENCH_RUNTIME_H_
