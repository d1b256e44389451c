// A ResponseBodyWriter for tests of detached (parked) streams: Detachable(), with room for a
// bounded number of undrained pieces, keeping every piece and the Completed() result, and
// letting the test play the receiver (Drain, Leave) and wait for the producer. Thread-safe.
#ifndef COSMO_TESTS_UNIT_ENGINE_V8_DETACHABLE_TEST_WRITER_H_
#define COSMO_TESTS_UNIT_ENGINE_V8_DETACHABLE_TEST_WRITER_H_

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "cosmo/invocation.h"

namespace cosmo::testing {

// A guard against a hang, never a timing expectation.
inline constexpr absl::Duration kPatience = absl::Seconds(60);

// A detachable writer with room for `capacity` undrained pieces.
class DetachableTestWriter final : public ResponseBodyWriter {
 public:
  explicit DetachableTestWriter(size_t capacity = SIZE_MAX) : capacity_(capacity) {}

  absl::Status Start(int status, const HeaderList&) override {
    absl::MutexLock lock(&mu_);
    ++starts_;
    status_ = status;
    return absl::OkStatus();
  }
  bool Write(absl::string_view bytes) override {
    absl::MutexLock lock(&mu_);
    ++blocking_writes_;
    pieces_.emplace_back(bytes);
    return !gone_;
  }
  void Finish() override {
    absl::MutexLock lock(&mu_);
    finished_ = true;
  }
  bool ReceiverGone() override {
    absl::MutexLock lock(&mu_);
    return gone_;
  }
  bool Detachable() const override { return detachable_; }
  Offered TryWrite(absl::string_view bytes) override {
    absl::MutexLock lock(&mu_);
    if (gone_) return Offered::kGone;
    if (refuse_first_ || pieces_.size() - drained_ >= capacity_) {
      refuse_first_ = false;
      ++full_;
      return Offered::kFull;
    }
    pieces_.emplace_back(bytes);
    return Offered::kTaken;
  }
  void WhenWritable(std::function<void()> wake) override {
    {
      absl::MutexLock lock(&mu_);
      if (!gone_ && pieces_.size() - drained_ >= capacity_) {
        wake_ = std::move(wake);
        return;
      }
    }
    wake();
  }
  void Completed(InvokeResult&& result) override {
    absl::MutexLock lock(&mu_);
    ++completions_;
    result_ = std::move(result);
  }

  void set_detachable(bool detachable) { detachable_ = detachable; }
  // The first TryWrite() says kFull although there is room (so WhenWritable() wakes at once).
  void set_refuse_first(bool refuse) {
    absl::MutexLock lock(&mu_);
    refuse_first_ = refuse;
  }
  // The receiver reads everything written so far (waking the producer).
  void Drain() {
    Wake([&] { drained_ = pieces_.size(); });
  }
  // The receiver leaves.
  void Leave() {
    Wake([&] { gone_ = true; });
  }
  bool AwaitCompleted() {
    absl::MutexLock lock(&mu_);
    return mu_.AwaitWithTimeout(absl::Condition(
                                    +[](int* n) { return *n > 0; }, &completions_),
                                kPatience);
  }
  // Waits until `n` pieces were written or the stream completed.
  bool AwaitPieces(size_t n) {
    absl::MutexLock lock(&mu_);
    auto ready = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return pieces_.size() >= n || completions_ > 0;
    };
    return mu_.AwaitWithTimeout(absl::Condition(&ready), kPatience) && pieces_.size() >= n;
  }
  // Waits until the producer waits for this writer (or completed).
  bool AwaitWaker() {
    absl::MutexLock lock(&mu_);
    auto ready = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return wake_ != nullptr || completions_ > 0;
    };
    return mu_.AwaitWithTimeout(absl::Condition(&ready), kPatience);
  }

  std::string Body() {
    absl::MutexLock lock(&mu_);
    return absl::StrJoin(pieces_, "");
  }
  size_t Pieces() {
    absl::MutexLock lock(&mu_);
    return pieces_.size();
  }
  InvokeResult Result() {
    absl::MutexLock lock(&mu_);
    return result_;
  }
  int completions() {
    absl::MutexLock lock(&mu_);
    return completions_;
  }
  bool finished() {
    absl::MutexLock lock(&mu_);
    return finished_;
  }
  int starts() {
    absl::MutexLock lock(&mu_);
    return starts_;
  }
  int full() {
    absl::MutexLock lock(&mu_);
    return full_;
  }
  int blocking_writes() {
    absl::MutexLock lock(&mu_);
    return blocking_writes_;
  }

 private:
  void Wake(const std::function<void()>& change) {
    std::function<void()> wake;
    {
      absl::MutexLock lock(&mu_);
      change();
      wake.swap(wake_);
    }
    if (wake) wake();
  }

  const size_t capacity_;
  bool detachable_ = true;
  bool refuse_first_ ABSL_GUARDED_BY(mu_) = false;
  absl::Mutex mu_;
  std::vector<std::string> pieces_ ABSL_GUARDED_BY(mu_);
  size_t drained_ ABSL_GUARDED_BY(mu_) = 0;
  bool gone_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  int starts_ ABSL_GUARDED_BY(mu_) = 0;
  int status_ ABSL_GUARDED_BY(mu_) = 0;
  int full_ ABSL_GUARDED_BY(mu_) = 0;
  int blocking_writes_ ABSL_GUARDED_BY(mu_) = 0;
  int completions_ ABSL_GUARDED_BY(mu_) = 0;
  std::function<void()> wake_ ABSL_GUARDED_BY(mu_);
  InvokeResult result_ ABSL_GUARDED_BY(mu_);
};

}  // namespace cosmo::testing

#endif  // COSMO_TESTS_UNIT_ENGINE_V8_DETACHABLE_TEST_WRITER_H_
