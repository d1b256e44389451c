// WorkerPool: jobs run on its threads, queued ones run when a worker is free, a job goes to the
// worker that became idle last, and Shutdown() runs what is queued.
#include "http/worker_pool.h"

#include <atomic>
#include <set>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace cosmo::http {
namespace {

// Submits a job that records its thread and waits for it to end.
std::thread::id RunOne(WorkerPool& pool) {
  std::thread::id id;
  absl::Notification done;
  pool.Submit([&](bool shed) {
    EXPECT_FALSE(shed);
    id = std::this_thread::get_id();
    done.Notify();
  });
  done.WaitForNotification();
  return id;
}

// Until every worker waits for a job.
void AwaitAllIdle(WorkerPool& pool, size_t workers) {
  while (pool.IdleWorkers() < workers) absl::SleepFor(absl::Milliseconds(1));
}

TEST(WorkerPoolTest, ARunOfSingleJobsStaysOnTheWorkerThatWasIdleLast) {
  constexpr size_t kWorkers = 8;
  WorkerPool pool(kWorkers, 16, 1, nullptr);
  // Each job is submitted with every worker waiting, its predecessor's last (a waiter queue
  // would hand each to the worker that waited longest: eight different threads in turn).
  AwaitAllIdle(pool, kWorkers);
  const std::thread::id first = RunOne(pool);
  for (int i = 0; i < 20; ++i) {
    AwaitAllIdle(pool, kWorkers);
    EXPECT_EQ(RunOne(pool), first) << "job " << i;
  }
}

TEST(WorkerPoolTest, ConcurrentJobsRunOnDifferentWorkers) {
  constexpr int kJobs = 4;
  WorkerPool pool(kJobs, 16, 1, nullptr);
  absl::Mutex mu;
  std::set<std::thread::id> threads;
  int arrived = 0;
  absl::Notification all_done;
  std::atomic<int> done{0};
  for (int i = 0; i < kJobs; ++i) {
    pool.Submit([&](bool) {
      absl::MutexLock lock(&mu);
      threads.insert(std::this_thread::get_id());
      ++arrived;
      // Each job holds its worker until all have started: they need four workers at once.
      mu.Await(absl::Condition(
          +[](int* n) { return *n == kJobs; }, &arrived));
      if (done.fetch_add(1) + 1 == kJobs) all_done.Notify();
    });
  }
  all_done.WaitForNotification();
  EXPECT_EQ(threads.size(), static_cast<size_t>(kJobs));
}

TEST(WorkerPoolTest, JobsBeyondTheWorkersWaitAndShutdownRunsThem) {
  std::atomic<int> ran{0};
  absl::Notification release;
  {
    WorkerPool pool(1, 16, 1, nullptr);
    pool.Submit([&](bool) {
      release.WaitForNotification();
      ran.fetch_add(1);
    });
    for (int i = 0; i < 5; ++i) pool.Submit([&](bool shed) { ran.fetch_add(shed ? 100 : 1); });
    release.Notify();
    pool.Shutdown();
  }
  EXPECT_EQ(ran.load(), 6);
}

TEST(WorkerPoolTest, JobsBeyondTheQueueAreShed) {
  std::atomic<uint64_t> shed_count{0};
  absl::Notification release;
  std::atomic<int> shed_runs{0};
  WorkerPool pool(1, 1, 1, &shed_count);
  pool.Submit([&](bool) { release.WaitForNotification(); });
  // One running and one queued fill the lane (1 worker + 1 queued).
  pool.Submit([](bool) {});
  absl::Notification shed_ran;
  pool.Submit([&](bool shed) {
    if (shed) shed_runs.fetch_add(1);
    shed_ran.Notify();
  });
  shed_ran.WaitForNotification();
  EXPECT_EQ(shed_runs.load(), 1);
  EXPECT_EQ(shed_count.load(), 1u);
  release.Notify();
  pool.Shutdown();
}

}  // namespace
}  // namespace cosmo::http
