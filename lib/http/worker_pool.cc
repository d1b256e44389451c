#include "http/worker_pool.h"

#include <utility>

namespace cosmo::http {

WorkerPool::WorkerPool(size_t workers, size_t max_queued, size_t shed_workers,
                       std::atomic<uint64_t>* shed_counter)
    : workers_(workers), max_queued_(max_queued), shed_counter_(shed_counter) {
  for (size_t i = 0; i < shed_workers; ++i) shed_.threads.emplace_back([this] { Shed(); });
}

WorkerPool::~WorkerPool() { Shutdown(); }

void WorkerPool::Submit(Job job) {
  {
    absl::MutexLock lock(&mu_);
    if (!idle_.empty()) {
      Idle* worker = idle_.back();
      idle_.pop_back();
      worker->job = std::move(job);
      worker->has_job = true;
      ++running_;
      worker->wake.Signal();
      return;
    }
    // Counted from the jobs taken and queued, not from threads seen idle, so jobs that arrive
    // before new workers first run are not shed.
    if (queued_.size() + running_ < workers_ + max_queued_) {
      queued_.push_back(std::move(job));
      if (threads_.size() < workers_ && threads_.size() < running_ + queued_.size()) {
        threads_.emplace_back([this] { Work(); });
      }
      return;
    }
  }
  if (shed_counter_ != nullptr) shed_counter_->fetch_add(1, std::memory_order_relaxed);
  absl::MutexLock lock(&shed_.mu);
  shed_.jobs.push_back(std::move(job));
}

void WorkerPool::Work() {
  Idle self;
  absl::MutexLock lock(&mu_);
  for (;;) {
    Job job;
    if (!queued_.empty()) {
      job = std::move(queued_.front());
      queued_.pop_front();
      ++running_;
    } else if (stopping_) {
      return;
    } else {
      idle_.push_back(&self);
      while (!self.has_job && !stopping_) self.wake.Wait(&mu_);
      if (!self.has_job) {
        // Stopping: no longer idle.
        for (auto it = idle_.begin(); it != idle_.end(); ++it) {
          if (*it == &self) {
            idle_.erase(it);
            break;
          }
        }
        continue;  // runs what is still queued, then returns
      }
      job = std::move(self.job);
      self.has_job = false;
    }
    mu_.Unlock();
    job(false);
    job = nullptr;  // destroyed outside the lock
    mu_.Lock();
    --running_;
  }
}

void WorkerPool::Shed() {
  for (;;) {
    Job job;
    {
      absl::MutexLock lock(&shed_.mu);
      shed_.mu.Await(absl::Condition(
          +[](ShedLane* l)
               ABSL_NO_THREAD_SAFETY_ANALYSIS { return !l->jobs.empty() || l->stopping; },
          &shed_));
      if (shed_.jobs.empty()) return;  // stopping and drained
      job = std::move(shed_.jobs.front());
      shed_.jobs.pop_front();
    }
    job(true);
  }
}

size_t WorkerPool::started_workers() const {
  absl::MutexLock lock(&mu_);
  return threads_.size();
}

size_t WorkerPool::idle_workers() const {
  absl::MutexLock lock(&mu_);
  return idle_.size();
}

void WorkerPool::Shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  std::vector<std::thread> threads;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    for (Idle* worker : idle_) worker->wake.Signal();
    threads.swap(threads_);
  }
  {
    absl::MutexLock lock(&shed_.mu);
    shed_.stopping = true;
  }
  for (std::thread& t : threads) t.join();
  for (std::thread& t : shed_.threads) t.join();
}

}  // namespace cosmo::http
