// The worker pool behind the HTTP front end: a fixed set of threads that run requests.
//
// Each job is one request (or a run of pipelined requests) of one connection, handed over by the
// front end once the request is buffered. While fewer than `max_queued` jobs wait, a job waits for
// a worker. Beyond that it is *shed*: it runs on one of a few shedding threads with `shed` set, so
// the request handler answers 503 + Retry-After at once and closes the connection.
//
// Thread-safe.
#ifndef COSMO_LIB_HTTP_WORKER_POOL_H_
#define COSMO_LIB_HTTP_WORKER_POOL_H_

#include <atomic>
#include <cstddef>
#include <deque>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"

namespace cosmo::http {

class WorkerPool {
 public:
  // A job; `shed` is true when it runs on a shedding thread.
  using Job = absl::AnyInvocable<void(bool shed)>;

  // `shed_counter` (may be null) counts shed jobs.
  WorkerPool(size_t workers, size_t max_queued, size_t shed_workers,
             std::atomic<uint64_t>* shed_counter);
  ~WorkerPool();

  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  void Submit(Job job);
  // Runs every queued job to its end, then joins the threads. Idempotent; no Submit after it.
  void Shutdown();

 private:
  struct Lane {
    absl::Mutex mu;
    std::deque<Job> jobs ABSL_GUARDED_BY(mu);
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

#endif  // COSMO_LIB_HTTP_WORKER_POOL_H_
