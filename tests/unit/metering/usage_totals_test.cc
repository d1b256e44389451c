#include <cstdint>

#include "cosmo/usage.h"
#include "gtest/gtest.h"

namespace cosmo {
namespace {

InvocationUsage Call(int64_t cpu_us, uint64_t peak_heap_bytes) {
  InvocationUsage usage;
  usage.cpu_us = cpu_us;
  usage.wall_us = 2 * cpu_us;
  usage.bytes_allocated = 100;
  usage.peak_heap_bytes = peak_heap_bytes;
  usage.request_bytes = 10;
  usage.response_bytes = 20;
  return usage;
}

TEST(UsageTotalsTest, MergeSumsEveryCountAndKeepsTheHigherPeak) {
  UsageTotals a;
  a.Add(Outcome::kOk, Call(5, 1000));
  UsageTotals b;
  b.Add(Outcome::kException, Call(7, 400));
  b.Add(Outcome::kOk, Call(1, 300));
  a.Merge(b);
  EXPECT_EQ(a.invocations, 3u);
  EXPECT_EQ(a.outcomes[static_cast<int>(Outcome::kOk)], 2u);
  EXPECT_EQ(a.outcomes[static_cast<int>(Outcome::kException)], 1u);
  EXPECT_EQ(a.errors(), 1u);
  EXPECT_EQ(a.cpu_us, 13u);
  EXPECT_EQ(a.wall_us, 26u);
  EXPECT_EQ(a.bytes_allocated, 300u);
  EXPECT_EQ(a.peak_heap_bytes, 1000u);
  EXPECT_EQ(a.request_bytes, 30u);
  EXPECT_EQ(a.response_bytes, 60u);
  EXPECT_EQ(a.cpu_histogram.count(), 3u);
  EXPECT_EQ(a.cpu_histogram.bucket(CpuHistogram::BucketOf(5)), 1u);
  EXPECT_EQ(a.cpu_histogram.bucket(CpuHistogram::BucketOf(7)), 1u);
  EXPECT_EQ(a.cpu_histogram.bucket(CpuHistogram::BucketOf(1)), 1u);
}

TEST(UsageTotalsTest, ANegativeCpuTimeCountsAsZero) {
  UsageTotals t;
  t.Add(Outcome::kOk, Call(-3, 0));
  EXPECT_EQ(t.cpu_us, 0u);
  EXPECT_EQ(t.cpu_histogram.bucket(0), 1u);
}

TEST(UsageTotalsTest, SubtractLeavesWhatWasAddedSinceAndKeepsThePeak) {
  UsageTotals earlier;
  earlier.Add(Outcome::kOk, Call(5, 1000));
  UsageTotals now = earlier;
  now.Add(Outcome::kExceededCpu, Call(7, 400));

  UsageTotals since = now;
  since.Subtract(earlier);
  UsageTotals expected;
  expected.Add(Outcome::kExceededCpu, Call(7, 400));
  expected.peak_heap_bytes = 1000;  // the peak so far: a maximum cannot be taken apart
  EXPECT_EQ(since, expected);

  // Merging what was added since into the earlier reading gives the later one again.
  earlier.Merge(since);
  EXPECT_EQ(earlier, now);
}

}  // namespace
}  // namespace cosmo
