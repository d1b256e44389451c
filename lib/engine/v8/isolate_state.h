// Per-isolate state that native callbacks reach through v8::Isolate::GetData(kIsolateStateSlot).
//
// Natives are plain function pointers (they must be, to be listed as snapshot external
// references), so everything they need from the instance lives here. Owned by the JsInstance (or
// validation run) that owns the isolate; touched only by the thread holding the isolate
// (IsolateLock).
#ifndef COSMO_ENGINE_V8_ISOLATE_STATE_H_
#define COSMO_ENGINE_V8_ISOLATE_STATE_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "cosmo/invocation.h"
#include "cosmo/kv.h"

namespace cosmo::v8engine {

class EventLoop;
class LimitedAllocator;
struct KnownHeader;
struct HeldPiece;

// KV use of the running request, counted by the KV natives (kv_natives.h).
struct KvCounters {
  uint64_t operations = 0;
  uint64_t reads = 0;
  uint64_t writes = 0;
  uint64_t deletes = 0;
  uint64_t lists = 0;
  uint64_t bytes_read = 0;
  uint64_t bytes_written = 0;
};

inline constexpr uint32_t kIsolateStateSlot = 0;

// Stops and restarts the running request's CPU accounting (the instance's, see
// cpu_watchdog.h) around a host call that blocks the thread: the wait is not the script's CPU.
class CpuAccounting {
 public:
  virtual void Pause() = 0;
  virtual void Resume() = 0;

 protected:
  ~CpuAccounting() = default;
};

// console output kept per invocation; beyond these, further calls are counted but dropped so a
// logging loop cannot exhaust host memory.
inline constexpr size_t kMaxConsoleMessages = 1000;
inline constexpr size_t kMaxConsoleBytes = size_t{1} << 20;

struct IsolateState {
  LimitedAllocator* allocator = nullptr;
  // Where console.* goes; null outside a request (top-level logs at startup are dropped).
  std::vector<ConsoleMessage>* console = nullptr;
  size_t console_bytes = 0;
  size_t console_dropped = 0;
  // The running request's timers, fetches and waitUntil promises; null outside a request, where
  // setTimeout and fetch throw.
  EventLoop* loop = nullptr;
  // Where the running request's streamed response body goes (native writeBody); null when it is
  // not being streamed. `body_bytes` counts what was written.
  ResponseBodyWriter* body_writer = nullptr;
  uint64_t body_bytes = 0;
  // Set when that writer is detached (ResponseBodyWriter::Detachable): writeBody offers pieces
  // with TryWrite and never waits; a piece the writer cannot take yet is held here
  // (parked_stream.h).
  HeldPiece* held_piece = nullptr;
  // The running request's body while it is still arriving (native readBody); null when the body
  // came whole. `request_body_bytes` counts what was read.
  RequestBodyReader* body_reader = nullptr;
  uint64_t request_body_bytes = 0;
  // Body bytes streamed through the isolate (either direction) since it was last asked to collect
  // garbage: see natives.cc, CollectStreamedGarbage.
  uint64_t streamed_since_gc = 0;
  // The namespaces env bindings reach (JavaScriptEngineOptions::kv); null when the engine has
  // none, where KV calls throw. `kv_counters` are reset per request.
  KvStore* kv = nullptr;
  KvCounters kv_counters;
  // Set by natives whose output would not fit in the memory budget; they terminate the script,
  // and the owner reports the memory-limit outcome rather than a CPU one.
  bool memory_exceeded = false;
  // The owner's CPU accounting, paused by BlockingHostCall; null for a validation run.
  CpuAccounting* cpu = nullptr;
  // Where the native respond() puts a synchronous response while invokeFast runs; it is reset
  // to null once respond() filled it, so the owner can tell that it did. Null otherwise.
  InvokeResult* response_to = nullptr;
  // The header a text response carries, taken by identity (response_fields.h); null when the
  // owner has none.
  const KnownHeader* text_plain = nullptr;
};

// Scope of a native's blocking call (a KV operation, a read of the request body, a write of the
// response body): the CPU accounting is paused for its duration.
class BlockingHostCall {
 public:
  explicit BlockingHostCall(IsolateState* state) : cpu_(state != nullptr ? state->cpu : nullptr) {
    if (cpu_ != nullptr) cpu_->Pause();
  }
  ~BlockingHostCall() {
    if (cpu_ != nullptr) cpu_->Resume();
  }
  BlockingHostCall(const BlockingHostCall&) = delete;
  BlockingHostCall& operator=(const BlockingHostCall&) = delete;

 private:
  CpuAccounting* const cpu_;
};

}  // namespace cosmo::v8engine

#endif  // COSMO_ENGINE_V8_ISOLATE_STATE_H_
