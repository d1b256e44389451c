// Exclusive use of one V8 isolate by the calling thread, in place of v8::Locker.
//
// V8 lets an isolate move between threads as long as one thread at a time uses it. v8::Locker
// serialises the threads, and its top-level form also builds the thread's V8 state on entry
// (handle blocks, the entered-context lists, the stack guard's limits) and frees it all on exit:
// about 3,000 instructions and two allocations per request on a shared worker pool, 0.27 µs of a
// 2 µs warm invoke on these machines (docs/performance.md "Warm invoke without v8::Locker").
// Between two runs of the engine's JavaScript nothing of that state is live: no JavaScript frame,
// handle scope, TryCatch or entered context survives a run. So the engine keeps the state where
// V8 keeps it for a single thread and tells V8 only what differs per thread, its stack limit
// (`IsolateLock::thread_changed()`, then v8::Isolate::SetStackLimit), while an IsolateMutex
// serialises the threads as the Locker's did. Pending interrupts (a GC's, an optimised function's
// to install) stay pending to the next run instead of being dropped by a new Locker; terminations
// are cancelled where a run ends (JsInstance::DisarmCpu), as before.
//
// The engine must never construct a v8::Locker: once any Locker has existed in a process, V8
// checks on every v8::HandleScope that its thread holds the isolate's Locker, and every entry
// through an IsolateLock would then abort ("Entering the V8 API without proper locking in
// place"). IsolateLockTest pins both the switch between threads and that no Locker was made.
//
// Thread-safe: an IsolateMutex may be locked from any thread; the lock is recursive on one
// thread, like the Locker it replaces, and blocks other threads until the outermost IsolateLock
// on the holding thread ends. An IsolateLock is constructed and destroyed on one thread.
#ifndef COSMO_ENGINE_V8_ISOLATE_LOCK_H_
#define COSMO_ENGINE_V8_ISOLATE_LOCK_H_

#include <atomic>
#include <cstdint>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace cosmo::v8engine {

class IsolateMutex {
 public:
  IsolateMutex() = default;
  IsolateMutex(const IsolateMutex&) = delete;
  IsolateMutex& operator=(const IsolateMutex&) = delete;

  // A number for the calling thread that no other thread of the process ever had (thread ids and
  // pthread_t values are reused once a thread exits; a stack limit set for one must not be
  // mistaken for another's).
  static uint64_t ThisThread();

  // Takes the isolate for the calling thread (recursively). True when the calling thread is not
  // the one that held it last: the caller must then set the isolate's stack limit for this
  // thread before running JavaScript.
  bool Lock();
  void Unlock();

 private:
  absl::Mutex mu_;
  // The thread holding mu_ (0: none). Read without mu_ only to recognise the calling thread's
  // own recursive use: only a thread itself ever stores its own number here.
  std::atomic<uint64_t> owner_{0};
  int depth_ = 0;  // owner_'s recursion depth; touched only by the owner
  uint64_t last_owner_ ABSL_GUARDED_BY(mu_) = 0;  // the thread that held it last
};

// Holds an IsolateMutex for a scope. `thread_changed()`: the isolate last ran on another thread.
class IsolateLock {
 public:
  explicit IsolateLock(IsolateMutex& mutex) : mutex_(mutex), thread_changed_(mutex.Lock()) {}
  ~IsolateLock() { mutex_.Unlock(); }
  IsolateLock(const IsolateLock&) = delete;
  IsolateLock& operator=(const IsolateLock&) = delete;

  bool thread_changed() const { return thread_changed_; }

 private:
  IsolateMutex& mutex_;
  const bool thread_changed_;
};

}  // namespace cosmo::v8engine

#endif  // COSMO_ENGINE_V8_ISOLATE_LOCK_H_
