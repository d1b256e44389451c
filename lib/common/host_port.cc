#include "common/host_port.h"

#include <arpa/inet.h>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace cosmo {
namespace {

// Bytes that cannot be part of a host name or IPv4 address: they would end it in a URL or make
// the text something else (a path, a user, a list).
bool IsHostByte(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u > 0x20 && u != 0x7f &&
         absl::string_view("/?#@[]\\%,").find(c) == absl::string_view::npos;
}

bool IsIpv6Literal(absl::string_view inside_brackets) {
  // A zone ("fe80::1%eth0") names an interface; inet_pton knows only the address before it.
  const std::string address(inside_brackets.substr(0, inside_brackets.find('%')));
  in6_addr probe;
  return inet_pton(AF_INET6, address.c_str(), &probe) == 1;
}

}  // namespace

std::string HostPort::BracketedHost() const {
  return absl::StrContains(host, ':') ? absl::StrCat("[", host, "]") : host;
}

std::string HostPort::ToString() const { return absl::StrCat(BracketedHost(), ":", port); }

absl::StatusOr<HostPort> ParseHostPort(absl::string_view text, const HostPortOptions& options) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", text, "' is not ", options.port_optional ? "HOST[:PORT]" : "HOST:PORT",
                     " (", why, ")"));
  };
  if (text.empty()) return bad("empty");
  if (absl::StrContains(text, ',')) return bad("one address, not a list");
  HostPort out;
  absl::string_view rest;  // ":PORT" or empty
  if (text[0] == '[') {
    const size_t close = text.find(']');
    if (close == absl::string_view::npos) return bad("unclosed '['");
    const absl::string_view inside = text.substr(1, close - 1);
    if (!IsIpv6Literal(inside)) return bad("bad IPv6 address");
    out.host = std::string(inside);
    rest = text.substr(close + 1);
    if (!rest.empty() && rest[0] != ':') return bad("junk after ']'");
  } else {
    const size_t colon = text.find(':');
    if (colon != absl::string_view::npos && text.find(':', colon + 1) != absl::string_view::npos) {
      return bad("write IPv6 addresses in brackets, e.g. [::1]:8080");
    }
    const absl::string_view host = text.substr(0, colon);
    if (host.empty()) return bad("empty host");
    for (char c : host) {
      if (!IsHostByte(c)) return bad("not a host name or address");
    }
    out.host = std::string(host);
    if (colon != absl::string_view::npos) rest = text.substr(colon);
  }
  if (rest.empty()) {
    if (!options.port_optional) return bad("no port");
    return out;
  }
  const absl::string_view port = rest.substr(1);
  if (port.empty()) return bad("empty port");
  const int min_port = options.allow_ephemeral_port ? 0 : 1;
  const auto range = [&] { return bad(absl::StrCat("port must be ", min_port, "-65535")); };
  if (port.size() > 5) return range();
  for (char c : port) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return range();
    out.port = out.port * 10 + (c - '0');
  }
  if (out.port < min_port || out.port > 65535) return range();
  return out;
}

}  // namespace cosmo
