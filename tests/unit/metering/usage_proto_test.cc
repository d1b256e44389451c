#include "metering/usage_proto.h"

#include <string>

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace cosmo {
namespace {

// Every field different, so a field copied into another's place shows.
UsageTotals Distinct() {
  UsageTotals totals;
  totals.invocations = 1000;
  for (int i = 0; i < kOutcomeCount; ++i) totals.outcomes[i] = 100 + i;
  totals.cpu_us = 2;
  totals.wall_us = 3;
  totals.bytes_allocated = 4;
  totals.peak_heap_bytes = 5;
  totals.request_bytes = 6;
  totals.response_bytes = 7;
  return totals;
}

TEST(UsageProtoTest, EveryFieldSurvivesTheRoundTrip) {
  EXPECT_EQ(UsageFromProto(UsageToProto(Distinct())), Distinct());
  auto parsed = ParseUsage(SerializeUsage(Distinct()), "usage/f/v");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(*parsed, Distinct());
}

TEST(UsageProtoTest, OutcomesAreListedInOutcomeOrder) {
  internal::UsageTotals proto = UsageToProto(Distinct());
  ASSERT_EQ(proto.outcomes_size(), kOutcomeCount);
  EXPECT_EQ(proto.outcomes(static_cast<int>(Outcome::kOk)), 100u);
  EXPECT_EQ(proto.outcomes(static_cast<int>(kLastOutcome)), 100u + kOutcomeCount - 1);
}

TEST(UsageProtoTest, OutcomeCountsBeyondTheKnownOnesAreDroppedAndMissingOnesAreZero) {
  internal::UsageTotals longer = UsageToProto(Distinct());
  longer.add_outcomes(99);  // an outcome a later build added
  EXPECT_EQ(UsageFromProto(longer), Distinct());

  internal::UsageTotals shorter;
  shorter.set_invocations(2);
  shorter.add_outcomes(2);
  UsageTotals expected;
  expected.invocations = 2;
  expected.outcomes[static_cast<int>(Outcome::kOk)] = 2;
  EXPECT_EQ(UsageFromProto(shorter), expected);
}

TEST(UsageProtoTest, UnreadableBytesAreDataLossNamingTheKey) {
  auto parsed = ParseUsage(std::string("\xff\xff", 2), "usage/shop/v1");
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(parsed.status().message().find("usage/shop/v1"), absl::string_view::npos);
}

}  // namespace
}  // namespace cosmo
