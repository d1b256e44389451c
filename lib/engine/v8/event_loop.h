// The event loop of one invocation: timers, outbound fetches and ctx.waitUntil promises.
//
// A JsInstance makes one EventLoop per request (cheap: nothing is allocated until a timer or a
// fetch is started) and publishes it in IsolateState, where the natives setTimer, clearTimer,
// fetch and waitUntil find it. The instance then alternates Wait() — which blocks the thread in
// poll(2) or a sleep, using no CPU, until the next timer is due, a transfer finishes or the wall
// deadline passes — with Dispatch(), which runs due timer callbacks and settles finished
// fetches' promises (JavaScript, under the CPU watchdog). Whatever is still pending when the
// request ends is dropped with the loop: timers never fire in a later request and unfinished
// transfers are abandoned.
//
// Single-thread: used only by the thread holding the isolate (IsolateLock); create and destroy it
// inside the isolate's scope (it holds v8::Globals).
#ifndef COSMO_ENGINE_V8_EVENT_LOOP_H_
#define COSMO_ENGINE_V8_EVENT_LOOP_H_

#include <v8.h>

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/v8/fetch/http_client.h"

namespace cosmo::v8engine {

class EventLoop {
 public:
  // Timers a request may have pending at once; setTimeout beyond this throws.
  static constexpr size_t kMaxTimers = 10'000;

  // `fetch_options` is borrowed (the engine's); `wall_deadline_ns` is on the steady clock
  // (SteadyNanos()); `subrequests` is the request's fetch budget.
  EventLoop(v8::Isolate* isolate, const HttpClient::Options* fetch_options,
            int64_t wall_deadline_ns, uint32_t subrequests);
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  static int64_t SteadyNanos();

  // setTimeout/setInterval: calls `callback` after `delay_ms` (and every `delay_ms` after that
  // when `repeat`). Returns the timer's id (> 0), or 0 with a TypeError thrown.
  int64_t SetTimer(v8::Local<v8::Function> callback, double delay_ms, bool repeat);
  void ClearTimer(int64_t id);

  // Starts one HTTP exchange (no redirects) and returns a promise of
  // [status, statusText, [name, value, ...], Uint8Array body]; it rejects with a TypeError.
  // Returns empty with a TypeError thrown when the request cannot start (subrequest limit,
  // bad URL).
  v8::MaybeLocal<v8::Promise> Fetch(v8::Local<v8::Context> context, OutboundRequest request);

  // Abandons the transfer behind `promise` (one Fetch() returned): its connection is closed and
  // the promise never settles. Does nothing for a promise already settled or not from Fetch().
  void CancelFetch(v8::Local<v8::Promise> promise);

  // ctx.waitUntil(promise).
  void WaitUntil(v8::Local<v8::Promise> promise);

  // Whether a timer or a transfer could still wake the loop.
  bool HasPendingWork() const {
    return !timers_.empty() || transfers_pending() > 0 || !finished_.empty();
  }
  // Blocks until there is something for Dispatch() to do or the wall deadline passes. False once
  // the wall deadline has passed.
  bool Wait();
  // Caps how long one Wait() blocks (zero: until there is work or the wall deadline), for a
  // caller that must look at something else now and then.
  void set_max_wait(absl::Duration max_wait) { max_wait_ns_ = absl::ToInt64Nanoseconds(max_wait); }
  // Without blocking: collects transfers that finished meanwhile, for Dispatch(). For a loop
  // that is turned by someone else's schedule (a parked stream's: parked_stream.h).
  void Poll();
  // When Dispatch() next has work, on the SteadyNanos() clock: `now_ns` when a transfer finished,
  // else the next timer's deadline, and at most `now_ns + fetch_poll_ns` while transfers run
  // (they are polled, not waited on); INT64_MAX when nothing is pending.
  int64_t NextDueNs(int64_t now_ns, int64_t fetch_poll_ns) const;
  // Settles finished fetches and runs due timers, each followed by a microtask checkpoint.
  // Stops early if the isolate is terminating.
  void Dispatch(v8::Local<v8::Context> context);

  // True while some ctx.waitUntil promise is pending. Logs (once) the rejection of each that
  // rejected, at level error, to the request's console.
  bool WaitUntilPending(v8::Local<v8::Context> context);
  size_t wait_until_count() const { return wait_until_.size(); }

  uint32_t subrequests_made() const { return subrequests_made_; }
  // When the request must end, on the SteadyNanos() clock.
  int64_t wall_deadline_ns() const { return wall_deadline_ns_; }

 private:
  struct Timer {
    v8::Global<v8::Function> callback;
    int64_t deadline_ns = 0;
    int64_t interval_ns = 0;  // 0 for a one-shot timer
  };

  size_t transfers_pending() const { return client_ == nullptr ? 0 : client_->pending(); }
  void Settle(v8::Local<v8::Context> context, uint64_t id, absl::StatusOr<OutboundResponse> result);

  v8::Isolate* const isolate_;
  const HttpClient::Options* const fetch_options_;
  const int64_t wall_deadline_ns_;
  int64_t max_wait_ns_ = 0;
  const uint32_t subrequests_;
  uint32_t subrequests_made_ = 0;

  int64_t next_timer_id_ = 1;
  std::map<int64_t, Timer> timers_;
  std::set<std::pair<int64_t, int64_t>> timer_queue_;  // (deadline, id)

  std::unique_ptr<HttpClient> client_;
  std::map<uint64_t, v8::Global<v8::Promise::Resolver>> fetches_;
  std::vector<std::pair<uint64_t, absl::StatusOr<OutboundResponse>>> finished_;

  struct WaitUntilEntry {
    v8::Global<v8::Promise> promise;
    bool reported = false;
  };
  std::vector<WaitUntilEntry> wait_until_;
};

}  // namespace cosmo::v8engine

#endif  // COSMO_ENGINE_V8_EVENT_LOOP_H_
