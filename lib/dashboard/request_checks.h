// The dashboard's defences against browsers acting for hostile pages (docs/dashboard.md,
// "Security"), as pure functions so each rule is tested alone.
//
// - Host: a page on another origin can make the browser send requests to the dashboard under a
//   DNS name it controls that resolves to the dashboard's address (DNS rebinding); such requests
//   carry that name in Host. Only the listener's own address is accepted: its HOST:PORT, an IP
//   literal with its port when it listens on every address, `localhost:PORT` when it listens on
//   loopback, and names the operator lists.
// - Origin: a state-changing call must come from the dashboard's own page (Origin equal to
//   http://HOST), or from a client that is no browser (no Origin).
// - Content-Type: state-changing calls must be application/json, which a cross-origin form or
//   "simple" fetch cannot send without a CORS preflight, which the dashboard never grants.
//
// Stateless; thread-safe.
#ifndef COSMO_LIB_DASHBOARD_REQUEST_CHECKS_H_
#define COSMO_LIB_DASHBOARD_REQUEST_CHECKS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace cosmo::dashboard {

// PERMISSION_DENIED naming the Host unless `host` (the Host header) names the listener at
// `listen_address` (HOST:PORT as bound) or is one of `extra_hosts` (HOST or HOST:PORT).
absl::Status CheckHost(absl::string_view host, absl::string_view listen_address,
                       const std::vector<std::string>& extra_hosts);

// PERMISSION_DENIED unless `origin` is empty or `http://` + `host` (case-insensitive).
absl::Status CheckOrigin(absl::string_view origin, absl::string_view host);

// INVALID_ARGUMENT unless `content_type` is application/json (parameters allowed).
absl::Status CheckJsonContentType(absl::string_view content_type);

// Whether `ip` (a peer address, no port) is a loopback address.
bool IsLoopbackIp(absl::string_view ip);

}  // namespace cosmo::dashboard

#endif  // COSMO_LIB_DASHBOARD_REQUEST_CHECKS_H_
