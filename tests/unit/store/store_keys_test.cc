#include "store/store_keys.h"

#include <cstddef>
#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace cosmo::store_keys {
namespace {

constexpr char kVersion[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

TEST(StoreKeysTest, NoPrefixIsAPrefixOfAnother) {
  for (size_t i = 0; i < kAllPrefixes.size(); ++i) {
    EXPECT_TRUE(absl::EndsWith(kAllPrefixes[i], "/")) << kAllPrefixes[i];
    for (size_t j = 0; j < kAllPrefixes.size(); ++j) {
      if (i == j) continue;
      EXPECT_FALSE(absl::StartsWith(kAllPrefixes[j], kAllPrefixes[i]))
          << "'" << kAllPrefixes[i] << "' is a prefix of '" << kAllPrefixes[j] << "'";
    }
  }
}

TEST(StoreKeysTest, EveryKeyStartsWithItsKindsPrefix) {
  const std::pair<std::string, absl::string_view> keys[] = {
      {Family("shop"), kFamilyPrefix},
      {Owned("acme", "shop"), kOwnedPrefix},
      {OwnedPrefix("acme"), kOwnedPrefix},
      {History("shop", 1), kHistoryPrefix},
      {HistoryPrefix("shop"), kHistoryPrefix},
      {FamilyVersion("shop", kVersion), kFamilyVersionPrefix},
      {FamilyVersionPrefix("shop"), kFamilyVersionPrefix},
      {Blob(kVersion), kBlobPrefix},
      {BlobRef(kVersion), kBlobRefPrefix},
      {Usage("shop", kVersion), kUsagePrefix},
      {UsagePrefix("shop"), kUsagePrefix},
      {UsageReporter("gw-1"), kUsageReporterPrefix},
      {KvNamespace("counts"), kKvNamespacePrefix},
      {KvSize("counts"), kKvSizePrefix},
      {KvMeta("counts", "a/b"), kKvMetaPrefix},
      {KvMetaPrefix("counts"), kKvMetaPrefix},
      {KvValue("counts", "a/b"), kKvValuePrefix},
      {KvValuePrefix("counts"), kKvValuePrefix},
      {KvExpiry(1700000000, "counts", "a"), kKvExpiryPrefix},
  };
  for (const auto& [key, prefix] : keys) {
    int kinds = 0;
    for (absl::string_view any : kAllPrefixes) kinds += absl::StartsWith(key, any) ? 1 : 0;
    EXPECT_TRUE(absl::StartsWith(key, prefix)) << key;
    EXPECT_EQ(kinds, 1) << key;
  }
}

TEST(StoreKeysTest, TheLayoutIsTheOneStoresHold) {
  EXPECT_EQ(Family("shop"), "fam/shop");
  EXPECT_EQ(Owned("acme", "shop"), "own/acme/shop");
  EXPECT_EQ(History("shop", 12), "hist/shop/00000000000000000012");
  EXPECT_EQ(FamilyVersion("shop", "ab"), "fver/shop/ab");
  EXPECT_EQ(Blob("ab"), "blob/ab");
  EXPECT_EQ(BlobRef("ab"), "blobref/ab");
  EXPECT_EQ(Usage("shop", "ab"), "usage/shop/ab");
  EXPECT_EQ(UsageReporter("gw-1"), "usagerep/gw-1");
  EXPECT_EQ(KvNamespace("counts"), "kvns/counts");
  EXPECT_EQ(KvSize("counts"), "kvsize/counts");
  EXPECT_EQ(KvMeta("counts", "a/b"), "kvm/counts/a/b");
  EXPECT_EQ(KvValue("counts", "a/b"), "kvv/counts/a/b");
  EXPECT_EQ(KvExpiry(1700000000, "counts", "a"), "kvx/00000000001700000000/counts/a");
}

TEST(StoreKeysTest, HistoryKeysSortInSequenceOrder) {
  EXPECT_LT(History("shop", 9), History("shop", 10));
  EXPECT_LT(History("shop", 99999), History("shop", 100000));
}

TEST(StoreKeysTest, AFamilysPrefixMatchesNoOtherFamily) {
  EXPECT_FALSE(absl::StartsWith(History("ab", 1), HistoryPrefix("a")));
  EXPECT_FALSE(absl::StartsWith(FamilyVersion("ab", kVersion), FamilyVersionPrefix("a")));
  EXPECT_FALSE(absl::StartsWith(Usage("ab", kVersion), UsagePrefix("a")));
  EXPECT_FALSE(absl::StartsWith(Owned("acme2", "shop"), OwnedPrefix("acme")));
  EXPECT_FALSE(absl::StartsWith(KvMeta("ab", "k"), KvMetaPrefix("a")));
  EXPECT_FALSE(absl::StartsWith(KvValue("ab", "k"), KvValuePrefix("a")));
}

}  // namespace
}  // namespace cosmo::store_keys
