// The runaway scripts of docs/security.md ("Runaway scripts"): each behaviour ends in its
// documented Outcome within its limit, and the engine keeps serving a healthy script afterwards.
#include <sys/resource.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <string>

#include "engine_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cosmo::v8engine {
namespace {

using ::cosmo::v8engine::testing::Get;
using ::cosmo::v8engine::testing::JsManifest;
using ::cosmo::v8engine::testing::SharedEngine;
using ::cosmo::v8engine::testing::Start;
using ::testing::HasSubstr;

constexpr auto kCpuLimit = absl::Milliseconds(50);

ScriptLimits TestLimits() {
  ScriptLimits limits;
  limits.cpu_per_request = kCpuLimit;
  limits.memory_bytes = size_t{64} << 20;
  return limits;
}

using HostileRun = ::cosmo::testing::TimedInvocation;

HostileRun RunHandler(const std::string& source, const ScriptLimits& limits = TestLimits()) {
  auto instance = Start(SharedEngine(), JsManifest(source), limits);
  EXPECT_TRUE(instance.ok()) << instance.status();
  if (!instance.ok()) return {};
  return ::cosmo::testing::InvokeTimed(**instance, Get());
}

void ExpectHealthyScriptStillServes() {
  auto instance = Start(SharedEngine(),
                        JsManifest("export default { fetch() { return 'fine'; } };"), TestLimits());
  ASSERT_TRUE(instance.ok()) << instance.status();
  InvokeResult result = (*instance)->Invoke(Get());
  EXPECT_EQ(result.outcome, Outcome::kOk) << result.error;
  EXPECT_EQ(result.response.body, "fine");
}

size_t RssBytes() {
  std::ifstream statm("/proc/self/statm");
  size_t pages_total = 0, pages_resident = 0;
  statm >> pages_total >> pages_resident;
  return pages_resident * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

// CPU runaways must end near the limit: not before it, and not long after (the watchdog polls
// every millisecond; the generous upper bound absorbs a loaded CI machine).
void ExpectCpuLimitHit(const HostileRun& run) {
  EXPECT_EQ(run.result.outcome, Outcome::kExceededCpu) << run.result.error;
  EXPECT_FALSE(run.reusable);
  EXPECT_GE(run.result.usage.cpu_us, absl::ToInt64Microseconds(kCpuLimit));
  EXPECT_LT(run.result.usage.cpu_us, absl::ToInt64Microseconds(kCpuLimit) + 30'000);
  EXPECT_LT(run.wall_ms, 1000);
  EXPECT_THAT(run.result.error, HasSubstr("CPU limit"));
}

TEST(HostileScriptTest, InfiniteLoopExceedsCpu) {
  ExpectCpuLimitHit(RunHandler("export default { fetch() { while (true) {} } };"));
  ExpectHealthyScriptStillServes();
}

TEST(HostileScriptTest, CatastrophicRegexFallsBackToLinearEngine) {
  // With V8's backtrack fallback the classic ReDoS finishes quickly and correctly.
  HostileRun run = RunHandler(
      "export default { fetch() { return String(/(a+)+$/.test('a'.repeat(40) + 'b')); } };");
  EXPECT_EQ(run.result.outcome, Outcome::kOk) << run.result.error;
  EXPECT_EQ(run.result.response.body, "false");
  EXPECT_LT(run.result.usage.cpu_us, absl::ToInt64Microseconds(kCpuLimit));
  ExpectHealthyScriptStillServes();
}

TEST(HostileScriptTest, CatastrophicRegexInALoopExceedsCpu) {
  ExpectCpuLimitHit(
      RunHandler("export default { fetch() { for (;;) /(a+)+$/.test('a'.repeat(40) + 'b'); } };"));
  ExpectHealthyScriptStillServes();
}

TEST(HostileScriptTest, MicrotaskStormExceedsCpu) {
  ExpectCpuLimitHit(RunHandler(R"(export default { fetch() {
      function f() { Promise.resolve().then(f); } f(); return 'never sent'; } };)"));
  ExpectHealthyScriptStillServes();
}

TEST(HostileScriptTest, LoopInAGetterOfTheReturnedValueExceedsCpu) {
  // Resolving the handler's promise with this value reads `then`, during the microtask checkpoint.
  ExpectCpuLimitHit(
      RunHandler("export default { async fetch() { return { get then() { for (;;) {} } }; } };"));
  ExpectHealthyScriptStillServes();
}

TEST(HostileScriptTest, LoopInToStringOfAThrownValueExceedsCpu) {
  ExpectCpuLimitHit(
      RunHandler("export default { fetch() { throw { toString() { for (;;) {} } }; } };"));
  ExpectHealthyScriptStillServes();
}

TEST(HostileScriptTest, HeapGrowthExceedsMemory) {
  // CPU to spare, so the memory limit is what stops it.
  ScriptLimits limits = TestLimits();
  limits.cpu_per_request = absl::Seconds(5);
  auto start = std::chrono::steady_clock::now();
  HostileRun run = RunHandler(R"(export default { fetch() {
      const a = []; for (;;) a.push(new Array(1e5).fill(1)); } };)",
                              limits);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
  EXPECT_EQ(run.result.outcome, Outcome::kExceededMemory) << run.result.error;
  EXPECT_FALSE(run.reusable);
  EXPECT_THAT(run.result.error, HasSubstr("memory limit"));
  ExpectHealthyScriptStillServes();
}

TEST(HostileScriptTest, HugeArrayBufferIsARangeError) {
  HostileRun uncaught = RunHandler("export default { fetch() { new ArrayBuffer(2 ** 30); } };");
  EXPECT_EQ(uncaught.result.outcome, Outcome::kException);
  EXPECT_THAT(uncaught.result.error, HasSubstr("RangeError"));
  EXPECT_TRUE(uncaught.reusable);

  HostileRun caught = RunHandler(R"(export default { fetch() {
      try { new Uint8Array(2 ** 30); return 'allocated'; } catch (e) { return e.name; } } };)");
  EXPECT_EQ(caught.result.outcome, Outcome::kOk) << caught.result.error;
  EXPECT_EQ(caught.result.response.body, "RangeError");
  ExpectHealthyScriptStillServes();
}

TEST(HostileScriptTest, ArrayBuffersAreChargedToTheSameBudget) {
  // 16 MiB at a time: each fits alone, but not 64 MiB of them together with the heap.
  HostileRun run = RunHandler(R"(export default { fetch() {
      const keep = [];
      try { for (;;) keep.push(new ArrayBuffer(16 << 20)); }
      catch (e) { return `${e.name} after ${keep.length}`; } } };)");
  EXPECT_EQ(run.result.outcome, Outcome::kOk) << run.result.error;
  EXPECT_THAT(run.result.response.body, ::testing::MatchesRegex("RangeError after [1-3]"));
  ExpectHealthyScriptStillServes();
}

TEST(HostileScriptTest, HugeStringIsARangeError) {
  HostileRun run = RunHandler("export default { fetch() { return 'x'.repeat(2 ** 30); } };");
  EXPECT_EQ(run.result.outcome, Outcome::kException);
  EXPECT_THAT(run.result.error, HasSubstr("RangeError: Invalid string length"));
  ExpectHealthyScriptStillServes();
}

TEST(HostileScriptTest, UnboundedRecursionIsAStackOverflowException) {
  HostileRun run =
      RunHandler("export default { fetch() { const r = () => r() + 1; return r(); } };");
  EXPECT_EQ(run.result.outcome, Outcome::kException);
  EXPECT_THAT(run.result.error, HasSubstr("RangeError: Maximum call stack size exceeded"));
  EXPECT_TRUE(run.reusable);
  ExpectHealthyScriptStillServes();
}

TEST(HostileScriptTest, UnboundedRecursionOnASmallThreadStackIsSafe) {
  // 256 KiB of thread stack: the engine sets V8's limit from the thread's real stack.
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 512 << 10);
  HostileRun run;
  pthread_t thread;
  ASSERT_EQ(pthread_create(
                &thread, &attr,
                [](void* out) -> void* {
                  *static_cast<HostileRun*>(out) =
                      RunHandler("export default { fetch() { const r = () => r(); r(); } };");
                  return nullptr;
                },
                &run),
            0);
  pthread_join(thread, nullptr);
  pthread_attr_destroy(&attr);
  EXPECT_EQ(run.result.outcome, Outcome::kException);
  EXPECT_THAT(run.result.error, HasSubstr("Maximum call stack size exceeded"));
}

TEST(HostileScriptTest, NeverSettlingPromiseEndsPromptly) {
  HostileRun run = RunHandler("export default { fetch() { return new Promise(() => {}); } };");
  EXPECT_EQ(run.result.outcome, Outcome::kException);
  EXPECT_EQ(run.result.error, "Promise will never complete.");
  EXPECT_LT(run.wall_ms, 100);
  EXPECT_TRUE(run.reusable);
  HostileRun awaited =
      RunHandler("export default { async fetch() { await new Promise(() => {}); } };");
  EXPECT_EQ(awaited.result.outcome, Outcome::kException);
  ExpectHealthyScriptStillServes();
}

TEST(HostileScriptTest, TopLevelInfiniteLoopFailsActivationWithinStartupLimit) {
  ScriptLimits limits = TestLimits();
  limits.startup_cpu = absl::Milliseconds(200);
  auto start = std::chrono::steady_clock::now();
  auto instance =
      Start(SharedEngine(),
            JsManifest("while (true) {}\nexport default { fetch() { return 'x'; } };"), limits);
  double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  EXPECT_TRUE(absl::IsResourceExhausted(instance.status())) << instance.status();
  EXPECT_THAT(instance.status().message(), HasSubstr("startup CPU limit"));
  EXPECT_LT(ms, 1000);
  ExpectHealthyScriptStillServes();
}

TEST(HostileScriptTest, TopLevelInfiniteLoopIsRejectedAtValidation) {
  absl::Status status =
      SharedEngine().Validate(JsManifest("for (;;) {}\nexport default { fetch() {} };"));
  EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
  EXPECT_THAT(status.message(), HasSubstr("startup CPU limit of 1s"));
}

TEST(HostileScriptTest, CodegenIsBlockedWhenDisallowed) {
  JavaScriptEngineOptions options;
  options.allow_codegen = false;
  auto engine = testing::MakeTestEngine(options);
  ASSERT_TRUE(engine.ok()) << engine.status();
  for (const char* source : {"export default { fetch() { return eval('1 + 1'); } };",
                             "export default { fetch() { return new Function('return 1')(); } };",
                             "export default { async fetch() { await WebAssembly.compile("
                             "new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0])); return 'x'; } };",
                             "export default { fetch() { new WebAssembly.Module("
                             "new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0])); return 'x'; } };"}) {
    auto instance = Start(**engine, JsManifest(source), TestLimits());
    ASSERT_TRUE(instance.ok()) << instance.status();
    InvokeResult result = (*instance)->Invoke(Get());
    EXPECT_EQ(result.outcome, Outcome::kException) << source;
    EXPECT_THAT(result.error, ::testing::AnyOf(HasSubstr("EvalError"), HasSubstr("CompileError")))
        << source;
  }
}

TEST(HostileScriptTest, CodegenWorksByDefault) {
  HostileRun run = RunHandler(R"(export default { async fetch() {
      const m = await WebAssembly.compile(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]));
      const n = new WebAssembly.Module(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]));
      return `${eval('1 + 1')} ${new Function('return 3')()} ${m instanceof WebAssembly.Module}` +
             ` ${n instanceof WebAssembly.Module}`;
    } };)");
  EXPECT_EQ(run.result.outcome, Outcome::kOk) << run.result.error;
  EXPECT_EQ(run.result.response.body, "2 3 true true");
}

// 100 rounds of the cheap runaways, each on a fresh instance as the runtime would do, must not
// grow the process: isolates and their memory are really given back.
TEST(HostileScriptTest, RepeatedRunawaysDoNotGrowRss) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "AddressSanitizer's quarantine holds freed memory; its leak check covers this";
#endif
  ScriptLimits limits = TestLimits();
  limits.cpu_per_request = absl::Milliseconds(5);
  const char* kSources[] = {
      "export default { fetch() { while (true) {} } };",
      "export default { fetch() { new ArrayBuffer(2 ** 30); } };",
      "export default { fetch() { const r = () => r(); r(); } };",
      "export default { fetch() { return new Promise(() => {}); } };",
  };
  auto round = [&] {
    for (const char* source : kSources) {
      auto instance = Start(SharedEngine(), JsManifest(source), limits);
      ASSERT_TRUE(instance.ok()) << instance.status();
      EXPECT_NE((*instance)->Invoke(Get()).outcome, Outcome::kOk);
    }
  };
  for (int i = 0; i < 10; ++i) round();  // warm-up: allocator pools, code caches
  size_t before = RssBytes();
  for (int i = 0; i < 100; ++i) round();
  size_t after = RssBytes();
  EXPECT_LT(after, before + before / 10 + (8 << 20))
      << "RSS grew from " << (before >> 20) << " MiB to " << (after >> 20) << " MiB";
  ExpectHealthyScriptStillServes();
}

}  // namespace
}  // namespace cosmo::v8engine
