// InstancePool: a request that finds every instance busy waits for one before starting another;
// the pool grows once requests have been kept waiting (the union of their waits, not the sum) for
// as long as a start takes, one start at a time — while most requests park streams, only up to
// its parking bound as long as instances keep coming back; instances beyond the newest are
// destroyed after an idle period or when memory is short.
#include "runtime/instance_pool.h"

#include <memory>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cosmo/clock.h"
#include "gtest/gtest.h"
#include "support/scripted_engine.h"

namespace cosmo {
namespace {

using ::cosmo::testing::ScriptedEngine;
using ::cosmo::testing::ScriptManifest;

class InstancePoolTest : public ::testing::Test {
 protected:
  std::unique_ptr<InstancePool> PoolOf(const std::string& source, size_t max_instances = 8,
                                       InstancePoolParkingLimits parking = {}) {
    auto program = engine_.Prepare("v1", ScriptManifest(source));
    EXPECT_TRUE(program.ok()) << program.status();
    return std::make_unique<InstancePool>(*std::move(program), ScriptLimits(), max_instances,
                                          &counters_, &clock_, nullptr, parking);
  }

  // Two instances of `pool`, lent out and given back `rounds` times as `lent`, then both held.
  std::vector<std::unique_ptr<Instance>> TwoHeldAfter(InstancePool& pool, InstancePool::Lent lent,
                                                      int rounds) {
    std::vector<std::unique_ptr<Instance>> two;
    two.push_back(MustAcquire(pool));
    two.push_back(MustAcquire(pool));  // the rent of waiting for the first buys the second
    for (int i = 0; i < rounds; ++i) {
      pool.Release(std::move(two[i % 2]), lent);
      two[i % 2] = MustAcquire(pool);
    }
    return two;
  }

  std::unique_ptr<Instance> MustAcquire(InstancePool& pool) {
    auto instance = pool.Acquire(absl::Seconds(30));
    EXPECT_TRUE(instance.ok()) << instance.status();
    return instance.ok() ? *std::move(instance) : nullptr;
  }

  ScriptedEngine engine_;
  InstancePoolCounters counters_;
  ManualClock clock_;
};

TEST_F(InstancePoolTest, ABusyInstanceComingBackSoonIsReusedRatherThanStartingAnother) {
  // Starting an instance takes 2 s; the busy one comes back after about 50 ms.
  auto pool = PoolOf("slow-start 2000");
  std::unique_ptr<Instance> first = MustAcquire(*pool);
  ASSERT_NE(first, nullptr);
  Instance* first_raw = first.get();
  std::thread releaser([&] {
    absl::SleepFor(absl::Milliseconds(50));
    pool->Release(std::move(first));
  });
  std::unique_ptr<Instance> second = MustAcquire(*pool);
  releaser.join();
  EXPECT_EQ(second.get(), first_raw);
  EXPECT_EQ(counters_.created.load(), 1u);
  EXPECT_EQ(pool->live_instances(), 1u);
  pool->Release(std::move(second));
}

TEST_F(InstancePoolTest, AnotherStartsOnceTheWaitAddsUpToAStart) {
  auto pool = PoolOf("slow-start 100");
  std::unique_ptr<Instance> first = MustAcquire(*pool);
  // Nobody gives `first` back: after waiting about one start's time, a second one starts.
  std::unique_ptr<Instance> second = MustAcquire(*pool);
  ASSERT_NE(second, nullptr);
  EXPECT_NE(second.get(), first.get());
  EXPECT_EQ(counters_.created.load(), 2u);
  EXPECT_EQ(pool->live_instances(), 2u);
  pool->Release(std::move(first));
  pool->Release(std::move(second));
}

TEST_F(InstancePoolTest, ABurstOfShortRequestsWaitingTogetherStartsOneInstanceNotOneEach) {
  // Like 1,000 streamed requests that each hold an instance only until their stream parks: they
  // all find the one instance busy and wait together. Their waits overlap, so together they
  // have paid for one start, not one each; the instance that start brings serves them in turn.
  auto pool = PoolOf("slow-start 300", /*max_instances=*/64);
  std::unique_ptr<Instance> first = MustAcquire(*pool);
  ASSERT_NE(first, nullptr);
  constexpr size_t kBurst = 16;
  std::vector<std::thread> burst;
  for (size_t i = 0; i < kBurst; ++i) {
    burst.emplace_back([&] {
      // No deadline: only the rent can start an instance here.
      auto instance = pool->Acquire(absl::InfiniteDuration());
      ASSERT_TRUE(instance.ok()) << instance.status();
      pool->Release(*std::move(instance));
    });
  }
  // `first` stays busy until every request waits, and then until the waits bought a start.
  while (pool->waiting() < kBurst) absl::SleepFor(absl::Milliseconds(1));
  while (counters_.created.load() < 2) absl::SleepFor(absl::Milliseconds(1));
  pool->Release(std::move(first));
  for (std::thread& t : burst) t.join();
  EXPECT_EQ(counters_.created.load(), 2u);
  EXPECT_EQ(pool->live_instances(), 2u);
  EXPECT_EQ(pool->waiting(), 0u);
}

TEST_F(InstancePoolTest, RequestsThatKeepTheirInstancesBusyGrowThePoolOneStartAtATime) {
  // Like requests waiting on the network: none gives its instance back, so the ones still
  // waiting keep paying rent, and each start's worth of it starts one more until all run.
  auto pool = PoolOf("slow-start 50", /*max_instances=*/64);
  std::unique_ptr<Instance> first = MustAcquire(*pool);
  ASSERT_NE(first, nullptr);
  constexpr size_t kBusy = 4;
  std::vector<std::unique_ptr<Instance>> held(kBusy);
  std::vector<std::thread> requests;
  for (size_t i = 0; i < kBusy; ++i) {
    requests.emplace_back([&, i] {
      // No deadline: only the rent can start an instance here (a pool that never grew for
      // it would never return).
      auto instance = pool->Acquire(absl::InfiniteDuration());
      ASSERT_TRUE(instance.ok()) << instance.status();
      held[i] = *std::move(instance);
    });
  }
  for (std::thread& t : requests) t.join();
  EXPECT_EQ(counters_.created.load(), 1 + kBusy);
  EXPECT_EQ(pool->live_instances(), 1 + kBusy);
  for (std::unique_ptr<Instance>& instance : held) {
    ASSERT_NE(instance, nullptr);
    EXPECT_NE(instance.get(), first.get());
    pool->Release(std::move(instance));
  }
  pool->Release(std::move(first));
}

TEST_F(InstancePoolTest, WhileMostRequestsParkStreamsRentBuysNoInstanceBeyondTheParkingBound) {
  // Like a burst of streamed responses that park: each request gives its instance back after
  // its first section, so a request waiting for one gets the next that comes back. A start
  // costs a millisecond, so without the bound the waiter's rent would buy a third within ~1 ms.
  auto pool = PoolOf("slow-start 1", /*max_instances=*/64,
                     {.instances = 2, .release_gap = absl::Seconds(60)});
  std::vector<std::unique_ptr<Instance>> held = TwoHeldAfter(*pool, InstancePool::Lent::kParked, 8);
  ASSERT_EQ(counters_.created.load(), 2u);
  Instance* const first_back = held[0].get();
  std::unique_ptr<Instance> waiter_got;
  std::thread waiter([&] { waiter_got = MustAcquire(*pool); });
  while (pool->waiting() == 0) absl::SleepFor(absl::Milliseconds(1));
  absl::SleepFor(absl::Milliseconds(100));  // a hundred starts' worth of rent
  EXPECT_EQ(counters_.created.load(), 2u);
  pool->Release(std::move(held[0]), InstancePool::Lent::kParked);
  waiter.join();
  EXPECT_EQ(waiter_got.get(), first_back);
  EXPECT_EQ(counters_.created.load(), 2u);
  pool->Release(std::move(waiter_got));
  pool->Release(std::move(held[1]));
}

TEST_F(InstancePoolTest, AParkingPoolGrowsAgainWhenItsInstancesStopComingBack) {
  // The same pool, but the two instances are now held (requests waiting on the network, say):
  // once none came back for the release gap, rent buys as usual.
  auto pool = PoolOf("slow-start 1", /*max_instances=*/64,
                     {.instances = 2, .release_gap = absl::Milliseconds(50)});
  std::vector<std::unique_ptr<Instance>> held = TwoHeldAfter(*pool, InstancePool::Lent::kParked, 8);
  // No deadline: only the lapsed bound can let the rent start an instance here.
  auto third = pool->Acquire(absl::InfiniteDuration());
  ASSERT_TRUE(third.ok()) << third.status();
  EXPECT_EQ(counters_.created.load(), 3u);
  pool->Release(*std::move(third), InstancePool::Lent::kServed);
  for (std::unique_ptr<Instance>& instance : held) pool->Release(std::move(instance));
}

TEST_F(InstancePoolTest, RequestsThatDoNotParkLiftTheParkingBound) {
  // Parked at first, then ordinary requests: the bound holds only while most requests park.
  auto pool = PoolOf("slow-start 1", /*max_instances=*/64,
                     {.instances = 2, .release_gap = absl::Seconds(60)});
  std::vector<std::unique_ptr<Instance>> held = TwoHeldAfter(*pool, InstancePool::Lent::kParked, 8);
  for (int i = 0; i < 8; ++i) {
    pool->Release(std::move(held[i % 2]), InstancePool::Lent::kServed);
    held[i % 2] = MustAcquire(*pool);
  }
  auto third = pool->Acquire(absl::InfiniteDuration());
  ASSERT_TRUE(third.ok()) << third.status();
  EXPECT_EQ(counters_.created.load(), 3u);
  pool->Release(*std::move(third));
  for (std::unique_ptr<Instance>& instance : held) pool->Release(std::move(instance));
}

TEST_F(InstancePoolTest, ABusyPoolAtItsLimitSheds) {
  auto pool = PoolOf("respond 200 ok", /*max_instances=*/1);
  std::unique_ptr<Instance> only = MustAcquire(*pool);
  auto refused = pool->Acquire(absl::Milliseconds(20));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_NE(refused.status().message().find("stayed busy"), std::string::npos);
  pool->Release(std::move(only));
}

TEST_F(InstancePoolTest, IdleInstancesBeyondTheNewestAreTrimmedAfterTheIdlePeriod) {
  auto pool = PoolOf("respond 200 ok");
  std::unique_ptr<Instance> a = MustAcquire(*pool);
  std::unique_ptr<Instance> b = MustAcquire(*pool);
  std::unique_ptr<Instance> c = MustAcquire(*pool);
  ASSERT_EQ(pool->live_instances(), 3u);
  pool->Release(std::move(a));
  clock_.Advance(absl::Seconds(10));
  pool->Release(std::move(b));
  pool->Release(std::move(c));

  clock_.Advance(absl::Seconds(25));  // a idle 35 s, b and c 25 s
  EXPECT_EQ(pool->TrimIdle(absl::Seconds(30)), 1u);
  EXPECT_EQ(pool->live_instances(), 2u);
  clock_.Advance(absl::Seconds(10));  // b and c idle 35 s: only b goes, c is the newest
  EXPECT_EQ(pool->TrimIdle(absl::Seconds(30)), 1u);
  EXPECT_EQ(pool->live_instances(), 1u);
  EXPECT_EQ(pool->TrimIdle(absl::ZeroDuration()), 0u);
  // The one left still serves.
  std::unique_ptr<Instance> again = MustAcquire(*pool);
  EXPECT_EQ(again->Invoke(HttpRequest{.url = "http://localhost/f/"}).response.body, "ok");
  EXPECT_EQ(counters_.created.load(), 3u);
  pool->Release(std::move(again));
}

TEST_F(InstancePoolTest, ShedSparesKeepsOneAndCountsWhatItFrees) {
  auto pool = PoolOf("respond 200 ok");  // MemoryBytes() of a scripted instance: source size
  std::unique_ptr<Instance> a = MustAcquire(*pool);
  std::unique_ptr<Instance> b = MustAcquire(*pool);
  std::unique_ptr<Instance> c = MustAcquire(*pool);
  pool->Release(std::move(a));
  pool->Release(std::move(b));
  EXPECT_EQ(pool->ShedSpares(), 1 * std::string("respond 200 ok").size());
  EXPECT_EQ(pool->live_instances(), 2u);  // one idle, one busy
  pool->Release(std::move(c));
  EXPECT_EQ(pool->ShedSpares(), 1 * std::string("respond 200 ok").size());
  EXPECT_EQ(pool->live_instances(), 1u);
  EXPECT_EQ(pool->ShedSpares(), 0u);
}

}  // namespace
}  // namespace cosmo
