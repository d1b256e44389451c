#ifndef COSMO_BENCHMARKS_LOADGEN_LATENCY_HISTOGRAM_H_
#define COSMO_BENCHMARKS_LOADGEN_LATENCY_HISTOGRAM_H_

#include <cstddef>
#include <cstdint>
#include <vector>

namespace cosmo::loadgen {

// A log-linear histogram of latencies in nanoseconds, in the manner of HdrHistogram: values
// below 2 * kSubBuckets are exact; above, each power-of-two range is split into kSubBuckets
// equal buckets, so a reported percentile is within 1 / kSubBuckets (0.8%) of the true value.
// Recording is one count-leading-zeros and one increment, cheap enough for the hot loop.
// Count, sum, min and max are exact. Values from 0 to 2^40 ns (about 18 minutes) are kept;
// larger ones are clamped to the top bucket.
//
// Thread-compatible: each load worker owns one; they are merged after the run.
class LatencyHistogram {
 public:
  static constexpr int kSubBucketBits = 7;
  static constexpr uint64_t kSubBuckets = uint64_t{1} << kSubBucketBits;
  static constexpr int kMaxValueBits = 40;

  LatencyHistogram();

  void Record(uint64_t nanos);
  // Adds every count of `other` into this histogram.
  void Merge(const LatencyHistogram& other);

  uint64_t count() const { return count_; }
  uint64_t min() const { return count_ == 0 ? 0 : min_; }
  uint64_t max() const { return max_; }
  double Mean() const;
  // The value at or below which `percentile` percent (0..100) of recorded values fall: the
  // highest value its bucket can hold, capped at the recorded maximum. 0 when empty.
  uint64_t ValueAtPercentile(double percentile) const;

 private:
  static size_t IndexOf(uint64_t nanos);
  static uint64_t HighestValueIn(size_t index);

  std::vector<uint64_t> counts_;
  uint64_t count_ = 0;
  // The exact sum: 2^64 ns is 584 years of latency, so it cannot overflow in a bounded run.
  uint64_t sum_ = 0;
  uint64_t min_ = UINT64_MAX;
  uint64_t max_ = 0;
};

}  // namespace cosmo::loadgen

#endif  // COSMO_BENCHMARKS_LOADGEN_LATENCY_HISTOGRAM_H_
