// A streamed response whose invocation returned from Invoke() while its body goes on ("parked",
// docs/architecture.md, "Parked streams"), and the pieces JsInstance needs to send one.
//
// When the caller's ResponseBodyWriter is Detachable() and a Response's body stream has nothing
// to send now (it waits for a timer, a fetch or the writer), the instance moves what the
// invocation still needs into a ParkedStream — its EventLoop, the pump's promise, the head writer,
// the result so far, its CPU used and its console — and returns. Later sections of JavaScript for
// the stream run in ResumeParked(), each with the stream made the isolate's current invocation.
//
// Single-thread, like the instance: touched only by the thread holding the isolate (its Globals
// are reset with the isolate held (IsolateLock)). ParkedWake alone is thread-safe.
#ifndef COSMO_ENGINE_V8_PARKED_STREAM_H_
#define COSMO_ENGINE_V8_PARKED_STREAM_H_

#include <v8.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "absl/status/status.h"
#include "cosmo/invocation.h"
#include "engine/v8/event_loop.h"
#include "engine/v8/isolate_state.h"

namespace cosmo::v8engine {

// A piece of a detached body the writer could not take yet (IsolateState::held_piece).
struct HeldPiece {
  bool held = false;
  std::string bytes;
  // Settles the promise writeBody returned for the piece: true once taken, false when gone.
  v8::Global<v8::Promise::Resolver> resolver;
};

// Sends the head with the first piece of the body (or at its end), so that a stream that fails
// before producing anything still gets an ordinary error response. A detached stream is started
// before its invocation returns (EnsureStarted), since a writer takes Start() only then.
class DeferredHead final : public ResponseBodyWriter {
 public:
  DeferredHead(ResponseBodyWriter* writer, int status, HeaderList headers)
      : writer_(writer), status_code_(status), headers_(std::move(headers)) {}

  absl::Status Start(int, const HeaderList&) override { return absl::OkStatus(); }
  bool Write(absl::string_view bytes) override { return EnsureStarted() && writer_->Write(bytes); }
  Offered TryWrite(absl::string_view bytes) override {
    return EnsureStarted() ? writer_->TryWrite(bytes) : Offered::kGone;
  }
  void WhenWritable(std::function<void()> wake) override { writer_->WhenWritable(std::move(wake)); }
  void Finish() override {
    if (EnsureStarted()) writer_->Finish();
  }
  bool ReceiverGone() override { return writer_->ReceiverGone(); }

  bool EnsureStarted();
  bool started() const { return attempted_ && status_.ok(); }
  const absl::Status& status() const { return status_; }

 private:
  ResponseBodyWriter* const writer_;
  const int status_code_;
  const HeaderList headers_;
  bool attempted_ = false;
  absl::Status status_;
};

// How the writers of an instance's parked streams wake it: WhenWritable() callbacks may run on
// any thread, even after the stream (or the instance) is gone, so they hold this by shared_ptr.
class ParkedWake {
 public:
  // The owner's handler (Instance::SetParkedWakeHandler); empty to stop calling it.
  void SetHandler(std::function<void()> handler);
  // A writer woke: Woken() turns true and the handler runs.
  void Signal();
  bool Woken() const { return woken_.load(std::memory_order_acquire); }
  // Called before looking at the streams, so a wake during the look is not lost.
  void Clear() { woken_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> woken_{false};
  std::mutex mu_;
  std::function<void()> handler_;
};

struct ParkedStream {
  // Sending the body; waiting for its ctx.waitUntil promises after it ended.
  enum class Phase { kPumping, kWaitUntil };

  ResponseBodyWriter* writer = nullptr;  // the caller's, told Completed() by the owner
  std::unique_ptr<DeferredHead> body;    // writes to `writer`
  std::unique_ptr<EventLoop> loop;
  v8::Global<v8::Promise> pump;     // pumpBody's promise (true: body ended; false: cancelled)
  v8::Global<v8::Function> cancel;  // cancels the body's source (its receiver left)
  Phase phase = Phase::kPumping;
  bool cancelled = false;
  // The piece the writer could not take yet (native writeBody), offered again once it woke.
  HeldPiece held;
  bool wake_requested = false;  // WhenWritable() was called for `held`
  std::shared_ptr<std::atomic<bool>> writable = std::make_shared<std::atomic<bool>>(false);

  // The invocation so far: head, outcome, console, request bytes, heap figures.
  InvokeResult result;
  int64_t wall_start_ns = 0;
  int64_t cpu_used_ns = 0;
  size_t console_bytes = 0;
  size_t console_dropped = 0;
  KvCounters kv;
  uint64_t body_bytes = 0;
  // When ReceiverGone() is next asked (SteadyNanos), and when the stream next has work.
  int64_t next_gone_check_ns = 0;
  int64_t next_due_ns = 0;

  // Resets every V8 handle; call with the isolate held (IsolateLock).
  void ReleaseHandles();
  // When the stream next has work, on the SteadyNanos() clock: its loop's next timer or fetch,
  // its wall deadline, its next look at the receiver.
  int64_t NextDue(int64_t now_ns) const;
};

}  // namespace cosmo::v8engine

#endif  // COSMO_ENGINE_V8_PARKED_STREAM_H_
