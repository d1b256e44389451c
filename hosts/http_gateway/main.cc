// cosmo-gateway: the HTTP data plane alone, the scale-out unit. Serves families it pulls from
// one or more cosmo-servers over gRPC (cosmo.v1.GatewaySync), follows their version changes,
// reports usage back, and keeps serving what it has when the control plane is down.
//
// A thin main: flags (each with a COSMO_* environment fallback) become options of a Runtime over
// an in-memory Store, a GatewayReplica and an HttpServer. SIGTERM/SIGINT stop the HTTP server,
// report usage one last time and exit.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "control_plane_client.h"
#include "cosmo/http_server.h"
#include "cosmo/runtime.h"
#include "cosmo/store.h"
#include "gateway_replica.h"

namespace {

struct Flags {
  std::string control;
  std::string http_listen = "127.0.0.1:8080";
  std::string token;
  std::string idle_timeout = "60s";
  std::string usage_report_interval = "1s";
  uint64_t max_cpu_ms = 50;
  uint64_t max_memory_mb = 128;
  uint64_t max_request_body_bytes = uint64_t{10} << 20;
  size_t http_threads = 64;
  bool disallow_codegen = false;
};

int Fail(absl::string_view message) {
  std::fprintf(stderr, "cosmo-gateway: %.*s\n", static_cast<int>(message.size()), message.data());
  return 1;
}

int Serve(const Flags& flags) {
  std::vector<std::string> servers = absl::StrSplit(flags.control, ',', absl::SkipWhitespace());
  if (servers.empty()) return Fail("--control: give at least one HOST:PORT of a cosmo-server");
  absl::Duration idle, report;
  if (!absl::ParseDuration(flags.idle_timeout, &idle)) return Fail("--idle-timeout: bad duration");
  if (!absl::ParseDuration(flags.usage_report_interval, &report) ||
      report <= absl::ZeroDuration()) {
    return Fail("--usage-report-interval: bad duration");
  }

  cosmo::RuntimeOptions runtime_options;
  runtime_options.idle_timeout = idle;
  runtime_options.allow_codegen = !flags.disallow_codegen;
  runtime_options.caps.cpu_per_request = absl::Milliseconds(flags.max_cpu_ms);
  runtime_options.caps.memory_bytes = size_t{flags.max_memory_mb} << 20;
  runtime_options.caps.max_request_body_bytes = flags.max_request_body_bytes;
  if (absl::Status valid = runtime_options.Validate(); !valid.ok()) {
    return Fail(absl::StrCat("limits flags: ", valid.message()));
  }
  auto runtime = cosmo::Runtime::Create(runtime_options, cosmo::NewInMemoryStore());
  if (!runtime.ok()) return Fail(runtime.status().message());

  cosmo::gateway::ControlPlaneClient client(servers, flags.token);
  auto replica = std::make_unique<cosmo::gateway::GatewayReplica>(
      cosmo::gateway::GatewayReplicaOptions{.usage_report_interval = report}, &client,
      runtime->get());
  auto http = cosmo::HttpServer::Create(
      {.listen_address = flags.http_listen,
       .worker_threads = flags.http_threads,
       .max_request_body_bytes = flags.max_request_body_bytes},
      runtime->get(), [&replica](absl::string_view family, const cosmo::HttpRequest& request) {
        return replica->Invoke(family, request);
      });
  if (!http.ok()) return Fail(http.status().message());
  (*http)->Start();
  // Tests and supervisors wait for this line; it carries the bound port when the port was 0.
  std::printf("cosmo-gateway: data plane (HTTP) listening on %s (control plane %s)\n",
              (*http)->address().c_str(), flags.control.c_str());
  std::fflush(stdout);

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  int signal_number = 0;
  sigwait(&signals, &signal_number);
  (*http)->Stop();
  replica->Stop();  // a last usage report
  replica.reset();
  runtime->reset();
  std::printf("cosmo-gateway: stopped\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  Flags flags;
  CLI::App app{
      "cosmo-gateway: the CosmoCompute HTTP data plane, fed by cosmo-server(s) over gRPC.\n"
      "Every flag may also be set by the environment variable shown."};
  app.option_defaults()->always_capture_default();
  app.add_option("--control", flags.control,
                 "cosmo-server gRPC addresses HOST:PORT[,HOST:PORT...] (failover in order)")
      ->required()
      ->envname("COSMO_CONTROL");
  app.add_option("--http-listen", flags.http_listen, "HTTP address (port 0 picks a free port)")
      ->envname("COSMO_HTTP_LISTEN");
  app.add_option("--token", flags.token, "Bearer token for servers with a tokens file")
      ->envname("COSMO_TOKEN");
  app.add_option("--idle-timeout", flags.idle_timeout,
                 "Unload a family's activation after this long without requests")
      ->envname("COSMO_IDLE_TIMEOUT");
  app.add_option("--usage-report-interval", flags.usage_report_interval,
                 "How often usage deltas are pushed to the control plane")
      ->envname("COSMO_USAGE_REPORT_INTERVAL");
  app.add_option("--max-cpu-ms", flags.max_cpu_ms, "Cap of a request's CPU time (ms)")
      ->envname("COSMO_MAX_CPU_MS");
  app.add_option("--max-memory-mb", flags.max_memory_mb, "Cap of an isolate's heap (MiB)")
      ->envname("COSMO_MAX_MEMORY_MB");
  app.add_option("--max-request-body-bytes", flags.max_request_body_bytes,
                 "Largest request body passed to a script")
      ->envname("COSMO_MAX_REQUEST_BODY_BYTES");
  app.add_option("--http-threads", flags.http_threads, "HTTP worker threads")
      ->envname("COSMO_HTTP_THREADS");
  app.add_flag("--disallow-codegen", flags.disallow_codegen,
               "Forbid eval, new Function and WebAssembly in scripts")
      ->envname("COSMO_DISALLOW_CODEGEN");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& help) {
    return app.exit(help);
  } catch (const CLI::ParseError& error) {
    std::fprintf(stderr, "cosmo-gateway: %s (see cosmo-gateway --help)\n", error.what());
    return 2;
  }
  return Serve(flags);
}
