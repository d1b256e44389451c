#include "runtime/version_router.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cosmo {
namespace {

using Side = VersionRouter::Side;
using ::testing::HasSubstr;

const std::string kBase(64, 'a');
const std::string kCanary = std::string("b") + std::string(63, 'c');

HeaderList Key(const std::string& key) { return {{"Cosmo-Version-Key", key}}; }
HeaderList Override(const std::string& prefix) { return {{"cosmo-version-override", prefix}}; }

// The bucket function is a contract between processes of any build: pinned values.
TEST(VersionRouterTest, BucketIsFnv1aModulo100) {
  EXPECT_EQ(VersionRouter::Bucket(""), 37u);
  EXPECT_EQ(VersionRouter::Bucket("a"), 96u);
  EXPECT_EQ(VersionRouter::Bucket("user-42"), 19u);
  EXPECT_EQ(VersionRouter::Bucket("alice"), 83u);
}

TEST(VersionRouterTest, RandomRoutingFollowsTheWeightsOver100000Requests) {
  const VersionRouter router(kBase, kCanary, 10);
  int canary = 0;
  for (int i = 0; i < 100000; ++i) canary += *router.Route({}) == Side::kCanary;
  // 10% +/- 0.5% (about five standard deviations of a fair draw).
  EXPECT_GE(canary, 9500);
  EXPECT_LE(canary, 10500);
}

TEST(VersionRouterTest, KeyedRoutingFollowsTheWeightsOver100000Keys) {
  const VersionRouter router(kBase, kCanary, 10);
  int canary = 0;
  for (int i = 0; i < 100000; ++i) {
    canary += *router.Route(Key(absl::StrCat("user-", i))) == Side::kCanary;
  }
  EXPECT_GE(canary, 9500);
  EXPECT_LE(canary, 10500);
}

TEST(VersionRouterTest, AKeyKeepsItsVersionAndTheCanaryKeepsItsKeysWhenItGrows) {
  const VersionRouter at10(kBase, kCanary, 10);
  const VersionRouter at50(kBase, kCanary, 50);
  int on_canary = 0;
  for (int i = 0; i < 1000; ++i) {
    const HeaderList key = Key(absl::StrCat("session-", i));
    const Side first = *at10.Route(key);
    for (int repeat = 0; repeat < 100; ++repeat) ASSERT_EQ(*at10.Route(key), first);
    if (first == Side::kCanary) {
      ++on_canary;
      EXPECT_EQ(*at50.Route(key), Side::kCanary) << "key " << i << " left the canary";
    }
  }
  EXPECT_GT(on_canary, 50);
}

TEST(VersionRouterTest, ZeroAndHundredPercentSendEverythingToOneSide) {
  for (int i = 0; i < 1000; ++i) {
    EXPECT_EQ(*VersionRouter(kBase, kCanary, 0).Route(Key(absl::StrCat(i))), Side::kBase);
    EXPECT_EQ(*VersionRouter(kBase, kCanary, 100).Route({}), Side::kCanary);
  }
}

TEST(VersionRouterTest, OverridePinsEitherSideByPrefix) {
  const VersionRouter router(kBase, kCanary, 1);
  EXPECT_EQ(*router.Route(Override(kCanary.substr(0, 8))), Side::kCanary);
  EXPECT_EQ(*router.Route(Override(kCanary)), Side::kCanary);
  EXPECT_EQ(*router.Route(Override(kBase.substr(0, 12))), Side::kBase);
  // The override wins over a key, wherever it is among the headers.
  HeaderList both = {{"Cosmo-Version-Key", "k"}, {"Cosmo-Version-Override", kBase.substr(0, 8)}};
  EXPECT_EQ(*router.Route(both), Side::kBase);
}

TEST(VersionRouterTest, OverrideOfAnythingElseIsRefusedClearly) {
  const VersionRouter router(kBase, kCanary, 50);
  for (const std::string& bad :
       {std::string("dddddddd"), std::string("aaaa"), std::string("AAAAAAAA"), std::string(""),
        std::string(65, 'a'), std::string("aaaaaaa\r\n"), std::string("aaaaaaaa ")}) {
    absl::StatusOr<Side> side = router.Route(Override(bad));
    ASSERT_FALSE(side.ok()) << bad;
    EXPECT_EQ(side.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(side.status().message(), HasSubstr("Cosmo-Version-Override"));
  }
  EXPECT_THAT(
      router.Route(Override("dddddddd")).status().message(),
      HasSubstr(absl::StrCat("serves ", kBase.substr(0, 12), " and ", kCanary.substr(0, 12))));
}

TEST(VersionRouterTest, OneVersionIgnoresKeysButChecksOverrides) {
  const VersionRouter router(kBase, "", 0);
  EXPECT_FALSE(router.split());
  EXPECT_EQ(*router.Route(Key("anything")), Side::kBase);
  EXPECT_EQ(*router.Route(Override(kBase.substr(0, 8))), Side::kBase);
  EXPECT_FALSE(router.Route(Override(kCanary.substr(0, 8))).ok());
}

}  // namespace
}  // namespace cosmo
