// The JavaScript engine: Workers-style ES-module handlers on V8.
//
// NewJavaScriptEngine() returns the Engine for manifests with engine "javascript". Each Program is
// one version's modules with their V8 code cache; each Instance is one V8 isolate started from a
// startup snapshot of the web-API runtime, with the version's modules loaded and evaluated. A
// request runs `default.fetch(request, env, ctx)` on the calling thread under the instance's
// limits: a per-request CPU limit (thread CPU time, enforced by a watchdog thread), a heap plus
// ArrayBuffer budget, and a stack limit. See engine.h for the Engine/Program/Instance contract.
//
// Ownership: the caller owns the engine; Programs and Instances keep the engine's shared
// internals alive, so they may outlive the JavaScriptEngine object itself.
// Thread-safety: JavaScriptEngine is thread-safe, like every Engine.
#ifndef COSMO_JAVASCRIPT_ENGINE_H_
#define COSMO_JAVASCRIPT_ENGINE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "cosmo/engine.h"
#include "cosmo/kv.h"

namespace cosmo {

struct JavaScriptEngineOptions {
  // Whether scripts may generate code at run time: eval(), new Function() and WebAssembly.
  // False is the server's --disallow-codegen; scripts then get EvalError / CompileError.
  bool allow_codegen = true;
  // How often the watchdog samples the CPU clock of threads running JavaScript. A request that
  // overruns its CPU limit is stopped within about this much extra CPU time; a request shorter
  // than this is metered by its running wall time, so the request path reads no CPU clock.
  absl::Duration watchdog_interval = absl::Milliseconds(1);
  // Versions whose compiled code the engine keeps (least recently prepared dropped first).
  size_t max_cached_versions = 256;
  // Isolates kept ready (startup snapshot already deserialised) for the next activation, refilled
  // by a background thread; each costs an idle isolate's memory (a few MiB). 0 disables the pool:
  // every activation then deserialises its own isolate.
  size_t spare_isolates = 1;
  // Classic scripts evaluated into the startup snapshot after the web-API runtime, in order, so
  // every isolate starts with what they define (the Liquid engine puts LiquidJS here). They run
  // once, at engine creation; one that throws fails NewJavaScriptEngine() with INTERNAL. One may
  // define a non-enumerable global function `__cosmo_warm_up(request)`: each spare isolate's
  // warm-up calls it (and awaits what it returns) to compile that runtime's code off the request
  // path; should it throw, no spare is made and activations build their own isolates.
  std::vector<std::string> extra_runtime_scripts;

  // Outbound fetch(). Destinations are checked after DNS resolution: loopback, private, shared
  // (CGNAT), link-local, cloud-metadata, multicast, unspecified and reserved addresses (IPv4 and
  // IPv6, embedded forms included) are refused with a TypeError, except for hosts listed here as
  // "HOST" (any port) or "HOST:PORT", IPv6 in brackets ("[::1]:8080"); the host is matched as
  // written in the URL. This is the server's --fetch-allow.
  std::vector<std::string> fetch_allow;
  // PEM file of the certificate authorities https fetches trust; empty = the system store.
  std::string fetch_ca_file;
  // Largest response body one fetch() reads; a larger one rejects with a TypeError.
  size_t fetch_max_response_bytes = size_t{32} << 20;
  // How long fetch() may take to connect (DNS, TCP and TLS handshakes) to one destination.
  absl::Duration fetch_connect_timeout = absl::Seconds(10);
  // The KV namespaces that a manifest's `kv` bindings reach as env.BINDING (docs/kv.md).
  // Borrowed; must outlive the engine and everything it made. Null: scripts whose manifest binds
  // a namespace get an env object whose methods reject.
  KvStore* kv = nullptr;
};

// Counters since the engine was created. Monotonic; read with JavaScriptEngine::Stats().
struct JavaScriptEngineStats {
  uint64_t modules_compiled = 0;     // module sources parsed and compiled from scratch
  uint64_t code_cache_hits = 0;      // modules loaded from the code cache, without compiling
  uint64_t code_cache_rejected = 0;  // cached code V8 refused (then compiled from scratch)
  uint64_t isolates_created = 0;     // instances and validation runs
  uint64_t spares_warmed = 0;        // spare isolates warmed up and handed to the pool
};

// The JavaScript Engine, with introspection beyond the Engine interface. Thread-safe.
class JavaScriptEngine : public Engine {
 public:
  virtual JavaScriptEngineStats Stats() const = 0;
};

// Creates the engine: initialises V8 for the process (once) and builds the startup snapshot of
// the web-API runtime. INVALID_ARGUMENT names a bad option field; INTERNAL if the runtime cannot
// be snapshotted. Creating several engines in one process is allowed; each has its own snapshot,
// caches and watchdog thread. V8 is the engine's for the process: a program that also uses V8
// directly must not construct a v8::Locker, since the engine moves isolates between threads
// without one (lib/engine/v8/isolate_lock.h) and V8 rejects that once any Locker existed.
absl::StatusOr<std::unique_ptr<JavaScriptEngine>> NewJavaScriptEngine(
    const JavaScriptEngineOptions& options = {});

}  // namespace cosmo

#endif  // COSMO_JAVASCRIPT_ENGINE_H_
