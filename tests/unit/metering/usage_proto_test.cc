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
  totals.cpu_histogram.Add(3);
  totals.cpu_histogram.Add(40);
  totals.cpu_histogram.Add(40);
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

TEST(UsageProtoTest, TheCpuHistogramKeepsOnlyItsRunOfBuckets) {
  internal::UsageTotals proto = UsageToProto(Distinct());
  EXPECT_EQ(proto.cpu_histogram_first(), static_cast<uint32_t>(CpuHistogram::BucketOf(3)));
  ASSERT_EQ(proto.cpu_histogram_size(), CpuHistogram::BucketOf(40) - CpuHistogram::BucketOf(3) + 1);
  EXPECT_EQ(proto.cpu_histogram(0), 1u);
  EXPECT_EQ(proto.cpu_histogram(proto.cpu_histogram_size() - 1), 2u);
  EXPECT_EQ(UsageToProto(UsageTotals()).cpu_histogram_size(), 0);
}

// Records stored by builds from before the histogram: every other field reads as before, and the
// histogram is empty, so percentiles cover only the invocations measured with it.
TEST(UsageProtoTest, ARecordWithoutTheHistogramReadsWithAnEmptyOne) {
  internal::UsageTotals old;
  old.set_invocations(7);
  old.add_outcomes(7);
  old.set_cpu_us(700);
  auto parsed = ParseUsage(old.SerializeAsString(), "usage/f/v");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->invocations, 7u);
  EXPECT_EQ(parsed->cpu_us, 700u);
  EXPECT_TRUE(parsed->cpu_histogram.empty());
  EXPECT_EQ(parsed->cpu_histogram.p50(), 0);

  // Merged with newer usage, the percentiles are those of the newer invocations.
  UsageTotals newer;
  newer.Add(Outcome::kOk, InvocationUsage{.cpu_us = 100});
  parsed->Merge(newer);
  EXPECT_EQ(parsed->invocations, 8u);
  EXPECT_EQ(parsed->cpu_histogram.count(), 1u);
  EXPECT_GE(parsed->cpu_histogram.p50(), 96);
  EXPECT_LT(parsed->cpu_histogram.p50(), 112);
}

TEST(UsageProtoTest, BucketsBeyondThisBuildsCountInItsLast) {
  internal::UsageTotals later;
  later.set_invocations(3);
  later.set_cpu_histogram_first(CpuHistogram::kBucketCount - 1);
  later.add_cpu_histogram(1);
  later.add_cpu_histogram(1);
  later.add_cpu_histogram(1);
  EXPECT_EQ(UsageFromProto(later).cpu_histogram.bucket(CpuHistogram::kBucketCount - 1), 3u);
  later.set_cpu_histogram_first(UINT32_MAX);  // hostile: still in range
  EXPECT_EQ(UsageFromProto(later).cpu_histogram.bucket(CpuHistogram::kBucketCount - 1), 3u);
}

TEST(UsageProtoTest, UnreadableBytesAreDataLossNamingTheKey) {
  auto parsed = ParseUsage(std::string("\xff\xff", 2), "usage/shop/v1");
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(parsed.status().message().find("usage/shop/v1"), absl::string_view::npos);
}

}  // namespace
}  // namespace cosmo
