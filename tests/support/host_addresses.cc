#include "support/host_addresses.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>

namespace cosmo::testing {

std::string NonLoopbackIPv4Address() {
  std::string ip;
  ifaddrs* addrs = nullptr;
  if (getifaddrs(&addrs) != 0) return ip;
  for (ifaddrs* a = addrs; a != nullptr && ip.empty(); a = a->ifa_next) {
    if (a->ifa_addr == nullptr || a->ifa_addr->sa_family != AF_INET) continue;
    char text[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(a->ifa_addr)->sin_addr, text, sizeof(text));
    if (std::string(text).rfind("127.", 0) != 0) ip = text;
  }
  freeifaddrs(addrs);
  return ip;
}

}  // namespace cosmo::testing
