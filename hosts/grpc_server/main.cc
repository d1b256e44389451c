// cosmo-server: the CosmoCompute control plane over gRPC, over the whole platform in-process.
//
// A thin main: flags (each with a COSMO_* environment fallback) become RuntimeOptions and
// ControlServerOptions; everything else is libcosmo and lib/control. SIGTERM/SIGINT stop accepting
// calls, drain in-flight ones for --shutdown-grace, flush metering and close the store.
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "control/control_server.h"
#include "control/token_authenticator.h"
#include "cosmo/http_server.h"
#include "cosmo/limits.h"
#include "cosmo/runtime.h"
#include "cosmo/store.h"

namespace {

struct Flags {
  std::string data_dir = "./cosmo-data";
  std::string store = "leveldb";
  std::string grpc_listen = "127.0.0.1:50051";
  std::string http_listen = "127.0.0.1:8080";
  std::string idle_timeout = "60s";
  uint64_t memory_budget_mb = 0;  // 0: a quarter of physical memory
  std::string shutdown_grace = "10s";
  std::string auth_tokens_file;
  uint64_t max_cpu_ms = 50;
  uint64_t max_memory_mb = 128;
  uint64_t max_wall_ms = 30000;
  uint64_t max_subrequests = 50;
  uint64_t max_request_body_bytes = uint64_t{10} << 20;
  uint64_t max_script_bytes = uint64_t{5} << 20;
  bool disallow_codegen = false;
  bool repair_store = false;
  std::vector<std::string> fetch_allow;  // HOST[:PORT] exempt from fetch()'s destination checks
  std::string fetch_ca_file;
};

// A quarter of physical memory (at least 256 MiB): room for ~1,000 warm families on a 16 GiB
// machine while leaving the rest to the OS and the request path.
size_t DefaultMemoryBudgetBytes() {
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page_size = sysconf(_SC_PAGE_SIZE);
  const size_t physical =
      pages > 0 && page_size > 0 ? static_cast<size_t>(pages) * static_cast<size_t>(page_size) : 0;
  return std::max<size_t>(physical / 4, size_t{256} << 20);
}

int Fail(absl::string_view message) {
  std::fprintf(stderr, "cosmo-server: %.*s\n", static_cast<int>(message.size()), message.data());
  return 1;
}

absl::StatusOr<absl::Duration> ParseDurationFlag(absl::string_view flag, const std::string& text) {
  absl::Duration d;
  if (!absl::ParseDuration(text, &d) || d < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, ": '", text, "' is not a duration like 60s, 500ms or 2m"));
  }
  return d;
}

absl::StatusOr<std::unique_ptr<cosmo::Store>> OpenStore(const Flags& flags) {
  if (flags.store == "leveldb") {
    cosmo::LevelDbStoreOptions options;
    options.path = flags.data_dir;
    return cosmo::OpenLevelDbStore(options);
  }
  if (flags.store == "memory") return cosmo::NewInMemoryStore();
  if (absl::StartsWith(flags.store, "etcd://")) {
    absl::StatusOr<cosmo::EtcdStoreOptions> options = cosmo::ParseEtcdStoreUrl(flags.store);
    if (!options.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("--store: ", options.status().message()));
    }
    return cosmo::OpenEtcdStore(*options);
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "--store: '", flags.store, "' is not one of leveldb, memory, etcd://HOST:PORT[,...]"));
}

int Serve(const Flags& flags) {
  if (flags.repair_store) {
    absl::Status repaired = cosmo::RepairLevelDbStore(flags.data_dir);
    if (!repaired.ok()) return Fail(repaired.message());
    std::printf("cosmo-server: repaired the store at %s\n", flags.data_dir.c_str());
    return 0;
  }

  cosmo::RuntimeOptions runtime_options;
  auto idle = ParseDurationFlag("--idle-timeout", flags.idle_timeout);
  if (!idle.ok()) return Fail(idle.status().message());
  auto grace = ParseDurationFlag("--shutdown-grace", flags.shutdown_grace);
  if (!grace.ok()) return Fail(grace.status().message());
  runtime_options.idle_timeout = *idle;
  runtime_options.memory_budget_bytes = flags.memory_budget_mb != 0
                                            ? size_t{flags.memory_budget_mb} << 20
                                            : DefaultMemoryBudgetBytes();
  runtime_options.allow_codegen = !flags.disallow_codegen;
  runtime_options.fetch_allow = flags.fetch_allow;
  runtime_options.fetch_ca_file = flags.fetch_ca_file;
  cosmo::ScriptLimits& caps = runtime_options.caps;
  caps.cpu_per_request = absl::Milliseconds(flags.max_cpu_ms);
  caps.memory_bytes = size_t{flags.max_memory_mb} << 20;
  caps.wall_per_request = absl::Milliseconds(flags.max_wall_ms);
  caps.subrequests = static_cast<uint32_t>(flags.max_subrequests);
  caps.max_request_body_bytes = flags.max_request_body_bytes;
  caps.max_script_bytes = flags.max_script_bytes;
  if (absl::Status valid = runtime_options.Validate(); !valid.ok()) {
    return Fail(absl::StrCat("limits flags: ", valid.message()));
  }

  std::unique_ptr<cosmo::control::TokenAuthenticator> authenticator;
  if (flags.auth_tokens_file.empty()) {
    authenticator = cosmo::control::TokenAuthenticator::AllowAllLocal();
  } else {
    auto loaded = cosmo::control::TokenAuthenticator::FromFile(flags.auth_tokens_file);
    if (!loaded.ok()) return Fail(loaded.status().message());
    authenticator = *std::move(loaded);
  }
  // Checked before the store is opened, so a refused address touches no data.
  if (!authenticator->requires_tokens() && !cosmo::control::IsLoopbackAddress(flags.grpc_listen)) {
    return Fail(absl::StrCat("refusing to serve the control plane on ", flags.grpc_listen,
                             " without authentication: pass --auth-tokens-file, or listen on "
                             "loopback (--grpc-listen=127.0.0.1:50051)"));
  }

  auto store = OpenStore(flags);
  if (!store.ok()) return Fail(store.status().message());
  auto runtime = cosmo::Runtime::Create(runtime_options, *std::move(store));
  if (!runtime.ok()) return Fail(runtime.status().message());

  cosmo::control::ControlServerOptions server_options;
  server_options.listen_address = flags.grpc_listen;
  server_options.service.max_script_bytes = flags.max_script_bytes;
  auto server = cosmo::control::ControlServer::Start(server_options, &(*runtime)->registry(),
                                                     runtime->get(), authenticator.get());
  if (!server.ok()) return Fail(server.status().message());

  // Tests and supervisors wait for this line; it carries the bound port when --grpc-listen used 0.
  std::printf("cosmo-server: control plane (gRPC) listening on %s (store %s, %s)\n",
              (*server)->address().c_str(), (*runtime)->store().Describe().c_str(),
              authenticator->requires_tokens()
                  ? absl::StrCat(authenticator->tenant_tokens(), " tokens").c_str()
                  : "no auth: every caller is tenant 'local'");
  // The HTTP data plane on the same Runtime (lib/http; docs/http.md).
  std::unique_ptr<cosmo::HttpServer> http;
  if (!flags.http_listen.empty()) {
    auto started =
        cosmo::HttpServer::Create({.listen_address = flags.http_listen,
                                   .max_request_body_bytes = caps.max_request_body_bytes},
                                  runtime->get());
    if (!started.ok()) return Fail(started.status().message());
    http = *std::move(started);
    http->Start();
    std::printf("cosmo-server: data plane (HTTP) listening on %s\n", http->address().c_str());
  }
  std::fflush(stdout);

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  int signal_number = 0;
  sigwait(&signals, &signal_number);

  std::printf("cosmo-server: %s: draining calls (up to %s), then flushing usage\n",
              signal_number == SIGTERM ? "SIGTERM" : "SIGINT",
              absl::FormatDuration(*grace).c_str());
  std::fflush(stdout);
  if (http != nullptr) http->Stop();
  (*server)->Shutdown(*grace);
  server->reset();
  absl::Status flushed = (*runtime)->FlushUsage();
  if (!flushed.ok()) {
    std::fprintf(stderr, "cosmo-server: flushing usage failed: %s\n",
                 std::string(flushed.message()).c_str());
  }
  runtime->reset();  // closes the store
  std::printf("cosmo-server: stopped\n");
  return flushed.ok() ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  // Block the shutdown signals in every thread (threads inherit the mask), so that only the main
  // thread's sigwait() receives them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  Flags flags;
  CLI::App app{
      "cosmo-server: the CosmoCompute control plane (gRPC) over an embedded runtime.\n"
      "Every flag may also be set by the environment variable shown."};
  app.option_defaults()->always_capture_default();
  app.add_option("--data-dir", flags.data_dir, "Directory of the LevelDB store")
      ->envname("COSMO_DATA_DIR");
  app.add_option("--store", flags.store, "Store backend: leveldb, memory or etcd://H:P[,H:P...]")
      ->envname("COSMO_STORE");
  app.add_option("--grpc-listen", flags.grpc_listen,
                 "Control plane address HOST:PORT (port 0 picks a free port)")
      ->envname("COSMO_GRPC_LISTEN");
  // expected(0, 1): `--http-listen=` (empty) disables, rather than taking the next argument. An
  // empty value would be replaced by a captured default, so the default is in the description.
  app.add_option("--http-listen", flags.http_listen,
                 "HTTP data plane address (default 127.0.0.1:8080); empty disables")
      ->expected(0, 1)
      ->default_str("")
      ->envname("COSMO_HTTP_LISTEN");
  app.add_option("--idle-timeout", flags.idle_timeout,
                 "Unload a family's activation after this long without requests")
      ->envname("COSMO_IDLE_TIMEOUT");
  app.add_option("--memory-budget-mb", flags.memory_budget_mb,
                 "Unload least recently used activations while their isolates hold more than "
                 "this (MiB); 0 = a quarter of physical memory")
      ->envname("COSMO_MEMORY_BUDGET_MB");
  app.add_option("--shutdown-grace", flags.shutdown_grace,
                 "On SIGTERM, how long in-flight calls may finish")
      ->envname("COSMO_SHUTDOWN_GRACE");
  app.add_option("--auth-tokens-file", flags.auth_tokens_file,
                 "File of `TENANT SHA256_HEX_OF_TOKEN` lines (cosmoctl token new); without it "
                 "every caller is tenant 'local' and only loopback is served")
      ->expected(0, 1)
      ->default_str("")
      ->envname("COSMO_AUTH_TOKENS_FILE");
  app.add_option("--max-cpu-ms", flags.max_cpu_ms, "Cap of a request's CPU time (ms)")
      ->envname("COSMO_MAX_CPU_MS");
  app.add_option("--max-memory-mb", flags.max_memory_mb, "Cap of an isolate's heap (MiB)")
      ->envname("COSMO_MAX_MEMORY_MB");
  app.add_option("--max-wall-ms", flags.max_wall_ms, "Cap of a request's wall time (ms)")
      ->envname("COSMO_MAX_WALL_MS");
  app.add_option("--max-subrequests", flags.max_subrequests, "Cap of fetch() calls per request")
      ->envname("COSMO_MAX_SUBREQUESTS");
  app.add_option("--max-request-body-bytes", flags.max_request_body_bytes,
                 "Largest request body passed to a script")
      ->envname("COSMO_MAX_REQUEST_BODY_BYTES");
  app.add_option("--max-script-bytes", flags.max_script_bytes,
                 "Largest deployable source (sum of files)")
      ->envname("COSMO_MAX_SCRIPT_BYTES");
  app.add_flag("--disallow-codegen", flags.disallow_codegen,
               "Forbid eval, new Function and WebAssembly in scripts")
      ->envname("COSMO_DISALLOW_CODEGEN");
  app.add_option("--fetch-allow", flags.fetch_allow,
                 "HOST[:PORT] fetch() may reach although it is loopback, private, link-local "
                 "or metadata (repeatable or comma-separated; IPv6 as [::1]:8080)")
      ->delimiter(',')
      ->envname("COSMO_FETCH_ALLOW");
  app.add_option("--fetch-ca-file", flags.fetch_ca_file,
                 "PEM file of the CAs https fetches trust instead of the system store")
      ->envname("COSMO_FETCH_CA_FILE");
  app.add_flag("--repair-store", flags.repair_store,
               "Repair a corrupt LevelDB store in --data-dir (back it up first), then exit");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& help) {
    return app.exit(help);
  } catch (const CLI::ParseError& error) {
    std::fprintf(stderr, "cosmo-server: %s (see cosmo-server --help)\n", error.what());
    return 2;
  }
  return Serve(flags);
}
