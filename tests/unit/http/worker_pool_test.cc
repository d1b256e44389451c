#include "http/worker_pool.h"

#include <atomic>
#include <set>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace cosmo::http {
namespace {

TEST(WorkerPoolTest, OneJobAtATimeRunsOnOneWorkerStartedOnDemand) {
  WorkerPool pool(/*workers=*/64, /*max_queued=*/16, /*shed_workers=*/1, nullptr);
  EXPECT_EQ(pool.started_workers(), 0u);
  std::set<std::thread::id> ran_on;
  for (int i = 0; i < 50; ++i) {
    absl::Notification done;
    pool.Submit([&](bool shed) {
      EXPECT_FALSE(shed);
      ran_on.insert(std::this_thread::get_id());
      done.Notify();
    });
    done.WaitForNotification();
    // Until the worker is back among the idle ones (it runs on after the job's Notify).
    while (pool.idle_workers() != pool.started_workers()) std::this_thread::yield();
  }
  EXPECT_EQ(pool.started_workers(), 1u);
  EXPECT_EQ(ran_on.size(), 1u);
}

TEST(WorkerPoolTest, ConcurrentJobsStartWorkersUpToTheLimitThenQueueThenShed) {
  std::atomic<uint64_t> shed{0};
  WorkerPool pool(/*workers=*/3, /*max_queued=*/2, /*shed_workers=*/1, &shed);
  absl::Mutex mu;
  bool release = false;
  int running = 0;
  std::atomic<int> finished{0};
  std::atomic<int> shed_runs{0};
  auto blocking = [&](bool was_shed) {
    if (was_shed) {
      ++shed_runs;
      return;
    }
    absl::MutexLock lock(&mu);
    ++running;
    mu.Await(absl::Condition(&release));
    ++finished;
  };
  for (int i = 0; i < 3; ++i) pool.Submit(blocking);
  {
    absl::MutexLock lock(&mu);
    mu.Await(absl::Condition(
        +[](int* r) { return *r == 3; }, &running));
  }
  EXPECT_EQ(pool.started_workers(), 3u);
  pool.Submit(blocking);  // queued
  pool.Submit(blocking);  // queued
  pool.Submit(blocking);  // over workers + max_queued: shed
  EXPECT_EQ(shed.load(), 1u);
  EXPECT_EQ(pool.started_workers(), 3u);
  {
    absl::MutexLock lock(&mu);
    release = true;
  }
  pool.Shutdown();  // runs the queued jobs to their end
  EXPECT_EQ(finished.load(), 5);
  EXPECT_EQ(shed_runs.load(), 1);
}

}  // namespace
}  // namespace cosmo::http
