// A process running the runtime is killed with SIGKILL at a random moment; the usage it had
// flushed must survive, and nothing it never counted may appear.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <random>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "cosmo/runtime.h"
#include "gtest/gtest.h"
#include "support/temp_dir.h"
#include "unit/runtime/runtime_test_support.h"

namespace cosmo {
namespace {

using testing::Get;
using testing::ScriptedRuntime;

constexpr int kReportEvery = 10;
constexpr int kFlushEvery = 100;

// Runs in the child: invoke forever, reporting progress on `fd` as "I <n>" (at least n
// invocations completed) and "F <n>" (usage of the first n invocations flushed).
[[noreturn]] void RunChild(const std::string& path, int fd) {
  RuntimeOptions options;
  options.usage_flush_interval = absl::Milliseconds(50);
  ScriptedRuntime rt =
      ScriptedRuntime::Create(options, std::move(OpenLevelDbStore({.path = path})).value());
  if (rt.runtime == nullptr) _exit(2);
  FILE* out = fdopen(fd, "w");
  setvbuf(out, nullptr, _IONBF, 0);
  for (long i = 1;; ++i) {
    if (rt.runtime->Invoke("crash", Get("crash")).outcome != Outcome::kOk) _exit(3);
    if (i % kReportEvery == 0) fprintf(out, "I %ld\n", i);
    if (i % kFlushEvery == 0 && rt.runtime->FlushUsage().ok()) fprintf(out, "F %ld\n", i);
  }
}

TEST(RuntimeCrashTest, SigkillLosesAtMostTheUsageSinceTheLastFlush) {
  testing::TempDir dir;
  const std::string path = dir.Sub("db");
  {
    ScriptedRuntime rt = ScriptedRuntime::Create(
        {.background_maintenance = false}, std::move(OpenLevelDbStore({.path = path})).value());
    rt.Deploy("crash", "respond 200 ok");
  }
  std::mt19937 random(std::random_device{}());
  uint64_t previous_total = 0;
  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE(round);
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      close(fds[0]);
      RunChild(path, fds[1]);
    }
    close(fds[1]);
    usleep(150'000 + random() % 250'000);
    kill(child, SIGKILL);
    int status = 0;
    waitpid(child, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "child exited early with " << WEXITSTATUS(status);

    std::string output;
    char buffer[4096];
    for (ssize_t n; (n = read(fds[0], buffer, sizeof buffer)) > 0;) output.append(buffer, n);
    close(fds[0]);
    uint64_t invoked = 0, flushed = 0;
    for (absl::string_view line : absl::StrSplit(output, '\n', absl::SkipEmpty())) {
      uint64_t n = 0;
      if (line.size() > 2 && absl::SimpleAtoi(line.substr(2), &n)) {
        (line[0] == 'I' ? invoked : flushed) = n;
      }
    }
    ASSERT_GT(flushed, 0u) << "the child never flushed; kill came too early";

    ScriptedRuntime rt = ScriptedRuntime::Create(
        {.background_maintenance = false}, std::move(OpenLevelDbStore({.path = path})).value());
    auto usage = rt.runtime->Usage("crash");
    ASSERT_TRUE(usage.ok()) << usage.status();
    const uint64_t total = usage->total.invocations - previous_total;
    EXPECT_GE(total, flushed) << "flushed usage was lost";
    // At most kReportEvery invocations can complete between two reports, plus the one running.
    EXPECT_LE(total, invoked + kReportEvery) << "usage counted that never happened";
    previous_total = usage->total.invocations;
  }
}

}  // namespace
}  // namespace cosmo
