// WorkerPool: jobs run on its threads at once when enough are free, queued ones run when a worker
// is free, Shutdown() runs what is queued, and jobs beyond the queue are shed.
#include "http/worker_pool.h"

#include <atomic>
#include <set>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace cosmo::http {
namespace {

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
