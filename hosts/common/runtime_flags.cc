#include "runtime_flags.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "host_main.h"

namespace cosmo::host {

size_t DefaultMemoryBudgetBytes() {
  // Room for ~1,000 warm families on a 16 GiB machine while leaving the rest to the OS and the
  // request path.
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page_size = sysconf(_SC_PAGE_SIZE);
  const size_t physical =
      pages > 0 && page_size > 0 ? static_cast<size_t>(pages) * static_cast<size_t>(page_size) : 0;
  return std::max<size_t>(physical / 4, size_t{256} << 20);
}

void AddRuntimeFlags(CLI::App& app, RuntimeFlags* flags) {
  app.add_option("--idle-timeout", flags->idle_timeout,
                 "Unload a family's activation after this long without requests")
      ->envname("COSMO_IDLE_TIMEOUT");
  app.add_option("--memory-budget-mb", flags->memory_budget_mb,
                 "What all script instances may hold (MiB): past it, colder families (fewest "
                 "recent requests per byte) are unloaded; 0 = a quarter of physical memory")
      ->envname("COSMO_MEMORY_BUDGET_MB");
  app.add_option("--max-cpu-ms", flags->max_cpu_ms, "Cap of a request's CPU time (ms)")
      ->envname("COSMO_MAX_CPU_MS");
  app.add_option("--max-memory-mb", flags->max_memory_mb, "Cap of an isolate's heap (MiB)")
      ->envname("COSMO_MAX_MEMORY_MB");
  app.add_option("--max-wall-ms", flags->max_wall_ms, "Cap of a request's wall time (ms)")
      ->envname("COSMO_MAX_WALL_MS");
  app.add_option("--max-subrequests", flags->max_subrequests, "Cap of fetch() calls per request")
      ->envname("COSMO_MAX_SUBREQUESTS");
  app.add_option("--max-request-body-bytes", flags->max_request_body_bytes,
                 "Largest request body passed to a script, after decoding (413 beyond)")
      ->check(CLI::PositiveNumber)
      ->envname("COSMO_MAX_REQUEST_BODY_BYTES");
  app.add_option("--max-script-bytes", flags->max_script_bytes,
                 "Largest deployable source (sum of files)")
      ->check(CLI::PositiveNumber)
      ->envname("COSMO_MAX_SCRIPT_BYTES");
  app.add_option("--kv-max-namespace-bytes", flags->kv_max_namespace_bytes,
                 "Stored bytes (keys, values, metadata) one KV namespace may hold")
      ->check(CLI::PositiveNumber)
      ->envname("COSMO_KV_MAX_NAMESPACE_BYTES");
  app.add_flag("--disallow-codegen", flags->disallow_codegen,
               "Forbid eval, new Function and WebAssembly in scripts")
      ->envname("COSMO_DISALLOW_CODEGEN");
  app.add_option("--fetch-allow", flags->fetch_allow,
                 "HOST[:PORT] fetch() may reach although it is loopback, private, link-local "
                 "or metadata (repeatable or comma-separated; IPv6 as [::1]:8080)")
      ->delimiter(',')
      ->envname("COSMO_FETCH_ALLOW");
  app.add_option("--fetch-ca-file", flags->fetch_ca_file,
                 "PEM file of the CAs https fetches trust instead of the system store")
      ->envname("COSMO_FETCH_CA_FILE");
}

std::string BudgetChurnMessage(absl::string_view program, const BudgetChurn& churn) {
  const auto mib = [](size_t bytes) { return (bytes + (size_t{1} << 19)) >> 20; };
  return absl::StrCat(program, ": memory budget: in the last ", absl::FormatDuration(churn.window),
                      ", families it had unloaded while in use were requested again ",
                      churn.returns, " times, each a cold start (", churn.unloads,
                      " unloads in all; instances hold ", mib(churn.memory_bytes), " of ",
                      mib(churn.budget_bytes),
                      " MiB). The families in use do not fit: raise --memory-budget-mb, or expect "
                      "these cold starts (cosmo_budget_returns_total on /_cosmo/metrics).");
}

absl::StatusOr<RuntimeOptions> ToRuntimeOptions(const RuntimeFlags& flags,
                                                absl::string_view program) {
  RuntimeOptions options;
  options.on_budget_churn = [program = std::string(program)](const BudgetChurn& churn) {
    std::fprintf(stderr, "%s\n", BudgetChurnMessage(program, churn).c_str());
  };
  // A server process owns its allocator: give memory freed under load back when traffic stops.
  options.release_memory_when_idle = true;
  absl::StatusOr<absl::Duration> idle = ParseDurationFlag("--idle-timeout", flags.idle_timeout);
  if (!idle.ok()) return idle.status();
  options.idle_timeout = *idle;
  options.memory_budget_bytes = flags.memory_budget_mb != 0 ? size_t{flags.memory_budget_mb} << 20
                                                            : DefaultMemoryBudgetBytes();
  options.javascript.allow_codegen = !flags.disallow_codegen;
  options.javascript.fetch_allow = flags.fetch_allow;
  options.javascript.fetch_ca_file = flags.fetch_ca_file;
  options.max_script_bytes = flags.max_script_bytes;
  options.kv.limits.max_namespace_bytes = flags.kv_max_namespace_bytes;
  ScriptLimits& caps = options.caps;
  caps.cpu_per_request = absl::Milliseconds(flags.max_cpu_ms);
  caps.memory_bytes = size_t{flags.max_memory_mb} << 20;
  caps.wall_per_request = absl::Milliseconds(flags.max_wall_ms);
  caps.subrequests = static_cast<uint32_t>(flags.max_subrequests);
  if (absl::Status valid = options.Validate(); !valid.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("limits flags: ", valid.message()));
  }
  return options;
}

}  // namespace cosmo::host
