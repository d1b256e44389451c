#include "metering/usage_meter.h"

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "cosmo/clock.h"
#include "gtest/gtest.h"

namespace cosmo {
namespace {

constexpr char kVersion[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

UsageTotals Calls(uint64_t n) {
  UsageTotals totals;
  totals.invocations = n;
  totals.outcomes[static_cast<int>(Outcome::kOk)] = n;
  return totals;
}

TEST(UsageMeterTest, AReportResentToAnotherMeterOnTheSameStoreCountsOnce) {
  std::unique_ptr<Store> store = NewInMemoryStore();
  UsageMeter a(store.get());
  UsageMeter b(store.get());
  const UsageMeter::Report one = {{{"shop", kVersion}, Calls(3)}};
  ASSERT_TRUE(a.MergeReport("gw-1", 1, one).ok());
  ASSERT_TRUE(b.MergeReport("gw-1", 1, one).ok());  // the resend, to another server
  ASSERT_TRUE(a.MergeReport("gw-1", 1, one).ok());
  ASSERT_TRUE(b.MergeReport("gw-1", 2, {{{"shop", kVersion}, Calls(4)}}).ok());
  ASSERT_TRUE(a.MergeReport("gw-2", 1, {{{"shop", kVersion}, Calls(5)}}).ok());
  auto usage = a.Read("shop");
  ASSERT_TRUE(usage.ok()) << usage.status();
  EXPECT_EQ(usage->total.invocations, 12u);
  EXPECT_EQ(usage->total.outcomes[static_cast<int>(Outcome::kOk)], 12u);
}

TEST(UsageMeterTest, AReportNamingAVersionTwiceMergesBoth) {
  std::unique_ptr<Store> store = NewInMemoryStore();
  UsageMeter meter(store.get());
  ASSERT_TRUE(
      meter.MergeReport("gw", 1, {{{"shop", kVersion}, Calls(1)}, {{"shop", kVersion}, Calls(2)}})
          .ok());
  auto usage = meter.Read("shop");
  ASSERT_TRUE(usage.ok()) << usage.status();
  EXPECT_EQ(usage->total.invocations, 3u);
}

TEST(UsageMeterTest, FlushForgetsTheCellsOfVersionsNoLongerServedOnceTheirUsageIsStored) {
  std::unique_ptr<Store> store = NewInMemoryStore();
  UsageMeter meter(store.get());
  InvocationUsage usage;
  usage.cpu_us = 7;
  std::shared_ptr<UsageCell> served = meter.CellFor("shop", "v2");
  std::shared_ptr<UsageCell> replaced = meter.CellFor("shop", "v1");
  replaced->Add(Outcome::kOk, usage);
  served->Add(Outcome::kOk, usage);
  std::weak_ptr<UsageCell> replaced_cell = replaced;
  replaced.reset();  // its version's slot is gone

  ASSERT_TRUE(meter.Flush().ok());
  EXPECT_TRUE(replaced_cell.expired());
  EXPECT_EQ(meter.CellFor("shop", "v2"), served);  // still served: the same cell
  auto read = meter.Read("shop");
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->versions["v1"].invocations, 1u);  // forgotten in memory, kept in the store
  EXPECT_EQ(read->versions["v1"].cpu_us, 7u);
  EXPECT_EQ(read->total.invocations, 2u);
}

// A usage record as every earlier build wrote it, byte for byte: invocations 5 (3 ok, 2 exception,
// all nine outcome counts packed), cpu_us 300, wall_us 1000, bytes_allocated 4096, peak_heap_bytes
// 65536, request_bytes 7, response_bytes 9.
constexpr char kStoredRecord[] =
    "\x08\x05"
    "\x12\x09\x03\x02\x00\x00\x00\x00\x00\x00\x00"
    "\x18\xac\x02"
    "\x20\xe8\x07"
    "\x28\x80\x20"
    "\x30\x80\x80\x04"
    "\x38\x07"
    "\x40\x09";

UsageTotals StoredRecordTotals() {
  UsageTotals totals;
  totals.invocations = 5;
  totals.outcomes[static_cast<int>(Outcome::kOk)] = 3;
  totals.outcomes[static_cast<int>(Outcome::kException)] = 2;
  totals.cpu_us = 300;
  totals.wall_us = 1000;
  totals.bytes_allocated = 4096;
  totals.peak_heap_bytes = 65536;
  totals.request_bytes = 7;
  totals.response_bytes = 9;
  return totals;
}

TEST(UsageMeterTest, ReadsUsageRecordsStoredByEarlierBuilds) {
  std::unique_ptr<Store> store = NewInMemoryStore();
  const std::string stored(kStoredRecord, sizeof(kStoredRecord) - 1);
  ASSERT_TRUE(store->Put(absl::StrCat("usage/shop/", kVersion), stored, Durability::kSync).ok());
  UsageMeter meter(store.get());
  auto usage = meter.Read("shop");
  ASSERT_TRUE(usage.ok()) << usage.status();
  EXPECT_EQ(usage->versions[kVersion], StoredRecordTotals());
  EXPECT_EQ(usage->total, StoredRecordTotals());
}

TEST(UsageMeterTest, StoresUsageRecordsInTheLayoutEarlierBuildsRead) {
  std::unique_ptr<Store> store = NewInMemoryStore();
  UsageMeter meter(store.get());
  ASSERT_TRUE(meter.MergeReport("gw", 1, {{{"shop", kVersion}, StoredRecordTotals()}}).ok());
  auto stored = store->Find(absl::StrCat("usage/shop/", kVersion));
  ASSERT_TRUE(stored.ok()) << stored.status();
  ASSERT_TRUE(stored->has_value());
  EXPECT_EQ(**stored, std::string(kStoredRecord, sizeof(kStoredRecord) - 1));
}

TEST(UsageMeterTest, ForgetsReportersIdleForTheRetentionAndKeepsTheRest) {
  std::unique_ptr<Store> store = NewInMemoryStore();
  ManualClock clock;
  UsageMeter meter(store.get(), &clock);
  ASSERT_TRUE(meter.MergeReport("gw-gone", 4, {{{"shop", kVersion}, Calls(2)}}).ok());
  clock.Advance(absl::Hours(20));
  ASSERT_TRUE(meter.MergeReport("gw-live", 1, {{{"shop", kVersion}, Calls(3)}}).ok());
  clock.Advance(absl::Hours(5));

  auto forgotten = meter.ForgetIdleReporters(absl::Hours(24));
  ASSERT_TRUE(forgotten.ok()) << forgotten.status();
  EXPECT_EQ(*forgotten, 1u);
  EXPECT_FALSE(store->Find("usagerep/gw-gone")->has_value());
  EXPECT_TRUE(store->Find("usagerep/gw-live")->has_value());
  // The live gateway's resend still counts once; the usage itself is never forgotten.
  ASSERT_TRUE(meter.MergeReport("gw-live", 1, {{{"shop", kVersion}, Calls(3)}}).ok());
  auto usage = meter.Read("shop");
  ASSERT_TRUE(usage.ok()) << usage.status();
  EXPECT_EQ(usage->total.invocations, 5u);
  EXPECT_EQ(*meter.ForgetIdleReporters(absl::Hours(24)), 0u);
}

TEST(UsageMeterTest, ReadsUnstampedReporterRecordsAndForgetsThem) {
  std::unique_ptr<Store> store = NewInMemoryStore();
  ManualClock clock;
  UsageMeter meter(store.get(), &clock);
  // The record as it was written before reporter records carried a time: the sequence in decimal.
  ASSERT_TRUE(store->Commit(WriteBatch().Put("usagerep/gw-old", "7"), Durability::kSync).ok());
  ASSERT_TRUE(meter.MergeReport("gw-old", 7, {{{"shop", kVersion}, Calls(1)}}).ok());
  EXPECT_EQ(meter.Read("shop").status().code(), absl::StatusCode::kNotFound);  // already applied
  ASSERT_TRUE(store->Commit(WriteBatch().Put("usagerep/gw-older", "2"), Durability::kSync).ok());
  EXPECT_EQ(*meter.ForgetIdleReporters(absl::Hours(24)), 2u);
  EXPECT_FALSE(store->Find("usagerep/gw-old")->has_value());
  EXPECT_FALSE(store->Find("usagerep/gw-older")->has_value());
}

TEST(UsageMeterTest, AnUnreadableReporterRecordIsAnErrorNotAFreshStart) {
  std::unique_ptr<Store> store = NewInMemoryStore();
  UsageMeter meter(store.get());
  ASSERT_TRUE(
      store->Commit(WriteBatch().Put("usagerep/gw", std::string("\xff\xff", 2)), Durability::kSync)
          .ok());
  EXPECT_EQ(meter.MergeReport("gw", 1, {{{"shop", kVersion}, Calls(1)}}).code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(*meter.ForgetIdleReporters(absl::Hours(24)), 0u);  // left for an operator to see
  EXPECT_TRUE(store->Find("usagerep/gw")->has_value());
}

}  // namespace
}  // namespace cosmo
