// The worker pool behind the HTTP front end: the threads that run requests.
//
// Each job is one request (or a run of pipelined requests) of one connection, handed over by the
// front end once the request is buffered. While fewer than `max_queued` jobs wait, a job waits for
// a worker. Beyond that it is *shed*: it runs on one of a few shedding threads with `shed` set, so
// the request handler answers 503 + Retry-After at once and closes the connection.
//
// Workers are started on demand, up to `workers`: a job that finds no idle worker starts one
// while fewer than `workers` exist (they then stay). A job goes to the worker that became idle
// last, so a light load keeps running on the same few threads, whose stacks, malloc caches and
// CPU caches are warm, instead of touching all `workers` threads in turn: a server that has
// seen at most N requests at once holds N workers' memory, not `workers`.
//
// Thread-safe.
#ifndef COSMO_LIB_HTTP_WORKER_POOL_H_
#define COSMO_LIB_HTTP_WORKER_POOL_H_

#include <atomic>
#include <cstddef>
#include <deque>
#include <memory>
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
  // Worker threads started so far (at most `workers`), and those of them waiting for a job.
  size_t started_workers() const;
  size_t idle_workers() const;

 private:
  // An idle worker waiting for a job handed to it directly.
  struct Idle {
    absl::CondVar wake;
    Job job;
    bool has_job = false;
  };
  struct ShedLane {
    absl::Mutex mu;
    std::deque<Job> jobs ABSL_GUARDED_BY(mu);
    bool stopping ABSL_GUARDED_BY(mu) = false;
    std::vector<std::thread> threads;
  };
  void Work();
  void Shed();

  const size_t workers_;
  const size_t max_queued_;
  std::atomic<uint64_t>* shed_counter_;

  mutable absl::Mutex mu_;
  std::deque<Job> queued_ ABSL_GUARDED_BY(mu_);
  // Idle workers, the one idle since most recently last.
  std::vector<Idle*> idle_ ABSL_GUARDED_BY(mu_);
  size_t running_ ABSL_GUARDED_BY(mu_) = 0;  // jobs taken by a worker and not finished
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_ ABSL_GUARDED_BY(mu_);

  ShedLane shed_;
  bool shut_down_ = false;
};

}  // namespace cosmo::http

#endif  // COSMO_LIB_HTTP_WORKER_POOL_H_
