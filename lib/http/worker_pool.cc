#include "http/worker_pool.h"

#include <utility>

#include "common/thread_name.h"

namespace cosmo::http {

WorkerPool::WorkerPool(size_t workers, size_t max_queued, size_t shed_workers,
                       std::atomic<uint64_t>* shed_counter)
    : workers_(workers), max_queued_(max_queued), shed_counter_(shed_counter) {
  for (size_t i = 0; i < workers_; ++i) {
    work_.threads.emplace_back([this] {
      NameThisThread("cosmo-http-work");
      Run(&work_, false);
    });
  }
  for (size_t i = 0; i < shed_workers; ++i) {
    shed_.threads.emplace_back([this] {
      NameThisThread("cosmo-http-shed");
      Run(&shed_, true);
    });
  }
}

WorkerPool::~WorkerPool() { Shutdown(); }

void WorkerPool::Submit(Job job) {
  {
    absl::MutexLock lock(&work_.mu);
    // Counted from the jobs taken, not from threads seen idle, so jobs that arrive before the
    // threads first run are not shed.
    if (work_.jobs.size() + work_.running < workers_ + max_queued_) {
      work_.jobs.push_back(std::move(job));
      return;
    }
  }
  if (shed_counter_ != nullptr) shed_counter_->fetch_add(1, std::memory_order_relaxed);
  absl::MutexLock lock(&shed_.mu);
  shed_.jobs.push_back(std::move(job));
}

void WorkerPool::Run(Lane* lane, bool shed) {
  for (;;) {
    Job job;
    {
      absl::MutexLock lock(&lane->mu);
      lane->mu.Await(absl::Condition(
          +[](Lane* l) ABSL_NO_THREAD_SAFETY_ANALYSIS { return !l->jobs.empty() || l->stopping; },
          lane));
      if (lane->jobs.empty()) return;  // stopping and drained
      job = std::move(lane->jobs.front());
      lane->jobs.pop_front();
      ++lane->running;
    }
    job(shed);
    absl::MutexLock lock(&lane->mu);
    --lane->running;
  }
}

void WorkerPool::Shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  for (Lane* lane : {&work_, &shed_}) {
    absl::MutexLock lock(&lane->mu);
    lane->stopping = true;
  }
  for (Lane* lane : {&work_, &shed_}) {
    for (std::thread& t : lane->threads) t.join();
  }
}

}  // namespace cosmo::http
