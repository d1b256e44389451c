#include "http/detached_stream.h"

#include <utility>

namespace cosmo::http {

DetachedStream::Offered DetachedStream::Offer(absl::string_view bytes, bool force) {
  absl::MutexLock lock(&mu_);
  if (gone_) return Offered::kGone;
  if (!force && pending_.size() + unsent_ >= high_water_) return Offered::kFull;
  pending_.append(bytes.data(), bytes.size());
  Signal();
  return Offered::kTaken;
}

void DetachedStream::WhenWritable(std::function<void()> wake) {
  {
    absl::MutexLock lock(&mu_);
    if (!gone_ && pending_.size() + unsent_ >= high_water_) {
      wake_ = std::move(wake);
      return;
    }
  }
  wake();  // due already: the caller may offer again at once
}

bool DetachedStream::Gone() const {
  absl::MutexLock lock(&mu_);
  return gone_;
}

void DetachedStream::Finish(absl::string_view last_chunk) {
  absl::MutexLock lock(&mu_);
  if (gone_) return;
  pending_.append(last_chunk.data(), last_chunk.size());
  finished_ = true;
  Signal();
}

bool DetachedStream::finished() const {
  absl::MutexLock lock(&mu_);
  return finished_;
}

void DetachedStream::Complete(bool body_complete) {
  absl::MutexLock lock(&mu_);
  completed_ = true;
  body_complete_ = body_complete && finished_ && !gone_;
  Signal();
}

std::string DetachedStream::TakeAll() {
  absl::MutexLock lock(&mu_);
  return std::exchange(pending_, std::string());
}

void DetachedStream::AttachTo(Connection* c) {
  absl::MutexLock lock(&mu_);
  connection_ = c;
  attached_ = true;
}

bool DetachedStream::Attached() const {
  absl::MutexLock lock(&mu_);
  return attached_;
}

void DetachedStream::Kick() {
  absl::MutexLock lock(&mu_);
  Signal();
}

Connection* DetachedStream::TakeSignal() {
  absl::MutexLock lock(&mu_);
  signalled_ = false;
  return connection_;
}

DetachedStream::Drained DetachedStream::Drain(std::string* out) {
  absl::MutexLock lock(&mu_);
  if (!pending_.empty()) {
    unsent_ += pending_.size();
    if (out->empty()) {
      out->swap(pending_);
    } else {
      out->append(pending_);
    }
    pending_.clear();
  }
  return Drained{.completed = completed_, .finished = body_complete_};
}

void DetachedStream::Sent(size_t unsent) {
  std::function<void()> wake;
  {
    absl::MutexLock lock(&mu_);
    unsent_ = unsent;
    if (wake_ && pending_.size() + unsent_ <= low_water_) wake = std::exchange(wake_, nullptr);
  }
  if (wake) wake();
}

void DetachedStream::Release() {
  absl::MutexLock lock(&mu_);
  loop_ = nullptr;
  connection_ = nullptr;
}

void DetachedStream::Abandon() {
  std::function<void()> wake;
  {
    absl::MutexLock lock(&mu_);
    loop_ = nullptr;
    connection_ = nullptr;
    gone_ = true;
    pending_.clear();
    unsent_ = 0;
    wake = std::exchange(wake_, nullptr);
  }
  if (wake) wake();
}

void DetachedStream::Signal() {
  // Only once the connection is the loop's (AttachTo, then Kick after the hand-over); one entry
  // on the ready list at a time.
  if (loop_ == nullptr || connection_ == nullptr || signalled_) return;
  signalled_ = true;
  loop_->StreamReady(shared_from_this());
}

}  // namespace cosmo::http
