#include "runtime/log_ring.h"

#include <algorithm>

namespace cosmo {

void LogRing::Append(LogRecord record) {
  absl::MutexLock lock(&mu_);
  record.sequence = ++last_sequence_;
  records_.push_back(std::move(record));
  while (records_.size() > capacity_) records_.pop_front();
}

LogBatch LogRing::ReadLocked(uint64_t after_sequence, size_t max_records) const {
  LogBatch batch;
  batch.last_sequence = last_sequence_;
  if (records_.empty() || after_sequence >= last_sequence_) return batch;
  const uint64_t oldest = records_.front().sequence;
  size_t start = 0;
  if (after_sequence + 1 < oldest) {
    batch.dropped = oldest - after_sequence - 1;
  } else {
    start = static_cast<size_t>(after_sequence + 1 - oldest);
  }
  const size_t end =
      max_records == 0 ? records_.size() : std::min(records_.size(), start + max_records);
  batch.records.assign(records_.begin() + static_cast<std::ptrdiff_t>(start),
                       records_.begin() + static_cast<std::ptrdiff_t>(end));
  return batch;
}

LogBatch LogRing::Read(uint64_t after_sequence, size_t max_records) const {
  absl::ReaderMutexLock lock(&mu_);
  return ReadLocked(after_sequence, max_records);
}

LogBatch LogRing::Wait(uint64_t after_sequence, size_t max_records, absl::Time deadline) const {
  absl::ReaderMutexLock lock(&mu_);
  auto has_new = [this, after_sequence]()
                     ABSL_SHARED_LOCKS_REQUIRED(mu_) { return last_sequence_ > after_sequence; };
  mu_.AwaitWithDeadline(absl::Condition(&has_new), deadline);
  return ReadLocked(after_sequence, max_records);
}

}  // namespace cosmo
