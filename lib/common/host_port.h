// HOST:PORT text, the one spelling of a network address in every flag, option and endpoint list
// of the platform: listen addresses (--http-listen, --grpc-listen), the servers a client dials
// (cosmo-gateway --control, cosmoctl --server), etcd endpoints (--store=etcd://...) and fetch()'s
// exemptions (--fetch-allow HOST[:PORT]).
//
// Accepted: `name:port`, `1.2.3.4:port`, `[v6]:port` (an IPv6 address always in brackets, since
// its colons would otherwise be read as the port separator; a zone `%eth0` may follow it), and,
// where the caller allows it, the host alone. The port is decimal 1-65535, or 0 where the caller
// is a listener that picks a free port for it.
#ifndef COSMO_LIB_COMMON_HOST_PORT_H_
#define COSMO_LIB_COMMON_HOST_PORT_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace cosmo {

struct HostPort {
  // Without brackets: "127.0.0.1", "example.com", "::1".
  std::string host;
  // 0 when the text had no port (HostPortOptions::port_optional) or asked for a free one.
  int port = 0;

  // `host` as it appears in HOST:PORT text and URLs: IPv6 addresses in brackets ("[::1]").
  std::string BracketedHost() const;
  // BracketedHost() ":" port.
  std::string ToString() const;
};

struct HostPortOptions {
  // Accept port 0, which asks a listener to pick a free port.
  bool allow_ephemeral_port = false;
  // Accept HOST (or [V6]) without a port; HostPort::port is then 0.
  bool port_optional = false;
};

// INVALID_ARGUMENT, naming `text` and what is wrong with it ("'x:99999' is not HOST:PORT (port
// must be 1-65535)"), when `text` is not an address as described above. Callers prefix the flag
// or field the text came from.
absl::StatusOr<HostPort> ParseHostPort(absl::string_view text, const HostPortOptions& options = {});

}  // namespace cosmo

#endif  // COSMO_LIB_COMMON_HOST_PORT_H_
