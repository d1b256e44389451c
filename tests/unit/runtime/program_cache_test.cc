#include "runtime/program_cache.h"

#include <memory>
#include <string>

#include "gtest/gtest.h"

namespace cosmo {
namespace {

std::shared_ptr<const PreparedVersion> Entry(size_t bytes) {
  auto entry = std::make_shared<PreparedVersion>();
  entry->engine = "javascript";
  entry->bytes = bytes;
  return entry;
}

TEST(ProgramCacheTest, DropsTheLeastRecentlyUsedOverItsBound) {
  ProgramCache cache(100);
  cache.Insert("a", Entry(40));
  cache.Insert("b", Entry(40));
  ASSERT_NE(cache.Find("a"), nullptr);  // now b is the least recently used
  cache.Insert("c", Entry(40));
  EXPECT_NE(cache.Find("a"), nullptr);
  EXPECT_EQ(cache.Find("b"), nullptr);
  EXPECT_NE(cache.Find("c"), nullptr);
  EXPECT_EQ(cache.size(), 2u);
}

TEST(ProgramCacheTest, ReplacesAnEntryAndKeepsNoneLargerThanItsBound) {
  ProgramCache cache(100);
  auto first = Entry(10);
  cache.Insert("a", first);
  auto second = Entry(20);
  cache.Insert("a", second);
  EXPECT_EQ(cache.Find("a"), second);
  EXPECT_EQ(cache.size(), 1u);
  cache.Insert("huge", Entry(101));
  EXPECT_EQ(cache.Find("huge"), nullptr);
  EXPECT_EQ(cache.Find("a"), second);
  // The replaced entry's bytes no longer count: 90 more still fit beside it.
  cache.Insert("b", Entry(80));
  EXPECT_NE(cache.Find("a"), nullptr);
  EXPECT_NE(cache.Find("b"), nullptr);
}

}  // namespace
}  // namespace cosmo
