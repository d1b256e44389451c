// The worker pool behind the HTTP server, replacing cpp-httplib's ThreadPool (whose job list is
// unbounded and whose Debian build has max(8, cores - 1) threads).
//
// Each job is one accepted connection, served to its end (keep-alive included) by one worker.
// While fewer than `max_queued` connections wait, a job waits for a worker. Beyond that the job is
// *shed*: it runs on one of a few shedding threads with ConnectionState::shed set, so the request
// handler answers 503 + Retry-After at once and closes. (cpp-httplib hands the queue an opaque
// closure, not the socket, so the connection cannot be refused without running it.)
//
// Per-connection state lives in a thread_local reset at the start of every job, which is what
// lets handlers close a connection whose framing they distrust ("poisoned").
//
// Thread-safe.
#ifndef COSMO_LIB_HTTP_BOUNDED_TASK_QUEUE_H_
#define COSMO_LIB_HTTP_BOUNDED_TASK_QUEUE_H_

#include <httplib.h>

#include <atomic>
#include <cstddef>
#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace cosmo::http {

// State of the connection the current thread is serving.
struct ConnectionState {
  bool shed = false;           // answer 503 and close: the pool was full when it arrived
  bool poisoned = false;       // a framing error was answered: refuse whatever follows and close
  bool host_response = false;  // the response being written was produced by our handlers
};
ConnectionState& CurrentConnection();

class BoundedTaskQueue final : public httplib::TaskQueue {
 public:
  BoundedTaskQueue(size_t workers, size_t max_queued, size_t shed_workers,
                   std::atomic<uint64_t>* shed_counter);
  ~BoundedTaskQueue() override;

  void enqueue(std::function<void()> fn) override;
  // Runs every queued job to its end, then joins the threads.
  void shutdown() override;

 private:
  struct Lane {
    absl::Mutex mu;
    std::deque<std::function<void()>> jobs ABSL_GUARDED_BY(mu);
    bool stopping ABSL_GUARDED_BY(mu) = false;
    size_t running ABSL_GUARDED_BY(mu) = 0;  // jobs taken by a thread and not finished
    std::vector<std::thread> threads;
  };
  void Run(Lane* lane, bool shed);

  const size_t workers_;
  const size_t max_queued_;
  std::atomic<uint64_t>* shed_counter_;
  Lane work_;
  Lane shed_;
  bool shut_down_ = false;
};

}  // namespace cosmo::http

#endif  // COSMO_LIB_HTTP_BOUNDED_TASK_QUEUE_H_
