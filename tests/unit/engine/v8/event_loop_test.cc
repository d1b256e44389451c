// The per-request event loop: timers, never-settling promises, the wall limit and
// ctx.waitUntil. Real V8.
#include <chrono>
#include <memory>
#include <string>

#include "absl/time/clock.h"
#include "engine_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cosmo::v8engine {
namespace {

using ::cosmo::v8engine::testing::Get;
using ::cosmo::v8engine::testing::JsManifest;
using ::cosmo::v8engine::testing::MustStart;
using ::cosmo::v8engine::testing::SharedEngine;
using ::cosmo::v8engine::testing::Start;
using ::testing::HasSubstr;

double Seconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

TEST(EventLoopTest, SetTimeoutResolvesAfterItsDelayWithoutUsingCpu) {
  auto instance = MustStart(R"(export default { async fetch() {
      const t0 = Date.now();
      await new Promise((resolve) => setTimeout(resolve, 150));
      return `waited ${Date.now() - t0 >= 145}`; } };)");
  ASSERT_NE(instance, nullptr);
  InvokeResult r = instance->Invoke(Get());
  ASSERT_EQ(r.outcome, Outcome::kOk) << r.error;
  EXPECT_EQ(r.response.body, "waited true");
  EXPECT_GE(r.usage.wall_us, 145'000);
  EXPECT_LT(r.usage.cpu_us, 50'000) << "the wait must not count as CPU";
  EXPECT_TRUE(instance->Reusable());
}

TEST(EventLoopTest, TimersFireInDeadlineOrderWithArgumentsAndCanBeCleared) {
  auto instance = MustStart(R"(export default { async fetch() {
      const order = [];
      setTimeout((x) => order.push(x), 30, 'c');
      setTimeout((x) => order.push(x), 10, 'a');
      const cancelled = setTimeout(() => order.push('never'), 20);
      setTimeout(() => order.push('b'), 20);
      clearTimeout(cancelled);
      let ticks = 0;
      await new Promise((resolve) => {
        const id = setInterval(() => { if (++ticks === 3) { clearInterval(id); resolve(); } }, 5);
      });
      await new Promise((resolve) => setTimeout(resolve, 40));
      return `${order.join(',')} ${ticks}`; } };)");
  ASSERT_NE(instance, nullptr);
  InvokeResult r = instance->Invoke(Get());
  ASSERT_EQ(r.outcome, Outcome::kOk) << r.error;
  EXPECT_EQ(r.response.body, "a,b,c 3");
}

TEST(EventLoopTest, ExceptionInATimerIsLoggedAndTheRequestContinues) {
  auto instance = MustStart(R"(export default { async fetch() {
      setTimeout(() => { throw new Error('boom'); }, 0);
      await new Promise((resolve) => setTimeout(resolve, 5));
      return 'fine'; } };)");
  ASSERT_NE(instance, nullptr);
  InvokeResult r = instance->Invoke(Get());
  ASSERT_EQ(r.outcome, Outcome::kOk) << r.error;
  ASSERT_FALSE(r.console.empty());
  EXPECT_EQ(r.console[0].level, LogLevel::kError);
  EXPECT_THAT(r.console[0].text, HasSubstr("Uncaught Error: boom"));
}

TEST(EventLoopTest, APromiseNothingCanSettleEndsPromptly) {
  auto instance = MustStart(R"(export default { fetch() {
      setTimeout(() => {}, 5);  // pending work for a moment, then none
      return new Promise(() => {}); } };)");
  ASSERT_NE(instance, nullptr);
  auto start = std::chrono::steady_clock::now();
  InvokeResult r = instance->Invoke(Get());
  EXPECT_LT(Seconds(std::chrono::steady_clock::now() - start), 1.0);
  EXPECT_EQ(r.outcome, Outcome::kException);
  EXPECT_EQ(r.error, "Promise will never complete.");
  EXPECT_TRUE(instance->Reusable());
}

TEST(EventLoopTest, WallLimitEndsARequestThatWaitsTooLong) {
  ScriptLimits limits;
  limits.wall_per_request = absl::Milliseconds(200);
  auto instance = MustStart(R"(export default { async fetch() {
      await new Promise((resolve) => setTimeout(resolve, 60000));
      return 'late'; } };)",
                            limits);
  ASSERT_NE(instance, nullptr);
  auto start = std::chrono::steady_clock::now();
  InvokeResult r = instance->Invoke(Get());
  double took = Seconds(std::chrono::steady_clock::now() - start);
  EXPECT_EQ(r.outcome, Outcome::kExceededWallTime) << r.error;
  EXPECT_THAT(r.error, HasSubstr("wall-clock limit of 200ms"));
  EXPECT_GE(took, 0.19);
  EXPECT_LT(took, 1.0);
  EXPECT_FALSE(instance->Reusable());
}

TEST(EventLoopTest, CpuLimitStillAppliesInsideTimerCallbacks) {
  ScriptLimits limits;
  limits.cpu_per_request = absl::Milliseconds(20);
  auto instance = MustStart(R"(export default { async fetch() {
      await new Promise((resolve) => setTimeout(() => { for (;;) {} }, 1));
      return 'never'; } };)",
                            limits);
  ASSERT_NE(instance, nullptr);
  InvokeResult r = instance->Invoke(Get());
  EXPECT_EQ(r.outcome, Outcome::kExceededCpu) << r.error;
  EXPECT_FALSE(instance->Reusable());
}

TEST(EventLoopTest, WaitUntilWorkRunsAfterTheResponseWithinTheRequest) {
  auto instance = MustStart(R"(
      let done = 0;
      export default { fetch(request, env, ctx) {
        if (new URL(request.url).pathname === '/count') return String(done);
        ctx.waitUntil(new Promise((resolve) => setTimeout(() => { done++; resolve(); }, 50)));
        ctx.waitUntil(Promise.reject(new TypeError('background failed')));
        return 'sent'; } };)");
  ASSERT_NE(instance, nullptr);
  InvokeResult r = instance->Invoke(Get("http://x/fam/work"));
  ASSERT_EQ(r.outcome, Outcome::kOk) << r.error;
  EXPECT_EQ(r.response.body, "sent");
  EXPECT_GE(r.usage.wall_us, 45'000);
  bool logged = false;
  for (const ConsoleMessage& m : r.console) {
    logged |= m.level == LogLevel::kError && m.text.find("background failed") != std::string::npos;
  }
  EXPECT_TRUE(logged);
  InvokeResult count = instance->Invoke(Get("http://x/count"));
  EXPECT_EQ(count.response.body, "1");
}

TEST(EventLoopTest, WaitUntilPastTheWallLimitIsCancelledButTheResponseStands) {
  ScriptLimits limits;
  limits.wall_per_request = absl::Milliseconds(100);
  auto instance = MustStart(R"(export default { fetch(request, env, ctx) {
      ctx.waitUntil(new Promise((resolve) => setTimeout(resolve, 60000)));
      return 'sent'; } };)",
                            limits);
  ASSERT_NE(instance, nullptr);
  InvokeResult r = instance->Invoke(Get());
  ASSERT_EQ(r.outcome, Outcome::kOk) << r.error;
  EXPECT_EQ(r.response.body, "sent");
  ASSERT_FALSE(r.console.empty());
  EXPECT_THAT(r.console.back().text, HasSubstr("ctx.waitUntil"));
}

TEST(EventLoopTest, TimersAndFetchThrowAtTheTopLevelOfAModule) {
  auto bad = Start(SharedEngine(), JsManifest(R"(setTimeout(() => {}, 1);
      export default { fetch() { return 'x'; } };)"));
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("while handling a request"));
}

TEST(EventLoopTest, TimersOfARequestNeverFireInTheNextOne) {
  auto instance = MustStart(R"(
      let fired = 0;
      export default { fetch(request) {
        if (new URL(request.url).pathname === '/arm') setTimeout(() => { fired++; }, 1);
        return String(fired); } };)");
  ASSERT_NE(instance, nullptr);
  EXPECT_EQ(instance->Invoke(Get("http://x/arm")).response.body, "0");
  absl::SleepFor(absl::Milliseconds(5));
  EXPECT_EQ(instance->Invoke(Get("http://x/read")).response.body, "0");
}

}  // namespace
}  // namespace cosmo::v8engine
