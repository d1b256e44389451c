#include "cosmo/runtime.h"

#include <atomic>
#include <set>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "cosmo/status_macros.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "metering/usage_meter.h"
#include "support/temp_dir.h"
#include "unit/runtime/runtime_test_support.h"

namespace cosmo {
namespace {

using testing::Get;
using ::testing::HasSubstr;
using testing::ScriptedRuntime;

RuntimeOptions ManualOptions(ManualClock* clock) {
  RuntimeOptions options;
  options.clock = clock;
  options.background_maintenance = false;
  return options;
}

class RuntimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    rt_ = ScriptedRuntime::Create(ManualOptions(&clock_), NewInMemoryStore());
  }

  InvokeResult Invoke(const std::string& family) {
    return rt_.runtime->Invoke(family, Get(family));
  }

  ManualClock clock_;
  ScriptedRuntime rt_;
};

TEST_F(RuntimeTest, InvokesTheActiveVersionThroughAHandle) {
  rt_.Deploy("hello", "respond 201 hi there");
  FamilyHandle handle = rt_.runtime->Family("hello");
  FamilyHandle copy = handle;
  InvokeResult result = copy.Invoke(Get("hello"));
  EXPECT_EQ(result.outcome, Outcome::kOk);
  EXPECT_EQ(result.response.status, 201);
  EXPECT_EQ(result.response.body, "hi there");
  EXPECT_EQ(handle.family(), "hello");
}

TEST_F(RuntimeTest, UnknownAndInvalidFamiliesAreNotFoundAndNotRemembered) {
  EXPECT_EQ(Invoke("nobody").outcome, Outcome::kNotFound);
  EXPECT_EQ(Invoke("Bad/Name").outcome, Outcome::kNotFound);
  EXPECT_EQ(Invoke("").outcome, Outcome::kNotFound);
  EXPECT_EQ(rt_.runtime->Stats().active_families, 0u);
  rt_.Deploy("nobody", "respond 200 now here");
  EXPECT_EQ(Invoke("nobody").response.body, "now here");
}

TEST_F(RuntimeTest, HundredConcurrentFirstRequestsActivateOnce) {
  rt_.Deploy("cold", "respond 200 warm");
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 100; ++i) {
    threads.emplace_back([&] {
      if (Invoke("cold").response.body == "warm") ++ok;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 100);
  EXPECT_EQ(rt_.runtime->Stats().activations, 1u);
  EXPECT_EQ(rt_.engine->prepare_calls(), 1);
}

TEST_F(RuntimeTest, SecondActivationOfAVersionStillPreparesThroughTheEngineCache) {
  rt_.Deploy("a", "respond 200 a");
  Invoke("a");
  clock_.Advance(absl::Minutes(2));
  rt_.runtime->Maintain();
  EXPECT_EQ(rt_.runtime->Stats().active_families, 0u);
  EXPECT_EQ(Invoke("a").outcome, Outcome::kOk);
  EXPECT_EQ(rt_.runtime->Stats().activations, 2u);
}

TEST_F(RuntimeTest, DeployAndRollbackSwitchNewRequestsAtOnce) {
  const std::string v1 = rt_.Deploy("shop", "respond 200 one");
  EXPECT_EQ(Invoke("shop").response.body, "one");
  rt_.Deploy("shop", "respond 200 two");
  EXPECT_EQ(Invoke("shop").response.body, "two");
  ASSERT_TRUE(rt_.runtime->registry().Rollback("local", "shop", std::nullopt).ok());
  EXPECT_EQ(Invoke("shop").response.body, "one");
  ASSERT_TRUE(rt_.runtime->registry().DeleteFamily("local", "shop").ok());
  EXPECT_EQ(Invoke("shop").outcome, Outcome::kNotFound);
  EXPECT_GE(rt_.runtime->Stats().version_switches, 2u);
}

TEST_F(RuntimeTest, DeployAndRollbackUnderLoadNeverFailOrMixResponses) {
  rt_.Deploy("live", "respond 200 v0");
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::atomic<int> requests{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&] {
      while (!stop.load()) {
        InvokeResult r = Invoke("live");
        ++requests;
        int n = -1;
        const bool known = r.response.body.size() >= 2 && r.response.body[0] == 'v' &&
                           absl::SimpleAtoi(r.response.body.substr(1), &n) && n >= 0 && n <= 10;
        if (r.outcome != Outcome::kOk || r.response.status != 200 || !known) ++failures;
      }
    });
  }
  // Each change lands while the clients are mid-stream: wait for some traffic before each one.
  auto let_clients_run = [&] {
    const int target = requests.load() + 50;
    while (requests.load() < target) std::this_thread::yield();
  };
  for (int i = 1; i <= 10; ++i) {
    let_clients_run();
    rt_.Deploy("live", absl::StrCat("respond 200 v", i));
    // After Deploy returns, every new request sees the new version.
    EXPECT_EQ(Invoke("live").response.body, absl::StrCat("v", i));
    if (i % 3 == 0) {
      let_clients_run();
      ASSERT_TRUE(rt_.runtime->registry().Rollback("local", "live", std::nullopt).ok());
      EXPECT_EQ(Invoke("live").response.body, absl::StrCat("v", i - 1));
      let_clients_run();
      ASSERT_TRUE(rt_.runtime->registry().Rollback("local", "live", std::nullopt).ok());
    }
  }
  stop = true;
  for (auto& c : clients) c.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GE(requests.load(), 50 * 16);
}

TEST_F(RuntimeTest, IdleActivationsUnloadAfterTheTimeoutOnly) {
  rt_.Deploy("idle", "respond 200 x");
  Invoke("idle");
  clock_.Advance(absl::Seconds(59));
  rt_.runtime->Maintain();
  EXPECT_EQ(rt_.runtime->Stats().active_families, 1u);
  Invoke("idle");  // use resets the timer
  clock_.Advance(absl::Seconds(59));
  rt_.runtime->Maintain();
  EXPECT_EQ(rt_.runtime->Stats().active_families, 1u);
  clock_.Advance(absl::Seconds(1));
  rt_.runtime->Maintain();
  RuntimeStats stats = rt_.runtime->Stats();
  EXPECT_EQ(stats.active_families, 0u);
  EXPECT_EQ(stats.idle_unloads, 1u);
  EXPECT_EQ(stats.live_instances, 0u);
  EXPECT_EQ(Invoke("idle").outcome, Outcome::kOk);  // reactivates on demand
}

TEST_F(RuntimeTest, AnIdleUnloadKeepsTheVersionPreparedForTheNextActivation) {
  rt_.Deploy("idle", "respond 200 first");
  EXPECT_EQ(Invoke("idle").response.body, "first");
  clock_.Advance(absl::Minutes(2));
  rt_.runtime->Maintain();
  ASSERT_EQ(rt_.runtime->Stats().idle_unloads, 1u);
  ASSERT_EQ(rt_.runtime->Stats().live_instances, 0u);
  EXPECT_EQ(Invoke("idle").response.body, "first");
  EXPECT_EQ(rt_.runtime->Stats().activations, 2u);
  EXPECT_EQ(rt_.engine->prepare_calls(), 1);
  // A new version is prepared once too; the old one is still known, so a rollback to it is not.
  rt_.Deploy("idle", "respond 200 second");
  EXPECT_EQ(Invoke("idle").response.body, "second");
  EXPECT_EQ(rt_.engine->prepare_calls(), 2);
}

// Three concurrent requests of a family whose requests take 300 ms: three instances.
void RunThreeAtOnce(ScriptedRuntime& rt, const std::string& family) {
  std::vector<std::thread> clients;
  for (int i = 0; i < 3; ++i) {
    clients.emplace_back(
        [&] { EXPECT_EQ(rt.runtime->Invoke(family, Get(family)).outcome, Outcome::kOk); });
  }
  for (auto& c : clients) c.join();
}

TEST(RuntimeSpareInstanceTest, AFamilyGoesBackToOneInstanceWhenItsConcurrencyDrops) {
  ManualClock clock;
  ScriptedRuntime rt = ScriptedRuntime::Create(ManualOptions(&clock), NewInMemoryStore());
  rt.Deploy("slow", "sleep 300");
  RunThreeAtOnce(rt, "slow");
  ASSERT_EQ(rt.runtime->Stats().live_instances, 3u);
  clock.Advance(absl::Seconds(29));
  rt.runtime->Maintain();
  EXPECT_EQ(rt.runtime->Stats().live_instances, 3u);
  clock.Advance(absl::Seconds(2));
  rt.runtime->Maintain();
  RuntimeStats stats = rt.runtime->Stats();
  EXPECT_EQ(stats.live_instances, 1u);
  EXPECT_EQ(stats.active_families, 1u) << "the family stays warm on one instance";
}

TEST(RuntimeBudgetTest, SpareInstancesGoBeforeWholeFamilies) {
  ManualClock clock;
  RuntimeOptions options = ManualOptions(&clock);
  // A scripted instance "holds" its source size: 9 bytes each ("sleep 300"); room for two.
  options.memory_budget_bytes = 20;
  ScriptedRuntime rt = ScriptedRuntime::Create(options, NewInMemoryStore());
  rt.Deploy("a", "sleep 300");
  rt.Deploy("b", "sleep 301");
  RunThreeAtOnce(rt, "a");
  RunThreeAtOnce(rt, "a");
  // b's activation (one request) is worth less than a (six for three instances): it leaves a's
  // spares to the maintenance pass. Then b grows to three for its own concurrency.
  ASSERT_EQ(rt.runtime->Invoke("b", Get("b")).outcome, Outcome::kOk);
  RunThreeAtOnce(rt, "b");
  ASSERT_EQ(rt.runtime->Stats().live_instances, 6u);
  clock.Advance(absl::Seconds(1));
  rt.runtime->Maintain();
  RuntimeStats stats = rt.runtime->Stats();
  EXPECT_EQ(stats.live_instances, 2u);
  EXPECT_EQ(stats.active_families, 2u);
  EXPECT_EQ(stats.budget_unloads, 0u);
}

// The spares a busy family used a moment ago are its concurrency: under a budget they stay while
// a colder family is unloaded (taking them would only make it build isolates again).
TEST(RuntimeBudgetTest, ABusyFamilysSparesInUseNowStayWhileAColdFamilyGoes) {
  ManualClock clock;
  RuntimeOptions options = ManualOptions(&clock);
  // A scripted instance "holds" its source size: 9 bytes each; room for three.
  options.memory_budget_bytes = 30;
  ScriptedRuntime rt = ScriptedRuntime::Create(options, NewInMemoryStore());
  rt.Deploy("busy", "sleep 300");
  rt.Deploy("cold", "sleep 301");
  ASSERT_EQ(rt.runtime->Invoke("cold", Get("cold")).outcome, Outcome::kOk);
  clock.Advance(absl::Seconds(5));
  for (int i = 0; i < 3; ++i) RunThreeAtOnce(rt, "busy");
  ASSERT_EQ(rt.runtime->Stats().live_instances, 4u);
  rt.runtime->Maintain();
  RuntimeStats stats = rt.runtime->Stats();
  EXPECT_EQ(stats.live_instances, 3u) << "busy keeps its three";
  EXPECT_EQ(stats.active_families, 1u);
  EXPECT_EQ(stats.budget_unloads, 1u);
  const uint64_t activations = stats.activations;
  ASSERT_EQ(rt.runtime->Invoke("busy", Get("busy")).outcome, Outcome::kOk);
  EXPECT_EQ(rt.runtime->Stats().activations, activations) << "busy was unloaded";
  // Once they have been idle a while, its spares go before any family.
  clock.Advance(absl::Seconds(1));
  rt.Deploy("cold2", "sleep 302");
  ASSERT_EQ(rt.runtime->Invoke("cold2", Get("cold2")).outcome, Outcome::kOk);
  rt.runtime->Maintain();
  stats = rt.runtime->Stats();
  EXPECT_EQ(stats.active_families, 2u);
  EXPECT_EQ(stats.budget_unloads, 1u);
  EXPECT_LE(stats.instance_memory_bytes, options.memory_budget_bytes);
}

// A family of `bytes` bytes for the budget: a scripted instance "holds" its source size.
std::string RespondOfSize(size_t bytes) {
  const std::string head = "respond 200 ";
  return head + std::string(bytes - head.size(), 'b');
}

// A runtime on `clock` with `budget` bytes for its instances and no idle unloading.
ScriptedRuntime BudgetRuntime(ManualClock* clock, size_t budget,
                              absl::Duration idle_timeout = absl::ZeroDuration()) {
  RuntimeOptions options = ManualOptions(clock);
  options.idle_timeout = idle_timeout;
  options.memory_budget_bytes = budget;
  return ScriptedRuntime::Create(options, NewInMemoryStore());
}

TEST(RuntimeBudgetTest, LeastRecentlyUsedUnloadFirstUnderASmallBudget) {
  ManualClock clock;
  // Each scripted instance "holds" its source size: 1,000 bytes; room for 50.
  const size_t budget = 50'000;
  ScriptedRuntime rt = BudgetRuntime(&clock, budget);
  for (int i = 0; i < 200; ++i) {
    rt.Deploy(absl::StrCat("f", i), RespondOfSize(1'000));
  }
  for (int i = 0; i < 200; ++i) {
    clock.Advance(absl::Milliseconds(10));
    ASSERT_EQ(rt.runtime->Invoke(absl::StrCat("f", i), Get("f")).outcome, Outcome::kOk);
  }
  rt.runtime->Maintain();
  RuntimeStats stats = rt.runtime->Stats();
  EXPECT_LE(stats.instance_memory_bytes, budget);
  EXPECT_EQ(stats.active_families, 50u);
  EXPECT_EQ(stats.budget_unloads, 150u);
  // The 50 most recently used stay: invoking them activates nothing new.
  const uint64_t activations = stats.activations;
  for (int i = 150; i < 200; ++i) rt.runtime->Invoke(absl::StrCat("f", i), Get("f"));
  EXPECT_EQ(rt.runtime->Stats().activations, activations);
  // An evicted one comes back on demand.
  EXPECT_EQ(rt.runtime->Invoke("f0", Get("f0")).outcome, Outcome::kOk);
  EXPECT_EQ(rt.runtime->Stats().activations, activations + 1);
}

// Under a budget smaller than the families in use, one-off requests to cold families (a Zipf
// mix's tail) must not push out the family that serves most requests: least recently used alone
// would unload it as soon as three one-offs came after its last request.
TEST(RuntimeBudgetTest, OneOffRequestsDoNotPushOutABusyFamily) {
  ManualClock clock;
  const size_t budget = 3'000;  // room for three families of 1,000 bytes
  ScriptedRuntime rt = BudgetRuntime(&clock, budget);
  rt.Deploy("busy", RespondOfSize(1'000));
  for (int i = 0; i < 20; ++i) rt.Deploy(absl::StrCat("tail", i), RespondOfSize(1'000));
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(rt.runtime->Invoke("busy", Get("busy")).outcome, Outcome::kOk);
  }
  rt.runtime->Maintain();
  const uint64_t activations_before = rt.runtime->Stats().activations;
  for (int i = 0; i < 20; ++i) {
    clock.Advance(absl::Milliseconds(100));
    ASSERT_EQ(rt.runtime->Invoke(absl::StrCat("tail", i), Get("t")).outcome, Outcome::kOk);
    rt.runtime->Maintain();
    EXPECT_LE(rt.runtime->Stats().instance_memory_bytes, budget);
  }
  RuntimeStats stats = rt.runtime->Stats();
  EXPECT_EQ(stats.activations, activations_before + 20);  // the tail's, and not busy's again
  EXPECT_EQ(stats.budget_unloads, 18u);
  // Still warm: invoking it activates nothing.
  ASSERT_EQ(rt.runtime->Invoke("busy", Get("busy")).outcome, Outcome::kOk);
  EXPECT_EQ(rt.runtime->Stats().activations, stats.activations);
}

// Heat fades: a family busy long ago goes before one in steady use now.
TEST(RuntimeBudgetTest, AFamilyBusyLongAgoGoesBeforeOneInUseNow) {
  ManualClock clock;
  const size_t budget = 2'000;  // room for two
  ScriptedRuntime rt = BudgetRuntime(&clock, budget);
  for (const char* f : {"old", "steady", "new"}) rt.Deploy(f, RespondOfSize(1'000));
  for (int i = 0; i < 1000; ++i) rt.runtime->Invoke("old", Get("old"));
  rt.runtime->Maintain();
  // Ten minutes of one request every 10 s to "steady" while "old" serves nothing.
  for (int i = 0; i < 60; ++i) {
    clock.Advance(absl::Seconds(10));
    rt.runtime->Invoke("steady", Get("steady"));
    rt.runtime->Maintain();
  }
  ASSERT_EQ(rt.runtime->Invoke("new", Get("new")).outcome, Outcome::kOk);
  rt.runtime->Maintain();
  const uint64_t activations = rt.runtime->Stats().activations;
  rt.runtime->Invoke("steady", Get("steady"));
  EXPECT_EQ(rt.runtime->Stats().activations, activations) << "steady was unloaded";
  rt.runtime->Invoke("old", Get("old"));
  EXPECT_EQ(rt.runtime->Stats().activations, activations + 1) << "old stayed";
}

// The engines hear when memory is short (Engine::SetMemoryShort): once the pools pass the budget,
// and no longer once a maintenance pass finds them under nine tenths of it; each change once.
TEST(RuntimeBudgetTest, EnginesAreToldWhileMemoryIsShort) {
  ManualClock clock;
  // Room for three families of 1,000 bytes.
  ScriptedRuntime rt = BudgetRuntime(&clock, 3'000, absl::Seconds(60));
  for (int i = 0; i < 5; ++i) rt.Deploy(absl::StrCat("f", i), RespondOfSize(1'000));
  for (int i = 0; i < 3; ++i) {
    const std::string family = absl::StrCat("f", i);
    ASSERT_EQ(rt.runtime->Invoke(family, Get(family)).outcome, Outcome::kOk);
  }
  rt.runtime->Maintain();
  EXPECT_FALSE(rt.engine->memory_short()) << "three fit";
  EXPECT_EQ(rt.engine->memory_short_calls(), 0);
  for (int i = 3; i < 5; ++i) {
    clock.Advance(absl::Seconds(1));
    const std::string family = absl::StrCat("f", i);
    ASSERT_EQ(rt.runtime->Invoke(family, Get(family)).outcome, Outcome::kOk);
    EXPECT_TRUE(rt.engine->memory_short()) << "after " << family;
    rt.runtime->Maintain();
    EXPECT_TRUE(rt.engine->memory_short()) << "the budget is still full after " << family;
  }
  EXPECT_EQ(rt.engine->memory_short_calls(), 1);
  // Idle for a minute, all unloaded: no longer short.
  clock.Advance(absl::Seconds(61));
  rt.runtime->Maintain();
  ASSERT_EQ(rt.runtime->Stats().instance_memory_bytes, 0u);
  rt.runtime->Maintain();
  EXPECT_FALSE(rt.engine->memory_short());
  EXPECT_EQ(rt.engine->memory_short_calls(), 2);
}

// A budget too small for the families in use: the runtime tells its owner, once a minute, that
// families it unloaded while in use came back (RuntimeOptions::on_budget_churn), and says nothing
// in a minute without such returns.
TEST(RuntimeBudgetTest, ChurnIsReportedOnceAMinuteWhileUnloadedFamiliesComeBack) {
  ManualClock clock;
  RuntimeOptions options = ManualOptions(&clock);
  options.idle_timeout = absl::ZeroDuration();
  options.memory_budget_bytes = 3'000;  // room for three families of 1,000 bytes
  std::vector<BudgetChurn> reports;     // Maintain() runs on this thread
  options.on_budget_churn = [&](const BudgetChurn& churn) { reports.push_back(churn); };
  ScriptedRuntime rt = ScriptedRuntime::Create(options, NewInMemoryStore());
  for (int i = 0; i < 4; ++i) rt.Deploy(absl::StrCat("f", i), RespondOfSize(1'000));
  // Four families in turn, a second apart, where three fit: 40 s of unloading one to bring back
  // another.
  for (int round = 0; round < 10; ++round) {
    for (int i = 0; i < 4; ++i) {
      clock.Advance(absl::Seconds(1));
      const std::string family = absl::StrCat("f", i);
      ASSERT_EQ(rt.runtime->Invoke(family, Get(family)).outcome, Outcome::kOk);
      ASSERT_EQ(rt.runtime->Invoke(family, Get(family)).outcome, Outcome::kOk);
      rt.runtime->Maintain();
    }
  }
  const RuntimeStats stats = rt.runtime->Stats();
  ASSERT_GE(stats.budget_returns, 10u) << "the test's families must come back";
  EXPECT_LE(stats.budget_returns, stats.budget_unloads);
  EXPECT_TRUE(reports.empty()) << "a report before the minute is up";

  clock.Advance(absl::Seconds(21));
  rt.runtime->Maintain();
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0].window, absl::Seconds(61));
  EXPECT_EQ(reports[0].returns, stats.budget_returns);
  EXPECT_EQ(reports[0].unloads, stats.budget_unloads);
  EXPECT_EQ(reports[0].budget_bytes, 3'000u);
  EXPECT_EQ(reports[0].memory_bytes, rt.runtime->Stats().instance_memory_bytes);
  rt.runtime->Maintain();
  EXPECT_EQ(reports.size(), 1u) << "at most once a minute";

  // A quiet minute: the families that fit serve, nothing comes back, nothing is said.
  for (int i = 0; i < 61; ++i) {
    clock.Advance(absl::Seconds(1));
    ASSERT_EQ(rt.runtime->Invoke("f3", Get("f3")).outcome, Outcome::kOk);
    rt.runtime->Maintain();
  }
  EXPECT_EQ(reports.size(), 1u);
}

// The activation that takes the pools over the budget makes room itself, before its request
// runs: memory never waits for a maintenance pass, and families go one for one as they come.
TEST(RuntimeBudgetTest, AnActivationOverTheBudgetUnloadsAColderFamilyWithoutMaintenance) {
  ManualClock clock;
  const size_t budget = 3'000;  // room for three families of 1,000 bytes
  ScriptedRuntime rt = BudgetRuntime(&clock, budget);
  for (int i = 0; i < 10; ++i) rt.Deploy(absl::StrCat("f", i), RespondOfSize(1'000));
  for (int i = 0; i < 10; ++i) {
    clock.Advance(absl::Milliseconds(10));
    ASSERT_EQ(rt.runtime->Invoke(absl::StrCat("f", i), Get("f")).outcome, Outcome::kOk);
    const RuntimeStats stats = rt.runtime->Stats();
    EXPECT_LE(stats.instance_memory_bytes, budget) << "after f" << i;
    EXPECT_EQ(stats.active_families, std::min(i + 1, 3)) << "after f" << i;
    EXPECT_EQ(stats.budget_unloads, static_cast<uint64_t>(std::max(i - 2, 0))) << "after f" << i;
  }
  // The least recently used went: the last three stay.
  const uint64_t activations = rt.runtime->Stats().activations;
  for (int i = 7; i < 10; ++i) rt.runtime->Invoke(absl::StrCat("f", i), Get("f"));
  EXPECT_EQ(rt.runtime->Stats().activations, activations);
}

// An activation unloads only families that give way to the one it brings (less worth per byte,
// or no more requests and used less recently): a one-off request leaves a busy family alone, and
// the maintenance pass then unloads the one-off family instead.
TEST(RuntimeBudgetTest, AnActivationLeavesAFamilyWorthMoreThanItsOwn) {
  ManualClock clock;
  const size_t budget = 1'000;  // room for one
  ScriptedRuntime rt = BudgetRuntime(&clock, budget);
  rt.Deploy("busy", RespondOfSize(1'000));
  rt.Deploy("oneoff", RespondOfSize(1'000));
  for (int i = 0; i < 100; ++i) rt.runtime->Invoke("busy", Get("busy"));
  clock.Advance(absl::Milliseconds(100));
  ASSERT_EQ(rt.runtime->Invoke("oneoff", Get("oneoff")).outcome, Outcome::kOk);
  RuntimeStats stats = rt.runtime->Stats();
  EXPECT_EQ(stats.budget_unloads, 0u);
  EXPECT_EQ(stats.active_families, 2u);
  rt.runtime->Maintain();
  stats = rt.runtime->Stats();
  EXPECT_EQ(stats.budget_unloads, 1u);
  EXPECT_LE(stats.instance_memory_bytes, budget);
  const uint64_t activations = stats.activations;
  rt.runtime->Invoke("busy", Get("busy"));
  EXPECT_EQ(rt.runtime->Stats().activations, activations) << "busy stayed";
}

// A family the budget unloaded comes back worth the requests it served (decayed), not one: its
// activation unloads a family that served fewer since, where a new family's would not.
TEST(RuntimeBudgetTest, AFamilyUnloadedForTheBudgetComesBackWithItsHeat) {
  ManualClock clock;
  const size_t budget = 2'500;
  ScriptedRuntime rt = BudgetRuntime(&clock, budget);
  for (const char* f : {"x", "big", "huge", "fresh"}) rt.Deploy(f, RespondOfSize(1'000));
  rt.Deploy("small", RespondOfSize(400));
  auto serve = [&](const char* family, int times) {
    for (int i = 0; i < times; ++i) {
      ASSERT_EQ(rt.runtime->Invoke(family, Get(family)).outcome, Outcome::kOk) << family;
    }
  };
  serve("x", 20);
  serve("big", 100);
  rt.runtime->Maintain();
  serve("huge", 200);      // its activation leaves x and big (worth more than one request)
  rt.runtime->Maintain();  // x is worth least: unloaded, remembering its 20 requests
  ASSERT_EQ(rt.runtime->Stats().budget_unloads, 1u);
  ASSERT_EQ(rt.runtime->Stats().active_families, 2u);
  serve("small", 5);  // fits beside big and huge: 2,400 bytes
  ASSERT_EQ(rt.runtime->Stats().budget_unloads, 1u);
  // A new family is worth one request, less than small's five: nothing is unloaded for it.
  serve("fresh", 1);
  EXPECT_EQ(rt.runtime->Stats().budget_unloads, 1u);
  rt.runtime->Maintain();  // fresh goes again
  ASSERT_EQ(rt.runtime->Stats().budget_unloads, 2u);
  // x comes back worth ~21 requests: small (5 for 400 bytes) goes at once, big and huge stay.
  serve("x", 1);
  const RuntimeStats stats = rt.runtime->Stats();
  EXPECT_EQ(stats.budget_unloads, 3u);
  EXPECT_EQ(stats.active_families, 3u);
  const uint64_t activations = stats.activations;
  serve("small", 1);
  EXPECT_EQ(rt.runtime->Stats().activations, activations + 1) << "small was unloaded";
}

// Requests from many threads activate and unload families under a budget that holds a few, while
// Maintain() runs beside them: every request is served, and once all families are unloaded the
// pools' running memory sum is back to exactly zero (a path that changed a pool without telling
// the sum would leave it off).
TEST(RuntimeBudgetTest, ConcurrentActivationsOverTheBudgetKeepTheMemorySumExact) {
  ManualClock clock;
  // Room for four families of 1,000 bytes.
  ScriptedRuntime rt = BudgetRuntime(&clock, 4'000, absl::Seconds(60));
  constexpr int kFamilies = 24;
  for (int i = 0; i < kFamilies; ++i) rt.Deploy(absl::StrCat("f", i), RespondOfSize(1'000));
  std::atomic<bool> stop{false};
  std::thread maintainer([&] {
    while (!stop.load()) rt.runtime->Maintain();
  });
  std::vector<std::thread> clients;
  std::atomic<int> failed{0};
  for (int t = 0; t < 6; ++t) {
    clients.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        // A skewed mix: every other request to the first four families, the rest spread.
        const int family = i % 2 == 0 ? (i / 2) % 4 : (t * 7 + i * 5) % kFamilies;
        const std::string name = absl::StrCat("f", family);
        if (rt.runtime->Invoke(name, Get(name)).outcome != Outcome::kOk) failed.fetch_add(1);
      }
    });
  }
  for (auto& c : clients) c.join();
  stop.store(true);
  maintainer.join();
  EXPECT_EQ(failed.load(), 0);
  RuntimeStats stats = rt.runtime->Stats();
  EXPECT_GT(stats.budget_unloads, 0u);
  EXPECT_EQ(stats.instance_memory_bytes, stats.live_instances * 1'000);
  clock.Advance(absl::Seconds(61));
  rt.runtime->Maintain();
  stats = rt.runtime->Stats();
  EXPECT_EQ(stats.active_families, 0u);
  EXPECT_EQ(stats.live_instances, 0u);
  EXPECT_EQ(stats.instance_memory_bytes, 0u);
}

TEST_F(RuntimeTest, MeteringTotalsEqualTheSumOfInvocations) {
  const std::string v1 = rt_.Deploy("meter", "respond 200 12345");
  UsageTotals expected_v1;
  for (int i = 0; i < 30; ++i) {
    HttpRequest request = Get("meter");
    request.body = std::string(i, 'q');
    InvokeResult r = rt_.runtime->Invoke("meter", request);
    expected_v1.Add(r.outcome, r.usage);
  }
  const std::string v2 = rt_.Deploy("meter", "throw boom");
  UsageTotals expected_v2;
  for (int i = 0; i < 5; ++i) {
    InvokeResult r = Invoke("meter");
    EXPECT_EQ(r.outcome, Outcome::kException);
    expected_v2.Add(r.outcome, r.usage);
  }
  auto before_flush = rt_.runtime->Usage("meter");
  ASSERT_TRUE(before_flush.ok()) << before_flush.status();
  EXPECT_EQ(before_flush->versions[v1], expected_v1);
  ASSERT_TRUE(rt_.runtime->FlushUsage().ok());
  auto usage = rt_.runtime->Usage("meter");
  ASSERT_TRUE(usage.ok());
  EXPECT_EQ(usage->versions.size(), 2u);
  EXPECT_EQ(usage->versions[v1], expected_v1);
  EXPECT_EQ(usage->versions[v2], expected_v2);
  UsageTotals total = expected_v1;
  total.Merge(expected_v2);
  EXPECT_EQ(usage->total, total);
  EXPECT_EQ(usage->total.invocations, 35u);
  EXPECT_EQ(usage->total.errors(), 5u);
  EXPECT_EQ(usage->total.cpu_us, 35u * testing::ScriptedEngine::kCpuUs);
  EXPECT_EQ(usage->total.request_bytes, 435u);  // 0 + 1 + ... + 29
  EXPECT_EQ(rt_.runtime->Usage("never").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(RuntimeTest, UsageFlushesWhenTheIntervalPasses) {
  rt_.Deploy("tick", "respond 200 x");
  Invoke("tick");
  rt_.runtime->Maintain();
  EXPECT_TRUE(rt_.runtime->store().Scan("usage/tick/", {})->empty());
  clock_.Advance(absl::Seconds(1));
  rt_.runtime->Maintain();
  EXPECT_EQ(rt_.runtime->store().Scan("usage/tick/", {})->size(), 1u);
}

// A store that can be taken down: while down, every call waits `stall` (as an etcd client retries
// until its operation timeout) and fails UNAVAILABLE. Watches are the inner store's.
class OutageStore final : public Store {
 public:
  explicit OutageStore(std::unique_ptr<Store> inner) : inner_(std::move(inner)) {}

  void TakeDown(absl::Duration stall) {
    stall_ms_ = absl::ToInt64Milliseconds(stall);
    down_ = true;
  }
  void BringUp() { down_ = false; }
  int calls_in_progress() const { return in_progress_; }

  absl::StatusOr<std::string> Get(absl::string_view key) override {
    COSMO_RETURN_IF_ERROR(Outage());
    return inner_->Get(key);
  }
  absl::StatusOr<std::vector<KeyValue>> Scan(absl::string_view prefix,
                                             const ScanOptions& options) override {
    COSMO_RETURN_IF_ERROR(Outage());
    return inner_->Scan(prefix, options);
  }
  absl::Status Commit(const WriteBatch& batch, Durability durability) override {
    COSMO_RETURN_IF_ERROR(Outage());
    return inner_->Commit(batch, durability);
  }
  std::string Describe() const override { return "outage:" + inner_->Describe(); }
  bool IsShared() const override { return inner_->IsShared(); }

 private:
  absl::Status Outage() {
    if (!down_) return absl::OkStatus();
    ++in_progress_;
    absl::SleepFor(absl::Milliseconds(stall_ms_.load()));
    --in_progress_;
    return absl::UnavailableError("store down for the test");
  }

  const std::unique_ptr<Store> inner_;
  std::atomic<bool> down_{false};
  std::atomic<int64_t> stall_ms_{0};
  std::atomic<int> in_progress_{0};
};

// "shop" serves v1, and v2 is deployed: its next request must look the version up again.
class RuntimeOutageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto owned = std::make_unique<OutageStore>(NewInMemoryStore());
    store_ = owned.get();
    rt_ = ScriptedRuntime::Create(ManualOptions(&clock_), std::move(owned));
    rt_.Deploy("shop", "respond 200 v1");
    ASSERT_EQ(rt_.runtime->Invoke("shop", Get("shop")).response.body, "v1");
    rt_.Deploy("shop", "respond 200 v2");
  }

  ManualClock clock_;
  OutageStore* store_ = nullptr;
  ScriptedRuntime rt_;
};

TEST_F(RuntimeOutageTest, AWarmFamilyServesThroughAStoreOutageWithoutQueueingBehindTheLookup) {
  store_->TakeDown(absl::Milliseconds(10));  // the lookup v2 needs cannot be made

  InvokeResult during = rt_.runtime->Invoke("shop", Get("shop"));
  EXPECT_EQ(during.outcome, Outcome::kOk) << during.error;
  EXPECT_EQ(during.response.body, "v1");
  // A family that was not active has nothing to serve yet: come back later (503 unavailable).
  EXPECT_EQ(rt_.runtime->Invoke("cold", Get("cold")).outcome, Outcome::kLoadShed);

  // After the backoff one request looks the version up again and waits out the store; the others
  // keep being served meanwhile.
  store_->TakeDown(absl::Seconds(3));
  clock_.Advance(absl::Seconds(1));
  std::thread lookup(
      [&] { EXPECT_EQ(rt_.runtime->Invoke("shop", Get("shop")).response.body, "v1"); });
  while (store_->calls_in_progress() == 0) absl::SleepFor(absl::Milliseconds(1));
  for (int i = 0; i < 20; ++i) {
    InvokeResult r = rt_.runtime->Invoke("shop", Get("shop"));
    EXPECT_EQ(r.response.body, "v1") << r.error;
  }
  EXPECT_EQ(store_->calls_in_progress(), 1) << "a request queued behind the stuck lookup";
  lookup.join();

  store_->BringUp();
  clock_.Advance(absl::Minutes(1));
  EXPECT_EQ(rt_.runtime->Invoke("shop", Get("shop")).response.body, "v2");
}

TEST_F(RuntimeOutageTest, TheFirstLookupStuckOnTheStoreHoldsOtherRequestsOnlyBriefly) {
  // Before any lookup has failed, nothing says the store is down: the first request after a
  // change waits out the store's timeout (3 s here), and the others must not all wait with it.
  store_->TakeDown(absl::Seconds(3));

  std::atomic<bool> lookup_done{false};
  std::thread lookup([&] {
    EXPECT_EQ(rt_.runtime->Invoke("shop", Get("shop")).response.body, "v1");
    lookup_done = true;
  });
  while (store_->calls_in_progress() == 0) absl::SleepFor(absl::Milliseconds(1));
  // The first to find the lookup running waits for it up to its patience (half a second), then
  // serves v1; those after it do not wait at all for a lookup that outlasted someone's patience.
  for (int i = 0; i < 20; ++i) {
    InvokeResult r = rt_.runtime->Invoke("shop", Get("shop"));
    EXPECT_EQ(r.outcome, Outcome::kOk) << r.error;
    EXPECT_EQ(r.response.body, "v1");
  }
  EXPECT_FALSE(lookup_done.load()) << "requests queued behind the stuck lookup";
  EXPECT_EQ(store_->calls_in_progress(), 1);
  lookup.join();

  store_->BringUp();
  clock_.Advance(absl::Minutes(1));
  EXPECT_EQ(rt_.runtime->Invoke("shop", Get("shop")).response.body, "v2");
}

TEST(RuntimeIdleReleaseTest, ReleasesMemoryOncePerSecondWithoutRequests) {
  ManualClock clock;
  RuntimeOptions options = ManualOptions(&clock);
  options.release_memory_when_idle = true;
  ScriptedRuntime rt = ScriptedRuntime::Create(options, NewInMemoryStore());
  rt.Deploy("tick", "respond 200 x");
  auto releases = [&] { return rt.runtime->Stats().idle_memory_releases; };
  rt.runtime->Maintain();
  clock.Advance(absl::Seconds(5));
  rt.runtime->Maintain();
  EXPECT_EQ(releases(), 0u) << "nothing ran yet, nothing to give back";

  rt.runtime->Invoke("tick", Get("tick"));
  rt.runtime->Maintain();  // sees the request
  clock.Advance(absl::Milliseconds(900));
  rt.runtime->Maintain();
  EXPECT_EQ(releases(), 0u) << "not idle for a second yet";
  clock.Advance(absl::Milliseconds(100));
  rt.runtime->Maintain();
  EXPECT_EQ(releases(), 1u);
  EXPECT_EQ(rt.engine->idle_memory_releases(), 1) << "the engines give back what they pool";
  clock.Advance(absl::Seconds(10));
  rt.runtime->Maintain();
  EXPECT_EQ(releases(), 1u) << "once per idle period";
  EXPECT_EQ(rt.engine->idle_memory_releases(), 1);

  rt.runtime->Invoke("tick", Get("tick"));
  rt.runtime->Maintain();
  clock.Advance(absl::Seconds(1));
  rt.runtime->Maintain();
  EXPECT_EQ(releases(), 2u);
}

TEST(RuntimeIdleReleaseTest, ReleasesAgainWhenIdleActivationsAreUnloaded) {
  ManualClock clock;
  RuntimeOptions options = ManualOptions(&clock);
  options.release_memory_when_idle = true;
  options.idle_timeout = absl::Seconds(30);
  ScriptedRuntime rt = ScriptedRuntime::Create(options, NewInMemoryStore());
  rt.Deploy("tick", "respond 200 x");
  auto releases = [&] { return rt.runtime->Stats().idle_memory_releases; };
  rt.runtime->Invoke("tick", Get("tick"));
  rt.runtime->Maintain();
  clock.Advance(absl::Seconds(1));
  rt.runtime->Maintain();
  ASSERT_EQ(releases(), 1u);
  ASSERT_EQ(rt.runtime->Stats().live_instances, 1u);

  clock.Advance(absl::Seconds(29));
  rt.runtime->Maintain();  // unloads the idle family: what its isolate held goes back too
  EXPECT_EQ(rt.runtime->Stats().idle_unloads, 1u);
  EXPECT_EQ(rt.runtime->Stats().live_instances, 0u);
  EXPECT_EQ(releases(), 2u) << "the idle unload's memory stays in the arenas";
  EXPECT_EQ(rt.engine->idle_memory_releases(), 2)
      << "the engine's pool keeps what the unloaded isolate freed";
  clock.Advance(absl::Minutes(5));
  rt.runtime->Maintain();
  EXPECT_EQ(releases(), 2u) << "nothing else was freed";
}

TEST(RuntimeIdleReleaseTest, OffByDefault) {
  ManualClock clock;
  ScriptedRuntime rt = ScriptedRuntime::Create(ManualOptions(&clock), NewInMemoryStore());
  rt.Deploy("tick", "respond 200 x");
  rt.runtime->Invoke("tick", Get("tick"));
  rt.runtime->Maintain();
  clock.Advance(absl::Seconds(2));
  rt.runtime->Maintain();
  EXPECT_EQ(rt.runtime->Stats().idle_memory_releases, 0u);
  EXPECT_EQ(rt.engine->idle_memory_releases(), 0);
}

TEST(RuntimeReporterSweepTest, MaintainForgetsGatewayRecordsAfterTheRetention) {
  ManualClock clock;
  ScriptedRuntime rt = ScriptedRuntime::Create({.usage_reporter_retention = absl::Minutes(10),
                                                .background_maintenance = false,
                                                .clock = &clock},
                                               NewInMemoryStore());
  UsageMeter gateway_reports(&rt.runtime->store(), &clock);
  UsageTotals one;
  one.invocations = 1;
  ASSERT_TRUE(gateway_reports.MergeReport("gw-gone", 1, {{{"tick", "v"}, one}}).ok());
  clock.Advance(absl::Minutes(9));
  rt.runtime->Maintain();
  EXPECT_TRUE(rt.runtime->store().Find("usagerep/gw-gone")->has_value());  // not yet swept
  clock.Advance(absl::Minutes(2));
  rt.runtime->Maintain();
  EXPECT_FALSE(rt.runtime->store().Find("usagerep/gw-gone")->has_value());
}

TEST(RuntimePersistenceTest, MeteringSurvivesARestart) {
  testing::TempDir dir;
  std::string version;
  {
    ScriptedRuntime rt =
        ScriptedRuntime::Create({.background_maintenance = false},
                                std::move(OpenLevelDbStore({.path = dir.Sub("db")})).value());
    version = rt.Deploy("keep", "respond 200 k");
    for (int i = 0; i < 12; ++i) rt.runtime->Invoke("keep", Get("keep"));
  }  // destruction flushes
  ScriptedRuntime rt =
      ScriptedRuntime::Create({.background_maintenance = false},
                              std::move(OpenLevelDbStore({.path = dir.Sub("db")})).value());
  auto usage = rt.runtime->Usage("keep");
  ASSERT_TRUE(usage.ok()) << usage.status();
  EXPECT_EQ(usage->total.invocations, 12u);
  EXPECT_EQ(usage->versions[version].invocations, 12u);
}

TEST_F(RuntimeTest, ConsoleOutputAndFailedOutcomesReachTheFamilyLog) {
  rt_.Deploy("chatty", "log hello from the script");
  Invoke("chatty");
  Invoke("chatty");
  LogBatch batch = rt_.runtime->ReadLogs("chatty", 0, 100);
  ASSERT_EQ(batch.records.size(), 2u);
  EXPECT_EQ(batch.records[0].text, "hello from the script");
  EXPECT_EQ(batch.records[0].sequence, 1u);
  EXPECT_EQ(batch.records[1].sequence, 2u);
  EXPECT_NE(batch.records[0].request_id, batch.records[1].request_id);
  EXPECT_EQ(batch.records[0].family, "chatty");
  EXPECT_FALSE(batch.records[0].version.empty());

  rt_.Deploy("chatty", "throw TypeError: nope");
  Invoke("chatty");
  batch = rt_.runtime->ReadLogs("chatty", 2, 100);
  ASSERT_EQ(batch.records.size(), 1u);
  EXPECT_TRUE(batch.records[0].is_outcome);
  EXPECT_EQ(batch.records[0].outcome, Outcome::kException);
  EXPECT_THAT(batch.records[0].text, HasSubstr("TypeError: nope"));
  EXPECT_EQ(batch.last_sequence, 3u);
  EXPECT_TRUE(rt_.runtime->ReadLogs("chatty", 3, 100).records.empty());
}

TEST_F(RuntimeTest, SecretValuesAreMaskedInLogsAndErrors) {
  auto deploy = [&](const std::string& source, std::vector<std::string> secret_names) {
    Manifest manifest = testing::ScriptManifest(source);
    manifest.env = {{"API_KEY", "k-secret-1"}, {"PIN", "123"}, {"MODE", "k-secret-1-x"}};
    auto result = rt_.runtime->registry().Deploy({.tenant = "local",
                                                  .family = "keys",
                                                  .manifest = manifest,
                                                  .secret_names = std::move(secret_names)});
    ASSERT_TRUE(result.ok()) << result.status();
  };
  deploy("log key k-secret-1 pin 123 again k-secret-1", {"API_KEY", "PIN"});
  Invoke("keys");
  LogBatch batch = rt_.runtime->ReadLogs("keys", 0, 100);
  ASSERT_EQ(batch.records.size(), 1u);
  // Values under 4 bytes are left alone: masking them would hide ordinary text.
  EXPECT_EQ(batch.records[0].text, "key *** pin 123 again ***");

  // Same content, other secret names: no new version, but the masking follows at once.
  deploy("log key k-secret-1 pin 123 again k-secret-1", {});
  Invoke("keys");
  batch = rt_.runtime->ReadLogs("keys", 1, 100);
  ASSERT_EQ(batch.records.size(), 1u);
  EXPECT_EQ(batch.records[0].text, "key k-secret-1 pin 123 again k-secret-1");

  // The longest secret is masked whole, and the error reaches neither the log nor the caller.
  deploy("throw Error: bad key k-secret-1-x", {"API_KEY", "MODE"});
  InvokeResult result = Invoke("keys");
  EXPECT_EQ(result.outcome, Outcome::kException);
  EXPECT_THAT(result.error, HasSubstr("bad key ***"));
  EXPECT_THAT(result.error, ::testing::Not(HasSubstr("k-secret")));
  batch = rt_.runtime->ReadLogs("keys", 2, 100);
  ASSERT_EQ(batch.records.size(), 1u);
  EXPECT_TRUE(batch.records[0].is_outcome);
  EXPECT_THAT(batch.records[0].text, HasSubstr("bad key ***"));
  EXPECT_THAT(batch.records[0].text, ::testing::Not(HasSubstr("k-secret")));
}

TEST(RuntimeLogTest, RingKeepsTheNewestAndCountsTheDropped) {
  ManualClock clock;
  RuntimeOptions options = ManualOptions(&clock);
  options.log_ring_records = 5;
  ScriptedRuntime rt = ScriptedRuntime::Create(options, NewInMemoryStore());
  rt.Deploy("loud", "log x");
  for (int i = 0; i < 8; ++i) rt.runtime->Invoke("loud", Get("loud"));
  LogBatch batch = rt.runtime->ReadLogs("loud", 0, 100);
  ASSERT_EQ(batch.records.size(), 5u);
  EXPECT_EQ(batch.records.front().sequence, 4u);
  EXPECT_EQ(batch.dropped, 3u);
  EXPECT_EQ(rt.runtime->ReadLogs("loud", 5, 2).records.size(), 2u);
}

TEST(RuntimeLogTest, RingHoldsNoMoreThanItsByteBound) {
  ManualClock clock;
  RuntimeOptions options = ManualOptions(&clock);
  options.log_ring_bytes = 16 << 10;
  ScriptedRuntime rt = ScriptedRuntime::Create(options, NewInMemoryStore());
  rt.Deploy("chatty", "log " + std::string(3000, 'x'));
  for (int i = 0; i < 10; ++i) rt.runtime->Invoke("chatty", Get("chatty"));
  LogBatch batch = rt.runtime->ReadLogs("chatty", 0, 100);
  // Five records of about 3.3 KB fit in 16 KiB; the 1000-record bound is far away.
  ASSERT_EQ(batch.records.size(), 5u);
  EXPECT_EQ(batch.records.back().sequence, 10u);
  EXPECT_EQ(batch.dropped, 5u);

  options.log_ring_bytes = 100;
  EXPECT_THAT(NewRuntime(options, NewInMemoryStore()).status().message(),
              HasSubstr("log_ring_bytes must be at least 4096"));
}

TEST_F(RuntimeTest, WaitForLogsWakesOnANewRecord) {
  rt_.Deploy("later", "log ping");
  std::thread writer([&] {
    absl::SleepFor(absl::Milliseconds(20));
    Invoke("later");
  });
  LogBatch batch = rt_.runtime->WaitForLogs("later", 0, 10, absl::Now() + absl::Seconds(10));
  writer.join();
  ASSERT_EQ(batch.records.size(), 1u);
  EXPECT_EQ(batch.records[0].text, "ping");
  EXPECT_TRUE(rt_.runtime->WaitForLogs("later", 1, 10, absl::Now() + absl::Milliseconds(10))
                  .records.empty());
}

TEST_F(RuntimeTest, FailingActivationBacksOffInsteadOfRetryingEveryRequest) {
  rt_.Deploy("broken", "startup-error");
  InvokeResult first = Invoke("broken");
  EXPECT_EQ(first.outcome, Outcome::kException);
  EXPECT_THAT(first.error, HasSubstr("scripted startup error"));
  const int attempts = rt_.engine->instantiate_calls();
  for (int i = 0; i < 10; ++i) EXPECT_EQ(Invoke("broken").outcome, Outcome::kException);
  EXPECT_EQ(rt_.engine->instantiate_calls(), attempts) << "retried inside the backoff";
  clock_.Advance(absl::Milliseconds(300));
  Invoke("broken");
  EXPECT_EQ(rt_.engine->instantiate_calls(), attempts + 1);
  // A fixed deploy is picked up at once, backoff or not.
  rt_.Deploy("broken", "respond 200 fixed");
  EXPECT_EQ(Invoke("broken").response.body, "fixed");
  EXPECT_EQ(rt_.runtime->Stats().activation_failures, 2u);
}

TEST(RuntimeLoadShedTest, BusyFamilyShedsInsteadOfQueueingForever) {
  RuntimeOptions options;
  options.max_instances_per_version = 1;
  options.max_queue_wait = absl::Milliseconds(20);
  ScriptedRuntime rt = ScriptedRuntime::Create(options, NewInMemoryStore());
  rt.Deploy("slow", "sleep 300");
  rt.Deploy("fast", "respond 200 quick");
  ASSERT_EQ(rt.runtime->Invoke("slow", Get("slow")).response.body, "slept");  // warm
  std::thread busy([&] { rt.runtime->Invoke("slow", Get("slow")); });
  absl::SleepFor(absl::Milliseconds(50));
  InvokeResult shed = rt.runtime->Invoke("slow", Get("slow"));
  // Other families are unaffected by one family's saturation.
  InvokeResult other = rt.runtime->Invoke("fast", Get("fast"));
  busy.join();
  EXPECT_EQ(shed.outcome, Outcome::kLoadShed);
  EXPECT_EQ(other.response.body, "quick");
  EXPECT_EQ(rt.runtime->Stats().load_shed, 1u);
}

TEST(RuntimeOptionsTest, InvalidOptionsNameTheField) {
  RuntimeOptions options;
  options.memory_budget_bytes = 0;
  absl::Status s = options.Validate();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("memory_budget_bytes"));

  RuntimeOptions no_scripts;
  no_scripts.max_script_bytes = 0;
  EXPECT_THAT(no_scripts.Validate().message(), HasSubstr("max_script_bytes"));
}

}  // namespace
}  // namespace cosmo
