// RecyclingPageAllocator over V8's real page allocator (real mappings): which frees it keeps, that
// what it hands back is the same memory, zeroed and writable, that the pool is bounded and trimmed,
// and that real isolates torn down leave their heap pages to the next ones.
#include "engine/v8/recycling_page_allocator.h"

#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include "engine/v8/v8_platform.h"
#include "engine_test_util.h"
#include "gtest/gtest.h"

namespace cosmo::v8engine {
namespace {

using ::cosmo::v8engine::testing::Get;
using ::cosmo::v8engine::testing::JsManifest;
using ::cosmo::v8engine::testing::MakeTestEngine;
using ::cosmo::v8engine::testing::Start;
using Permission = v8::PageAllocator::Permission;
constexpr size_t kChunk = RecyclingPageAllocator::kChunkSize;

// V8's own page allocator, the one the recycling allocator maps through.
v8::PageAllocator* System() {
  V8Platform::EnsureInitialized();
  return V8Platform::Get()->GetPageAllocator();
}

// Whether [address, address + length) is mapped at all (mincore fails with ENOMEM otherwise).
bool Mapped(void* address, size_t length) {
  std::vector<unsigned char> pages(length / static_cast<size_t>(sysconf(_SC_PAGESIZE)) + 1);
  return mincore(address, length, pages.data()) == 0 || errno != ENOMEM;
}

// A chunk as V8 makes a heap page: reserved inaccessible, then made read-write as a whole.
void* NewChunk(RecyclingPageAllocator& pages) {
  void* chunk = pages.AllocatePages(nullptr, kChunk, kChunk, Permission::kNoAccess);
  EXPECT_NE(chunk, nullptr);
  EXPECT_TRUE(pages.SetPermissions(chunk, kChunk, Permission::kReadWrite));
  return chunk;
}

bool AllZero(const void* address, size_t length) {
  const auto* bytes = static_cast<const unsigned char*>(address);
  for (size_t i = 0; i < length; ++i) {
    if (bytes[i] != 0) return false;
  }
  return true;
}

TEST(RecyclingPageAllocatorTest, AFreedChunkComesBackZeroedAndWritable) {
  RecyclingPageAllocator pages(System(), {});
  void* chunk = NewChunk(pages);
  std::memset(chunk, 0xA5, kChunk);  // an isolate's data
  ASSERT_TRUE(pages.FreePages(chunk, kChunk));
  EXPECT_EQ(pages.stats().pooled, 1u);
  EXPECT_EQ(pages.stats().pooled_bytes, kChunk);
  EXPECT_TRUE(Mapped(chunk, kChunk));  // kept, not unmapped

  void* again = pages.AllocatePages(nullptr, kChunk, kChunk, Permission::kNoAccess);
  ASSERT_EQ(again, chunk);
  EXPECT_EQ(pages.stats().recycled, 1u);
  EXPECT_EQ(pages.stats().pooled_bytes, 0u);
  EXPECT_TRUE(pages.SetPermissions(again, kChunk, Permission::kReadWrite));
  EXPECT_TRUE(AllZero(again, kChunk)) << "another isolate's bytes were handed out";
  std::memset(again, 0x5A, kChunk);  // writable: no fault
  ASSERT_TRUE(pages.FreePages(again, kChunk));
  pages.Trim(absl::InfiniteFuture());
  EXPECT_FALSE(Mapped(chunk, kChunk));
}

// Zeroing a chunk writes only the pages V8 touched: the others stay out of memory (and read as
// zero), so a pooled young-generation page costs what V8 used of it, not 256 KiB.
TEST(RecyclingPageAllocatorTest, PagesNeverTouchedStayOutOfMemory) {
  RecyclingPageAllocator pages(System(), {});
  const size_t page = System()->CommitPageSize();
  void* chunk = NewChunk(pages);
  std::memset(chunk, 0x77, 2 * page);  // two pages used, the rest never touched
  ASSERT_TRUE(pages.FreePages(chunk, kChunk));
  std::vector<unsigned char> resident(kChunk / page);
  ASSERT_EQ(mincore(chunk, kChunk, resident.data()), 0);
  size_t count = 0;
  for (unsigned char r : resident) count += r & 1;
  EXPECT_LE(count, 2u);
  EXPECT_TRUE(AllZero(chunk, kChunk));
}

TEST(RecyclingPageAllocatorTest, OnlyWholeDataPagesArePooled) {
  RecyclingPageAllocator pages(System(), {});
  const size_t commit = System()->CommitPageSize();

  // Larger than a heap page (a large object's page).
  void* large = pages.AllocatePages(nullptr, 2 * kChunk, kChunk, Permission::kReadWrite);
  ASSERT_NE(large, nullptr);
  ASSERT_TRUE(pages.FreePages(large, 2 * kChunk));
  // Protection changed in part (a guard page).
  void* guarded = NewChunk(pages);
  ASSERT_TRUE(pages.SetPermissions(guarded, commit, Permission::kNoAccess));
  ASSERT_TRUE(pages.FreePages(guarded, kChunk));
  // Made executable.
  void* code = NewChunk(pages);
  ASSERT_TRUE(pages.SetPermissions(code, kChunk, Permission::kReadExecute));
  ASSERT_TRUE(pages.FreePages(code, kChunk));
  // Shrunk.
  void* shrunk = NewChunk(pages);
  ASSERT_TRUE(pages.ReleasePages(shrunk, kChunk, kChunk / 2));
  ASSERT_TRUE(pages.FreePages(shrunk, kChunk / 2));

  EXPECT_EQ(pages.stats().pooled, 0u);
  EXPECT_EQ(pages.stats().pooled_bytes, 0u);
  EXPECT_FALSE(Mapped(guarded, kChunk));
  EXPECT_FALSE(Mapped(code, kChunk));
  EXPECT_FALSE(Mapped(shrunk, kChunk / 2));
}

TEST(RecyclingPageAllocatorTest, DataPagesArePooledWhateverV8LeftThemAs) {
  RecyclingPageAllocator pages(System(), {});
  // Never made accessible.
  void* reserved = pages.AllocatePages(nullptr, kChunk, kChunk, Permission::kNoAccess);
  ASSERT_NE(reserved, nullptr);
  // Decommitted: inaccessible and zero.
  void* decommitted = NewChunk(pages);
  std::memset(decommitted, 0x11, kChunk);
  ASSERT_TRUE(pages.DecommitPages(decommitted, kChunk));
  // Uncommitted (a semi-space page going back to V8's own pool): the narrowing is skipped, so the
  // page stays writable, and it keeps its contents, as mprotect would.
  void* uncommitted = NewChunk(pages);
  std::memset(uncommitted, 0x22, kChunk);
  ASSERT_TRUE(pages.SetPermissions(uncommitted, kChunk, Permission::kNoAccess));
  static_cast<unsigned char*>(uncommitted)[kChunk - 1] = 0x33;  // no fault
  ASSERT_TRUE(pages.SetPermissions(uncommitted, kChunk, Permission::kReadWrite));
  EXPECT_EQ(static_cast<unsigned char*>(uncommitted)[0], 0x22);

  for (void* chunk : {reserved, decommitted, uncommitted}) {
    ASSERT_TRUE(pages.FreePages(chunk, kChunk));
  }
  EXPECT_EQ(pages.stats().pooled, 3u);
  for (int i = 0; i < 3; ++i) {
    void* again = NewChunk(pages);
    EXPECT_TRUE(again == reserved || again == decommitted || again == uncommitted);
    EXPECT_TRUE(AllZero(again, kChunk));
  }
  EXPECT_EQ(pages.stats().recycled, 3u);
}

TEST(RecyclingPageAllocatorTest, ThePoolIsBounded) {
  RecyclingPageAllocator pages(System(), {.max_pooled_bytes = 2 * kChunk});
  std::vector<void*> chunks;
  for (int i = 0; i < 3; ++i) chunks.push_back(NewChunk(pages));
  for (void* chunk : chunks) ASSERT_TRUE(pages.FreePages(chunk, kChunk));
  EXPECT_EQ(pages.stats().pooled, 2u);
  EXPECT_EQ(pages.stats().pooled_bytes, 2 * kChunk);
  EXPECT_FALSE(Mapped(chunks[2], kChunk));  // the third went back to the system
}

TEST(RecyclingPageAllocatorTest, ChunksLingeringPastTheirTimeAreUnmapped) {
  int trims_asked = 0;
  RecyclingPageAllocator pages(
      System(), {.linger = absl::Seconds(1), .schedule_trim = [&](absl::Duration delay) {
                   EXPECT_EQ(delay, absl::Seconds(1));
                   ++trims_asked;
                 }});
  void* first = NewChunk(pages);
  void* second = NewChunk(pages);
  ASSERT_TRUE(pages.FreePages(first, kChunk));
  ASSERT_TRUE(pages.FreePages(second, kChunk));
  EXPECT_EQ(trims_asked, 1);  // once while anything is pooled

  const absl::Time now = absl::Now();
  EXPECT_EQ(pages.Trim(now), 2u);  // not lingered yet
  EXPECT_EQ(trims_asked, 2);       // asked again: something remains
  EXPECT_TRUE(Mapped(first, kChunk));

  EXPECT_EQ(pages.Trim(now + absl::Seconds(2)), 0u);
  EXPECT_EQ(trims_asked, 2);  // nothing left to trim
  EXPECT_EQ(pages.stats().trimmed, 2u);
  EXPECT_EQ(pages.stats().pooled_bytes, 0u);
  EXPECT_FALSE(Mapped(first, kChunk));
  EXPECT_FALSE(Mapped(second, kChunk));
}

// Isolates are built and torn down on many threads at once: no chunk is ever handed to two of
// them, and each comes zeroed.
TEST(RecyclingPageAllocatorTest, ThreadsNeverShareAChunk) {
  RecyclingPageAllocator pages(System(), {.max_pooled_bytes = 4 * kChunk});
  constexpr int kThreads = 4;
  constexpr int kRounds = 200;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, mark = static_cast<unsigned char>(t + 1)] {
      for (int i = 0; i < kRounds; ++i) {
        void* chunk = pages.AllocatePages(nullptr, kChunk, kChunk, Permission::kNoAccess);
        if (chunk == nullptr || !pages.SetPermissions(chunk, kChunk, Permission::kReadWrite) ||
            !AllZero(chunk, kChunk)) {
          ++failures;
          return;
        }
        std::memset(chunk, mark, kChunk);
        std::this_thread::yield();
        const auto* bytes = static_cast<const unsigned char*>(chunk);
        if (bytes[0] != mark || bytes[kChunk - 1] != mark) ++failures;
        pages.FreePages(chunk, kChunk);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GT(pages.stats().recycled, 0u);
  EXPECT_EQ(pages.Trim(absl::InfiniteFuture()), 0u);
  EXPECT_EQ(pages.stats().pooled_bytes, 0u);
}

// Starts `manifest` in a new isolate of `engine`, checks it answers `body`, and destroys it: the
// pool's stats just before and just after the teardown, which pooled the isolate's heap pages.
void ServeOnceAndTearDown(JavaScriptEngine& engine, const Manifest& manifest,
                          const std::string& body, RecyclingPageAllocator::Stats* before,
                          RecyclingPageAllocator::Stats* torn_down) {
  auto instance = Start(engine, manifest);
  ASSERT_TRUE(instance.ok()) << instance.status();
  ASSERT_EQ((*instance)->Invoke(Get()).response.body, body);
  *before = V8Platform::Pages().stats();
  instance->reset();
  *torn_down = V8Platform::Pages().stats();
  ASSERT_GT(torn_down->pooled, before->pooled) << "the isolate's heap pages were unmapped";
}

// The process's platform hands V8 the recycling allocator: an isolate torn down leaves its heap
// pages in the pool and the next isolate is built on them, and serves.
TEST(RecyclingPageAllocatorTest, IsolatesAreBuiltOnTheHeapPagesOfTornDownOnes) {
  JavaScriptEngineOptions options;
  options.spare_isolates = 0;  // each instance builds its isolate when it starts
  auto engine = MakeTestEngine(options);
  ASSERT_TRUE(engine.ok()) << engine.status();
  const Manifest hello =
      JsManifest("export default { fetch() { return new Response('hi ' + 6 * 7); } };");
  RecyclingPageAllocator::Stats before, torn_down;
  ASSERT_NO_FATAL_FAILURE(ServeOnceAndTearDown(**engine, hello, "hi 42", &before, &torn_down));

  auto second = Start(**engine, hello);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ((*second)->Invoke(Get()).response.body, "hi 42");
  const RecyclingPageAllocator::Stats after = V8Platform::Pages().stats();
  // Unless the pool lingered past its time meanwhile (a very slow machine), the new isolate took
  // pages from it.
  if (after.trimmed == torn_down.trimmed) {
    EXPECT_GT(after.recycled, torn_down.recycled);
  }
}

// The runtime's idle release (Engine::ReleaseIdleMemory) leaves nothing pooled: an idle host holds
// no heap pages of the isolates it unloaded, however recently it unloaded them.
TEST(RecyclingPageAllocatorTest, AnIdleEngineGivesThePooledPagesBack) {
  JavaScriptEngineOptions options;
  options.spare_isolates = 0;  // no isolate but the instance's, none built behind the test's back
  auto engine = MakeTestEngine(options);
  ASSERT_TRUE(engine.ok()) << engine.status();
  RecyclingPageAllocator::Stats before, torn_down;
  ASSERT_NO_FATAL_FAILURE(ServeOnceAndTearDown(
      **engine, JsManifest("export default { fetch() { return new Response('hi'); } };"), "hi",
      &before, &torn_down));

  (*engine)->ReleaseIdleMemory();
  const RecyclingPageAllocator::Stats released = V8Platform::Pages().stats();
  EXPECT_EQ(released.pooled_bytes, 0u);
  EXPECT_GE(released.trimmed - torn_down.trimmed, torn_down.pooled - before.pooled)
      << "every page the isolate left was unmapped, by the release or by a lingering trim";
}

}  // namespace
}  // namespace cosmo::v8engine
