#include "cosmo/clock.h"

#include "gtest/gtest.h"

namespace cosmo {
namespace {

TEST(ClockTest, ManualClockMovesOnlyWhenTold) {
  ManualClock clock;
  const absl::Time start = clock.Now();
  EXPECT_EQ(clock.Now(), start);
  clock.Advance(absl::Seconds(61));
  EXPECT_EQ(clock.Now() - start, absl::Seconds(61));
  clock.Set(absl::FromUnixSeconds(1000));
  EXPECT_EQ(clock.Now(), absl::FromUnixSeconds(1000));
}

TEST(ClockTest, RealClockIsCloseToAbslNow) {
  EXPECT_LT(absl::AbsDuration(Clock::Real()->Now() - absl::Now()), absl::Seconds(5));
  EXPECT_EQ(Clock::Real(), Clock::Real());
}

}  // namespace
}  // namespace cosmo
