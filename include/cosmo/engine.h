// A language runtime: turns a version's Manifest into running code.
//
// The Runtime owns one Engine per language ("javascript", "liquid") and never sees what is inside:
//
//   Engine      validates manifests at deploy and prepares a version's code. One per Runtime and
//               language. Thread-safe.
//   Program     one version's prepared code (compiled, cached). Shared by every activation of that
//               version; thread-safe; immutable.
//   Instance    one running copy of a Program (for JavaScript: an isolate with its context). Serves
//               one request at a time; callable from any thread, but never from two at once
//               (thread-compatible). Several Instances of one Program run in parallel.
//
// Lifetimes: an Engine outlives its Programs (the built-in engines relax this: their Programs and
// Instances keep what they need alive); a Program outlives its Instances (Instances hold a
// shared_ptr to their Program).
#ifndef COSMO_ENGINE_H_
#define COSMO_ENGINE_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "cosmo/invocation.h"
#include "cosmo/limits.h"
#include "cosmo/manifest.h"

namespace cosmo {

class Instance {
 public:
  virtual ~Instance() = default;

  // Runs the handler on `request` within the limits the instance was made with and reports how it
  // ended. Never throws; every failure is an Outcome in the result. Blocks the calling thread until
  // the response is ready.
  virtual InvokeResult Invoke(const HttpRequest& request) = 0;

  // Runs the module's scheduled(controller, env, ctx) handler for one cron tick within the same
  // limits, waiting for its promise and ctx.waitUntil work, and reports how it ended like
  // Invoke() (the response is empty). An engine without scheduled handlers (the default) ends it
  // in Outcome::kException saying so.
  virtual InvokeResult RunScheduled(const ScheduledEvent& event) {
    InvokeResult result;
    result.outcome = Outcome::kException;
    result.error = "this engine runs no scheduled() handlers";
    return result;
  }

  // False once the instance must not serve again (it hit a memory limit, or a CPU limit left its
  // state half-updated). The owner discards it and instantiates a fresh one.
  virtual bool Reusable() const = 0;

  // Memory the instance holds (heap as last measured plus ArrayBuffer memory), for the runtime's
  // memory budget. Called between requests, never during Invoke().
  virtual size_t MemoryBytes() const = 0;

  // Gives back what an idle instance can (for JavaScript a full, memory-reducing GC: ~60 KB of an
  // instance that served one request, ~300 KB of one that served 1,000; docs/performance.md,
  // "Where a warm family's memory goes"), and updates MemoryBytes(). Called between requests,
  // never during Invoke(); takes milliseconds. The default does nothing.
  virtual void ReleaseMemory() {}

  // Parked streams: responses whose Invoke() returned with `response.stream_pending` (their
  // writer was Detachable()) and whose body this instance still produces. The owner keeps the
  // instance (it may serve other requests meanwhile) and turns them with ResumeParked().
  struct EndedStream {
    ResponseBodyWriter* writer = nullptr;
    InvokeResult result;  // final outcome, error, usage and console of the stream's invocation
  };
  // How many streams are parked. Called like MemoryBytes().
  virtual size_t ParkedStreams() const { return 0; }
  // When ResumeParked() next has work: the earliest timer, fetch or wall deadline of a parked
  // stream; absl::InfinitePast() once a writer woke one; absl::InfiniteFuture() when none is
  // parked. Thread-safe.
  virtual absl::Time NextParkedWake() const { return absl::InfiniteFuture(); }
  // Called (on any thread, possibly the writer's) whenever NextParkedWake() moves earlier than
  // the owner may have seen — a writer became writable or its receiver left. Set once, before the
  // first Invoke(); must be cheap and must not call back into the instance.
  virtual void SetParkedWakeHandler(std::function<void()> handler) {}
  // Runs what is due for the parked streams (timers, finished fetches, woken writers, deadlines)
  // and returns those that ended. Their writers' Completed() has not been called: the owner calls
  // it after its own bookkeeping. Called like Invoke(): by the one thread holding the instance.
  virtual std::vector<EndedStream> ResumeParked() { return {}; }
  // Ends every parked stream now (the instance is being discarded): each is cut off, its result
  // saying why (`reason`), and returned like ResumeParked()'s.
  virtual std::vector<EndedStream> AbandonParked(absl::string_view reason) { return {}; }
};

class Program {
 public:
  virtual ~Program() = default;

  // A fresh instance with the given limits. Runs the module's top level under
  // limits.startup_cpu: a failure there is RESOURCE_EXHAUSTED (limit) or FAILED_PRECONDITION
  // (a script error), naming the cause.
  virtual absl::StatusOr<std::unique_ptr<Instance>> Instantiate(const ScriptLimits& limits) = 0;

  virtual const std::string& version() const = 0;
};

class Engine {
 public:
  virtual ~Engine() = default;

  // The manifest `engine` value this engine runs, e.g. "javascript".
  virtual absl::string_view name() const = 0;

  // Deploy-time check of a manifest for this engine. INVALID_ARGUMENT for bad code, with the file,
  // line and column ("index.js:3:14: SyntaxError: Unexpected token '}'"), or a missing entry point.
  virtual absl::Status Validate(const Manifest& manifest) = 0;

  // Prepares `manifest` (whose name is `version`) for instantiation, reusing cached compiled code
  // when this version was prepared before. INVALID_ARGUMENT for a manifest this engine does not
  // run; code errors surface from Program::Instantiate().
  virtual absl::StatusOr<std::shared_ptr<Program>> Prepare(const std::string& version,
                                                           const Manifest& manifest) = 0;

  // Whether the host is short of memory for instances (the runtime's memory budget is full): an
  // engine then spends CPU where that saves memory. The JavaScript engine collects the garbage an
  // isolate it builds on demand (no spare ready) brings from the startup snapshot, ~0.3 MB of
  // dead maps and objects, with one full GC (~1.5 ms) before it binds the program, as it always
  // does for spares. Any thread; cheap (one atomic store).
  virtual void SetMemoryShort(bool short_of_memory) {}

  // The host is idle and gives memory back (the runtime's idle release, after the idle unloads
  // and before glibc's malloc_trim): an engine returns to the system what it keeps for reuse.
  // The JavaScript engine unmaps the heap pages of torn-down isolates it pools for the next
  // isolates, which would otherwise stay resident for a second or two after the last unload.
  // Any thread; may take a few milliseconds (the unmapping).
  virtual void ReleaseIdleMemory() {}
};

}  // namespace cosmo

#endif  // COSMO_ENGINE_H_
