// Spare isolates, created ahead of demand so activating a version does not wait for V8 to
// deserialise the startup snapshot.
//
// Deserialising the snapshot (isolate plus context with the web-API runtime) is most of an
// activation's cost; binding a version's modules to a ready context is a fraction of it. The
// pool keeps up to `target` blank instances (isolate + context + cached dispatch functions, no
// user code) for one heap size, the size asked for last: a heap limit is fixed when an isolate is
// created. A background thread refills the pool after each Take(); each spare costs the memory of
// an idle isolate (a few MiB).
//
// Thread-safe. Owned by the EngineCore; must be destroyed before the watchdog and the snapshot.
#ifndef COSMO_ENGINE_V8_ISOLATE_POOL_H_
#define COSMO_ENGINE_V8_ISOLATE_POOL_H_

#include <cstddef>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace cosmo::v8engine {

class EngineCore;
class JsInstance;

class IsolatePool {
 public:
  IsolatePool(EngineCore* core, size_t target);
  ~IsolatePool();
  IsolatePool(const IsolatePool&) = delete;
  IsolatePool& operator=(const IsolatePool&) = delete;

  // A blank instance for a heap of `memory_bytes`, or null when none is ready (the caller then
  // creates one itself). Starts the refill thread on first use.
  std::unique_ptr<JsInstance> Take(size_t memory_bytes);

 private:
  void Run();

  EngineCore* const core_;
  const size_t target_;
  absl::Mutex mu_;
  std::vector<std::unique_ptr<JsInstance>> spares_ ABSL_GUARDED_BY(mu_);
  size_t memory_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace cosmo::v8engine

#endif  // COSMO_ENGINE_V8_ISOLATE_POOL_H_
