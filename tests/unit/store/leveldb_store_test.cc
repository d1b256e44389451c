// What only the durable single-node backend promises: persistence across reopen, one process per
// directory, and loud corruption.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "cosmo/store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "support/temp_dir.h"

namespace cosmo {
namespace {

using ::testing::HasSubstr;

TEST(LevelDbStoreTest, DataSurvivesCloseAndReopen) {
  testing::TempDir dir;
  {
    auto store = OpenLevelDbStore({.path = dir.Sub("db")});
    ASSERT_TRUE(store.ok()) << store.status();
    WriteBatch batch;
    batch.Put("fam/a", "1").Put("hist/a/1", "x");
    ASSERT_TRUE((*store)->Commit(batch, Durability::kSync).ok());
    EXPECT_EQ((*store)->Describe(), "leveldb:" + dir.Sub("db"));
  }
  auto reopened = OpenLevelDbStore({.path = dir.Sub("db"), .create_if_missing = false});
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  EXPECT_EQ(*(*reopened)->Get("fam/a"), "1");
  EXPECT_EQ(*(*reopened)->Get("hist/a/1"), "x");
}

TEST(LevelDbStoreTest, CreatesMissingParentDirectories) {
  testing::TempDir dir;
  auto store = OpenLevelDbStore({.path = dir.Sub("a/b/c")});
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_TRUE(std::filesystem::exists(dir.Sub("a/b/c/CURRENT")));
}

TEST(LevelDbStoreTest, OpeningAMissingStoreWithoutCreateIsNotFound) {
  testing::TempDir dir;
  auto store = OpenLevelDbStore({.path = dir.Sub("none"), .create_if_missing = false});
  EXPECT_EQ(store.status().code(), absl::StatusCode::kNotFound);
}

TEST(LevelDbStoreTest, SecondProcessOnTheSameDirectoryFailsAtOnceWithAClearMessage) {
  testing::TempDir dir;
  auto store = OpenLevelDbStore({.path = dir.Sub("db")});
  ASSERT_TRUE(store.ok());
  // LevelDB's lock is a POSIX record lock, which only another process can observe.
  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto second = OpenLevelDbStore({.path = dir.Sub("db")});
    std::string report = second.ok() ? "opened" : std::string(second.status().ToString());
    (void)!write(pipe_fds[1], report.data(), report.size());
    _exit(0);
  }
  close(pipe_fds[1]);
  std::string report;
  char buffer[512];
  for (ssize_t n; (n = read(pipe_fds[0], buffer, sizeof buffer)) > 0;) report.append(buffer, n);
  close(pipe_fds[0]);
  int status = 0;
  waitpid(child, &status, 0);
  EXPECT_THAT(report, HasSubstr("FAILED_PRECONDITION"));
  EXPECT_THAT(report, HasSubstr("in use by another process"));
  EXPECT_THAT(report, HasSubstr(dir.Sub("db")));
}

TEST(LevelDbStoreTest, CorruptTableIsReportedAsDataLossNotIgnored) {
  testing::TempDir dir;
  {
    auto store = OpenLevelDbStore({.path = dir.Sub("db")});
    ASSERT_TRUE(store.ok());
    for (int i = 0; i < 2000; ++i) {
      ASSERT_TRUE((*store)
                      ->Put("key" + std::to_string(i), std::string(100, 'v'), Durability::kBuffered)
                      .ok());
    }
  }
  // Reopening compacts the log into a table file; flip bytes in the middle of it.
  { ASSERT_TRUE(OpenLevelDbStore({.path = dir.Sub("db")}).ok()); }
  std::string table;
  for (const auto& entry : std::filesystem::directory_iterator(dir.Sub("db"))) {
    if (entry.path().extension() == ".ldb") table = entry.path();
  }
  ASSERT_FALSE(table.empty()) << "no table file was written";
  {
    std::fstream f(table, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(std::filesystem::file_size(table) / 3));
    f.write("CORRUPTCORRUPTCORRUPT", 21);
  }
  auto store = OpenLevelDbStore({.path = dir.Sub("db")});
  absl::Status seen = store.status();
  if (store.ok()) {
    // Open may succeed (tables are read lazily); reads of the damaged block must fail loudly.
    auto rows = (*store)->Scan("key", {});
    seen = rows.status();
  }
  EXPECT_EQ(seen.code(), absl::StatusCode::kDataLoss) << seen;
  EXPECT_THAT(seen.message(), HasSubstr("--repair-store"));
}

}  // namespace
}  // namespace cosmo
