// Which addresses fetch() refuses, and how --fetch-allow entries parse and match.
#include "engine/v8/fetch/destination_policy.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <optional>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cosmo::v8engine {
namespace {

std::optional<std::string> Classify(const std::string& text) {
  sockaddr_storage storage{};
  if (text.find(':') == std::string::npos) {
    auto* in = reinterpret_cast<sockaddr_in*>(&storage);
    in->sin_family = AF_INET;
    EXPECT_EQ(inet_pton(AF_INET, text.c_str(), &in->sin_addr), 1) << text;
  } else {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&storage);
    in6->sin6_family = AF_INET6;
    EXPECT_EQ(inet_pton(AF_INET6, text.c_str(), &in6->sin6_addr), 1) << text;
  }
  return DestinationPolicy::ForbiddenClass(reinterpret_cast<sockaddr*>(&storage));
}

TEST(DestinationPolicyTest, RefusesEveryNonPublicClassInIpv4) {
  EXPECT_EQ(Classify("127.0.0.1"), "loopback");
  EXPECT_EQ(Classify("127.255.1.2"), "loopback");
  EXPECT_EQ(Classify("10.1.2.3"), "private");
  EXPECT_EQ(Classify("172.16.0.1"), "private");
  EXPECT_EQ(Classify("172.31.255.255"), "private");
  EXPECT_EQ(Classify("192.168.1.1"), "private");
  EXPECT_EQ(Classify("100.100.100.200"), "shared (carrier-grade NAT)");
  EXPECT_EQ(Classify("169.254.169.254"), "cloud metadata");
  EXPECT_EQ(Classify("169.254.1.1"), "link-local");
  EXPECT_EQ(Classify("224.0.0.1"), "multicast");
  EXPECT_EQ(Classify("239.255.255.250"), "multicast");
  EXPECT_EQ(Classify("0.0.0.0"), "unspecified");
  EXPECT_EQ(Classify("255.255.255.255"), "broadcast");
  EXPECT_EQ(Classify("240.0.0.1"), "reserved");
  EXPECT_EQ(Classify("192.0.2.1"), "reserved");
}

TEST(DestinationPolicyTest, AllowsPublicUnicast) {
  EXPECT_EQ(Classify("1.1.1.1"), std::nullopt);
  EXPECT_EQ(Classify("172.32.0.1"), std::nullopt);
  EXPECT_EQ(Classify("8.8.8.8"), std::nullopt);
  EXPECT_EQ(Classify("2606:4700:4700::1111"), std::nullopt);
  EXPECT_EQ(Classify("2002:0101:0101::1"), std::nullopt);  // 6to4 of 1.1.1.1
}

TEST(DestinationPolicyTest, RefusesEveryNonPublicClassInIpv6IncludingEmbeddedIpv4) {
  EXPECT_EQ(Classify("::1"), "loopback");
  EXPECT_EQ(Classify("::"), "unspecified");
  EXPECT_EQ(Classify("fe80::1"), "link-local");
  EXPECT_EQ(Classify("fc00::1"), "private");
  EXPECT_EQ(Classify("fd12:3456::1"), "private");
  EXPECT_EQ(Classify("fd00:ec2::254"), "cloud metadata");
  EXPECT_EQ(Classify("ff02::1"), "multicast");
  EXPECT_EQ(Classify("::ffff:127.0.0.1"), "loopback (IPv4 in IPv6)");
  EXPECT_EQ(Classify("::ffff:169.254.169.254"), "cloud metadata (IPv4 in IPv6)");
  EXPECT_EQ(Classify("::ffff:10.0.0.1"), "private (IPv4 in IPv6)");
  EXPECT_EQ(Classify("::127.0.0.1"), "loopback (IPv4 in IPv6)");     // IPv4-compatible
  EXPECT_EQ(Classify("64:ff9b::a00:1"), "private (IPv4 in IPv6)");   // NAT64 of 10.0.0.1
  EXPECT_EQ(Classify("2002:7f00:1::1"), "loopback (IPv4 in 6to4)");  // 6to4 of 127.0.0.1
  EXPECT_EQ(Classify("2001:db8::1"), "reserved");
}

TEST(DestinationPolicyTest, AllowEntriesMatchHostAndOptionalPort) {
  auto policy = DestinationPolicy::Create({"127.0.0.1:8080", "Internal.Example", "[::1]"});
  ASSERT_TRUE(policy.ok()) << policy.status();
  EXPECT_TRUE(policy->Allows("127.0.0.1", 8080));
  EXPECT_FALSE(policy->Allows("127.0.0.1", 8081));
  EXPECT_TRUE(policy->Allows("internal.example", 443));
  EXPECT_TRUE(policy->Allows("INTERNAL.example", 80));
  EXPECT_TRUE(policy->Allows("[::1]", 9000));
  EXPECT_FALSE(policy->Allows("localhost", 8080));
  EXPECT_FALSE(DestinationPolicy().Allows("127.0.0.1", 80));
}

TEST(DestinationPolicyTest, BadAllowEntriesAreRefusedNamingThem) {
  for (const char* bad : {"", "host:", "host:0", "host:70000", "::1", "[::1", "[zz]", "a/b"}) {
    auto policy = DestinationPolicy::Create({bad});
    EXPECT_FALSE(policy.ok()) << bad;
    EXPECT_THAT(policy.status().message(), ::testing::HasSubstr("fetch_allow")) << bad;
  }
}

}  // namespace
}  // namespace cosmo::v8engine
