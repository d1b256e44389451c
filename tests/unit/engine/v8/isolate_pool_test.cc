#include "engine/v8/isolate_pool.h"

#include <dirent.h>

#include <fstream>
#include <string>
#include <vector>

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

// The nice values of this process's threads named `name`.
std::vector<int> NiceOfThreadsNamed(const std::string& name) {
  std::vector<int> nice;
  DIR* tasks = opendir("/proc/self/task");
  if (tasks == nullptr) return nice;
  while (dirent* entry = readdir(tasks)) {
    const std::string dir = std::string("/proc/self/task/") + entry->d_name;
    std::string comm;
    std::getline(std::ifstream(dir + "/comm"), comm);
    if (comm != name) continue;
    std::string stat;
    std::getline(std::ifstream(dir + "/stat"), stat);
    // After "PID (COMM) ": state is field 3, nice field 19 (proc(5)).
    const size_t close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::vector<std::string> fields =
        absl::StrSplit(absl::string_view(stat).substr(close + 2), ' ');
    int value = 0;
    if (fields.size() > 16 && absl::SimpleAtoi(fields[16], &value)) nice.push_back(value);
  }
  closedir(tasks);
  return nice;
}

TEST(IsolatePoolTest, RefillsSparesOnOneThreadAtALowPriority) {
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
  EXPECT_EQ(NiceOfThreadsNamed(IsolatePool::kRefillThreadName),
            std::vector<int>{IsolatePool::kRefillNice});
  // The next start takes it (or, had the spare been late, makes its own): either way one more
  // isolate, and the pool is full again.
  auto second = Start(**engine, manifest);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ((*second)->Invoke(Get()).response.body, "spare");
  while ((*engine)->Stats().isolates_created < 3 && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_EQ((*engine)->Stats().isolates_created, 3u);
  EXPECT_EQ(NiceOfThreadsNamed(IsolatePool::kRefillThreadName).size(), 1u);
}

}  // namespace
}  // namespace cosmo::v8engine
