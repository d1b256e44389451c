#include "metering/usage_history.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "cosmo/clock.h"
#include "gtest/gtest.h"
#include "metering/usage_meter.h"
#include "store/store_keys.h"
#include "support/temp_dir.h"

namespace cosmo {
namespace {

// 2026-12-01 10:00:00 UTC, a whole hour.
const absl::Time kStart = absl::FromUnixSeconds(1796119200);

InvocationUsage Cpu(int64_t cpu_us) {
  InvocationUsage usage;
  usage.cpu_us = cpu_us;
  usage.wall_us = 2 * cpu_us;
  return usage;
}

uint64_t SumInvocations(const std::vector<UsagePoint>& points) {
  uint64_t sum = 0;
  for (const UsagePoint& p : points) sum += p.totals.invocations;
  return sum;
}

TEST(UsageHistoryTest, AFlushWritesOneRecordPerVersionAndMinuteHoweverManyRequests) {
  std::unique_ptr<Store> store = NewInMemoryStore();
  ManualClock clock(kStart + absl::Seconds(5));
  UsageMeter meter(store.get(), &clock);
  std::shared_ptr<UsageCell> v1 = meter.CellFor("shop", "v1");
  std::shared_ptr<UsageCell> v2 = meter.CellFor("shop", "v2");
  for (int i = 0; i < 1000; ++i) v1->Add(i % 10 == 0 ? Outcome::kException : Outcome::kOk, Cpu(3));
  v2->Add(Outcome::kOk, Cpu(100));
  ASSERT_TRUE(meter.Flush().ok());
  clock.Advance(absl::Seconds(1));
  v1->Add(Outcome::kOk, Cpu(3));
  ASSERT_TRUE(meter.Flush().ok());
  clock.Advance(absl::Minutes(1));
  v1->Add(Outcome::kOk, Cpu(3));
  ASSERT_TRUE(meter.Flush().ok());

  auto rows = store->Scan(store_keys::UsageMinutePrefix("shop"), {});
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 3u);  // (v1, 10:00), (v2, 10:00), (v1, 10:01)
  auto points = meter.ReadHistory("shop", {});
  ASSERT_TRUE(points.ok()) << points.status();
  ASSERT_EQ(points->size(), 3u);
  EXPECT_EQ((*points)[0].start, kStart);
  EXPECT_EQ((*points)[0].version, "v1");
  EXPECT_EQ((*points)[0].width, absl::Minutes(1));
  EXPECT_EQ((*points)[0].totals.invocations, 1001u);
  EXPECT_EQ((*points)[0].totals.errors(), 100u);
  EXPECT_EQ((*points)[0].totals.cpu_us, 3003u);
  EXPECT_EQ((*points)[0].totals.wall_us, 6006u);
  EXPECT_EQ((*points)[1].version, "v2");
  EXPECT_EQ((*points)[1].totals.cpu_us, 100u);
  EXPECT_EQ((*points)[2].start, kStart + absl::Minutes(1));
  EXPECT_EQ((*points)[2].totals.invocations, 1u);
  // The history sums to the totals.
  auto totals = meter.Read("shop");
  ASSERT_TRUE(totals.ok());
  EXPECT_EQ(SumInvocations(*points), totals->total.invocations);
}

TEST(UsageHistoryTest, PendingUsageCountsInTheCurrentMinute) {
  std::unique_ptr<Store> store = NewInMemoryStore();
  ManualClock clock(kStart + absl::Minutes(3));
  UsageMeter meter(store.get(), &clock);
  meter.CellFor("shop", "v1")->Add(Outcome::kOk, Cpu(1));
  auto points = meter.ReadHistory("shop", {.since = kStart});
  ASSERT_TRUE(points.ok()) << points.status();
  ASSERT_EQ(points->size(), 1u);
  EXPECT_EQ((*points)[0].start, kStart + absl::Minutes(3));
  auto before = meter.ReadHistory("shop", {.until = kStart + absl::Minutes(3)});
  ASSERT_TRUE(before.ok());
  EXPECT_TRUE(before->empty());
}

TEST(UsageHistoryTest, ReadsTheRangeAskedForAndSumsMinutesIntoHours) {
  std::unique_ptr<Store> store = NewInMemoryStore();
  ManualClock clock(kStart);
  UsageMeter meter(store.get(), &clock);
  std::shared_ptr<UsageCell> cell = meter.CellFor("shop", "v1");
  for (int minute = 0; minute < 90; ++minute) {
    cell->Add(Outcome::kOk, Cpu(minute));
    ASSERT_TRUE(meter.Flush().ok());
    clock.Advance(absl::Minutes(1));
  }
  // A family whose name extends this one's is not read with it.
  meter.CellFor("shop-2", "v1")->Add(Outcome::kOk, Cpu(1));
  ASSERT_TRUE(meter.Flush().ok());

  auto window = meter.ReadHistory(
      "shop", {.since = kStart + absl::Minutes(10), .until = kStart + absl::Minutes(20)});
  ASSERT_TRUE(window.ok()) << window.status();
  ASSERT_EQ(window->size(), 10u);
  EXPECT_EQ(window->front().start, kStart + absl::Minutes(10));
  EXPECT_EQ(window->back().start, kStart + absl::Minutes(19));

  auto hours = meter.ReadHistory("shop", {.bucket = absl::Hours(1)});
  ASSERT_TRUE(hours.ok()) << hours.status();
  ASSERT_EQ(hours->size(), 2u);
  EXPECT_EQ((*hours)[0].start, kStart);
  EXPECT_EQ((*hours)[0].width, absl::Hours(1));
  EXPECT_EQ((*hours)[0].totals.invocations, 60u);
  EXPECT_EQ((*hours)[0].totals.cpu_us, 59u * 60 / 2);
  EXPECT_EQ((*hours)[1].totals.invocations, 30u);
}

TEST(UsageHistoryTest, CompactRollsOldMinutesIntoHoursAndDeletesWhatIsPastRetention) {
  std::unique_ptr<Store> store = NewInMemoryStore();
  ManualClock clock(kStart);
  UsageMeter meter(store.get(), &clock);
  std::shared_ptr<UsageCell> cell = meter.CellFor("shop", "v1");
  // One call a minute for three days.
  for (int minute = 0; minute < 3 * 24 * 60; ++minute) {
    cell->Add(Outcome::kOk, Cpu(1));
    ASSERT_TRUE(meter.Flush().ok());
    clock.Advance(absl::Minutes(1));
  }
  const absl::Time now = clock.Now();  // kStart + 72 h
  auto stats = usage_history::Compact(*store, now, absl::Hours(24), absl::Hours(48));
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->minutes_rolled_up, 24u * 60);
  EXPECT_EQ(stats->records_deleted, 24u * 60);

  auto points = meter.ReadHistory("shop", {});
  ASSERT_TRUE(points.ok()) << points.status();
  // 24 hour buckets of 60, then 24 * 60 minute buckets of 1.
  ASSERT_EQ(points->size(), 24u + 24u * 60);
  EXPECT_EQ((*points)[0].start, kStart + absl::Hours(24));
  EXPECT_EQ((*points)[0].width, absl::Hours(1));
  EXPECT_EQ((*points)[0].totals.invocations, 60u);
  EXPECT_EQ((*points)[24].start, kStart + absl::Hours(48));
  EXPECT_EQ((*points)[24].width, absl::Minutes(1));
  EXPECT_EQ(SumInvocations(*points), 48u * 60);
  // The totals are untouched by compaction.
  EXPECT_EQ(meter.Read("shop")->total.invocations, 72u * 60);

  // Another run (another server's) finds nothing left to do.
  auto again = usage_history::Compact(*store, now, absl::Hours(24), absl::Hours(48));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->minutes_rolled_up + again->records_deleted, 0u);
  // A day later, the hour records past retention go too.
  auto later =
      usage_history::Compact(*store, now + absl::Hours(24), absl::Hours(24), absl::Hours(48));
  ASSERT_TRUE(later.ok());
  EXPECT_EQ(later->records_deleted, 24u);
  EXPECT_EQ(later->minutes_rolled_up, 24u * 60);
}

TEST(UsageHistoryTest, GatewayReportsCountInTheMinuteTheyAreMerged) {
  std::unique_ptr<Store> store = NewInMemoryStore();
  ManualClock clock(kStart + absl::Seconds(30));
  UsageMeter meter(store.get(), &clock);
  UsageTotals calls;
  calls.invocations = 4;
  calls.outcomes[static_cast<int>(Outcome::kOk)] = 4;
  ASSERT_TRUE(meter.MergeReport("gw", 1, {{{"shop", "v1"}, calls}}).ok());
  ASSERT_TRUE(meter.MergeReport("gw", 1, {{{"shop", "v1"}, calls}}).ok());  // resent: once
  auto points = meter.ReadHistory("shop", {});
  ASSERT_TRUE(points.ok()) << points.status();
  ASSERT_EQ(points->size(), 1u);
  EXPECT_EQ((*points)[0].start, kStart);
  EXPECT_EQ((*points)[0].totals.invocations, 4u);
}

TEST(UsageHistoryTest, PersistsInLevelDbAcrossReopening) {
  testing::TempDir dir;
  ManualClock clock(kStart);
  {
    auto store = OpenLevelDbStore({.path = dir.path()});
    ASSERT_TRUE(store.ok()) << store.status();
    UsageMeter meter(store->get(), &clock);
    meter.CellFor("shop", "v1")->Add(Outcome::kOk, Cpu(5));
    ASSERT_TRUE(meter.Flush().ok());
  }
  auto store = OpenLevelDbStore({.path = dir.path()});
  ASSERT_TRUE(store.ok()) << store.status();
  UsageMeter meter(store->get(), &clock);
  auto points = meter.ReadHistory("shop", {});
  ASSERT_TRUE(points.ok()) << points.status();
  ASSERT_EQ(points->size(), 1u);
  EXPECT_EQ((*points)[0].totals.cpu_us, 5u);
}

TEST(UsageHistoryTest, AMalformedHistoryKeyIsDataLossNamingIt) {
  std::unique_ptr<Store> store = NewInMemoryStore();
  ASSERT_TRUE(store->Put("usagem/shop/garbage", "x").ok());
  auto points = usage_history::Read(*store, "shop", {});
  ASSERT_EQ(points.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(points.status().message().find("usagem/shop/garbage"), std::string::npos);
}

}  // namespace
}  // namespace cosmo
