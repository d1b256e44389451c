// Wakes another thread once per burst of work instead of once per item.
//
// A thread that hands another thread work in bursts (the stream driver turning many parked
// streams in one pass, each offering a chunk to the HTTP event loop) would wake the other thread
// for each item that finds it idle: a system call and, on a busy machine, a context switch each.
// Inside a WakeBatch the calling thread's wakes are deferred: WakeOrDefer() remembers its target
// (once, however often it is asked) and the outermost batch's end wakes each one. Work handed
// over in the batch waits at most until then, so a batch must not wait for the threads it wakes.
//
// Threads: a batch belongs to the thread that made it (thread-local; batches nest). Targets are
// held by shared_ptr until they are woken, so an owner may drop its own reference meanwhile;
// Wake() must then be harmless (see Wakeable).
#ifndef COSMO_LIB_COMMON_WAKE_BATCH_H_
#define COSMO_LIB_COMMON_WAKE_BATCH_H_

#include <memory>

namespace cosmo {

// Something a thread can be woken through (an eventfd, a condition variable). Wake() is called
// from any thread, possibly after the thread it wakes has stopped: it must then do nothing.
class Wakeable {
 public:
  virtual ~Wakeable() = default;
  virtual void Wake() = 0;
};

class WakeBatch {
 public:
  WakeBatch();
  // The outermost batch wakes every deferred target, once each, in the order first deferred.
  ~WakeBatch();
  WakeBatch(const WakeBatch&) = delete;
  WakeBatch& operator=(const WakeBatch&) = delete;

  // Wakes `target` now when the calling thread is in no batch; else at its outermost batch's end.
  static void WakeOrDefer(const std::shared_ptr<Wakeable>& target);
};

}  // namespace cosmo

#endif  // COSMO_LIB_COMMON_WAKE_BATCH_H_
