// How the CPU time of a version's invocations is distributed, for percentiles: counts per bucket
// of thread CPU microseconds (UsageTotals::cpu_histogram). Mergeable by adding bucket counts, so
// totals, per-minute history and gateway reports carry it like any other counter, and the p50 of
// a sum is the p50 over every invocation in it.
//
// Buckets are log-linear, four per power of two: bucket 0 holds 0 µs; bucket 1 + 4k + s
// (k = 0..kOctaves-1, s = 0..3) holds [2^k (1 + s/4), 2^k (1 + (s+1)/4)) µs; the last bucket
// also holds everything from 2^kOctaves µs up. A percentile read from it is at most a quarter of
// a power of two (19% of the value) off, and the layout is fixed: stored records count by bucket
// index (proto/cosmo/internal/usage_totals.proto).
//
// Plain value type; thread-compatible.
#ifndef COSMO_CPU_HISTOGRAM_H_
#define COSMO_CPU_HISTOGRAM_H_

#include <array>
#include <cstdint>

namespace cosmo {

class CpuHistogram {
 public:
  static constexpr int kSubBuckets = 4;
  // 1 µs to 2^26 µs (67 s), beyond any CPU limit a server allows.
  static constexpr int kOctaves = 26;
  static constexpr int kBucketCount = 1 + kSubBuckets * kOctaves;

  // The bucket holding `cpu_us`.
  static int BucketOf(uint64_t cpu_us);
  // The bounds of bucket `index`: [BucketLower, BucketUpper) µs. The last bucket's upper bound is
  // where its width would end; it holds longer times too.
  static double BucketLower(int index);
  static double BucketUpper(int index);

  void Add(uint64_t cpu_us) { ++buckets_[BucketOf(cpu_us)]; }
  // Bucket-wise sum.
  void Merge(const CpuHistogram& other);
  // Bucket-wise difference from an earlier reading of the same histogram, which must not exceed
  // this one in any bucket.
  void Subtract(const CpuHistogram& earlier);

  // Invocations counted (records from before the histogram existed add to UsageTotals'
  // invocations but not here).
  uint64_t count() const;
  bool empty() const { return count() == 0; }

  // The `quantile` (0..1) of the counted CPU times in µs, interpolated linearly within its bucket
  // (a value in the last bucket reads as that bucket's lower bound); 0 when empty.
  double Quantile(double quantile) const;
  double p50() const { return Quantile(0.5); }
  double p99() const { return Quantile(0.99); }

  uint64_t bucket(int index) const { return buckets_[index]; }
  // Adds `count` to bucket `index` (decoding a stored record).
  void AddToBucket(int index, uint64_t count) { buckets_[index] += count; }

  friend bool operator==(const CpuHistogram&, const CpuHistogram&) = default;

 private:
  std::array<uint64_t, kBucketCount> buckets_{};
};

}  // namespace cosmo

#endif  // COSMO_CPU_HISTOGRAM_H_
