// The bounded, numbered log of one family (see include/cosmo/logs.h).
//
// Appends are O(1) amortised; the ring keeps the newest records, at most `max_records` of them
// and at most `max_bytes` as counted by RecordBytes(). Readers ask for records after a sequence
// number and may wait for new ones. Thread-safe.
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
  // The smallest byte bound: room for one record's fields and a useful piece of its text.
  static constexpr size_t kMinBytes = 4096;

  // `max_records` of 0 is taken as 1; `max_bytes` below kMinBytes as kMinBytes.
  LogRing(size_t max_records, size_t max_bytes);

  // What `record` counts against the byte bound: its struct and the bytes of its strings (the
  // memory it holds, give or take the allocator's rounding).
  static size_t RecordBytes(const LogRecord& record);

  // Numbers `record` (overwriting its sequence) and appends it, dropping the oldest records as
  // the bounds require, and wakes waiters. A record over the byte bound on its own has its text
  // cut (at a UTF-8 boundary) and a note of how much was cut appended.
  void Append(LogRecord record);

  LogBatch Read(uint64_t after_sequence, size_t max_records) const;

  // Read(), after waiting until a record newer than `after_sequence` exists or `deadline`
  // (real time) passes.
  LogBatch Wait(uint64_t after_sequence, size_t max_records, absl::Time deadline) const;

 private:
  LogBatch ReadLocked(uint64_t after_sequence, size_t max_records) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);

  const size_t max_records_;
  const size_t max_bytes_;
  mutable absl::Mutex mu_;
  std::deque<LogRecord> records_ ABSL_GUARDED_BY(mu_);
  size_t bytes_ ABSL_GUARDED_BY(mu_) = 0;  // sum of RecordBytes over records_
  uint64_t last_sequence_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace cosmo

#endif  // COSMO_LIB_RUNTIME_LOG_RING_H_
