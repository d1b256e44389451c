// Idle instances give back their garbage (RuntimeOptions' maintenance; docs/architecture.md,
// "Unloading"), through a Runtime with the real JavaScript engine: once per idle spell of 10 s,
// the pools' measured memory drops, and the instance keeps its state.
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

class RuntimeInstanceMemoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    runtime_ = testing::NewRuntimeOnManualClock(&clock_);
    ASSERT_NE(runtime_, nullptr);
    Manifest m;
    m.engine = "javascript";
    m.main = "index.js";
    m.files["index.js"] = kLitterer;
    auto deployed =
        runtime_->registry().Deploy({.tenant = "local", .family = "litter", .manifest = m});
    ASSERT_TRUE(deployed.ok()) << deployed.status();
  }

  int Served() {
    InvokeResult r =
        runtime_->Invoke("litter", {.method = "GET", .url = "http://localhost/litter/"});
    EXPECT_EQ(r.outcome, Outcome::kOk) << r.error;
    int served = 0;
    EXPECT_TRUE(absl::SimpleAtoi(r.response.body, &served)) << r.response.body;
    return served;
  }

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

}  // namespace
}  // namespace cosmo
