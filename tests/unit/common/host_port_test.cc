#include "common/host_port.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cosmo {
namespace {

using ::testing::HasSubstr;

TEST(HostPortTest, ParsesNamesIpv4AndBracketedIpv6) {
  struct Case {
    const char* text;
    const char* host;
    int port;
  } cases[] = {
      {"127.0.0.1:8080", "127.0.0.1", 8080},
      {"localhost:1", "localhost", 1},
      {"etcd-0.cluster.local:2379", "etcd-0.cluster.local", 2379},
      {"[::1]:50051", "::1", 50051},
      {"[fe80::1%eth0]:80", "fe80::1%eth0", 80},
      {"h:65535", "h", 65535},
  };
  for (const Case& c : cases) {
    absl::StatusOr<HostPort> parsed = ParseHostPort(c.text);
    ASSERT_TRUE(parsed.ok()) << c.text << ": " << parsed.status();
    EXPECT_EQ(parsed->host, c.host) << c.text;
    EXPECT_EQ(parsed->port, c.port) << c.text;
    EXPECT_EQ(parsed->ToString(), c.text);
  }
}

TEST(HostPortTest, BracketsOnlyIpv6HostsWhenPrinting) {
  EXPECT_EQ((HostPort{"::1", 0}).BracketedHost(), "[::1]");
  EXPECT_EQ((HostPort{"example.com", 0}).BracketedHost(), "example.com");
  EXPECT_EQ((HostPort{"10.0.0.1", 443}).ToString(), "10.0.0.1:443");
}

TEST(HostPortTest, RefusesMalformedTextNamingItAndTheReason) {
  struct Case {
    const char* text;
    const char* why;
  } cases[] = {
      {"", "empty"},
      {"127.0.0.1", "no port"},
      {"[::1]", "no port"},
      {":8080", "empty host"},
      {"host:", "empty port"},
      {"host:0", "port must be 1-65535"},
      {"host:65536", "port must be 1-65535"},
      {"host:99999999999", "port must be 1-65535"},
      {"host:+80", "port must be 1-65535"},
      {"host: 80", "port must be 1-65535"},
      {"host:8o", "port must be 1-65535"},
      {"::1:80", "write IPv6 addresses in brackets"},
      {"[::1:80", "unclosed '['"},
      {"[zz]:80", "bad IPv6 address"},
      {"[]:80", "bad IPv6 address"},
      {"[::1]80", "junk after ']'"},
      {"a/b:80", "not a host name or address"},
      {"user@host:80", "not a host name or address"},
      {"a b:80", "not a host name or address"},
      {"h1:1,h2:2", "one address, not a list"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<HostPort> parsed = ParseHostPort(c.text);
    ASSERT_FALSE(parsed.ok()) << c.text;
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << c.text;
    const std::string message(parsed.status().message());
    EXPECT_THAT(message, HasSubstr(absl::StrCat("'", c.text, "' is not HOST:PORT")));
    EXPECT_THAT(message, HasSubstr(c.why)) << c.text;
  }
}

TEST(HostPortTest, PortZeroOnlyWhereAListenerMayPickOne) {
  EXPECT_FALSE(ParseHostPort("127.0.0.1:0").ok());
  absl::StatusOr<HostPort> parsed = ParseHostPort("127.0.0.1:0", {.allow_ephemeral_port = true});
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->port, 0);
  parsed = ParseHostPort("[::]:0", {.allow_ephemeral_port = true});
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->host, "::");
  EXPECT_THAT(ParseHostPort("h:70000", {.allow_ephemeral_port = true}).status().message(),
              HasSubstr("port must be 0-65535"));
}

TEST(HostPortTest, PortMayBeLeftOutWhereTheCallerAllows) {
  const HostPortOptions optional{.port_optional = true};
  absl::StatusOr<HostPort> parsed = ParseHostPort("Internal.Example", optional);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->host, "Internal.Example");
  EXPECT_EQ(parsed->port, 0);
  parsed = ParseHostPort("[::1]", optional);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->host, "::1");
  parsed = ParseHostPort("h:8080", optional);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->port, 8080);
  // Optional is not the same as empty, and 0 still needs allow_ephemeral_port.
  EXPECT_THAT(ParseHostPort("h:", optional).status().message(),
              HasSubstr("'h:' is not HOST[:PORT] (empty port)"));
  EXPECT_FALSE(ParseHostPort("h:0", optional).ok());
}

}  // namespace
}  // namespace cosmo
