#include "engine/v8/fetch/destination_policy.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstdint>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/host_port.h"

namespace cosmo::v8engine {
namespace {

bool InV4(uint32_t address, uint32_t network, int prefix) {
  uint32_t mask = prefix == 0 ? 0 : ~uint32_t{0} << (32 - prefix);
  return (address & mask) == (network & mask);
}

constexpr uint32_t V4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  return (uint32_t{a} << 24) | (uint32_t{b} << 16) | (uint32_t{c} << 8) | d;
}

// `address` in host byte order.
std::optional<std::string> ClassifyV4(uint32_t address) {
  if (address == V4(169, 254, 169, 254)) return "cloud metadata";
  if (InV4(address, V4(0, 0, 0, 0), 8)) return "unspecified";
  if (InV4(address, V4(127, 0, 0, 0), 8)) return "loopback";
  if (InV4(address, V4(10, 0, 0, 0), 8) || InV4(address, V4(172, 16, 0, 0), 12) ||
      InV4(address, V4(192, 168, 0, 0), 16)) {
    return "private";
  }
  // 100.100.100.200 (Alibaba's metadata service) lives here.
  if (InV4(address, V4(100, 64, 0, 0), 10)) return "shared (carrier-grade NAT)";
  if (InV4(address, V4(169, 254, 0, 0), 16)) return "link-local";
  if (InV4(address, V4(224, 0, 0, 0), 4)) return "multicast";
  if (address == V4(255, 255, 255, 255)) return "broadcast";
  if (InV4(address, V4(240, 0, 0, 0), 4) || InV4(address, V4(192, 0, 0, 0), 24) ||
      InV4(address, V4(192, 0, 2, 0), 24) || InV4(address, V4(198, 51, 100, 0), 24) ||
      InV4(address, V4(203, 0, 113, 0), 24) || InV4(address, V4(198, 18, 0, 0), 15)) {
    return "reserved";
  }
  return std::nullopt;
}

uint32_t V4At(const uint8_t* bytes) {
  return (uint32_t{bytes[0]} << 24) | (uint32_t{bytes[1]} << 16) | (uint32_t{bytes[2]} << 8) |
         bytes[3];
}

std::optional<std::string> ClassifyV6(const uint8_t* b) {
  static constexpr uint8_t kZero[16] = {};
  static constexpr uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  static constexpr uint8_t kNat64Prefix[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
  static constexpr uint8_t kAwsMetadata[16] = {0xfd, 0, 0x0e, 0xc2, 0, 0, 0,    0,
                                               0,    0, 0,    0,    0, 0, 0x02, 0x54};
  if (std::memcmp(b, kZero, 16) == 0) return "unspecified";
  if (std::memcmp(b, kZero, 15) == 0 && b[15] == 1) return "loopback";
  // IPv4 carried in IPv6: judged by the IPv4 address.
  if (std::memcmp(b, kMappedPrefix, 12) == 0 || std::memcmp(b, kZero, 12) == 0 ||
      std::memcmp(b, kNat64Prefix, 12) == 0) {
    std::optional<std::string> v4 = ClassifyV4(V4At(b + 12));
    if (v4.has_value()) return absl::StrCat(*v4, " (IPv4 in IPv6)");
    return std::nullopt;
  }
  if (b[0] == 0x20 && b[1] == 0x02) {  // 6to4: 2002:AABB:CCDD::/48 embeds AA.BB.CC.DD
    std::optional<std::string> v4 = ClassifyV4(V4At(b + 2));
    if (v4.has_value()) return absl::StrCat(*v4, " (IPv4 in 6to4)");
    return std::nullopt;
  }
  if (std::memcmp(b, kAwsMetadata, 16) == 0) return "cloud metadata";
  if ((b[0] & 0xfe) == 0xfc) return "private";                     // fc00::/7 unique local
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return "link-local";  // fe80::/10
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) return "private";     // fec0::/10 site-local
  if (b[0] == 0xff) return "multicast";
  if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b && b[4] == 0 && b[5] == 1) {
    return "private";  // 64:ff9b:1::/48, local-use NAT64
  }
  if ((b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8) ||       // documentation
      (b[0] == 0x01 && b[1] == 0x00 && std::memcmp(b + 2, kZero, 6) == 0) ||  // discard
      (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0 && b[3] == 0)) {  // Teredo (hides an IPv4)
    return "reserved";
  }
  return std::nullopt;
}

}  // namespace

absl::StatusOr<DestinationPolicy> DestinationPolicy::Create(const std::vector<std::string>& allow) {
  DestinationPolicy policy;
  for (const std::string& raw : allow) {
    absl::StatusOr<HostPort> parsed =
        ParseHostPort(absl::StripAsciiWhitespace(raw), {.port_optional = true});
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("fetch_allow: ", parsed.status().message()));
    }
    Entry entry;
    // As libcurl spells the host of a URL, which Allows() is given: lower case, IPv6 bracketed.
    entry.host = absl::AsciiStrToLower(parsed->BracketedHost());
    entry.port = parsed->port;
    policy.entries_.push_back(std::move(entry));
  }
  return policy;
}

bool DestinationPolicy::Allows(absl::string_view host, int port) const {
  if (entries_.empty()) return false;
  std::string lower = absl::AsciiStrToLower(host);
  for (const Entry& entry : entries_) {
    if (entry.host == lower && (entry.port == 0 || entry.port == port)) return true;
  }
  return false;
}

std::optional<std::string> DestinationPolicy::ForbiddenClass(const sockaddr* address) {
  if (address->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(address);
    return ClassifyV4(ntohl(in->sin_addr.s_addr));
  }
  if (address->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(address);
    return ClassifyV6(in6->sin6_addr.s6_addr);
  }
  return "unsupported address family";
}

std::string DestinationPolicy::AddressText(const sockaddr* address) {
  char buffer[INET6_ADDRSTRLEN] = "?";
  if (address->sa_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(address)->sin_addr, buffer,
              sizeof(buffer));
  } else if (address->sa_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(address)->sin6_addr, buffer,
              sizeof(buffer));
  }
  return buffer;
}

}  // namespace cosmo::v8engine
