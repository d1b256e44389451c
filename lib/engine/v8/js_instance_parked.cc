// JsInstance's parked streams (parked_stream.h): parking a streamed response, turning the parked
// ones section by section, and ending them.
#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "engine/v8/exception_text.h"
#include "engine/v8/js_instance.h"

namespace cosmo::v8engine {
namespace {

// How often a parked stream asks whether its receiver left while it waits for its source (the
// blocking path looks as often: StreamResponse).
constexpr int64_t kGoneCheckNs = 200'000'000;

}  // namespace

void JsInstance::Park(std::unique_ptr<EventLoop> loop, int64_t wall_start_ns,
                      InvokeResult& result) {
  std::unique_ptr<ParkedStream> stream = std::move(parking_);
  const int64_t now = EventLoop::SteadyNanos();
  stream->loop = std::move(loop);
  stream->wall_start_ns = wall_start_ns;
  stream->console_bytes = state_.console_bytes;
  stream->console_dropped = state_.console_dropped;
  stream->kv = state_.kv_counters;
  stream->body_bytes = state_.body_bytes;
  stream->next_gone_check_ns = now + kGoneCheckNs;
  // The owner gets the head and the usage so far now, the console and final figures at the end.
  stream->result = result;
  result.console.clear();
  if (stream->held.held) RequestWake(*stream);
  stream->next_due_ns = stream->NextDue(now);
  parked_.emplace(stream->next_due_ns, std::move(stream));
  PublishParked();
}

absl::Time JsInstance::NextParkedWake() const {
  if (parked_count_.load(std::memory_order_acquire) == 0) return absl::InfiniteFuture();
  const int64_t due = next_parked_wake_ns_.load(std::memory_order_acquire);
  if (due == INT64_MIN || parked_wake_->Woken()) return absl::InfinitePast();
  if (due == INT64_MAX) return absl::InfiniteFuture();
  return absl::Now() + absl::Nanoseconds(due - EventLoop::SteadyNanos());
}

void JsInstance::PublishParked() {
  int64_t due = ended_.empty() ? INT64_MAX : INT64_MIN;
  if (!parked_.empty()) due = std::min(due, parked_.begin()->first);
  next_parked_wake_ns_.store(due, std::memory_order_release);
  parked_count_.store(parked_.size() + ended_.size(), std::memory_order_release);
}

void JsInstance::RequestWake(ParkedStream& stream) {
  if (stream.wake_requested) return;
  stream.wake_requested = true;
  stream.body->WhenWritable([writable = stream.writable, wake = parked_wake_] {
    writable->store(true, std::memory_order_release);
    wake->Signal();
  });
}

std::vector<Instance::EndedStream> JsInstance::ResumeParked() {
  std::vector<EndedStream> out;
  if (!parked_.empty()) {
    if (!Reusable()) return AbandonParked("the instance serving the stream hit a limit earlier");
    Entered entered(*this);
    v8::Local<v8::Context> context = entered.context();
    // Before looking: a writer that wakes during the look is seen next time.
    const bool woken = parked_wake_->Woken();
    parked_wake_->Clear();
    const int64_t now = EventLoop::SteadyNanos();
    // The due streams, earliest first, out of the schedule while they run (so one that is due
    // again at once waits for the next pass); every stream when a writer woke, since its stream
    // may be anywhere in the schedule. The others are not touched: a thousand parked streams
    // cost nothing while a few of them are due.
    std::vector<decltype(parked_)::node_type> turned;
    for (auto it = parked_.begin(); it != parked_.end() && (woken || it->first <= now);) {
      turned.push_back(parked_.extract(it++));
    }
    for (auto& node : turned) {
      ParkedStream& stream = *node.mapped();
      if (Reusable() && ResumeStream(context, stream, now)) {
        ended_.push_back(EndStream(stream, now));
        continue;
      }
      node.key() = stream.next_due_ns;
      parked_.insert(std::move(node));
    }
    if (!Reusable() && !parked_.empty()) {
      // A limit one stream hit condemned the isolate: the others end with it.
      const bool memory = memory_hit_ || state_.memory_exceeded;
      CutOffParked(absl::StrCat("cut off: another request on the same instance exceeded its ",
                                memory ? "memory" : "CPU",
                                " limit, and the instance was discarded"));
    }
  }
  out.swap(ended_);
  PublishParked();
  return out;
}

std::vector<Instance::EndedStream> JsInstance::AbandonParked(absl::string_view reason) {
  if (!parked_.empty()) {
    Taken taken(*this);
    CutOffParked(std::string(reason));
  }
  std::vector<EndedStream> out;
  out.swap(ended_);
  PublishParked();
  return out;
}

void JsInstance::CutOffParked(const std::string& reason) {
  const int64_t now = EventLoop::SteadyNanos();
  for (auto& [due, stream] : parked_) {
    InvokeResult& result = stream->result;
    result.outcome = Outcome::kInternal;
    result.error = reason;
    result.response.stream_complete = false;
    ended_.push_back(EndStream(*stream, now));
  }
  parked_.clear();
  PublishParked();
}

bool JsInstance::ResumeStream(v8::Local<v8::Context> context, ParkedStream& stream,
                              int64_t now_ns) {
  if (stream.next_due_ns > now_ns && !stream.writable->load(std::memory_order_acquire)) {
    return false;
  }
  v8::HandleScope handle_scope(isolate_);
  EnterStream(stream);
  bool ended = TurnStream(context, stream, now_ns);
  const Stop stop = LeaveStream(stream);
  if (stop != Stop::kNone) {
    SetLimitOutcome(stop, stream.cpu_used_ns, EventLoop::SteadyNanos() - stream.wall_start_ns,
                    stream.result);
    return true;
  }
  if (!ended) {
    if (stream.held.held) RequestWake(stream);
    stream.next_due_ns = stream.NextDue(EventLoop::SteadyNanos());
  }
  return ended;
}

bool JsInstance::TurnStream(v8::Local<v8::Context> context, ParkedStream& stream, int64_t now_ns) {
  InvokeResult& result = stream.result;
  EventLoop& loop = *stream.loop;
  v8::TryCatch try_catch(isolate_);
  if (now_ns >= loop.wall_deadline_ns()) {
    if (stream.phase == ParkedStream::Phase::kWaitUntil) {
      result.console.push_back(
          {LogLevel::kWarn, absl::Now(),
           absl::StrCat("ctx.waitUntil: work still pending at the wall-clock limit of ",
                        absl::FormatDuration(limits_.wall_per_request), " was cancelled")});
      return true;
    }
    result.outcome = Outcome::kExceededWallTime;
    result.error = absl::StrCat("the script exceeded its wall-clock limit of ",
                                absl::FormatDuration(limits_.wall_per_request));
    return true;
  }
  // The writer woke: the held piece is offered again, and the pump reads on once it was taken.
  const bool woke = stream.writable->exchange(false, std::memory_order_acq_rel);
  if (stream.held.held && woke) {
    stream.wake_requested = false;
    const ResponseBodyWriter::Offered offered = stream.body->TryWrite(stream.held.bytes);
    if (offered != ResponseBodyWriter::Offered::kFull) {
      const bool taken = offered == ResponseBodyWriter::Offered::kTaken;
      if (taken) state_.body_bytes += stream.held.bytes.size();
      v8::Local<v8::Promise::Resolver> resolver = stream.held.resolver.Get(isolate_);
      stream.held.held = false;
      stream.held.bytes.clear();
      stream.held.resolver.Reset();
      resolver->Resolve(context, v8::Boolean::New(isolate_, taken)).FromMaybe(false);
      isolate_->PerformMicrotaskCheckpoint();
    }
  }
  if (stream.phase == ParkedStream::Phase::kPumping && !stream.cancelled &&
      now_ns >= stream.next_gone_check_ns) {
    stream.next_gone_check_ns = now_ns + kGoneCheckNs;
    if (stream.body->ReceiverGone()) {
      stream.cancelled = true;
      if (!stream.cancel.Get(isolate_)
               ->Call(context, v8::Undefined(isolate_), 0, nullptr)
               .IsEmpty()) {
        isolate_->PerformMicrotaskCheckpoint();
      }
    }
  }
  if (isolate_->IsExecutionTerminating()) return true;
  loop.Poll();
  loop.Dispatch(context);
  if (isolate_->IsExecutionTerminating()) return true;
  isolate_->PerformMicrotaskCheckpoint();
  if (isolate_->IsExecutionTerminating()) return true;

  if (stream.phase == ParkedStream::Phase::kPumping) {
    v8::Local<v8::Promise> pump = stream.pump.Get(isolate_);
    switch (pump->State()) {
      case v8::Promise::kPending:
        if (!loop.HasPendingWork() && !stream.held.held) {
          result.outcome = Outcome::kException;
          result.error = "Promise will never complete.";
          return true;
        }
        return false;
      case v8::Promise::kRejected:
        result.outcome = Outcome::kException;
        result.error = ExceptionText::Uncaught(isolate_, context, pump->Result());
        return true;
      case v8::Promise::kFulfilled:
        break;
    }
    if (pump->Result()->IsTrue()) {
      stream.body->Finish();
      result.response.stream_complete = true;
    } else {
      result.console.push_back({LogLevel::kInfo, absl::Now(),
                                "the client went away; the response stream was cancelled"});
    }
    stream.pump.Reset();
    stream.cancel.Reset();
    if (loop.wait_until_count() == 0) return true;
    stream.phase = ParkedStream::Phase::kWaitUntil;
  }
  // After the body: its ctx.waitUntil promises, as RunWaitUntil waits for them.
  if (!loop.WaitUntilPending(context)) return true;
  if (!loop.HasPendingWork()) {
    result.console.push_back(
        {LogLevel::kWarn, absl::Now(),
         "ctx.waitUntil: a promise will never complete; the request ended without it"});
    return true;
  }
  return false;
}

void JsInstance::EnterStream(ParkedStream& stream) {
  state_.loop = stream.loop.get();
  state_.console = &stream.result.console;
  state_.console_bytes = stream.console_bytes;
  state_.console_dropped = stream.console_dropped;
  state_.kv_counters = stream.kv;
  state_.body_writer = stream.phase == ParkedStream::Phase::kPumping && !stream.cancelled
                           ? stream.body.get()
                           : nullptr;
  state_.held_piece = &stream.held;
  state_.body_bytes = stream.body_bytes;
  state_.body_reader = nullptr;
  section_heap_start_ = BeginHeapSection();
  // A fresh account per section: the CPU clock it reads is this thread's, and the stream's
  // earlier sections may have run on another. The budget is what the request has left.
  cpu_account_ = CpuWatchdog::CpuAccount();
  ArmCpu(std::max<int64_t>(cpu_budget_ns_ - stream.cpu_used_ns, 1));
}

JsInstance::Stop JsInstance::LeaveStream(ParkedStream& stream) {
  const Stop stop = DisarmCpu();
  stream.cpu_used_ns += CpuWatchdog::CpuUsedNanos(cpu_account_);
  stream.console_bytes = state_.console_bytes;
  stream.console_dropped = state_.console_dropped;
  stream.kv = state_.kv_counters;
  stream.body_bytes = state_.body_bytes;
  state_.loop = nullptr;
  state_.console = nullptr;
  state_.body_writer = nullptr;
  state_.held_piece = nullptr;
  EndHeapSection(section_heap_start_, stream.result.usage);
  return stop;
}

Instance::EndedStream JsInstance::EndStream(ParkedStream& stream, int64_t now_ns) {
  stream.ReleaseHandles();
  InvokeResult result = std::move(stream.result);
  result.response.stream_pending = false;
  result.response.streamed = true;
  if (result.outcome != Outcome::kOk) result.response.stream_complete = false;
  InvocationUsage& usage = result.usage;
  usage.cpu_us = stream.cpu_used_ns / 1000;
  usage.wall_us = (now_ns - stream.wall_start_ns) / 1000;
  usage.response_bytes = stream.body_bytes;
  usage.kv_reads = stream.kv.reads;
  usage.kv_writes = stream.kv.writes;
  usage.kv_deletes = stream.kv.deletes;
  usage.kv_lists = stream.kv.lists;
  usage.kv_bytes_read = stream.kv.bytes_read;
  usage.kv_bytes_written = stream.kv.bytes_written;
  if (stream.console_dropped > 0) {
    result.console.push_back(
        {LogLevel::kWarn, absl::Now(),
         absl::StrCat(stream.console_dropped, " console messages dropped (limit ",
                      kMaxConsoleMessages, " messages or ", kMaxConsoleBytes >> 10,
                      " KiB per request)")});
  }
  return EndedStream{stream.writer, std::move(result)};
}

}  // namespace cosmo::v8engine
