// Hostile templates (docs/liquid.md, "Limits"): each ends in a limit outcome within its limit, and
// the engine keeps serving a healthy page afterwards.
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "cosmo/liquid_engine.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "liquid_test_util.h"

namespace cosmo::liquid {
namespace {

using ::cosmo::liquid::testing::Get;
using ::cosmo::liquid::testing::Page;
using ::cosmo::liquid::testing::SharedEngine;
using ::cosmo::liquid::testing::Start;
using ::testing::AnyOf;
using ::testing::HasSubstr;

ScriptLimits TestLimits() {
  ScriptLimits limits;
  limits.cpu_per_request = absl::Milliseconds(200);
  limits.memory_bytes = size_t{64} << 20;
  return limits;
}

using HostileRun = ::cosmo::testing::TimedInvocation;

HostileRun RunPage(Engine& engine, const Manifest& manifest,
                   const ScriptLimits& limits = TestLimits()) {
  EXPECT_TRUE(engine.Validate(manifest).ok()) << engine.Validate(manifest);
  auto instance = Start(engine, manifest, limits);
  EXPECT_TRUE(instance.ok()) << instance.status();
  if (!instance.ok()) return {};
  HostileRun run = ::cosmo::testing::InvokeTimed(**instance, Get());
  if (run.reusable) {
    // An instance that stays in service must still render (its next request starts afresh).
    InvokeResult again = (*instance)->Invoke(Get());
    EXPECT_EQ(again.outcome, run.result.outcome) << again.error;
  }
  return run;
}

void ExpectHealthyPageStillRenders(Engine& engine = SharedEngine()) {
  auto instance = Start(engine, Page("fine {{ segments | join: '/' }}"), TestLimits());
  ASSERT_TRUE(instance.ok()) << instance.status();
  InvokeResult result = (*instance)->Invoke(Get());
  EXPECT_EQ(result.outcome, Outcome::kOk) << result.error;
  EXPECT_EQ(result.response.body, "fine a/b");
}

TEST(LiquidHostileTemplateTest, HugeRangeIsRefusedBeforeItIsBuilt) {
  HostileRun run =
      RunPage(SharedEngine(), Page("{% for i in (1..100000000) %}{{ i }}{% endfor %}"));
  EXPECT_EQ(run.result.outcome, Outcome::kExceededMemory) << run.result.error;
  EXPECT_THAT(run.result.error, HasSubstr("page.liquid:1:1: Liquid limit exceeded"));
  EXPECT_LT(run.wall_ms, 1000);
  ExpectHealthyPageStillRenders();
}

TEST(LiquidHostileTemplateTest, NestedLoopsStopAtARenderLimit) {
  HostileRun run =
      RunPage(SharedEngine(),
              Page("{% for a in (1..1000) %}{% for b in (1..1000) %}{% for c in (1..1000) %}"
                   "{{ c }}{% endfor %}{% endfor %}{% endfor %}"));
  // The node limit or the CPU limit, whichever comes first on this machine.
  EXPECT_EQ(run.result.outcome, Outcome::kExceededCpu) << run.result.error;
  EXPECT_LT(run.wall_ms, 5000);
  ExpectHealthyPageStillRenders();
}

TEST(LiquidHostileTemplateTest, LoopsAreBoundedByRenderedNodesWhateverTheCpuLimit) {
  LiquidEngineOptions options;
  options.max_rendered_nodes = 10'000;
  std::unique_ptr<Engine> engine = testing::MakeEngine(options);
  ScriptLimits generous = TestLimits();
  generous.cpu_per_request = absl::Seconds(10);
  HostileRun run =
      RunPage(*engine, Page("{% for i in (1..100000) %}{{ i }}{% endfor %}"), generous);
  EXPECT_EQ(run.result.outcome, Outcome::kExceededCpu) << run.result.error;
  EXPECT_THAT(run.result.error, HasSubstr("more than 10000 template nodes"));
  EXPECT_TRUE(run.reusable);
  ExpectHealthyPageStillRenders(*engine);
}

TEST(LiquidHostileTemplateTest, CpuLimitStopsARenderUnderTheNodeLimit) {
  ScriptLimits tight = TestLimits();
  tight.cpu_per_request = absl::Milliseconds(5);
  // Few nodes, each expensive: a long string split and joined over and over.
  HostileRun run =
      RunPage(SharedEngine(),
              Page("{% assign s = 'x' | append: '         ' %}"
                   "{% for i in (1..12) %}{% assign s = s | append: s %}{% endfor %}"
                   "{% for i in (1..100000) %}{% assign t = s | split: ' ' | join: ',' "
                   "| size %}{% endfor %}{{ t }}"),
              tight);
  EXPECT_THAT(run.result.outcome, AnyOf(Outcome::kExceededCpu, Outcome::kExceededMemory))
      << run.result.error;
  ExpectHealthyPageStillRenders();
}

TEST(LiquidHostileTemplateTest, SelfIncludeStopsAtTheDepthLimit) {
  HostileRun run = RunPage(
      SharedEngine(), Page("{% include 'loop' %}", {}, {{"loop.liquid", "x{% include 'loop' %}"}}));
  EXPECT_EQ(run.result.outcome, Outcome::kExceededCpu) << run.result.error;
  EXPECT_THAT(run.result.error, HasSubstr("includes or renders nested deeper than 100"));
  ExpectHealthyPageStillRenders();
}

// A render gives each partial a fresh context, yet the depth still counts every level: the limit,
// not V8's stack, ends the recursion, and quickly.
TEST(LiquidHostileTemplateTest, MutualRenderStopsAtTheDepthLimit) {
  HostileRun run = RunPage(
      SharedEngine(), Page("{% render 'a' %}", {},
                           {{"a.liquid", "{% render 'b' %}"}, {"b.liquid", "{% render 'a' %}"}}));
  EXPECT_EQ(run.result.outcome, Outcome::kExceededCpu) << run.result.error;
  EXPECT_THAT(run.result.error, HasSubstr("renders nested deeper than 100"));
  ExpectHealthyPageStillRenders();
}

// Depth is per render: a page may render the same partial many times side by side.
TEST(LiquidHostileTemplateTest, SiblingRendersDoNotAddUpToTheDepthLimit) {
  HostileRun run = RunPage(
      SharedEngine(),
      Page("{% for i in (1..150) %}{% render 'leaf', n: i %}{% include 'leaf' %}{% endfor %}", {},
           {{"leaf.liquid", "{% render 'dot' %}"}, {"dot.liquid", "."}}));
  ASSERT_EQ(run.result.outcome, Outcome::kOk) << run.result.error;
  EXPECT_EQ(run.result.response.body, std::string(300, '.'));
}

TEST(LiquidHostileTemplateTest, DoublingStringIsAnAllocationLimit) {
  HostileRun run =
      RunPage(SharedEngine(), Page("{% assign s = 'xxxxxxxxxx' %}{% for i in (1..40) %}"
                                   "{% assign s = s | append: s %}{% endfor %}{{ s | size }}"));
  EXPECT_EQ(run.result.outcome, Outcome::kExceededMemory) << run.result.error;
  ExpectHealthyPageStillRenders();
}

TEST(LiquidHostileTemplateTest, OutputIsBounded) {
  LiquidEngineOptions options;
  options.max_output_chars = 1000;
  std::unique_ptr<Engine> engine = testing::MakeEngine(options);
  HostileRun run = RunPage(*engine, Page("{% for i in (1..500) %}0123456789{% endfor %}"));
  EXPECT_EQ(run.result.outcome, Outcome::kExceededMemory) << run.result.error;
  EXPECT_THAT(run.result.error, HasSubstr("output longer than 1000"));
  ExpectHealthyPageStillRenders(*engine);
}

TEST(LiquidHostileTemplateTest, DeepNestingIsRejectedAtDeploy) {
  std::string deep;
  for (int i = 0; i < 20000; ++i) deep += "{% if true %}";
  for (int i = 0; i < 20000; ++i) deep += "{% endif %}";
  absl::Status status = SharedEngine().Validate(Page(deep));
  EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
  ExpectHealthyPageStillRenders();
}

TEST(LiquidHostileTemplateTest, HeapLimitEndsAHugeRangeUnderAGenerousAllocationBudget) {
  LiquidEngineOptions options;
  options.max_allocation_units = uint64_t{1} << 40;
  std::unique_ptr<Engine> engine = testing::MakeEngine(options);
  ScriptLimits limits = TestLimits();
  limits.cpu_per_request = absl::Seconds(5);
  limits.memory_bytes = size_t{32} << 20;
  HostileRun run = RunPage(*engine, Page("{% for i in (1..100000000) %}{% endfor %}done"), limits);
  EXPECT_THAT(run.result.outcome, AnyOf(Outcome::kExceededMemory, Outcome::kExceededCpu))
      << run.result.error;
  EXPECT_FALSE(run.reusable && run.result.outcome == Outcome::kExceededMemory);
  ExpectHealthyPageStillRenders(*engine);
}

}  // namespace
}  // namespace cosmo::liquid
