#include "metering/usage_meter.h"

#include <memory>

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

}  // namespace
}  // namespace cosmo
