// cosmo-gateway: the HTTP data plane alone, the scale-out unit. Serves families it pulls from
// one or more cosmo-servers over gRPC (cosmo.v1.GatewaySync), follows their version changes,
// reports usage back, and keeps serving what it has when the control plane is down.
//
// A thin main: flags (each with a COSMO_* environment fallback; the Runtime's are cosmo-server's,
// hosts/common/runtime_flags.h) become options of a Runtime over an in-memory Store whose KV
// bindings reach the servers (RemoteKvStore), a GatewayReplica, an HttpServer and the read-only
// dashboard over the servers' data (RemoteDashboardApi). SIGTERM/SIGINT stop the HTTP server,
// report usage one last time and exit.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "common/host_port.h"
#include "control_plane_client.h"
#include "cosmo/http_server.h"
#include "cosmo/runtime.h"
#include "cosmo/store.h"
#include "dashboard/dashboard.h"
#include "dashboard_flags.h"
#include "gateway_replica.h"
#include "host_main.h"
#include "http_flags.h"
#include "process_memory.h"
#include "remote_dashboard_api.h"
#include "remote_kv_store.h"
#include "runtime_flags.h"

namespace {

constexpr absl::string_view kProgram = "cosmo-gateway";

struct Flags {
  std::string control;
  std::string http_listen = "127.0.0.1:8080";
  std::string token;
  std::string usage_report_interval = "1s";
  cosmo::host::HttpFlags http;
  cosmo::host::RuntimeFlags runtime;
  cosmo::host::DashboardFlags dashboard;
};

int Fail(absl::string_view message) { return cosmo::host::Fail(kProgram, message); }

int Serve(const Flags& flags) {
  std::vector<std::string> servers = absl::StrSplit(flags.control, ',', absl::SkipWhitespace());
  if (servers.empty()) return Fail("--control: give at least one HOST:PORT of a cosmo-server");
  for (const std::string& server : servers) {
    if (absl::StartsWith(server, "unix:")) continue;
    absl::StatusOr<cosmo::HostPort> parsed = cosmo::ParseHostPort(server);
    if (!parsed.ok()) return Fail(absl::StrCat("--control: ", parsed.status().message()));
  }
  absl::StatusOr<absl::Duration> report =
      cosmo::host::ParseDurationFlag("--usage-report-interval", flags.usage_report_interval);
  if (!report.ok()) return Fail(report.status().message());
  if (*report <= absl::ZeroDuration()) return Fail("--usage-report-interval: must be above 0");
  absl::StatusOr<cosmo::RuntimeOptions> runtime_options = ToRuntimeOptions(flags.runtime, kProgram);
  if (!runtime_options.ok()) return Fail(runtime_options.status().message());
  // Cron triggers run on the servers, which share the store their claims need.
  runtime_options->run_crons = false;
  cosmo::gateway::ControlPlaneClient client(servers, flags.token);
  // KV bindings reach the servers' KvStore; the local in-memory store holds only the registry
  // records of the families this gateway serves.
  cosmo::gateway::RemoteKvStore kv(&client, runtime_options->kv.limits);
  runtime_options->javascript.kv = &kv;
  auto runtime = cosmo::NewRuntime(*std::move(runtime_options), cosmo::NewInMemoryStore());
  if (!runtime.ok()) return Fail(runtime.status().message());

  auto replica = std::make_unique<cosmo::gateway::GatewayReplica>(
      cosmo::gateway::GatewayReplicaOptions{.usage_report_interval = *report}, &client,
      runtime->get());
  absl::StatusOr<cosmo::HttpServerOptions> http_options =
      cosmo::host::ToHttpServerOptions(flags.http_listen, flags.http, flags.runtime);
  if (!http_options.ok()) return Fail(http_options.status().message());
  // The dashboard (docs/dashboard.md), read-only, with the servers' data.
  cosmo::gateway::RemoteDashboardApi dashboard_api(&client, runtime->get());
  cosmo::dashboard::Dashboard dashboard(
      &dashboard_api, {.read_only = true, .extra_hosts = flags.dashboard.admin_hosts});
  auto admin = cosmo::host::WireDashboard(flags.dashboard, &dashboard, &*http_options);
  if (!admin.ok()) return Fail(admin.status().message());
  if (*admin != nullptr) {
    std::printf("cosmo-gateway: dashboard listening on %s (/_cosmo/ui)\n",
                (*admin)->address().c_str());
  }
  auto http =
      cosmo::NewHttpServer(*std::move(http_options), runtime->get(),
                           [&replica](absl::string_view family, const cosmo::HttpRequest& request) {
                             return replica->Invoke(family, request);
                           });
  if (!http.ok()) return Fail(http.status().message());
  (*http)->Start();
  // Tests and supervisors wait for this line; it carries the bound port when the port was 0.
  std::printf("cosmo-gateway: data plane (HTTP) listening on %s (control plane %s)\n",
              (*http)->address().c_str(), flags.control.c_str());
  std::fflush(stdout);
  // Started: what building the snapshots and initialising the libraries left resident goes back.
  cosmo::host::ReleaseStartupMemory();

  cosmo::host::WaitForShutdownSignal();
  (*http)->Stop();
  if (*admin != nullptr) (*admin)->Stop();
  replica->Stop();  // a last usage report
  replica.reset();
  runtime->reset();
  std::printf("cosmo-gateway: stopped\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  cosmo::host::BlockShutdownSignals();
  cosmo::host::DisableLockOrderChecks();
  cosmo::host::LimitMallocArenas();

  Flags flags;
  CLI::App app{
      "cosmo-gateway: the CosmoCompute HTTP data plane, fed by cosmo-server(s) over gRPC, with\n"
      "a read-only dashboard of their data at /_cosmo/ui (docs/dashboard.md).\n"
      "Every flag may also be set by the environment variable shown."};
  app.option_defaults()->always_capture_default();
  app.add_option("--control", flags.control,
                 "cosmo-server gRPC addresses HOST:PORT[,HOST:PORT...] (failover in order)")
      ->required()
      ->envname("COSMO_CONTROL");
  app.add_option("--http-listen", flags.http_listen, "HTTP address (port 0 picks a free port)")
      ->envname("COSMO_HTTP_LISTEN");
  app.add_option("--token", flags.token,
                 "Bearer token for servers with a tokens file: one of the tenant 'gateway' "
                 "(cosmoctl token new gateway)")
      ->envname("COSMO_TOKEN");
  app.add_option("--usage-report-interval", flags.usage_report_interval,
                 "How often usage deltas are pushed to the control plane")
      ->envname("COSMO_USAGE_REPORT_INTERVAL");
  cosmo::host::AddHttpFlags(app, &flags.http);
  cosmo::host::AddDashboardFlags(app, &flags.dashboard);
  cosmo::host::AddRuntimeFlags(app, &flags.runtime);
  if (std::optional<int> exit_code = cosmo::host::ParseCommandLine(app, argc, argv, kProgram)) {
    return *exit_code;
  }
  return Serve(flags);
}
