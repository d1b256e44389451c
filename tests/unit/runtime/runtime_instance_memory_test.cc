// Idle instances give back their garbage (RuntimeOptions' maintenance; docs/architecture.md,
// "Unloading"), through a Runtime with the real JavaScript engine: once per idle spell of 10 s,
// the pools' measured memory drops, and the instance keeps its state; and over the memory
// budget, after a second idle, before any family is unloaded.
#include <algorithm>
#include <memory>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "cosmo/clock.h"
#include "cosmo/runtime.h"
#include "cosmo/store.h"
#include "gtest/gtest.h"
#include "unit/runtime/runtime_test_support.h"

namespace cosmo {
namespace {

// Each request leaves garbage behind (strings and objects it drops) and counts in a global, so
// the test can see that the instance that served before the release serves after it.
constexpr char kLitterer[] = R"js(
let served = 0;
export default {
  fetch() {
    const litter = [];
    for (let i = 0; i < 2000; ++i) litter.push({ i, text: 'x'.repeat(16) + i });
    globalThis.lastLitter = litter.length;
    return new Response(String(++served));
  }
};
)js";

void DeployLitterer(Runtime& runtime, const std::string& family) {
  Manifest m;
  m.engine = "javascript";
  m.main = "index.js";
  m.files["index.js"] = kLitterer;
  auto deployed = runtime.registry().Deploy({.tenant = "local", .family = family, .manifest = m});
  ASSERT_TRUE(deployed.ok()) << deployed.status();
}

int Served(Runtime& runtime, const std::string& family = "litter") {
  InvokeResult r = runtime.Invoke(family, testing::Get(family));
  EXPECT_EQ(r.outcome, Outcome::kOk) << r.error;
  int served = 0;
  EXPECT_TRUE(absl::SimpleAtoi(r.response.body, &served)) << r.response.body;
  return served;
}

class RuntimeInstanceMemoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    runtime_ = testing::NewRuntimeOnManualClock(&clock_);
    ASSERT_NE(runtime_, nullptr);
    DeployLitterer(*runtime_, "litter");
  }

  int Served() { return cosmo::Served(*runtime_); }

  ManualClock clock_;
  std::unique_ptr<Runtime> runtime_;
};

TEST_F(RuntimeInstanceMemoryTest, AnInstanceIdleForTenSecondsGivesBackItsGarbageOnce) {
  for (int i = 1; i <= 64; ++i) ASSERT_EQ(Served(), i);
  runtime_->Maintain();
  const RuntimeStats busy = runtime_->Stats();
  ASSERT_EQ(busy.live_instances, 1u);
  EXPECT_EQ(busy.instance_memory_releases, 0u);

  clock_.Advance(absl::Seconds(5));
  runtime_->Maintain();
  EXPECT_EQ(runtime_->Stats().instance_memory_releases, 0u) << "released before 10 s idle";

  clock_.Advance(absl::Seconds(6));
  runtime_->Maintain();
  const RuntimeStats released = runtime_->Stats();
  EXPECT_EQ(released.instance_memory_releases, 1u);
  EXPECT_LT(released.instance_memory_bytes, busy.instance_memory_bytes);
  EXPECT_EQ(released.live_instances, 1u);

  // Once per idle spell: staying idle releases nothing more.
  clock_.Advance(absl::Seconds(20));
  runtime_->Maintain();
  EXPECT_EQ(runtime_->Stats().instance_memory_releases, 1u);

  // The same instance serves on, its state intact; the next idle spell releases again.
  EXPECT_EQ(Served(), 65);
  EXPECT_EQ(runtime_->Stats().activations, busy.activations);
  clock_.Advance(absl::Seconds(11));
  runtime_->Maintain();
  EXPECT_EQ(runtime_->Stats().instance_memory_releases, 2u);
}

// What two families hold with their garbage and after their idle instances released it.
struct HeldBytes {
  size_t busy = 0;
  size_t released = 0;
};

// Deploys and serves "a" 64 times and "b" once; the instance memory they hold then.
size_t ServeTwoFamilies(Runtime& runtime) {
  DeployLitterer(runtime, "a");
  DeployLitterer(runtime, "b");
  for (int i = 1; i <= 64; ++i) EXPECT_EQ(Served(runtime, "a"), i);
  EXPECT_EQ(Served(runtime, "b"), 1);
  return runtime.Stats().instance_memory_bytes;
}

// Measured on a runtime without a budget (V8's heap sizes repeat from one fresh runtime to the
// next, so the test below can place its budget between the two).
HeldBytes MeasureTwoFamilies() {
  ManualClock clock;
  std::unique_ptr<Runtime> runtime = testing::NewRuntimeOnManualClock(&clock);
  HeldBytes held;
  if (runtime == nullptr) return held;
  held.busy = ServeTwoFamilies(*runtime);
  clock.Advance(absl::Seconds(11));
  runtime->Maintain();  // both idle 10 s: both release
  EXPECT_EQ(runtime->Stats().instance_memory_releases, 2u);
  held.released = runtime->Stats().instance_memory_bytes;
  return held;
}

// A budget the two families exceed with their garbage and fit without it: a second after their
// last requests, their garbage goes and both stay active, instead of the colder one being
// unloaded and paying an activation on its next request.
TEST(RuntimeBudgetReleaseTest, IdleInstancesGiveBackGarbageBeforeAFamilyIsUnloaded) {
  const HeldBytes held = MeasureTwoFamilies();
  ASSERT_GT(held.busy, held.released);
  ASSERT_GT(held.busy - held.released, size_t{64} << 10) << "too little garbage to test with";

  ManualClock clock;
  RuntimeOptions options;
  options.memory_budget_bytes = held.released + (held.busy - held.released) / 2;
  std::unique_ptr<Runtime> runtime = testing::NewRuntimeOnManualClock(&clock, options);
  ASSERT_NE(runtime, nullptr);
  ASSERT_GT(ServeTwoFamilies(*runtime), options.memory_budget_bytes);

  clock.Advance(absl::Seconds(2));
  runtime->Maintain();
  const RuntimeStats stats = runtime->Stats();
  EXPECT_EQ(stats.budget_unloads, 0u);
  EXPECT_EQ(stats.active_families, 2u);
  EXPECT_GE(stats.instance_memory_releases, 1u);
  EXPECT_LE(stats.instance_memory_bytes, options.memory_budget_bytes);
  // Both families serve on from the instances they had.
  EXPECT_EQ(Served(*runtime, "a"), 65);
  EXPECT_EQ(Served(*runtime, "b"), 2);
  EXPECT_EQ(runtime->Stats().activations, 2u);
}

// With real isolates, each activation past the budget unloads a family before its request
// returns: the pools never hold more than the budget, with no maintenance pass in between.
TEST(RuntimeBudgetReleaseTest, ActivationsKeepRealInstancesWithinTheBudget) {
  size_t one_family = 0;
  {
    ManualClock clock;
    std::unique_ptr<Runtime> runtime = testing::NewRuntimeOnManualClock(&clock);
    ASSERT_NE(runtime, nullptr);
    DeployLitterer(*runtime, "probe");
    EXPECT_EQ(Served(*runtime, "probe"), 1);
    one_family = runtime->Stats().instance_memory_bytes;
  }
  ASSERT_GT(one_family, size_t{100} << 10);

  ManualClock clock;
  RuntimeOptions options;
  options.idle_timeout = absl::ZeroDuration();
  // Room for four such families and a half.
  options.memory_budget_bytes = one_family * 4 + one_family / 2;
  std::unique_ptr<Runtime> runtime = testing::NewRuntimeOnManualClock(&clock, options);
  ASSERT_NE(runtime, nullptr);
  for (int i = 0; i < 12; ++i) {
    const std::string family = absl::StrCat("f", i);
    DeployLitterer(*runtime, family);
    clock.Advance(absl::Milliseconds(10));
    EXPECT_EQ(Served(*runtime, family), 1);
    const RuntimeStats stats = runtime->Stats();
    EXPECT_LE(stats.instance_memory_bytes, options.memory_budget_bytes) << "after " << family;
    // Every family served is either active or was unloaded for the budget.
    EXPECT_EQ(stats.active_families + stats.budget_unloads, static_cast<uint64_t>(i + 1)) << family;
  }
  // Later instances measure a little smaller than the probe (1.25 against 1.43 MB when this was
  // written), so five may fit where four did; never all twelve.
  EXPECT_GE(runtime->Stats().budget_unloads, 6u);
}

}  // namespace
}  // namespace cosmo
