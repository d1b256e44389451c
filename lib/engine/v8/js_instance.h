// One running copy of a JavaScript Program: a V8 isolate with its context and evaluated modules.
//
// Created from the engine's startup snapshot (so the web-API runtime is already there); the
// version's modules are compiled through the Program's code cache, linked, and evaluated under
// limits.startup_cpu. Invoke() then calls the runtime's dispatch functions, whose handles are
// cached, on the calling thread.
//
// Streamed responses to a Detachable() writer park (parked_stream.h) instead of holding the thread:
// Invoke() returns with `stream_pending` once the body waits, and ResumeParked() runs the later
// sections of JavaScript of every parked stream, each as the isolate's current invocation with
// its own event loop, console, CPU budget and writer. Many streams may be parked in one isolate
// while it serves other requests.
//
// Thread-compatible: Invoke(), RunScheduled(), ResumeParked() and AbandonParked() may be called
// from any thread, never from two at once. The thread inside them holds the isolate's
// IsolateMutex (isolate_lock.h: the engine's replacement for v8::Locker, which it never uses);
// the engine's watchdog thread only ever calls TerminateExecution() on the isolate.
// ParkedStreams(), NextParkedWake() and MemoryBytes() are thread-safe. Once a CPU or memory limit
// was hit, Reusable() is false, every later Invoke() ends kInternal and every parked stream is cut
// off (kInternal, saying why): the owner collects them with ResumeParked() and discards the
// instance. The destructor cuts off streams still parked and tells their writers Completed().
#ifndef COSMO_ENGINE_V8_JS_INSTANCE_H_
#define COSMO_ENGINE_V8_JS_INSTANCE_H_

#include <v8.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "cosmo/engine.h"
#include "engine/v8/cpu_watchdog.h"
#include "engine/v8/event_loop.h"
#include "engine/v8/isolate_lock.h"
#include "engine/v8/isolate_state.h"
#include "engine/v8/js_program.h"
#include "engine/v8/limited_allocator.h"
#include "engine/v8/parked_stream.h"
#include "engine/v8/response_fields.h"
#include "engine/v8/thread_stack.h"

namespace cosmo::v8engine {

class JsInstance final : public Instance, private CpuAccounting {
 public:
  // A started instance. RESOURCE_EXHAUSTED when the top level hit the startup CPU or the memory
  // limit; FAILED_PRECONDITION for a script error ("index.js:3:14: SyntaxError: ...") or a module
  // without a default export that has a fetch() method.
  static absl::StatusOr<std::unique_ptr<JsInstance>> Create(
      std::shared_ptr<const JsProgram> program, const ScriptLimits& limits);

  // An instance with a context from the snapshot but no version bound yet, for the IsolatePool.
  // Its heap limit is `memory_bytes`; it may be created on one thread and bound on another.
  static absl::StatusOr<std::unique_ptr<JsInstance>> CreateBlank(EngineCore& core,
                                                                 size_t memory_bytes);

  // Loads a module of the runtime's own (from the engine's code cache of it, linked and evaluated
  // as a family's module is) and runs its synthetic requests through the request path (the one a
  // first request takes, with a body writer and without) on a blank instance, before any version
  // is bound, so that the version's activation and first request compile none of the runtime's
  // JavaScript and allocate none of its feedback: each new context from the snapshot starts with
  // every function lazy. The IsolatePool's refill thread warms each spare this way. Nothing of the
  // family's runs before or during it, and its garbage is collected before it returns; what stays
  // is what the runtime's snapshot warm-up left too (compiled functions, their type feedback, the
  // maps of a Request and a Response) and, reachable only from C++, the warm-up module's handler
  // and its requests' objects (~7 KB, kept so their maps survive). FAILED_PRECONDITION once a
  // version is bound; INTERNAL when the runtime failed its own request (the instance should then
  // be discarded).
  absl::Status WarmUp();

  ~JsInstance() override;

  InvokeResult Invoke(const HttpRequest& request) override;
  InvokeResult RunScheduled(const ScheduledEvent& event) override;
  bool Reusable() const override { return reusable_.load(std::memory_order_relaxed); }
  size_t MemoryBytes() const override;
  // A full, memory-reducing GC (V8's critical memory-pressure notification).
  void ReleaseMemory() override;

  size_t ParkedStreams() const override { return parked_count_.load(std::memory_order_acquire); }
  absl::Time NextParkedWake() const override;
  void SetParkedWakeHandler(std::function<void()> handler) override {
    parked_wake_->SetHandler(std::move(handler));
  }
  std::vector<EndedStream> ResumeParked() override;
  std::vector<EndedStream> AbandonParked(absl::string_view reason) override;

 private:
  struct LoadedModule {
    std::string file;
    v8::Global<v8::Module> module;
    // Set while this instance compiled the module from source and still owes the code cache.
    v8::Global<v8::UnboundModuleScript> unbound;
  };
  // Why a run of JavaScript stopped early.
  enum class Stop { kNone, kCpu, kMemory };

  JsInstance(EngineCore& core, size_t memory_bytes);

  // Isolate set-up, context from the snapshot, dispatch functions cached.
  absl::Status CreateContext();
  // Binds a version: env, modules compiled (code cache) and evaluated under startup_cpu.
  absl::Status Bind(std::shared_ptr<const JsProgram> program, const ScriptLimits& limits);
  absl::StatusOr<v8::Local<v8::Module>> LoadModule(v8::Local<v8::Context> context,
                                                   const std::string& file);
  static v8::MaybeLocal<v8::Module> ResolveModule(v8::Local<v8::Context> context,
                                                  v8::Local<v8::String> specifier,
                                                  v8::Local<v8::FixedArray> import_assertions,
                                                  v8::Local<v8::Module> referrer);
  const LoadedModule* FindModule(v8::Local<v8::Module> module) const;
  // Stores the code cache of modules this instance compiled. `final` after the first
  // successful request: that cache replaces the one written at startup and is the last.
  void WriteCodeCache(bool final);

  // The frame of Invoke() and RunScheduled(): the isolate entered, console, heap and CPU
  // accounting around `body(context, loop, result)`, limits turned into outcomes. `body_reader`
  // is the request body still arriving (native readBody), if any.
  template <typename Body>
  InvokeResult Run(size_t request_bytes, RequestBodyReader* body_reader, Body&& body);
  // The uncaught exception in `try_catch` as result's outcome and error, unless a limit stopped
  // the script (DisarmCpu() tells which).
  void SetUncaught(v8::Local<v8::Context> context, const v8::TryCatch& try_catch,
                   InvokeResult& result);
  // scheduled(controller, env, ctx), its promise and its ctx.waitUntil work.
  void RunScheduledHandler(v8::Local<v8::Context> context, const ScheduledEvent& event,
                           EventLoop& loop, InvokeResult& result);
  // Runs the handler and turns the event loop until its promise settles, then converts the
  // response and waits for ctx.waitUntil work; fills result's response, outcome and error. When
  // a CPU or memory limit stopped the script it returns early; DisarmCpu() then tells which.
  void RunHandler(v8::Local<v8::Context> context, const HttpRequest& request, EventLoop& loop,
                  InvokeResult& result);
  // After the response: turns the loop until every ctx.waitUntil promise settled, nothing can
  // settle them any more, or the wall deadline passed (each of the last two logged as a warning).
  void RunWaitUntil(v8::Local<v8::Context> context, EventLoop& loop, InvokeResult& result);
  enum class Wake { kReady, kWallTime, kStopped };
  // Blocks in the loop until it has work, with the CPU watchdog disarmed (a waiting thread uses
  // no CPU). kStopped if the watchdog fired before it was disarmed.
  Wake WaitForEvents(EventLoop& loop);
  // One turn of the loop: WaitForEvents, then the due timers and finished fetches and the
  // microtasks they queued. kStopped when the isolate is terminating (a limit stopped it).
  Wake TurnLoop(v8::Local<v8::Context> context, EventLoop& loop);
  // responseParts(value), then ReadResponseParts. False when JavaScript threw (or was stopped).
  bool ConvertResponse(v8::Local<v8::Context> context, v8::Local<v8::Value> value,
                       InvokeResult& result);
  // Fills result.response from [status, flatHeaders, body]; an invalid part is an exception
  // outcome (true). False when reading the parts threw.
  bool ReadResponseParts(v8::Local<v8::Context> context, v8::Local<v8::Array> parts,
                         InvokeResult& result);
  // ReadResponseHead, and the body too unless `body` is empty.
  bool ReadResponse(v8::Local<v8::Context> context, v8::Local<v8::Value> status,
                    v8::Local<v8::Value> headers, v8::Local<v8::Value> body, InvokeResult& result);
  // Reads a response's status and header list into result.response; false when JavaScript threw,
  // true with Outcome::kException in `result` when they are invalid.
  bool ReadResponseHead(v8::Local<v8::Context> context, v8::Local<v8::Value> status,
                        v8::Local<v8::Value> headers, InvokeResult& result);
  // Sends `response` (a Response whose body is a stream, with its head `head`) to `writer` as
  // the stream produces it, turning the event loop until the body ends, the client goes away, a
  // limit is hit or the stream errors. False when JavaScript threw.
  bool StreamResponse(v8::Local<v8::Context> context, EventLoop& loop, v8::Local<v8::Array> head,
                      v8::Local<v8::Value> response, ResponseBodyWriter* writer,
                      InvokeResult& result);
  // One turn of the event loop; false (with the outcome in `result`) when nothing could ever
  // happen again, the wall limit passed or a limit stopped JavaScript.
  bool AwaitTurn(v8::Local<v8::Context> context, EventLoop& loop, InvokeResult& result);
  // Turns the event loop until `promise` settles; false (with the outcome in `result`) when it
  // never will, it was rejected, the wall limit passed or a limit stopped JavaScript.
  bool AwaitPromise(v8::Local<v8::Context> context, EventLoop& loop, v8::Local<v8::Promise> promise,
                    InvokeResult& result);

  // The isolate taken for the calling thread (its IsolateMutex) and entered, with V8 told this
  // thread's stack limit if the isolate last ran on another one. Everything that touches the
  // isolate's heap holds one.
  class Taken {
   public:
    explicit Taken(JsInstance& instance)
        : lock_(instance.isolate_mutex_), isolate_scope_(instance.isolate_) {
      if (lock_.thread_changed()) instance.isolate_->SetStackLimit(ThreadStack::JsLimit());
    }

   private:
    IsolateLock lock_;
    v8::Isolate::Scope isolate_scope_;
  };

  // The isolate taken and entered for a run of JavaScript, with the context entered; the
  // thread's JavaScript stack pages are given back once it ends.
  class Entered {
   public:
    explicit Entered(JsInstance& instance)
        : taken_(instance),
          handle_scope_(instance.isolate_),
          context_(instance.context_.Get(instance.isolate_)),
          context_scope_(context_) {}
    v8::Local<v8::Context> context() const { return context_; }

   private:
    ThreadStack::Scope stack_scope_;  // first: outlives the run
    Taken taken_;
    v8::HandleScope handle_scope_;
    v8::Local<v8::Context> context_;
    v8::Context::Scope context_scope_;
  };

  // Detached streams (parked_stream.h). The running invocation's stream, once StreamResponse
  // decided to park it, is completed by Park() at the end of Run().
  void Park(std::unique_ptr<EventLoop> loop, int64_t wall_start_ns, InvokeResult& result);
  // One section of JavaScript for `stream` if it has work at `now_ns`: a woken writer, the
  // receiver's departure, due timers and fetches, the pump's end, its waitUntil promises, its
  // deadline. True when it ended (its result is final).
  bool ResumeStream(v8::Local<v8::Context> context, ParkedStream& stream, int64_t now_ns);
  // The work of a section, between EnterStream and LeaveStream; true when the stream ended.
  bool TurnStream(v8::Local<v8::Context> context, ParkedStream& stream, int64_t now_ns);
  // Makes `stream` the isolate's current invocation (IsolateState, CPU watchdog armed with its
  // remaining budget, heap accounting), and back.
  void EnterStream(ParkedStream& stream);
  Stop LeaveStream(ParkedStream& stream);
  // Asks the writer to wake the instance once it can take the held piece.
  void RequestWake(ParkedStream& stream);
  // The stream's final result, for its owner; releases its handles (with the isolate Taken).
  EndedStream EndStream(ParkedStream& stream, int64_t now_ns);
  // Ends every parked stream, cut off with kInternal and `reason`, into ended_ (with the
  // isolate Taken).
  void CutOffParked(const std::string& reason);
  // Publishes the parked count and the next wake for other threads.
  void PublishParked();
  // The outcome and error of a section a limit stopped; `cpu_used_ns` and `wall_ns`, the CPU and
  // wall time the request was counted, go into the CPU limit's message.
  void SetLimitOutcome(Stop stop, int64_t cpu_used_ns, int64_t wall_ns, InvokeResult& result) const;
  // The heap accounting of a section of JavaScript: starts it, and adds its allocation and peak
  // to `usage`.
  // `whole`: read the whole heap at the end whatever else says (see EndHeapSection).
  size_t BeginHeapSection();
  void EndHeapSection(size_t heap_start, InvocationUsage& usage, bool whole = false);

  // Arms the watchdog for `budget_ns` of CPU in the section cpu_account_ describes, from
  // `now_ns` (the steady clock the caller just read; -1: read it).
  void ArmCpu(int64_t budget_ns, int64_t now_ns = -1);
  // CpuAccounting, for natives that block (BlockingHostCall): disarms the watchdog (noting
  // whether it fired) and arms it again with the section's budget.
  void Pause() override;
  void Resume() override;
  // Disarms and, if a limit stopped JavaScript, cancels the termination and condemns the
  // instance. Call after the last JavaScript of the guarded section, on the isolate's thread.
  Stop DisarmCpu();
  // The whole heap in use (GetHeapStatistics: exact, and the dearest reading on the request path).
  size_t UsedHeapBytes();
  // Bytes in use in the young generation (new space and new large-object space), where the
  // objects a script creates are allocated: two GetHeapSpaceStatistics calls.
  size_t YoungUsedBytes();
  // Finds the young generation's space indices (young_spaces_) once the isolate exists.
  void FindYoungSpaces();

  static size_t NearHeapLimit(void* data, size_t current_heap_limit, size_t initial_heap_limit);
  static void GcPrologue(v8::Isolate* isolate, v8::GCType type, v8::GCCallbackFlags flags,
                         void* data);
  static void GcEpilogue(v8::Isolate* isolate, v8::GCType type, v8::GCCallbackFlags flags,
                         void* data);

  // The engine's shared state; kept alive by program_ once bound, by the pool before.
  EngineCore* const core_;
  std::shared_ptr<const JsProgram> program_;
  ScriptLimits limits_;
  int64_t cpu_budget_ns_ = 0;
  // The CPU the running request (or top level) has used, carried across the turns of its event
  // loop, and whether the watchdog fired while the request was between turns.
  CpuWatchdog::CpuAccount cpu_account_;
  // Whether the watchdog is armed now, the budget it was last armed with, and whether a Pause()
  // found it armed.
  bool cpu_armed_ = false;
  int64_t armed_budget_ns_ = 0;
  bool paused_armed_ = false;
  bool cpu_fired_ = false;
  std::unique_ptr<LimitedAllocator> allocator_;
  IsolateState state_;
  v8::Isolate* isolate_ = nullptr;
  CpuWatchdog::Slot* watchdog_slot_ = nullptr;

  v8::Global<v8::Context> context_;
  v8::Global<v8::Object> handler_;
  // WarmUp()'s handler, which keeps its requests' objects (kWarmUpModule): for the maps.
  v8::Global<v8::Object> warm_up_kept_;
  v8::Global<v8::Object> env_;
  v8::Global<v8::Function> invoke_fast_;
  v8::Global<v8::Function> scheduled_;
  v8::Global<v8::Function> response_parts_;
  v8::Global<v8::Function> stream_head_;
  v8::Global<v8::Function> pump_body_;
  v8::Global<v8::Function> abort_request_;
  v8::Global<v8::Function> make_kv_namespace_;
  // "GET", the method of most requests, made once instead of on every request.
  v8::Global<v8::String> method_get_;
  KnownHeader text_plain_;  // state_.text_plain
  std::vector<LoadedModule> modules_;
  bool code_cache_final_ = false;

  // Serialises the threads that use isolate_ (Taken); outlives it.
  IsolateMutex isolate_mutex_;

  // Set by the near-heap-limit callback (on the isolate's thread, inside a GC).
  bool memory_hit_ = false;
  // Heap accounting of the running invocation, kept by the GC callbacks.
  size_t gc_freed_bytes_ = 0;
  size_t gc_start_used_ = 0;
  size_t peak_heap_bytes_ = 0;
  // Whether last_heap_used_ (an exact reading plus the young generation's growth since) and
  // young_used_ still describe the heap in use: no GC or task ran since they were taken.
  bool heap_known_ = false;
  // The young generation in use when last_heap_used_ was last brought up to date.
  size_t young_used_ = 0;
  // Heap space indices of the young generation; empty when V8 did not name both, and then every
  // section reads the whole heap.
  std::vector<size_t> young_spaces_;
  // Sections measured since the last whole reading (EndHeapSection reads it every
  // kExactHeapEvery-th).
  uint64_t sections_since_whole_ = 0;
  // Old-generation growth found outside any section (ReleaseMemory), for the next section.
  size_t unbilled_bytes_ = 0;
  uint64_t invocations_ = 0;

  // The invocation parking now (StreamResponse to Run), the parked streams, and those that ended
  // but were not yet handed to the owner (cut off by a limit another request hit).
  std::unique_ptr<ParkedStream> parking_;
  // Keyed by each stream's next_due_ns: a pass runs only the due ones.
  std::multimap<int64_t, std::unique_ptr<ParkedStream>> parked_;
  std::vector<EndedStream> ended_;
  std::atomic<size_t> parked_count_{0};
  std::atomic<int64_t> next_parked_wake_ns_{INT64_MAX};  // SteadyNanos; INT64_MIN: at once
  const std::shared_ptr<ParkedWake> parked_wake_ = std::make_shared<ParkedWake>();
  size_t section_heap_start_ = 0;  // of the parked stream's section running now

  std::atomic<bool> reusable_{true};
  std::atomic<size_t> last_heap_used_{0};
};

}  // namespace cosmo::v8engine

#endif  // COSMO_ENGINE_V8_JS_INSTANCE_H_
