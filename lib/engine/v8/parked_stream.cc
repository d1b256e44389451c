#include "engine/v8/parked_stream.h"

#include <algorithm>
#include <utility>

namespace cosmo::v8engine {
namespace {

// Transfers of a parked stream are polled (EventLoop::Poll) this often: nothing blocks on their
// sockets while the instance serves other requests.
constexpr int64_t kFetchPollNs = 5'000'000;

}  // namespace

bool DeferredHead::EnsureStarted() {
  if (!attempted_) {
    attempted_ = true;
    status_ = writer_->Start(status_code_, headers_);
  }
  return status_.ok();
}

void ParkedWake::SetHandler(std::function<void()> handler) {
  std::lock_guard<std::mutex> lock(mu_);
  handler_ = std::move(handler);
}

void ParkedWake::Signal() {
  woken_.store(true, std::memory_order_release);
  std::lock_guard<std::mutex> lock(mu_);
  if (handler_) handler_();
}

void ParkedStream::ReleaseHandles() {
  pump.Reset();
  cancel.Reset();
  held.resolver.Reset();
  held.held = false;
  loop.reset();  // its timers' callbacks and fetches' resolvers
}

int64_t ParkedStream::NextDue(int64_t now_ns) const {
  int64_t due = loop->wall_deadline_ns();
  if (phase == Phase::kPumping && !cancelled) due = std::min(due, next_gone_check_ns);
  due = std::min(due, loop->NextDueNs(now_ns, kFetchPollNs));
  if (writable->load(std::memory_order_acquire)) due = now_ns;
  return due;
}

}  // namespace cosmo::v8engine
