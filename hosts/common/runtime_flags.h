// The command-line flags that configure a host's Runtime and its HTTP data plane's body limit,
// shared by cosmo-server and cosmo-gateway so that both run scripts under the same limits, memory
// budget and fetch() rules: a gateway is the same data plane, only fed over gRPC instead of from
// a local store.
//
// Each flag has a COSMO_* environment fallback; docs/control-plane.md lists them.
#ifndef COSMO_HOSTS_COMMON_RUNTIME_FLAGS_H_
#define COSMO_HOSTS_COMMON_RUNTIME_FLAGS_H_

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cosmo/runtime.h"

namespace cosmo::host {

struct RuntimeFlags {
  std::string idle_timeout = "60s";
  uint64_t memory_budget_mb = 0;  // 0: a quarter of physical memory
  uint64_t max_cpu_ms = 50;
  uint64_t max_memory_mb = 128;
  uint64_t max_wall_ms = 30000;
  uint64_t max_subrequests = 50;
  // HttpServerOptions::max_request_body_bytes: the HTTP layer enforces it, the Runtime receives
  // whole bodies.
  uint64_t max_request_body_bytes = uint64_t{10} << 20;
  uint64_t max_script_bytes = uint64_t{5} << 20;        // RuntimeOptions::max_script_bytes
  uint64_t kv_max_namespace_bytes = uint64_t{1} << 30;  // KvLimits::max_namespace_bytes
  bool disallow_codegen = false;
  std::vector<std::string> fetch_allow;  // HOST[:PORT] exempt from fetch()'s destination checks
  std::string fetch_ca_file;
};

// Registers the flags on `app`, writing into `flags` (which must outlive the parse).
void AddRuntimeFlags(CLI::App& app, RuntimeFlags* flags);

// RuntimeOptions from parsed flags, validated; INVALID_ARGUMENT names the flag. `program` (e.g.
// "cosmo-server") starts the lines the runtime's reports write to stderr (BudgetChurnMessage()).
absl::StatusOr<RuntimeOptions> ToRuntimeOptions(const RuntimeFlags& flags,
                                                absl::string_view program);

// The line an operator reads when the memory budget churns (RuntimeOptions::on_budget_churn).
std::string BudgetChurnMessage(absl::string_view program, const BudgetChurn& churn);

// A quarter of physical memory, at least 256 MiB: the default --memory-budget-mb.
size_t DefaultMemoryBudgetBytes();

}  // namespace cosmo::host

#endif  // COSMO_HOSTS_COMMON_RUNTIME_FLAGS_H_
