// Turns the parked streams of a Runtime's instances (docs/architecture.md, "Parked streams").
//
// A request whose streamed response parked (Instance::ParkedStreams()) gives its instance back to
// the pool like any other and tells the driver about the pool (Track). The driver's one thread
// sleeps until the earliest NextParkedWake() of the tracked pools' idle instances, or until an
// instance's wake handler (a writer became writable, Wake()) or a Track() wakes it; then it takes
// each due instance out of its pool (TakeParkedDue: requests meanwhile get another instance),
// runs ResumeParked(), gives the instance back and hands every ended stream to `end`, which does
// the bookkeeping and tells the writer Completed(). Instances busy with a request are turned by
// the releasing thread instead (the Runtime's release path), so none ever has two threads.
//
// Thread-safe. `end` is called on the driver's thread (or Shutdown()'s caller) without locks held.
#ifndef COSMO_LIB_RUNTIME_STREAM_DRIVER_H_
#define COSMO_LIB_RUNTIME_STREAM_DRIVER_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "cosmo/engine.h"
#include "runtime/activation.h"
#include "runtime/instance_pool.h"

namespace cosmo {

class StreamDriver {
 public:
  // Bookkeeping for one ended stream of `family` served by `slot`; must call
  // ended.writer->Completed().
  using EndFn = std::function<void(const std::string& family, const VersionSlot& slot,
                                   Instance::EndedStream ended)>;

  explicit StreamDriver(EndFn end);
  // Stops the thread; Shutdown() first to end the streams.
  ~StreamDriver();
  StreamDriver(const StreamDriver&) = delete;
  StreamDriver& operator=(const StreamDriver&) = delete;

  // `slot`'s pool holds (or will, once released) an instance with parked streams.
  void Track(const std::string& family, std::shared_ptr<const VersionSlot> slot);
  // Something parked has work now (the instances' wake handler). Cheap; any thread.
  void Wake();
  // Stops the thread and ends every stream parked in a tracked pool's idle instances, cut off
  // with `reason`. Call when no request runs any more.
  void Shutdown(absl::string_view reason);

  // Streams ended through the driver (and the Runtime's release path, via Ended()).
  uint64_t streams_ended() const { return streams_ended_.load(std::memory_order_relaxed); }
  void Ended(size_t n) { streams_ended_.fetch_add(n, std::memory_order_relaxed); }

 private:
  struct Tracked {
    std::string family;
    std::shared_ptr<const VersionSlot> slot;
  };
  void Run();
  // Resumes every due instance of `tracked`; returns when its pool next has work.
  absl::Time Turn(const Tracked& tracked);
  void EndAll(const Tracked& tracked, std::vector<Instance::EndedStream> ended);

  const EndFn end_;
  absl::Mutex mu_;
  std::vector<Tracked> tracked_ ABSL_GUARDED_BY(mu_);
  bool woken_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::atomic<uint64_t> streams_ended_{0};
  std::thread thread_;
};

}  // namespace cosmo

#endif  // COSMO_LIB_RUNTIME_STREAM_DRIVER_H_
