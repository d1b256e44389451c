// The bounded, numbered log of one family (see include/cosmo/logs.h).
//
// Appends are O(1); the ring keeps the newest `capacity` records. Readers ask for records after a
// sequence number and may wait for new ones. Thread-safe.
#ifndef COSMO_LIB_RUNTIME_LOG_RING_H_
#define COSMO_LIB_RUNTIME_LOG_RING_H_

#include <cstdint>
#include <deque>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "cosmo/logs.h"

namespace cosmo {

class LogRing {
 public:
  explicit LogRing(size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}

  // Numbers `record` (overwriting its sequence) and appends it, waking waiters.
  void Append(LogRecord record);

  LogBatch Read(uint64_t after_sequence, size_t max_records) const;

  // Read(), after waiting until a record newer than `after_sequence` exists or `deadline`
  // (real time) passes.
  LogBatch Wait(uint64_t after_sequence, size_t max_records, absl::Time deadline) const;

 private:
  LogBatch ReadLocked(uint64_t after_sequence, size_t max_records) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);

  const size_t capacity_;
  mutable absl::Mutex mu_;
  std::deque<LogRecord> records_ ABSL_GUARDED_BY(mu_);
  uint64_t last_sequence_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace cosmo

#endif  // COSMO_LIB_RUNTIME_LOG_RING_H_
