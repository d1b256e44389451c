// IsolateLock: the engine's isolates move between threads without v8::Locker. The mutex is
// recursive on one thread and exclusive across threads; an instance keeps the right stack limit
// on every thread that serves it, whatever the order; and no Locker is ever made (V8 would then
// reject every entry without one).
#include "engine/v8/isolate_lock.h"

#include <v8.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "engine_test_util.h"
#include "gtest/gtest.h"

namespace cosmo::v8engine {
namespace {

using ::cosmo::v8engine::testing::Get;
using ::cosmo::v8engine::testing::MustStart;
using ::cosmo::v8engine::testing::OnThreadWithStack;

TEST(IsolateMutexTest, ThreadNumbersAreNeverReused) {
  std::vector<uint64_t> seen = {IsolateMutex::ThisThread()};
  for (int i = 0; i < 4; ++i) {
    std::thread([&seen] { seen.push_back(IsolateMutex::ThisThread()); }).join();
  }
  EXPECT_EQ(IsolateMutex::ThisThread(), seen.front());
  for (size_t i = 0; i < seen.size(); ++i) {
    for (size_t j = i + 1; j < seen.size(); ++j) EXPECT_NE(seen[i], seen[j]);
  }
}

TEST(IsolateMutexTest, SaysWhenTheHoldingThreadChanged) {
  IsolateMutex mutex;
  {
    IsolateLock first(mutex);
    EXPECT_TRUE(first.thread_changed());  // nobody held it before
    IsolateLock nested(mutex);
    EXPECT_FALSE(nested.thread_changed());
  }
  {
    IsolateLock again(mutex);
    EXPECT_FALSE(again.thread_changed());
  }
  bool elsewhere = false;
  std::thread([&] { elsewhere = IsolateLock(mutex).thread_changed(); }).join();
  EXPECT_TRUE(elsewhere);
  IsolateLock back(mutex);
  EXPECT_TRUE(back.thread_changed());
}

TEST(IsolateMutexTest, RecursiveOnOneThreadExclusiveAcrossThreads) {
  IsolateMutex mutex;
  std::atomic<bool> other_holds{false};
  std::thread other;
  {
    IsolateLock outer(mutex);
    {
      IsolateLock inner(mutex);  // the same thread again: must not deadlock
    }
    other = std::thread([&] {
      IsolateLock lock(mutex);
      other_holds.store(true);
    });
    // Whatever the other thread got to do meanwhile, it cannot hold the mutex before the outer
    // lock ends (the inner one's end must not have released it).
    for (int i = 0; i < 1000; ++i) {
      std::this_thread::yield();
      ASSERT_FALSE(other_holds.load());
    }
  }
  other.join();
  EXPECT_TRUE(other_holds.load());
}

TEST(IsolateMutexTest, CountsSurviveContention) {
  IsolateMutex mutex;
  int64_t count = 0;  // guarded by mutex: a lost update would show in the total
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20000; ++i) {
        IsolateLock lock(mutex);
        IsolateLock nested(mutex);
        ++count;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(count, 4 * 20000);
}

// Recurses until V8's stack limit and reports how deep it got; a limit meant for another thread's
// stack would either stop it at once (a limit above this stack) or let it run off the end of the
// thread's stack (a limit below it), which kills the process.
constexpr char kDepthProbe[] = R"js(
  export default {
    fetch() {
      let depth = 0;
      const down = () => { depth++; down(); };
      try { down(); } catch (e) { return new Response(`${e.name} ${depth}`); }
      return new Response('no overflow');
    },
  };
)js";

int DepthOf(Instance& instance) {
  const InvokeResult result = instance.Invoke(Get());
  EXPECT_EQ(result.outcome, Outcome::kOk) << result.error;
  const std::vector<std::string> parts = absl::StrSplit(result.response.body, ' ');
  int depth = 0;
  EXPECT_EQ(parts.size(), 2u) << result.response.body;
  if (parts.size() != 2) return 0;
  EXPECT_EQ(parts[0], "RangeError") << result.response.body;
  EXPECT_TRUE(absl::SimpleAtoi(parts[1], &depth)) << result.response.body;
  return depth;
}

TEST(IsolateLockTest, AnInstanceKeepsTheRightStackLimitOnEveryThreadThatServesIt) {
  std::unique_ptr<Instance> instance = MustStart(kDepthProbe);
  ASSERT_NE(instance, nullptr);
  // Threads with stacks of different sizes at different addresses, in turn, each size twice (the
  // isolate comes back from another thread each time). Not smaller than 4 MiB: TSan keeps its
  // per-thread state (~750 KiB) in a thread's static TLS, at the top of its stack.
  const int on_main = DepthOf(*instance);
  std::vector<int> depths;
  for (size_t stack : {size_t{8} << 20, size_t{4} << 20, size_t{8} << 20, size_t{4} << 20}) {
    OnThreadWithStack(stack, [&] { depths.push_back(DepthOf(*instance)); });
  }
  depths.push_back(DepthOf(*instance));
  EXPECT_GT(on_main, 1000);
  for (int depth : depths) {
    // Every thread gets a deep run of JavaScript: the limit follows the thread (it is at most
    // ThreadStack::kMaxJsStack below the first frame that asked on that thread).
    EXPECT_GT(depth, 1000);
  }
}

TEST(IsolateLockTest, TheEngineNeverMakesAV8Locker) {
  // Instances created, moved to another thread, served and destroyed: the engine's whole cycle.
  std::unique_ptr<Instance> instance = MustStart("export default { fetch() { return 'ok'; } };");
  ASSERT_NE(instance, nullptr);
  std::thread([&] { EXPECT_EQ(instance->Invoke(Get()).response.body, "ok"); }).join();
  instance->ReleaseMemory();
  instance.reset();
  // Once a Locker has existed, V8 requires one around every HandleScope of the process.
  EXPECT_FALSE(v8::Locker::WasEverUsed());
}

}  // namespace
}  // namespace cosmo::v8engine
