// CpuWatchdog's CPU accounting: a section's CPU figure lies between the CPU the thread really
// used and the wall time the section was armed, whether or not the watchdog looked at it; the
// wall time between a section's phases is never counted. The bounds hold on a loaded machine too:
// they follow from CPU time never advancing faster than wall time, not from how fast anything runs.
#include "engine/v8/cpu_watchdog.h"

#include <chrono>
#include <cstdint>
#include <thread>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace cosmo::v8engine {
namespace {

// Both clocks count nanoseconds, but the kernel updates them at slightly different moments, and
// Arm()/Disarm() themselves take a little time on either side of their clock reads.
constexpr int64_t kClockSlackNs = 200'000;
// Large enough never to fire: these tests register no isolate to terminate.
constexpr int64_t kNoLimit = int64_t{1} << 60;

int64_t SteadyNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void SpinCpu(absl::Duration cpu) {
  const int64_t until = CpuWatchdog::ThreadCpuNanos() + absl::ToInt64Nanoseconds(cpu);
  while (CpuWatchdog::ThreadCpuNanos() < until) {
  }
}

class CpuWatchdogTest : public ::testing::Test {
 protected:
  CpuWatchdog watchdog_{absl::Milliseconds(1)};
  CpuWatchdog::Slot* slot_ = watchdog_.Register(nullptr);

  ~CpuWatchdogTest() override { watchdog_.Unregister(slot_); }
};

TEST_F(CpuWatchdogTest, AnUnseenSectionIsChargedItsArmedWallTime) {
  CpuWatchdog::CpuAccount account;
  watchdog_.Arm(slot_, kNoLimit, account);
  EXPECT_FALSE(watchdog_.Disarm(slot_, &account));
  if (account.cpu_origin_ns >= 0) GTEST_SKIP() << "the watchdog looked at a section of no time";
  EXPECT_EQ(CpuWatchdog::CpuUsedNanos(account), account.armed_wall_ns);
}

TEST_F(CpuWatchdogTest, ABusySectionIsMeasuredBetweenItsCpuAndItsWallTime) {
  // Sections of 20 ms of CPU until the watchdog has looked at one (it polls every millisecond;
  // a starved watchdog only makes this loop longer).
  const absl::Time give_up = absl::Now() + absl::Seconds(30);
  bool seen = false;
  while (!seen && absl::Now() < give_up) {
    CpuWatchdog::CpuAccount account;
    const int64_t cpu_before = CpuWatchdog::ThreadCpuNanos();
    watchdog_.Arm(slot_, kNoLimit, account);
    SpinCpu(absl::Milliseconds(20));
    EXPECT_FALSE(watchdog_.Disarm(slot_, &account));
    const int64_t real = CpuWatchdog::ThreadCpuNanos() - cpu_before;
    const int64_t used = CpuWatchdog::CpuUsedNanos(account);
    EXPECT_GE(used + kClockSlackNs, real) << "less than the thread's own clock says";
    EXPECT_LE(used, account.armed_wall_ns + kClockSlackNs) << "more than the armed wall time";
    seen = account.cpu_origin_ns >= 0;
  }
  EXPECT_TRUE(seen) << "the watchdog never looked at a 20 ms section in 30 s";
}

// Each of the two upper bounds is what is charged where it is the lesser.
TEST(CpuWatchdogFirstLookTest, ChargesTheLeastUpperBound) {
  // Armed 80 ms, of which the thread ran 3 ms: a young thread (5 ms of CPU in all), no reading.
  EXPECT_EQ(CpuWatchdog::FirstLookCharge(80'000'000, 0, 5'000'000, -1), 5'000'000);
  // An old thread that last read its clock 4 ms of CPU ago.
  EXPECT_EQ(CpuWatchdog::FirstLookCharge(80'000'000, 0, 9'000'000'000, 8'996'000'000), 4'000'000);
  // A watchdog that looked in time: the armed wall time is the least.
  EXPECT_EQ(CpuWatchdog::FirstLookCharge(600'000, 0, 9'000'000'000, 8'000'000'000), 600'000);
  // A reading from another clock (never later than now on the same one) is ignored.
  EXPECT_EQ(CpuWatchdog::FirstLookCharge(80'000'000, 0, 9'000'000'000, 9'500'000'000), 80'000'000);
  // Earlier phases (2 ms armed) count as their wall time beside this phase's CPU since the
  // reading taken when it began (1 ms): the reading says nothing about them.
  EXPECT_EQ(CpuWatchdog::FirstLookCharge(80'000'000, 2'000'000, 9'000'000'000, 8'999'000'000),
            3'000'000);
  // ... unless the armed wall time is less.
  EXPECT_EQ(CpuWatchdog::FirstLookCharge(2'500'000, 2'000'000, 9'000'000'000, 8'999'000'000),
            2'500'000);
}

// A watchdog that looks late (here: every 100 ms, as one starved of CPU on a loaded machine
// would) at a section that mostly waited must not count the waiting as CPU. Armed wall time alone
// would charge whatever it had reached at the first look, up to 100 ms.
TEST(CpuWatchdogFirstLookTest, ALateLookAtASectionThatWaitedChargesLittle) {
  CpuWatchdog watchdog(absl::Milliseconds(100));
  CpuWatchdog::Slot* slot = watchdog.Register(nullptr);
  int64_t used = -1, real = -1;
  bool seen = false;
  std::thread fresh([&] {
    CpuWatchdog::CpuAccount account;
    const int64_t cpu_before = CpuWatchdog::ThreadCpuNanos();
    watchdog.Arm(slot, kNoLimit, account);
    absl::SleepFor(absl::Milliseconds(350));  // at least three polls while armed
    watchdog.Disarm(slot, &account);
    real = CpuWatchdog::ThreadCpuNanos() - cpu_before;
    used = CpuWatchdog::CpuUsedNanos(account);
    seen = account.cpu_origin_ns >= 0;
  });
  fresh.join();
  watchdog.Unregister(slot);
  ASSERT_TRUE(seen) << "the watchdog never looked at a section armed 350 ms";
  EXPECT_GE(used + kClockSlackNs, real);
  EXPECT_LT(used, 20'000'000) << "charged " << used << " ns for a section that slept";
}

// A thread that read its CPU clock (at the end of a measured section), then did much CPU work
// nobody watched (an isolate made or torn down, a code cache written, on the request's own
// thread), and then waits in a section: a late first look charges none of that work, because
// Arm() reads the clock again when its last reading is more than 5 ms old. Bounded by that old
// reading instead, the section would be charged whatever armed wall time the look came at, and
// one preempted past its budget would be stopped (seen once in a soak on a loaded machine: a
// healthy request stopped at its 50 ms CPU limit).
TEST(CpuWatchdogFirstLookTest, WorkDoneBeforeArmingIsNotCharged) {
  CpuWatchdog watchdog(absl::Milliseconds(100));
  CpuWatchdog::Slot* slot = watchdog.Register(nullptr);
  int64_t used = -1;
  bool seen = false;
  std::thread worker([&] {
    // Again until the watchdog looked at the second section (a starved watchdog may not, and
    // then the section is charged its wall time, which says nothing about the bound).
    const absl::Time give_up = absl::Now() + absl::Seconds(30);
    while (!seen && absl::Now() < give_up) {
      CpuWatchdog::CpuAccount first;
      watchdog.Arm(slot, kNoLimit, first);
      absl::SleepFor(absl::Milliseconds(310));  // long enough for the watchdog to look
      watchdog.Disarm(slot, &first);
      CpuWatchdog::CpuUsedNanos(first);  // reads the thread's clock, as after a measured request
      // On a quiet machine 450 ms after the watchdog's polls began (every 100 ms since it was
      // made), so its first look at the next section comes about 50 ms after Arm().
      SpinCpu(absl::Milliseconds(140));
      CpuWatchdog::CpuAccount account;
      watchdog.Arm(slot, kNoLimit, account);
      absl::SleepFor(absl::Milliseconds(350));  // at least three polls while armed
      watchdog.Disarm(slot, &account);
      used = CpuWatchdog::CpuUsedNanos(account);
      seen = account.cpu_origin_ns >= 0;
    }
  });
  worker.join();
  watchdog.Unregister(slot);
  ASSERT_TRUE(seen) << "the watchdog never looked at a section armed 350 ms in 30 s";
  EXPECT_LT(used, 20'000'000) << "charged " << used << " ns for a section that slept";
}

TEST_F(CpuWatchdogTest, TimeBetweenPhasesIsNotCounted) {
  CpuWatchdog::CpuAccount account;
  const int64_t wall_start = SteadyNanos();
  watchdog_.Arm(slot_, kNoLimit, account);
  SpinCpu(absl::Milliseconds(2));
  EXPECT_FALSE(watchdog_.Disarm(slot_, &account));
  const int64_t pause_start = SteadyNanos();
  const int64_t pause_cpu_start = CpuWatchdog::ThreadCpuNanos();
  absl::SleepFor(absl::Milliseconds(50));
  // Going to sleep and waking up takes some CPU of its own, which a section whose origin the
  // watchdog fixed before the pause counts (as it counts an event loop's work between turns).
  const int64_t pause_cpu = CpuWatchdog::ThreadCpuNanos() - pause_cpu_start;
  const int64_t paused = SteadyNanos() - pause_start;
  watchdog_.Arm(slot_, kNoLimit, account);
  SpinCpu(absl::Milliseconds(2));
  EXPECT_FALSE(watchdog_.Disarm(slot_, &account));
  const int64_t wall = SteadyNanos() - wall_start;

  EXPECT_LE(account.armed_wall_ns, wall - paused);
  EXPECT_LE(CpuWatchdog::CpuUsedNanos(account), account.armed_wall_ns + pause_cpu + kClockSlackNs);
  EXPECT_GE(CpuWatchdog::CpuUsedNanos(account) + kClockSlackNs,
            absl::ToInt64Nanoseconds(absl::Milliseconds(4)));
}

TEST_F(CpuWatchdogTest, DisarmingAnUnarmedSlotChangesNothing) {
  CpuWatchdog::CpuAccount account{.cpu_origin_ns = 7, .armed_wall_ns = 11};
  EXPECT_FALSE(watchdog_.Disarm(slot_, &account));
  EXPECT_EQ(account.cpu_origin_ns, 7);
  EXPECT_EQ(account.armed_wall_ns, 11);
}

}  // namespace
}  // namespace cosmo::v8engine
