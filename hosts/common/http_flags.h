// The command-line flags of the HTTP data plane's connection handling, shared by cosmo-server
// and cosmo-gateway (both serve HTTP through the same HttpServer).
//
// Each flag has a COSMO_* environment fallback; docs/http.md lists them with the limits.
#ifndef COSMO_HOSTS_COMMON_HTTP_FLAGS_H_
#define COSMO_HOSTS_COMMON_HTTP_FLAGS_H_

#include <CLI/CLI.hpp>
#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "cosmo/http_server.h"
#include "runtime_flags.h"

namespace cosmo::host {

struct HttpFlags {
  size_t threads = 64;
  size_t max_connections = 10000;
  std::string keep_alive_timeout = "5s";
  std::string head_timeout = "10s";
};

// Registers the flags on `app`, writing into `flags` (which must outlive the parse).
void AddHttpFlags(CLI::App& app, HttpFlags* flags);

// HttpServerOptions for `listen_address` from parsed flags (the body limit comes from the runtime
// flags), validated; INVALID_ARGUMENT names the flag.
absl::StatusOr<HttpServerOptions> ToHttpServerOptions(const std::string& listen_address,
                                                      const HttpFlags& flags,
                                                      const RuntimeFlags& runtime);

}  // namespace cosmo::host

#endif  // COSMO_HOSTS_COMMON_HTTP_FLAGS_H_
