#ifndef COSMO_BENCHMARKS_LOADGEN_REQUEST_MIX_H_
#define COSMO_BENCHMARKS_LOADGEN_REQUEST_MIX_H_

#include <cstdint>
#include <string>
#include <vector>

#include "loadgen/load_options.h"

namespace cosmo::loadgen {

// The requests of a run, rendered to wire bytes once up front, and a weighted draw among them
// (the weights of --target, or a Zipf law over --zipf-families). Immutable once built, so
// thread-safe; each worker draws with its own random state.
class RequestMix {
 public:
  struct Request {
    std::string wire;  // the whole request: line, headers, body
    bool head = false;
  };

  // A fast pseudo-random generator (xorshift64*), one per worker.
  class Random {
   public:
    explicit Random(uint64_t seed) : state_(seed | 1) {}
    uint64_t Next() {
      state_ ^= state_ >> 12;
      state_ ^= state_ << 25;
      state_ ^= state_ >> 27;
      return state_ * 0x2545F4914F6CDD1DULL;
    }
    // Uniform in [0, 1).
    double NextDouble() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

   private:
    uint64_t state_;
  };

  explicit RequestMix(const LoadOptions& options);

  const Request& Pick(Random& random) const;
  size_t size() const { return requests_.size(); }
  const Request& at(size_t i) const { return requests_[i]; }

 private:
  std::vector<Request> requests_;
  // Cumulative probabilities, the last one 1.0; empty when there is one request.
  std::vector<double> cumulative_;
};

}  // namespace cosmo::loadgen

#endif  // COSMO_BENCHMARKS_LOADGEN_REQUEST_MIX_H_
