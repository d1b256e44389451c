#include "cosmo/cpu_histogram.h"

#include <bit>
#include <cmath>

namespace cosmo {

int CpuHistogram::BucketOf(uint64_t cpu_us) {
  if (cpu_us == 0) return 0;
  const int octave = std::bit_width(cpu_us) - 1;
  if (octave >= kOctaves) return kBucketCount - 1;
  // The two bits after the leading one pick the quarter of the octave.
  const uint64_t quarter =
      octave >= 2 ? (cpu_us >> (octave - 2)) & 3 : (cpu_us << (2 - octave)) & 3;
  return 1 + kSubBuckets * octave + static_cast<int>(quarter);
}

double CpuHistogram::BucketLower(int index) {
  if (index <= 0) return 0;
  const int octave = (index - 1) / kSubBuckets;
  const int quarter = (index - 1) % kSubBuckets;
  return std::ldexp(1.0 + static_cast<double>(quarter) / kSubBuckets, octave);
}

double CpuHistogram::BucketUpper(int index) {
  if (index <= 0) return 1;
  const int octave = (index - 1) / kSubBuckets;
  return BucketLower(index) + std::ldexp(1.0 / kSubBuckets, octave);
}

void CpuHistogram::Merge(const CpuHistogram& other) {
  for (int i = 0; i < kBucketCount; ++i) buckets_[i] += other.buckets_[i];
}

void CpuHistogram::Subtract(const CpuHistogram& earlier) {
  for (int i = 0; i < kBucketCount; ++i) buckets_[i] -= earlier.buckets_[i];
}

uint64_t CpuHistogram::count() const {
  uint64_t total = 0;
  for (uint64_t n : buckets_) total += n;
  return total;
}

double CpuHistogram::Quantile(double quantile) const {
  const uint64_t total = count();
  if (total == 0) return 0;
  quantile = std::fmin(std::fmax(quantile, 0.0), 1.0);
  // The rank sought, as a position within the counts: the bucket that reaches it holds the value,
  // and how far into that bucket's count it lies says how far into its width.
  const double rank = quantile * static_cast<double>(total);
  double below = 0;
  for (int i = 0; i < kBucketCount; ++i) {
    const uint64_t n = buckets_[i];
    if (n == 0) continue;
    if (below + static_cast<double>(n) >= rank) {
      if (i == kBucketCount - 1) return BucketLower(i);
      const double fraction = (rank - below) / static_cast<double>(n);
      return BucketLower(i) + fraction * (BucketUpper(i) - BucketLower(i));
    }
    below += static_cast<double>(n);
  }
  return BucketLower(kBucketCount - 1);  // not reached: the last non-empty bucket reaches `total`
}

}  // namespace cosmo
