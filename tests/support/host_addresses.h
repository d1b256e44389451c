// This machine's addresses, for tests of what the servers answer to clients that are not on
// loopback.
#ifndef COSMO_TESTS_SUPPORT_HOST_ADDRESSES_H_
#define COSMO_TESTS_SUPPORT_HOST_ADDRESSES_H_

#include <string>

namespace cosmo::testing {

// A non-loopback IPv4 address of one of this machine's interfaces, "" if it has none (tests
// then skip).
std::string NonLoopbackIPv4Address();

}  // namespace cosmo::testing

#endif  // COSMO_TESTS_SUPPORT_HOST_ADDRESSES_H_
