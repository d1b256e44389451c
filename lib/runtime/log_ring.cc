#include "runtime/log_ring.h"

#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/utf8.h"

namespace cosmo {

absl::string_view LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kLog:
      return "log";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "log";
}

LogRing::LogRing(size_t max_records, size_t max_bytes)
    : max_records_(std::max<size_t>(max_records, 1)), max_bytes_(std::max(max_bytes, kMinBytes)) {}

size_t LogRing::RecordBytes(const LogRecord& record) {
  return sizeof(LogRecord) + record.family.size() + record.version.size() +
         record.request_id.size() + record.text.size();
}

void LogRing::Append(LogRecord record) {
  if (RecordBytes(record) > max_bytes_) {
    const size_t original = record.text.size();
    const std::string note = absl::StrCat(" [log record cut: ", original, " bytes]");
    const size_t fields = RecordBytes(record) - original;
    // Family names, versions and request ids are short, so the text keeps most of the bound.
    const size_t room = max_bytes_ > fields + note.size() ? max_bytes_ - fields - note.size() : 0;
    record.text.resize(Utf8PrefixLength(record.text, room));
    absl::StrAppend(&record.text, note);
  }
  const size_t bytes = RecordBytes(record);
  absl::MutexLock lock(&mu_);
  record.sequence = ++last_sequence_;
  records_.push_back(std::move(record));
  bytes_ += bytes;
  while (records_.size() > max_records_ || (bytes_ > max_bytes_ && records_.size() > 1)) {
    bytes_ -= RecordBytes(records_.front());
    records_.pop_front();
  }
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
