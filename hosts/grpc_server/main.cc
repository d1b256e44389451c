// cosmo-server: the CosmoCompute control plane over gRPC, over the whole platform in-process.
//
// A thin main: flags (each with a COSMO_* environment fallback) become RuntimeOptions and
// ControlServerOptions; everything else is libcosmo and lib/control. SIGTERM/SIGINT stop accepting
// calls, drain in-flight ones for --shutdown-grace, flush metering and close the store.
#include <signal.h>

#include <CLI/CLI.hpp>
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
#include "dashboard/dashboard_read_service.h"
#include "dashboard_flags.h"
#include "host_main.h"
#include "http_flags.h"
#include "process_memory.h"
#include "runtime_flags.h"

namespace {

using ::cosmo::host::ParseDurationFlag;

constexpr absl::string_view kProgram = "cosmo-server";

struct Flags {
  std::string data_dir = "./cosmo-data";
  std::string store = "leveldb";
  std::string grpc_listen = "127.0.0.1:50051";
  std::string http_listen = "127.0.0.1:8080";
  std::string shutdown_grace = "10s";
  std::string auth_tokens_file;
  std::string server_id;
  std::string cron_lease_margin = "30s";
  std::string usage_history_retention = "168h";
  bool repair_store = false;
  cosmo::host::HttpFlags http;
  cosmo::host::RuntimeFlags runtime;
  cosmo::host::DashboardFlags dashboard;
};

int Fail(absl::string_view message) { return cosmo::host::Fail(kProgram, message); }

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

  absl::StatusOr<cosmo::RuntimeOptions> runtime_options = ToRuntimeOptions(flags.runtime, kProgram);
  if (!runtime_options.ok()) return Fail(runtime_options.status().message());
  runtime_options->server_id = flags.server_id;
  auto lease_margin = ParseDurationFlag("--cron-lease-margin", flags.cron_lease_margin);
  if (!lease_margin.ok()) return Fail(lease_margin.status().message());
  runtime_options->cron_lease_margin = *lease_margin;
  auto history_retention =
      ParseDurationFlag("--usage-history-retention", flags.usage_history_retention);
  if (!history_retention.ok()) return Fail(history_retention.status().message());
  runtime_options->usage_history_retention = *history_retention;
  auto grace = ParseDurationFlag("--shutdown-grace", flags.shutdown_grace);
  if (!grace.ok()) return Fail(grace.status().message());

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
  auto runtime = cosmo::NewRuntime(*std::move(runtime_options), *std::move(store));
  if (!runtime.ok()) return Fail(runtime.status().message());

  cosmo::control::ControlServerOptions server_options;
  server_options.listen_address = flags.grpc_listen;
  server_options.service.max_script_bytes = flags.runtime.max_script_bytes;
  // The dashboard API's read calls for cosmo-gateways' dashboards (docs/dashboard.md).
  cosmo::dashboard::DashboardReadService dashboard_reads(runtime->get(), authenticator.get());
  server_options.extra_services.push_back(&dashboard_reads);
  auto server = cosmo::control::ControlServer::Start(server_options, &(*runtime)->registry(),
                                                     runtime->get(), authenticator.get());
  if (!server.ok()) return Fail(server.status().message());

  // Tests and supervisors wait for this line; it carries the bound port when --grpc-listen used 0.
  std::printf("cosmo-server: control plane (gRPC) listening on %s (store %s, %s)\n",
              (*server)->address().c_str(), (*runtime)->store().Describe().c_str(),
              authenticator->requires_tokens()
                  ? absl::StrCat(authenticator->tenant_tokens(), " tokens").c_str()
                  : "no auth: every caller is tenant 'local'");
  // The dashboard (docs/dashboard.md) on the data plane's listener, or on --admin-listen.
  cosmo::dashboard::Dashboard dashboard(runtime->get(), authenticator.get(),
                                        {.extra_hosts = flags.dashboard.admin_hosts});
  absl::StatusOr<cosmo::HttpServerOptions> http_options =
      cosmo::host::ToHttpServerOptions(flags.http_listen, flags.http, flags.runtime);
  if (!flags.http_listen.empty() && !http_options.ok()) {
    return Fail(http_options.status().message());
  }
  auto admin = cosmo::host::WireDashboard(flags.dashboard, &dashboard,
                                          http_options.ok() ? &*http_options : nullptr);
  if (!admin.ok()) return Fail(admin.status().message());
  if (*admin != nullptr) {
    std::printf("cosmo-server: dashboard listening on %s (/_cosmo/ui)\n",
                (*admin)->address().c_str());
  }
  // The HTTP data plane on the same Runtime (lib/http; docs/http.md).
  std::unique_ptr<cosmo::HttpServer> http;
  if (!flags.http_listen.empty()) {
    auto started = cosmo::NewHttpServer(*std::move(http_options), runtime->get());
    if (!started.ok()) return Fail(started.status().message());
    http = *std::move(started);
    http->Start();
    std::printf("cosmo-server: data plane (HTTP) listening on %s\n", http->address().c_str());
  }
  std::fflush(stdout);
  // Started: what building the snapshots and initialising the libraries left resident goes back.
  cosmo::host::ReleaseStartupMemory();

  const int signal_number = cosmo::host::WaitForShutdownSignal();
  std::printf("cosmo-server: %s: draining calls (up to %s), then flushing usage\n",
              signal_number == SIGTERM ? "SIGTERM" : "SIGINT",
              absl::FormatDuration(*grace).c_str());
  std::fflush(stdout);
  if (http != nullptr) http->Stop();
  if (*admin != nullptr) (*admin)->Stop();
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
  cosmo::host::BlockShutdownSignals();
  cosmo::host::DisableLockOrderChecks();
  cosmo::host::LimitMallocArenas();

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
  app.add_option("--shutdown-grace", flags.shutdown_grace,
                 "On SIGTERM, how long in-flight calls may finish")
      ->envname("COSMO_SHUTDOWN_GRACE");
  app.add_option("--auth-tokens-file", flags.auth_tokens_file,
                 "File of `TENANT SHA256_HEX_OF_TOKEN` lines (cosmoctl token new); without it "
                 "every caller is tenant 'local' and only loopback is served")
      ->expected(0, 1)
      ->default_str("")
      ->envname("COSMO_AUTH_TOKENS_FILE");
  app.add_option("--server-id", flags.server_id,
                 "Names this server in cron claims (docs/cron.md); must differ between the "
                 "servers of a cluster (default: random per process)")
      ->envname("COSMO_SERVER_ID");
  app.add_option("--cron-lease-margin", flags.cron_lease_margin,
                 "How long past a family's wall limit a cron run's claim stays its server's "
                 "before another server may run the tick again (docs/cron.md)")
      ->envname("COSMO_CRON_LEASE_MARGIN");
  app.add_option("--usage-history-retention", flags.usage_history_retention,
                 "How long per-version usage history is kept (168h: 7 days): per minute for a day, "
                 "then per hour (docs/dashboard.md)")
      ->envname("COSMO_USAGE_HISTORY_RETENTION");
  cosmo::host::AddHttpFlags(app, &flags.http);
  cosmo::host::AddDashboardFlags(app, &flags.dashboard);
  cosmo::host::AddRuntimeFlags(app, &flags.runtime);
  app.add_flag("--repair-store", flags.repair_store,
               "Repair a corrupt LevelDB store in --data-dir (back it up first), then exit");
  if (std::optional<int> exit_code = cosmo::host::ParseCommandLine(app, argc, argv, kProgram)) {
    return *exit_code;
  }
  return Serve(flags);
}
