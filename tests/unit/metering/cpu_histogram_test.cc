#include "cosmo/cpu_histogram.h"

#include <cstdint>

#include "gtest/gtest.h"

namespace cosmo {
namespace {

TEST(CpuHistogramTest, BucketsAreFourPerPowerOfTwo) {
  EXPECT_EQ(CpuHistogram::BucketOf(0), 0);
  EXPECT_EQ(CpuHistogram::BucketOf(1), 1);
  EXPECT_EQ(CpuHistogram::BucketOf(2), 5);
  EXPECT_EQ(CpuHistogram::BucketOf(3), 7);
  // [64, 80) [80, 96) [96, 112) [112, 128): octave 6.
  EXPECT_EQ(CpuHistogram::BucketOf(64), 25);
  EXPECT_EQ(CpuHistogram::BucketOf(79), 25);
  EXPECT_EQ(CpuHistogram::BucketOf(80), 26);
  EXPECT_EQ(CpuHistogram::BucketOf(100), 27);
  EXPECT_EQ(CpuHistogram::BucketOf(127), 28);
  EXPECT_EQ(CpuHistogram::BucketOf(128), 29);
  EXPECT_DOUBLE_EQ(CpuHistogram::BucketLower(27), 96);
  EXPECT_DOUBLE_EQ(CpuHistogram::BucketUpper(27), 112);
  // Every value lies within its bucket's bounds.
  for (uint64_t us : {1ull, 5ull, 7ull, 1000ull, 12345ull, 999999ull, 50000000ull}) {
    const int b = CpuHistogram::BucketOf(us);
    EXPECT_LE(CpuHistogram::BucketLower(b), static_cast<double>(us)) << us;
    EXPECT_LT(static_cast<double>(us), CpuHistogram::BucketUpper(b)) << us;
  }
}

TEST(CpuHistogramTest, TimesBeyondTheLastOctaveCountInTheLastBucket) {
  CpuHistogram h;
  h.Add(uint64_t{1} << CpuHistogram::kOctaves);
  h.Add(UINT64_MAX);
  EXPECT_EQ(h.bucket(CpuHistogram::kBucketCount - 1), 2u);
  EXPECT_DOUBLE_EQ(h.p50(), CpuHistogram::BucketLower(CpuHistogram::kBucketCount - 1));
}

TEST(CpuHistogramTest, PercentilesInterpolateWithinTheBucket) {
  CpuHistogram h;
  EXPECT_EQ(h.p50(), 0);  // empty
  for (int i = 0; i < 100; ++i) h.Add(100);
  // All in [96, 112): the median is halfway through it.
  EXPECT_DOUBLE_EQ(h.p50(), 104);
  EXPECT_DOUBLE_EQ(h.p99(), 96 + 0.99 * 16);

  // 90 fast requests and 10 slow ones: the median is a fast one, the p99 a slow one.
  CpuHistogram mixed;
  for (int i = 0; i < 90; ++i) mixed.Add(20);
  for (int i = 0; i < 10; ++i) mixed.Add(5000);
  EXPECT_GE(mixed.p50(), 20);
  EXPECT_LT(mixed.p50(), 24);
  EXPECT_GE(mixed.p99(), 4096);
  EXPECT_LT(mixed.p99(), 5120);
}

TEST(CpuHistogramTest, PercentilesOfASpreadAreWithinTheBucketWidth) {
  CpuHistogram h;
  for (uint64_t us = 1; us <= 10000; ++us) h.Add(us);
  EXPECT_NEAR(h.p50(), 5000, 5000 * 0.1);
  EXPECT_NEAR(h.p99(), 9900, 9900 * 0.1);
  EXPECT_NEAR(h.Quantile(0.1), 1000, 1000 * 0.1);
  EXPECT_LE(h.Quantile(0), 1.25);
  EXPECT_GE(h.Quantile(1), 8192);
}

TEST(CpuHistogramTest, MergeAddsBucketsAndSubtractTakesThemAway) {
  CpuHistogram a, b;
  for (int i = 0; i < 50; ++i) a.Add(10);
  for (int i = 0; i < 150; ++i) b.Add(1000);
  CpuHistogram sum = a;
  sum.Merge(b);
  EXPECT_EQ(sum.count(), 200u);
  EXPECT_EQ(sum.bucket(CpuHistogram::BucketOf(10)), 50u);
  EXPECT_EQ(sum.bucket(CpuHistogram::BucketOf(1000)), 150u);
  // The median of the merge is the median of all 200 invocations: one of b's.
  EXPECT_GE(sum.p50(), 896);
  EXPECT_LT(sum.p50(), 1024);
  // Merging is what adding each value would have done.
  CpuHistogram direct;
  for (int i = 0; i < 50; ++i) direct.Add(10);
  for (int i = 0; i < 150; ++i) direct.Add(1000);
  EXPECT_EQ(sum, direct);
  sum.Subtract(a);
  EXPECT_EQ(sum, b);
}

}  // namespace
}  // namespace cosmo
