// Counters of the HTTP data plane and their Prometheus text rendering (/_cosmo/metrics).
//
// Requests are counted by family and Outcome; requests that never reached a family (guard
// rejections, unknown paths, load shedding before routing) count under family "". Requests a
// version served are also counted by family, version (its first 12 hex digits) and Outcome, so
// the two sides of a traffic split can be compared. Latency is one histogram over all requests.
// Runtime gauges and counters come from RuntimeStats at scrape time.
//
// Thread-safe. The request path takes a shared (reader) lock to find a family's counters; the
// first request of a new family takes it exclusively once.
#ifndef COSMO_LIB_HTTP_HTTP_METRICS_H_
#define COSMO_LIB_HTTP_HTTP_METRICS_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "cosmo/outcome.h"
#include "cosmo/runtime.h"

namespace cosmo::http {

// The front end's connections: gauges by what each is doing, and counters. Updated by whichever
// thread owns a connection; read at scrape time.
struct ConnectionGauges {
  std::atomic<int64_t> open{0};
  std::atomic<int64_t> idle{0};     // kept alive between requests
  std::atomic<int64_t> reading{0};  // part of a request buffered, waiting for the rest
  std::atomic<int64_t> active{0};   // with a worker (request running)
  std::atomic<int64_t> writing{0};  // response being written by the event loop
  // A detached streamed response being written by the event loop (no worker held).
  std::atomic<int64_t> streaming{0};
  std::atomic<int64_t> limit{0};  // the cap on open connections
  std::atomic<uint64_t> accepted{0};
  std::atomic<uint64_t> refused{0};    // over the cap: answered 503 and closed
  std::atomic<uint64_t> timed_out{0};  // closed at the head deadline, idle or write timeout
};

class HttpMetrics {
 public:
  HttpMetrics() = default;

  // One finished request; `version` (a full hash or empty) is the one that served it.
  void Record(absl::string_view family, Outcome outcome, absl::Duration latency, int64_t cpu_us,
              absl::string_view version = {});

  std::atomic<uint64_t>& connections_shed() { return connections_shed_; }
  ConnectionGauges& connections() { return connections_; }

  // The exposition text; `runtime` (may be null) supplies activation gauges and KV usage.
  std::string Render(Runtime* runtime) const;

  // Requests recorded for (family, outcome); for tests.
  uint64_t Count(absl::string_view family, Outcome outcome) const;

 private:
  struct FamilyCounters {
    std::array<std::atomic<uint64_t>, kOutcomeCount> outcomes{};
    std::atomic<uint64_t> cpu_us{0};
  };
  static constexpr std::array<double, 14> kBucketsSeconds = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  // Families kept apart in labels; beyond this (a bound on label cardinality) they count as "".
  static constexpr size_t kMaxFamilies = 10000;

  using CounterMap = absl::flat_hash_map<std::string, std::unique_ptr<FamilyCounters>>;
  FamilyCounters* CountersFor(CounterMap& map, absl::string_view key);

  mutable absl::Mutex mu_;
  CounterMap families_ ABSL_GUARDED_BY(mu_);
  // By "family/version" (12 hex digits), for requests a version served.
  CounterMap versions_ ABSL_GUARDED_BY(mu_);
  std::array<std::atomic<uint64_t>, kBucketsSeconds.size() + 1> buckets_{};  // last = +Inf
  std::atomic<uint64_t> latency_sum_us_{0};
  std::atomic<uint64_t> requests_{0};
  std::atomic<uint64_t> connections_shed_{0};
  ConnectionGauges connections_;
};

}  // namespace cosmo::http

#endif  // COSMO_LIB_HTTP_HTTP_METRICS_H_
