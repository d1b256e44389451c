#include "engine/v8/isolate_pool.h"

#include <dirent.h>
#include <sched.h>

#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "unit/engine/v8/engine_test_util.h"

namespace cosmo::v8engine {
namespace {

using testing::Get;
using testing::JsManifest;
using testing::MakeTestEngine;
using testing::Start;
using testing::WaitForSparesWarmed;

// The nice value and scheduling policy of one of this process's threads.
struct Priority {
  int nice = 0;
  int policy = -1;
  bool operator==(const Priority&) const = default;
};

// The priorities of this process's threads named `name`.
std::vector<Priority> PrioritiesOfThreadsNamed(const std::string& name) {
  std::vector<Priority> found;
  DIR* tasks = opendir("/proc/self/task");
  if (tasks == nullptr) return found;
  while (dirent* entry = readdir(tasks)) {
    const std::string dir = std::string("/proc/self/task/") + entry->d_name;
    std::string comm;
    std::getline(std::ifstream(dir + "/comm"), comm);
    if (comm != name) continue;
    std::string stat;
    std::getline(std::ifstream(dir + "/stat"), stat);
    // After "PID (COMM) ": state is field 3, nice field 19, policy field 41 (proc(5)).
    const size_t close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::vector<std::string> fields =
        absl::StrSplit(absl::string_view(stat).substr(close + 2), ' ');
    Priority priority;
    if (fields.size() > 38 && absl::SimpleAtoi(fields[16], &priority.nice) &&
        absl::SimpleAtoi(fields[38], &priority.policy)) {
      found.push_back(priority);
    }
  }
  closedir(tasks);
  return found;
}

TEST(IsolatePoolTest, RefillsSparesOnOneIdlePriorityThread) {
  JavaScriptEngineOptions options;
  options.spare_isolates = 1;
  auto engine = MakeTestEngine(options);
  ASSERT_TRUE(engine.ok()) << engine.status();
  const Manifest manifest =
      JsManifest("export default { fetch() { return new Response('spare'); } };");
  // The first start finds no spare, creates its own isolate and starts the refill.
  auto first = Start(**engine, manifest);
  ASSERT_TRUE(first.ok()) << first.status();
  // The refill's spare: a second isolate, created by the refill thread.
  const absl::Time give_up = absl::Now() + absl::Seconds(60);
  while ((*engine)->Stats().isolates_created < 2 && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  ASSERT_EQ((*engine)->Stats().isolates_created, 2u);
  const std::vector<Priority> idle = {{IsolatePool::kRefillNice, SCHED_IDLE}};
  EXPECT_EQ(PrioritiesOfThreadsNamed(IsolatePool::kRefillThreadName), idle);
  // The next start takes it (or, had the spare been late, makes its own): either way one more
  // isolate, and the pool is full again.
  auto second = Start(**engine, manifest);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ((*second)->Invoke(Get()).response.body, "spare");
  while ((*engine)->Stats().isolates_created < 3 && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_EQ((*engine)->Stats().isolates_created, 3u);
  EXPECT_EQ(PrioritiesOfThreadsNamed(IsolatePool::kRefillThreadName).size(), 1u);
}

// What a family can see of the global scope, the runtime's classes and the runtime's own state
// (console.count's counters) on its first request.
constexpr char kFingerprint[] = R"JS(
  const names = (object) => Object.getOwnPropertyNames(object).sort().join(',');
  export default { fetch(request) {
    console.count();
    return Response.json({
      globals: names(globalThis),
      request: names(Object.getPrototypeOf(request)),
      response: names(Response.prototype),
      headers: [...request.headers].join(';'),
      dispatch: typeof __cosmo_dispatch,
    });
  } };)JS";

TEST(IsolatePoolTest, AWarmedSpareShowsItsFamilyNothingOfTheWarmUp) {
  JavaScriptEngineOptions options;
  options.spare_isolates = 1;
  auto engine = MakeTestEngine(options);
  ASSERT_TRUE(engine.ok()) << engine.status();
  const Manifest manifest = JsManifest(kFingerprint);
  // The first start finds no spare and starts the refill, which warms the spare it makes.
  auto first = Start(**engine, manifest);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_EQ(WaitForSparesWarmed(**engine, 1), 1u);
  const uint64_t created = (*engine)->Stats().isolates_created;
  auto from_spare = Start(**engine, manifest);
  ASSERT_TRUE(from_spare.ok()) << from_spare.status();
  // It took the spare rather than making an isolate of its own: once the refill has replaced the
  // spare, one isolate more than before, not two.
  ASSERT_EQ(WaitForSparesWarmed(**engine, 2), 2u);
  EXPECT_EQ((*engine)->Stats().isolates_created, created + 1);

  // The same family in an isolate no warm-up ever ran in.
  JavaScriptEngineOptions no_spares;
  no_spares.spare_isolates = 0;
  auto fresh_engine = MakeTestEngine(no_spares);
  ASSERT_TRUE(fresh_engine.ok()) << fresh_engine.status();
  auto fresh = Start(**fresh_engine, manifest);
  ASSERT_TRUE(fresh.ok()) << fresh.status();
  EXPECT_EQ((*fresh_engine)->Stats().spares_warmed, 0u);

  HttpRequest request = Get("http://example.com/fam/first");
  request.headers = {{"x-family", "mine"}};
  const InvokeResult warmed = (*from_spare)->Invoke(request);
  const InvokeResult cold = (*fresh)->Invoke(request);
  ASSERT_EQ(warmed.outcome, Outcome::kOk) << warmed.error;
  ASSERT_EQ(cold.outcome, Outcome::kOk) << cold.error;
  EXPECT_EQ(warmed.response.body, cold.response.body);
  EXPECT_TRUE(absl::StrContains(warmed.response.body, R"("headers":"x-family,mine")"))
      << warmed.response.body;
  EXPECT_TRUE(absl::StrContains(warmed.response.body, R"("dispatch":"undefined")"))
      << warmed.response.body;
  // The runtime's console counted this request's call only.
  ASSERT_EQ(warmed.console.size(), 1u);
  EXPECT_EQ(warmed.console[0].text, "default: 1");
}

// An extra runtime script's `__cosmo_warm_up(request)` runs in each spare's warm-up (twice: the
// streamed and the buffered request), in the context the family then binds to, and never in an
// isolate built on demand.
TEST(IsolatePoolTest, SparesRunAnExtraRuntimesWarmUpHook) {
  JavaScriptEngineOptions options;
  options.spare_isolates = 1;
  options.extra_runtime_scripts.push_back(R"JS(
    Object.defineProperty(globalThis, '__cosmo_warm_up', {
      value: async (request) => { globalThis.warmUps = (globalThis.warmUps ?? 0) + 1; },
    });)JS");
  auto engine = MakeTestEngine(options);
  ASSERT_TRUE(engine.ok()) << engine.status();
  const Manifest manifest = JsManifest(
      "export default { fetch() { return new Response(String(globalThis.warmUps)); } };");
  auto on_demand = Start(**engine, manifest);  // no spare yet: starts the refill
  ASSERT_TRUE(on_demand.ok()) << on_demand.status();
  ASSERT_EQ(WaitForSparesWarmed(**engine, 1), 1u);
  auto from_spare = Start(**engine, manifest);
  ASSERT_TRUE(from_spare.ok()) << from_spare.status();
  EXPECT_EQ((*from_spare)->Invoke(Get()).response.body, "2");
  EXPECT_EQ((*on_demand)->Invoke(Get()).response.body, "undefined");
}

}  // namespace
}  // namespace cosmo::v8engine
