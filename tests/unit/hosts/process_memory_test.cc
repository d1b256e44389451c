#include "process_memory.h"

#include <fcntl.h>
#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/barrier.h"
#include "gtest/gtest.h"
#include "support/temp_dir.h"

namespace cosmo::host {
namespace {

constexpr size_t kPages = 16;

// The Rss and Anonymous kB /proc/self/smaps reports for the mapping that starts at `start`.
struct Resident {
  size_t rss_kib = 0;
  size_t anonymous_kib = 0;
};

Resident ResidentOf(const void* start) {
  std::ifstream smaps("/proc/self/smaps");
  const std::string prefix = absl::StrCat(absl::Hex(reinterpret_cast<uintptr_t>(start)), "-");
  Resident resident;
  bool inside = false;
  std::string line;
  while (std::getline(smaps, line)) {
    if (line.rfind(prefix, 0) == 0) {
      inside = true;
      continue;
    }
    if (!inside) continue;
    std::vector<std::string> fields = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (fields.size() == 3 && fields[0] == "Rss:") {
      EXPECT_TRUE(absl::SimpleAtoi(fields[1], &resident.rss_kib));
    } else if (fields.size() == 3 && fields[0] == "Anonymous:") {
      EXPECT_TRUE(absl::SimpleAtoi(fields[1], &resident.anonymous_kib));
    } else if (fields.size() >= 5 && line.find('-') < line.find(' ')) {
      break;  // the next mapping's header
    }
  }
  return resident;
}

class ProcessMemoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    page_ = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    path_ = dir_.path() + "/mapped";
    std::string content(kPages * page_, '\0');
    for (size_t i = 0; i < content.size(); ++i) content[i] = static_cast<char>('a' + i % 26);
    std::ofstream(path_, std::ios::binary) << content;
    content_ = content;
  }

  // The test file mapped private with `prot`, every page read (and so resident).
  char* MapAndTouch(int prot) {
    int fd = open(path_.c_str(), O_RDONLY);
    EXPECT_GE(fd, 0);
    void* mapped = mmap(nullptr, kPages * page_, prot, MAP_PRIVATE, fd, 0);
    close(fd);
    EXPECT_NE(mapped, MAP_FAILED);
    for (size_t i = 0; i < kPages; ++i) {
      EXPECT_EQ(static_cast<volatile char*>(mapped)[i * page_], content_[i * page_]);
    }
    return static_cast<char*>(mapped);
  }

  testing::TempDir dir_;
  size_t page_ = 4096;
  std::string path_;
  std::string content_;
};

TEST_F(ProcessMemoryTest, DropsResidentPagesOfReadOnlyFileMappingsAndTheyReadTheSameAfter) {
  char* mapped = MapAndTouch(PROT_READ);
  ASSERT_GT(ResidentOf(mapped).rss_kib, 0u);
  EXPECT_GE(ReleaseStartupMemory(), kPages * page_);
  EXPECT_EQ(ResidentOf(mapped).rss_kib, 0u);
  EXPECT_EQ(std::string(mapped, kPages * page_), content_);
  munmap(mapped, kPages * page_);
}

TEST_F(ProcessMemoryTest, KeepsAReadOnlyMappingWithPagesCopiedOnWrite) {
  // What the dynamic linker leaves in a library's relocated read-only data: written, then made
  // read-only. Dropping it would bring the file's bytes back.
  char* mapped = MapAndTouch(PROT_READ | PROT_WRITE);
  std::memcpy(mapped, "written", 7);
  ASSERT_EQ(mprotect(mapped, kPages * page_, PROT_READ), 0);
  ASSERT_GT(ResidentOf(mapped).anonymous_kib, 0u);
  ReleaseStartupMemory();
  EXPECT_EQ(std::string(mapped, 7), "written");
  EXPECT_EQ(ResidentOf(mapped).rss_kib, kPages * page_ / 1024);
  munmap(mapped, kPages * page_);
}

TEST_F(ProcessMemoryTest, KeepsWritableFileMappings) {
  char* mapped = MapAndTouch(PROT_READ | PROT_WRITE);
  ReleaseStartupMemory();
  EXPECT_EQ(ResidentOf(mapped).rss_kib, kPages * page_ / 1024);
  munmap(mapped, kPages * page_);
}

// How many arenas malloc_info() reports.
int Arenas() {
  char* text = nullptr;
  size_t size = 0;
  FILE* out = open_memstream(&text, &size);
  malloc_info(0, out);
  fclose(out);
  int arenas = 0;
  for (const char* at = text; (at = std::strstr(at, "<heap nr=")) != nullptr; ++at) ++arenas;
  free(text);
  return arenas;
}

TEST(MallocArenasTest, ThreadsShareAtMostTheCappedArenas) {
  ASSERT_EQ(std::getenv("MALLOC_ARENA_MAX"), nullptr) << "run this test without MALLOC_ARENA_MAX";
  EXPECT_EQ(LimitMallocArenas(), kMallocArenas);
  // Each thread allocates while all the others hold an allocation: uncapped, glibc gives each
  // its own arena.
  constexpr int kThreads = 8;
  absl::Barrier* allocated = new absl::Barrier(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([allocated] {
      void* block = malloc(1024);
      if (allocated->Block()) delete allocated;
      free(block);
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_LE(Arenas(), kMallocArenas);
}

TEST(MallocArenasTest, TheEnvironmentsSettingWins) {
  setenv("MALLOC_ARENA_MAX", "4", 1);
  EXPECT_EQ(LimitMallocArenas(), 0);
  unsetenv("MALLOC_ARENA_MAX");
  setenv("GLIBC_TUNABLES", "glibc.malloc.arena_max=4", 1);
  EXPECT_EQ(LimitMallocArenas(), 0);
  unsetenv("GLIBC_TUNABLES");
}

}  // namespace
}  // namespace cosmo::host
