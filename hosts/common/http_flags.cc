#include "http_flags.h"

#include "absl/strings/str_cat.h"
#include "host_main.h"

namespace cosmo::host {

void AddHttpFlags(CLI::App& app, HttpFlags* flags) {
  app.add_option("--http-threads", flags->threads,
                 "HTTP worker threads (busy only while a request runs)")
      ->check(CLI::PositiveNumber)
      ->envname("COSMO_HTTP_THREADS");
  app.add_option("--http-max-connections", flags->max_connections,
                 "Open HTTP connections; beyond, new ones get 503 and are closed (lowered to what "
                 "the descriptor limit allows)")
      ->check(CLI::PositiveNumber)
      ->envname("COSMO_HTTP_MAX_CONNECTIONS");
  app.add_option("--http-keep-alive-timeout", flags->keep_alive_timeout,
                 "Close an idle keep-alive connection after this long (at least 1s)")
      ->envname("COSMO_HTTP_KEEP_ALIVE_TIMEOUT");
  app.add_option("--http-head-timeout", flags->head_timeout,
                 "Close a connection whose request head has not fully arrived this long after "
                 "its first byte")
      ->envname("COSMO_HTTP_HEAD_TIMEOUT");
}

absl::StatusOr<HttpServerOptions> ToHttpServerOptions(const std::string& listen_address,
                                                      const HttpFlags& flags,
                                                      const RuntimeFlags& runtime) {
  HttpServerOptions options;
  options.listen_address = listen_address;
  options.worker_threads = flags.threads;
  options.max_connections = flags.max_connections;
  options.max_request_body_bytes = runtime.max_request_body_bytes;
  absl::StatusOr<absl::Duration> keep_alive =
      ParseDurationFlag("--http-keep-alive-timeout", flags.keep_alive_timeout);
  if (!keep_alive.ok()) return keep_alive.status();
  if (*keep_alive < absl::Seconds(1)) {
    return absl::InvalidArgumentError(absl::StrCat("--http-keep-alive-timeout: '",
                                                   flags.keep_alive_timeout,
                                                   "' is shorter than the minimum of 1s"));
  }
  options.keep_alive_timeout = *keep_alive;
  absl::StatusOr<absl::Duration> head =
      ParseDurationFlag("--http-head-timeout", flags.head_timeout);
  if (!head.ok()) return head.status();
  if (*head <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--http-head-timeout: must be above 0, e.g. 10s");
  }
  options.request_head_timeout = *head;
  return options;
}

}  // namespace cosmo::host
