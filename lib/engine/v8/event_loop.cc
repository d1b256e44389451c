#include "engine/v8/event_loop.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "engine/v8/exception_text.h"
#include "engine/v8/isolate_state.h"
#include "engine/v8/limited_allocator.h"
#include "engine/v8/v8_util.h"

namespace cosmo::v8engine {
EventLoop::EventLoop(v8::Isolate* isolate, const HttpClient::Options* fetch_options,
                     int64_t wall_deadline_ns, uint32_t subrequests)
    : isolate_(isolate),
      fetch_options_(fetch_options),
      wall_deadline_ns_(wall_deadline_ns),
      subrequests_(subrequests) {}

EventLoop::~EventLoop() = default;

int64_t EventLoop::SteadyNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int64_t EventLoop::SetTimer(v8::Local<v8::Function> callback, double delay_ms, bool repeat) {
  if (timers_.size() >= kMaxTimers) {
    ThrowTypeError(isolate_, absl::StrCat("setTimeout: more than ", kMaxTimers,
                                          " timers pending in one request"));
    return 0;
  }
  // HTML clamps negative and NaN delays to 0; an interval of 0 would spin, so it runs every 1 ms.
  if (!(delay_ms > 0)) delay_ms = 0;
  delay_ms = std::min(delay_ms, 2147483647.0);
  int64_t delay_ns = static_cast<int64_t>(delay_ms * 1e6);
  int64_t id = next_timer_id_++;
  Timer& timer = timers_[id];
  timer.callback.Reset(isolate_, callback);
  timer.deadline_ns = SteadyNanos() + delay_ns;
  timer.interval_ns = repeat ? std::max<int64_t>(delay_ns, 1'000'000) : 0;
  timer_queue_.emplace(timer.deadline_ns, id);
  return id;
}

void EventLoop::ClearTimer(int64_t id) {
  auto it = timers_.find(id);
  if (it == timers_.end()) return;
  timer_queue_.erase({it->second.deadline_ns, id});
  timers_.erase(it);
}

v8::MaybeLocal<v8::Promise> EventLoop::Fetch(v8::Local<v8::Context> context,
                                             OutboundRequest request) {
  if (subrequests_made_ >= subrequests_) {
    ThrowTypeError(isolate_, absl::StrCat("fetch: this request already made its ", subrequests_,
                                          " subrequests (limit `subrequests`)"));
    return {};
  }
  if (client_ == nullptr) client_ = std::make_unique<HttpClient>(*fetch_options_);
  // A little past the request's own deadline, so that a transfer still running then ends the
  // request as kExceededWallTime (the loop's check) rather than as a rejected fetch.
  request.deadline =
      absl::Now() + absl::Nanoseconds(wall_deadline_ns_ - SteadyNanos()) + absl::Milliseconds(100);
  absl::StatusOr<uint64_t> id = client_->Start(request);
  if (!id.ok()) {
    ThrowTypeError(isolate_, std::string(id.status().message()));
    return {};
  }
  ++subrequests_made_;
  v8::Local<v8::Promise::Resolver> resolver;
  if (!v8::Promise::Resolver::New(context).ToLocal(&resolver)) {
    client_->Cancel(*id);
    return {};
  }
  fetches_[*id].Reset(isolate_, resolver);
  return resolver->GetPromise();
}

void EventLoop::CancelFetch(v8::Local<v8::Promise> promise) {
  // At most `subrequests` fetches are pending, so a scan is cheap.
  for (auto it = fetches_.begin(); it != fetches_.end(); ++it) {
    if (it->second.Get(isolate_)->GetPromise() != promise) continue;
    if (client_ != nullptr) client_->Cancel(it->first);
    fetches_.erase(it);
    return;
  }
}

void EventLoop::WaitUntil(v8::Local<v8::Promise> promise) {
  wait_until_.push_back({v8::Global<v8::Promise>(isolate_, promise), false});
}

bool EventLoop::Wait() {
  const int64_t now = SteadyNanos();
  if (now >= wall_deadline_ns_) return false;
  if (!finished_.empty()) return true;
  int64_t until = wall_deadline_ns_;
  if (!timer_queue_.empty()) until = std::min(until, timer_queue_.begin()->first);
  if (max_wait_ns_ > 0) until = std::min(until, now + max_wait_ns_);
  if (until <= now) return true;
  const absl::Duration wait = absl::Nanoseconds(until - now);
  if (transfers_pending() > 0) {
    finished_ = client_->Run(wait);
  } else {
    absl::SleepFor(wait);
  }
  return SteadyNanos() < wall_deadline_ns_;
}

void EventLoop::Poll() {
  if (transfers_pending() == 0) return;
  for (auto& done : client_->Run(absl::ZeroDuration())) finished_.push_back(std::move(done));
}

int64_t EventLoop::NextDueNs(int64_t now_ns, int64_t fetch_poll_ns) const {
  if (!finished_.empty()) return now_ns;
  int64_t due = timer_queue_.empty() ? INT64_MAX : timer_queue_.begin()->first;
  if (transfers_pending() > 0) due = std::min(due, now_ns + fetch_poll_ns);
  return due;
}

void EventLoop::Settle(v8::Local<v8::Context> context, uint64_t id,
                       absl::StatusOr<OutboundResponse> result) {
  auto it = fetches_.find(id);
  if (it == fetches_.end()) return;
  v8::Local<v8::Promise::Resolver> resolver = it->second.Get(isolate_);
  fetches_.erase(it);
  if (!result.ok()) {
    resolver
        ->Reject(context, v8::Exception::TypeError(
                              NewUtf8String(isolate_, std::string(result.status().message()))))
        .FromMaybe(false);
    return;
  }
  OutboundResponse& response = *result;
  auto* state = IsolateStateOf(isolate_);
  if (state != nullptr && state->allocator != nullptr && response.body.size() > 64 &&
      !state->allocator->WouldFit(response.body.size())) {
    resolver
        ->Reject(context,
                 v8::Exception::TypeError(v8::String::NewFromUtf8Literal(
                     isolate_, "fetch: the response body does not fit in the memory limit")))
        .FromMaybe(false);
    return;
  }
  std::vector<v8::Local<v8::Value>> header_values;
  header_values.reserve(response.headers.size() * 2);
  for (const auto& [name, value] : response.headers) {
    header_values.push_back(NewByteString(isolate_, name));
    header_values.push_back(NewByteString(isolate_, value));
  }
  v8::Local<v8::ArrayBuffer> buffer = v8::ArrayBuffer::New(isolate_, response.body.size());
  if (!response.body.empty())
    std::memcpy(buffer->Data(), response.body.data(), response.body.size());
  v8::Local<v8::Value> parts[] = {
      v8::Integer::New(isolate_, response.status),
      NewByteString(isolate_, response.status_text),
      v8::Array::New(isolate_, header_values.data(), header_values.size()),
      v8::Uint8Array::New(buffer, 0, response.body.size()),
  };
  resolver->Resolve(context, v8::Array::New(isolate_, parts, std::size(parts))).FromMaybe(false);
}

void EventLoop::Dispatch(v8::Local<v8::Context> context) {
  std::vector<std::pair<uint64_t, absl::StatusOr<OutboundResponse>>> finished;
  finished.swap(finished_);
  for (auto& [id, result] : finished) {
    if (isolate_->IsExecutionTerminating()) return;
    Settle(context, id, std::move(result));
    isolate_->PerformMicrotaskCheckpoint();
  }
  const int64_t now = SteadyNanos();
  // Timers due now, in deadline order; ones they add (even with delay 0) wait for the next turn.
  std::vector<int64_t> due;
  for (auto it = timer_queue_.begin(); it != timer_queue_.end() && it->first <= now; ++it) {
    due.push_back(it->second);
  }
  for (int64_t id : due) {
    if (isolate_->IsExecutionTerminating()) return;
    auto it = timers_.find(id);
    if (it == timers_.end()) continue;  // cleared by an earlier callback
    v8::Local<v8::Function> callback = it->second.callback.Get(isolate_);
    timer_queue_.erase({it->second.deadline_ns, id});
    if (it->second.interval_ns > 0) {
      it->second.deadline_ns = now + it->second.interval_ns;
      timer_queue_.emplace(it->second.deadline_ns, id);
    } else {
      timers_.erase(it);
    }
    v8::TryCatch try_catch(isolate_);
    // The runtime wraps callbacks so that they report their own exceptions; anything else that
    // escapes (a termination) ends the loop.
    if (callback->Call(context, v8::Undefined(isolate_), 0, nullptr).IsEmpty() &&
        try_catch.HasTerminated()) {
      return;
    }
    isolate_->PerformMicrotaskCheckpoint();
  }
}

bool EventLoop::WaitUntilPending(v8::Local<v8::Context> context) {
  bool pending = false;
  for (WaitUntilEntry& entry : wait_until_) {
    v8::Local<v8::Promise> promise = entry.promise.Get(isolate_);
    switch (promise->State()) {
      case v8::Promise::kPending:
        pending = true;
        break;
      case v8::Promise::kRejected:
        if (!entry.reported) {
          entry.reported = true;
          auto* state = IsolateStateOf(isolate_);
          if (state != nullptr && state->console != nullptr) {
            state->console->push_back(
                {LogLevel::kError, absl::Now(),
                 absl::StrCat("ctx.waitUntil: ",
                              ExceptionText::Uncaught(isolate_, context, promise->Result()))});
          }
        }
        break;
      case v8::Promise::kFulfilled:
        break;
    }
  }
  return pending;
}

}  // namespace cosmo::v8engine
