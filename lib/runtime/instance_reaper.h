// Destroys instances on a thread of its own, for the request that unloaded them.
//
// An activation over the memory budget unloads colder families before its request runs
// (LocalRuntime::MakeRoomAfterLoad). Destroying an isolate is V8's heap teardown, zeroing the
// heap pages it leaves for the next isolates and unmapping the rest (its code range), ~0.4 ms of
// CPU with the TLB flushes the unmapping costs the other cores: the request that made room should
// not wait for it. The reaper takes the instances and destroys them on its
// thread, at normal priority, so that on a busy machine they still go promptly (their memory is
// already out of the budget's count once their pool handed them over).
//
// Bounded: while kMaxQueued instances already wait, Reap() destroys what it is given itself, so a
// machine too busy for the reaper to keep up does not pile up isolates; it goes back to what the
// request did before.
//
// Thread-safe. The destructor destroys whatever is still queued and joins the thread; the owner
// destroys the reaper before the engines whose instances it may hold.
#ifndef COSMO_LIB_RUNTIME_INSTANCE_REAPER_H_
#define COSMO_LIB_RUNTIME_INSTANCE_REAPER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "cosmo/engine.h"

namespace cosmo {

class InstanceReaper {
 public:
  static constexpr size_t kMaxQueued = 64;

  InstanceReaper();
  ~InstanceReaper();
  InstanceReaper(const InstanceReaper&) = delete;
  InstanceReaper& operator=(const InstanceReaper&) = delete;

  // Takes `instances` (empties it) and destroys them on the reaper's thread, or on the caller's
  // when kMaxQueued are already waiting.
  void Reap(std::vector<std::unique_ptr<Instance>>& instances);

  // Instances destroyed so far, on the reaper's thread and by Reap() itself.
  uint64_t reaped() const;
  uint64_t reaped_inline() const;

 private:
  void Run();

  mutable absl::Mutex mu_;
  std::vector<std::unique_ptr<Instance>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t reaped_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t reaped_inline_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread thread_;
};

}  // namespace cosmo

#endif  // COSMO_LIB_RUNTIME_INSTANCE_REAPER_H_
