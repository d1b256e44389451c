// Which outbound fetch() destinations a script may reach.
//
// By default a script may connect only to public unicast addresses: every address a destination
// resolves to is classified, and loopback, private, shared (CGNAT), link-local (which holds the
// cloud metadata services at 169.254.169.254 and fd00:ec2::254), multicast, unspecified,
// broadcast and reserved addresses are refused, in IPv4 and IPv6 alike, including IPv4 addresses
// embedded in IPv6 (mapped ::ffff:a.b.c.d, compatible ::a.b.c.d, NAT64 64:ff9b::/96, 6to4
// 2002::/16). The check is made on the address actually connected to (after DNS), so names that
// resolve to such addresses, and redirects to them, are refused too.
//
// The operator's allow list (`--fetch-allow=HOST[:PORT]`) exempts destinations by the host as
// written in the URL (a name, an IPv4 address or a bracketed IPv6 address, case-insensitive),
// on any port or only on PORT.
//
// Immutable after construction; thread-safe.
#ifndef COSMO_ENGINE_V8_FETCH_DESTINATION_POLICY_H_
#define COSMO_ENGINE_V8_FETCH_DESTINATION_POLICY_H_

#include <sys/socket.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace cosmo::v8engine {

class DestinationPolicy {
 public:
  // Parses allow-list entries "HOST" or "HOST:PORT" ("[::1]:8080" for IPv6). INVALID_ARGUMENT
  // names the entry that does not parse.
  static absl::StatusOr<DestinationPolicy> Create(const std::vector<std::string>& allow);

  DestinationPolicy() = default;

  // Whether the operator allowed `host` (as in the URL, brackets included for IPv6) on `port`.
  bool Allows(absl::string_view host, int port) const;

  // Why a script may not connect to `address`: "loopback", "private", "link-local", ... or
  // nullopt for a public unicast address. Unknown families are refused as "unsupported".
  static std::optional<std::string> ForbiddenClass(const sockaddr* address);

  // The address as text ("10.0.0.1", "::1"), for messages.
  static std::string AddressText(const sockaddr* address);

 private:
  struct Entry {
    std::string host;  // lower case; IPv6 with brackets
    int port = 0;      // 0 = any
  };
  std::vector<Entry> entries_;
};

}  // namespace cosmo::v8engine

#endif  // COSMO_ENGINE_V8_FETCH_DESTINATION_POLICY_H_
