#include "loadgen/latency_histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace cosmo::loadgen {
namespace {

constexpr uint64_t kMaxValue = (uint64_t{1} << LatencyHistogram::kMaxValueBits) - 1;
// Values below 2 * kSubBuckets get one bucket each; every further power of two gets kSubBuckets.
constexpr size_t kBucketCount =
    2 * LatencyHistogram::kSubBuckets +
    (LatencyHistogram::kMaxValueBits - LatencyHistogram::kSubBucketBits - 1) *
        LatencyHistogram::kSubBuckets;

}  // namespace

LatencyHistogram::LatencyHistogram() : counts_(kBucketCount, 0) {}

size_t LatencyHistogram::IndexOf(uint64_t nanos) {
  if (nanos < 2 * kSubBuckets) return nanos;
  nanos = std::min(nanos, kMaxValue);
  // msb >= kSubBucketBits + 1; keep the top kSubBucketBits + 1 bits as the mantissa, whose
  // leading bit is always set, so the mantissa's low kSubBucketBits pick the sub-bucket.
  const int msb = 63 - std::countl_zero(nanos);
  const int shift = msb - kSubBucketBits;
  const uint64_t sub_bucket = (nanos >> shift) - kSubBuckets;
  return 2 * kSubBuckets + static_cast<size_t>(shift - 1) * kSubBuckets + sub_bucket;
}

uint64_t LatencyHistogram::HighestValueIn(size_t index) {
  if (index < 2 * kSubBuckets) return index;
  const size_t above = index - 2 * kSubBuckets;
  const int shift = static_cast<int>(above / kSubBuckets) + 1;
  const uint64_t mantissa = kSubBuckets + above % kSubBuckets;
  return ((mantissa + 1) << shift) - 1;
}

void LatencyHistogram::Record(uint64_t nanos) {
  ++counts_[IndexOf(nanos)];
  ++count_;
  sum_ += nanos;
  min_ = std::min(min_, nanos);
  max_ = std::max(max_, nanos);
}

void LatencyHistogram::Merge(const LatencyHistogram& other) {
  for (size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  sum_ += other.sum_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
}

double LatencyHistogram::Mean() const {
  return count_ == 0 ? 0.0 : static_cast<double>(sum_) / static_cast<double>(count_);
}

uint64_t LatencyHistogram::ValueAtPercentile(double percentile) const {
  if (count_ == 0) return 0;
  percentile = std::clamp(percentile, 0.0, 100.0);
  // The rank of the value asked for, 1-based: p50 of 10 values is the 5th.
  const uint64_t rank = std::max<uint64_t>(
      1, static_cast<uint64_t>(std::ceil(percentile / 100.0 * static_cast<double>(count_))));
  uint64_t seen = 0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= rank) return std::min(HighestValueIn(i), max_);
  }
  return max_;
}

}  // namespace cosmo::loadgen
