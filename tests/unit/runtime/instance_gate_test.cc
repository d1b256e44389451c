#include "runtime/instance_gate.h"

#include <thread>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace cosmo {
namespace {

TEST(InstanceGateTest, LetsInAsManyAsItsCapacityUntilOneLeaves) {
  InstanceGate gate(2);
  EXPECT_TRUE(gate.Enter(absl::ZeroDuration()));
  EXPECT_TRUE(gate.Enter(absl::ZeroDuration()));
  EXPECT_FALSE(gate.Enter(absl::ZeroDuration()));
  gate.Leave();
  EXPECT_TRUE(gate.Enter(absl::ZeroDuration()));
  EXPECT_FALSE(gate.Enter(absl::ZeroDuration()));
}

TEST(InstanceGateTest, AWaiterGetsThePlaceThatIsLeft) {
  InstanceGate gate(1);
  ASSERT_TRUE(gate.Enter(absl::ZeroDuration()));
  absl::Notification entered;
  std::thread waiter([&] {
    if (gate.Enter(absl::InfiniteDuration())) entered.Notify();
  });
  gate.Leave();
  waiter.join();
  EXPECT_TRUE(entered.HasBeenNotified());
}

TEST(InstanceGateTest, ACapacityOfZeroIsOne) {
  InstanceGate gate(0);
  EXPECT_EQ(gate.capacity(), 1u);
  EXPECT_TRUE(gate.Enter(absl::ZeroDuration()));
  EXPECT_FALSE(gate.Enter(absl::ZeroDuration()));
}

}  // namespace
}  // namespace cosmo
