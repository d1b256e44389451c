// The hosts turn off Abseil's lock-order checks (hosts/common/host_main.h), which Debian's Abseil
// runs on every lock. Each case runs in a child process (a death test): the mode is process-wide.
#include <cstdlib>

#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"
#include "host_main.h"

namespace cosmo::host {
namespace {

// Takes two locks in one order, then in the other: a potential deadlock to the checker.
void InvertLockOrder() {
  absl::Mutex a;
  absl::Mutex b;
  {
    absl::MutexLock first(&a);
    absl::MutexLock second(&b);
  }
  {
    absl::MutexLock first(&b);
    absl::MutexLock second(&a);
  }
}

TEST(LockOrderChecksTest, AreOnInThisAbseilUnlessTurnedOff) {
  EXPECT_DEATH(InvertLockOrder(), "deadlock");
}

TEST(LockOrderChecksTest, DisableLockOrderChecksTurnsThemOffInReleaseBuilds) {
#ifndef NDEBUG
  GTEST_SKIP() << "builds without NDEBUG keep the checks on";
#endif
  EXPECT_EXIT(
      {
        DisableLockOrderChecks();
        InvertLockOrder();
        std::exit(0);
      },
      testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace cosmo::host
