#include "dashboard/request_checks.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/host_port.h"

namespace cosmo::dashboard {
namespace {

bool IsIpLiteral(const std::string& host) {
  in_addr v4;
  in6_addr v6;
  return inet_pton(AF_INET, host.c_str(), &v4) == 1 || inet_pton(AF_INET6, host.c_str(), &v6) == 1;
}

absl::Status Refused(absl::string_view host) {
  return absl::PermissionDeniedError(absl::StrCat(
      "Host '", host,
      "' is not this dashboard's address; open it by the address it listens on (names other "
      "than IP addresses and localhost must be allowed with --admin-host)"));
}

}  // namespace

bool IsLoopbackIp(absl::string_view ip) {
  const std::string text(ip);
  in_addr v4;
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6;
  if (inet_pton(AF_INET6, text.c_str(), &v6) == 1) {
    if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
    // ::ffff:127.x.y.z, an IPv4 peer on a dual-stack socket.
    return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
  }
  return false;
}

absl::Status CheckHost(absl::string_view host, absl::string_view listen_address,
                       const std::vector<std::string>& extra_hosts) {
  const std::string lower = absl::AsciiStrToLower(host);
  absl::StatusOr<HostPort> got = ParseHostPort(lower, {.port_optional = true});
  absl::StatusOr<HostPort> listen = ParseHostPort(listen_address, {.allow_ephemeral_port = true});
  if (!got.ok() || !listen.ok()) return Refused(host);
  for (const std::string& extra : extra_hosts) {
    const std::string allowed = absl::AsciiStrToLower(extra);
    if (lower == allowed || got->host == allowed) return absl::OkStatus();
  }
  // A Host without a port means port 80.
  if ((got->port == 0 ? 80 : got->port) != listen->port) return Refused(host);
  if (got->host == listen->host) return absl::OkStatus();
  const bool wildcard = listen->host == "0.0.0.0" || listen->host == "::";
  if (wildcard && IsIpLiteral(got->host)) return absl::OkStatus();
  if (got->host == "localhost" && IsLoopbackIp(listen->host)) return absl::OkStatus();
  return Refused(host);
}

absl::Status CheckOrigin(absl::string_view origin, absl::string_view host) {
  if (origin.empty()) return absl::OkStatus();
  if (absl::EqualsIgnoreCase(origin, absl::StrCat("http://", host))) return absl::OkStatus();
  return absl::PermissionDeniedError(absl::StrCat(
      "Origin '", origin, "' may not change anything here: only the dashboard's own page (",
      "http://", host, ") may"));
}

absl::Status CheckJsonContentType(absl::string_view content_type) {
  absl::string_view type = content_type.substr(0, content_type.find(';'));
  type = absl::StripAsciiWhitespace(type);
  if (absl::EqualsIgnoreCase(type, "application/json")) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "Content-Type '", content_type, "': calls that change state must send application/json"));
}

}  // namespace cosmo::dashboard
