// ThreadStack: the pages a deep run touched are given back, a shallow run costs no release, and a
// JavaScript stack overflow leaves nothing resident on the thread that served it (real V8).
#include "engine/v8/thread_stack.h"

#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <functional>
#include <thread>
#include <vector>

#include "engine_test_util.h"
#include "gtest/gtest.h"

namespace cosmo::v8engine {
namespace {

using ::cosmo::v8engine::testing::Get;
using ::cosmo::v8engine::testing::JsManifest;
using ::cosmo::v8engine::testing::SharedEngine;
using ::cosmo::v8engine::testing::Start;

// Resident bytes of the calling thread's stack more than `margin` below the caller's frame.
__attribute__((noinline)) size_t ResidentStackBelow(uintptr_t margin) {
  const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  uintptr_t low = 0;
  pthread_attr_t attr;
  EXPECT_EQ(pthread_getattr_np(pthread_self(), &attr), 0);
  void* addr = nullptr;
  size_t size = 0;
  EXPECT_EQ(pthread_attr_getstack(&attr, &addr, &size), 0);
  pthread_attr_destroy(&attr);
  low = reinterpret_cast<uintptr_t>(addr);
  const uintptr_t top =
      (reinterpret_cast<uintptr_t>(__builtin_frame_address(0)) - margin) & ~(page - 1);
  std::vector<unsigned char> resident((top - low) / page);
  EXPECT_EQ(mincore(reinterpret_cast<void*>(low), top - low, resident.data()), 0);
  size_t pages = 0;
  for (unsigned char r : resident) pages += r & 1;
  return pages * page;
}

// Uses about `bytes` of stack below the caller, writing every word of it.
__attribute__((noinline)) int Recurse(size_t bytes) {
  volatile char frame[1024];
  for (size_t i = 0; i < sizeof(frame); ++i) frame[i] = static_cast<char>(i);
  int below = bytes > sizeof(frame) ? Recurse(bytes - sizeof(frame)) : 0;
  // Reads the frame after the call, so the compiler cannot turn the recursion into a loop.
  return below + frame[bytes % sizeof(frame)];
}

// Runs `body` on a fresh thread with an 8 MiB stack, like the host's HTTP workers.
void OnFreshThread(const std::function<void()>& body) { std::thread(body).join(); }

constexpr uintptr_t kMargin = ThreadStack::kShallowBytes;

TEST(ThreadStackTest, DeepRunGivesItsPagesBack) {
  OnFreshThread([] {
    const uint64_t releases = ThreadStack::releases();
    {
      ThreadStack::Scope scope;
      Recurse(size_t{1536} << 10);
    }
    EXPECT_EQ(ThreadStack::releases(), releases + 1);
    EXPECT_LT(ResidentStackBelow(kMargin), size_t{64} << 10);
  });
}

TEST(ThreadStackTest, WithoutAScopeTheDeepPagesStayResident) {
  // What the scope is for, and proof that ResidentStackBelow sees the pages.
  OnFreshThread([] {
    Recurse(size_t{1536} << 10);
    EXPECT_GT(ResidentStackBelow(kMargin), size_t{1} << 20);
  });
}

TEST(ThreadStackTest, ShallowRunReleasesNothing) {
  OnFreshThread([] {
    const uint64_t releases = ThreadStack::releases();
    {
      ThreadStack::Scope scope;
      Recurse(ThreadStack::kShallowBytes / 2);
    }
    EXPECT_EQ(ThreadStack::releases(), releases);
  });
}

// kShallowBytes is sized so that ordinary requests never pay for a release: a handler that parses
// its URL, reads a body, builds JSON and awaits a few promises stays within it.
TEST(ThreadStackTest, OrdinaryRequestsGiveNothingBack) {
  OnFreshThread([] {
    auto instance = Start(SharedEngine(), JsManifest(R"js(
      const render = (item) => ({ id: item, name: `item ${item}`, tags: [item % 3, item % 5] });
      export default {
        async fetch(request, env) {
          const url = new URL(request.url);
          const n = Number(url.searchParams.get("n") || "20");
          const body = request.method === "POST" ? await request.text() : "";
          const items = [];
          for (let i = 0; i < n; i++) items.push(await Promise.resolve(render(i)));
          const headers = new Headers({ "content-type": "application/json" });
          return new Response(JSON.stringify({ path: url.pathname, body, items }), { headers });
        },
      };)js"));
    ASSERT_TRUE(instance.ok()) << instance.status();
    const uint64_t releases = ThreadStack::releases();
    for (int i = 0; i < 5; ++i) {
      InvokeResult result = (*instance)->Invoke(Get());
      ASSERT_EQ(result.outcome, Outcome::kOk) << result.error;
    }
    EXPECT_EQ(ThreadStack::releases(), releases);
  });
}

TEST(ThreadStackTest, JsLimitLeavesTheReserveAndAtMostTheBudget) {
  OnFreshThread([] {
    const uintptr_t here = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
    const uintptr_t limit = ThreadStack::JsLimit();
    EXPECT_LT(limit, here);
    EXPECT_GE(limit + ThreadStack::kMaxJsStack + (uintptr_t{64} << 10), here);
  });
}

TEST(ThreadStackTest, JavaScriptStackOverflowLeavesNoStackResident) {
  OnFreshThread([] {
    auto instance =
        Start(SharedEngine(),
              JsManifest("export default { fetch() { const r = () => r() + 1; return r(); } };"));
    ASSERT_TRUE(instance.ok()) << instance.status();
    InvokeResult result = (*instance)->Invoke(Get());
    EXPECT_EQ(result.outcome, Outcome::kException);
    EXPECT_NE(result.error.find("Maximum call stack size exceeded"), std::string::npos)
        << result.error;
    // Without the release this is the whole JavaScript share, about 2 MiB.
    EXPECT_LT(ResidentStackBelow(kMargin), size_t{64} << 10);
  });
}

}  // namespace
}  // namespace cosmo::v8engine
