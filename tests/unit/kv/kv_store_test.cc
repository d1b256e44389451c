// KvStore against the in-memory store and real LevelDB: every operation, option and limit, list
// paging, expiration on a ManualClock, the exact namespace quota, ownership and group commit.
#include <algorithm>
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/blocking_counter.h"
#include "cosmo/kv.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "support/temp_dir.h"

namespace cosmo {
namespace {

using ::testing::HasSubstr;
using ::testing::Optional;

constexpr char kTenant[] = "acme";
constexpr char kNs[] = "counts";

enum class Backend { kMemory, kLevelDb };

class KvStoreTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override { Open({}); }

  void Open(KvStoreOptions options) {
    kv_.reset();
    if (!store_) {
      if (GetParam() == Backend::kMemory) {
        store_ = NewInMemoryStore();
      } else {
        auto store = OpenLevelDbStore({.path = dir_.Sub("db")});
        ASSERT_TRUE(store.ok()) << store.status();
        store_ = *std::move(store);
      }
    }
    options.sweep_interval = absl::ZeroDuration();
    auto kv = NewKvStore(store_.get(), &clock_, options);
    ASSERT_TRUE(kv.ok()) << kv.status();
    kv_ = *std::move(kv);
    // Namespaces exist once a tenant binds or writes them; the data-plane calls below need one.
    ASSERT_TRUE(kv_->Put(kNs, "created", "", {}, kTenant).ok());
    ASSERT_TRUE(kv_->Delete(kNs, "created").ok());
  }

  std::optional<std::string> Value(absl::string_view key) {
    auto entry = kv_->Get(kNs, key);
    EXPECT_TRUE(entry.ok()) << entry.status();
    if (!entry.ok() || !*entry) return std::nullopt;
    return (*entry)->value;
  }

  KvNamespaceInfo Info() {
    auto info = kv_->GetNamespace(kTenant, kNs);
    EXPECT_TRUE(info.ok()) << info.status();
    return info.value_or(KvNamespaceInfo{});
  }

  testing::TempDir dir_;
  ManualClock clock_{absl::FromUnixSeconds(1'700'000'000)};
  std::unique_ptr<Store> store_;
  std::unique_ptr<KvStore> kv_;
};

INSTANTIATE_TEST_SUITE_P(Backends, KvStoreTest,
                         ::testing::Values(Backend::kMemory, Backend::kLevelDb),
                         [](const auto& info) {
                           return info.param == Backend::kMemory ? "Memory" : "LevelDb";
                         });

TEST_P(KvStoreTest, PutThenGetReturnsValueMetadataAndExpiration) {
  ASSERT_TRUE(kv_->Put(kNs, "a", "one", {}).ok());
  EXPECT_THAT(Value("a"), Optional(std::string("one")));
  auto entry = kv_->Get(kNs, "a");
  ASSERT_TRUE(entry.ok());
  EXPECT_EQ((*entry)->metadata, std::nullopt);
  EXPECT_EQ((*entry)->expiration, 0);

  ASSERT_TRUE(
      kv_->Put(kNs, "a", std::string("t\0wo", 4), {.expiration_ttl = 120, .metadata = R"({"n":1})"})
          .ok());
  entry = kv_->Get(kNs, "a");
  ASSERT_TRUE(entry.ok() && entry->has_value());
  EXPECT_EQ((*entry)->value, std::string("t\0wo", 4));
  EXPECT_EQ((*entry)->metadata, R"({"n":1})");
  EXPECT_EQ((*entry)->expiration, 1'700'000'000 + 120);
}

TEST_P(KvStoreTest, MissingKeyIsNulloptAndDeleteIsIdempotent) {
  EXPECT_EQ(Value("nothing"), std::nullopt);
  ASSERT_TRUE(kv_->Put(kNs, "a", "1", {}).ok());
  ASSERT_TRUE(kv_->Delete(kNs, "a").ok());
  EXPECT_EQ(Value("a"), std::nullopt);
  EXPECT_TRUE(kv_->Delete(kNs, "a").ok());
  EXPECT_EQ(Info().keys, 0u);
  EXPECT_EQ(Info().stored_bytes, 0u);
}

TEST_P(KvStoreTest, EveryLimitNamesItselfAndWritesNothing) {
  const auto refused = [&](const std::string& key, const std::string& value,
                           const KvPutOptions& options, const std::string& names) {
    SCOPED_TRACE(names);
    absl::Status status = kv_->Put(kNs, key, value, options);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
    EXPECT_THAT(status.message(), HasSubstr(names));
  };
  refused("", "v", {}, "must not be empty");
  refused(std::string(513, 'k'), "v", {}, "key size limit of 512");
  refused(".", "v", {}, "\"..\" are not allowed");
  refused("..", "v", {}, "\"..\" are not allowed");
  refused("bad\xC3\x28", "v", {}, "not valid UTF-8");
  refused("k", std::string((25 << 20) + 1, 'v'), {}, "value size limit of 26214400");
  KvPutOptions big_metadata;
  big_metadata.metadata = std::string(1025, ' ');
  refused("k", "v", big_metadata, "metadata limit of 1024");
  refused("k", "v", {.expiration_ttl = 59}, "minimum expirationTtl of 60");
  refused("k", "v", {.expiration = 1'700'000'059}, "expiration");
  // The largest allowed sizes pass.
  EXPECT_TRUE(kv_->Put(kNs, std::string(512, 'k'), "v", {.metadata = std::string(1024, ' ')}).ok());
  EXPECT_TRUE(kv_->Put(kNs, "k", "v", {.expiration_ttl = 60}).ok());
  EXPECT_TRUE(kv_->Put(kNs, "k", "v", {.expiration = 1'700'000'060}).ok());
  EXPECT_EQ(Info().keys, 2u);
  EXPECT_EQ(kv_->Get(kNs, "").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(kv_->Get("Bad_NS", "k").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(kv_->List(kNs, {.limit = 1001}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(kv_->List(kNs, {.limit = 1001}).status().message(), HasSubstr("maximum of 1000"));
  EXPECT_EQ(kv_->List(kNs, {.cursor = "!!not a cursor"}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_P(KvStoreTest, ListPagesOver2500KeysInByteOrderWithCursors) {
  std::vector<std::string> keys;
  for (int i = 0; i < 2500; ++i) keys.push_back(absl::StrFormat("key-%04d", i));
  // Bytes sort before letters, and multi-byte UTF-8 after ASCII.
  keys.push_back("KEY");
  keys.push_back("key-\xC3\xA9");
  absl::BlockingCounter pending(static_cast<int>(keys.size()));
  std::atomic<int> failures{0};
  for (const std::string& key : keys) {
    kv_->PutAsync(kNs, key, "v", {.metadata = R"({"m":true})"}, [&](absl::Status s) {
      if (!s.ok()) failures.fetch_add(1);
      pending.DecrementCount();
    });
  }
  pending.Wait();
  ASSERT_EQ(failures.load(), 0);
  std::sort(keys.begin(), keys.end());

  std::vector<std::string> listed;
  std::string cursor;
  int pages = 0;
  while (true) {
    auto page = kv_->List(kNs, {.cursor = cursor});
    ASSERT_TRUE(page.ok()) << page.status();
    ++pages;
    for (const KvListKey& key : page->keys) {
      listed.push_back(key.name);
      EXPECT_EQ(key.metadata, R"({"m":true})");
    }
    if (page->list_complete) {
      EXPECT_EQ(page->cursor, "");
      break;
    }
    EXPECT_EQ(page->keys.size(), 1000u);
    cursor = page->cursor;
  }
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(listed, keys);

  auto prefixed = kv_->List(kNs, {.prefix = "key-00", .limit = 7});
  ASSERT_TRUE(prefixed.ok());
  ASSERT_EQ(prefixed->keys.size(), 7u);
  EXPECT_EQ(prefixed->keys.front().name, "key-0000");
  EXPECT_FALSE(prefixed->list_complete);
  auto rest = kv_->List(kNs, {.prefix = "key-00", .cursor = prefixed->cursor});
  ASSERT_TRUE(rest.ok());
  EXPECT_EQ(rest->keys.size(), 100u - 7u);
  EXPECT_TRUE(rest->list_complete);
  EXPECT_EQ(Info().keys, keys.size());
}

TEST_P(KvStoreTest, ExpiredEntriesAreInvisibleAtOnceAndSweptLater) {
  ASSERT_TRUE(kv_->Put(kNs, "soon", "x", {.expiration_ttl = 60}).ok());
  ASSERT_TRUE(kv_->Put(kNs, "later", "y", {.expiration_ttl = 3600}).ok());
  ASSERT_TRUE(kv_->Put(kNs, "never", "z", {}).ok());
  EXPECT_THAT(Value("soon"), Optional(std::string("x")));
  const uint64_t stored = Info().stored_bytes;
  EXPECT_EQ(stored, 17u);  // key + value bytes of each

  clock_.Advance(absl::Seconds(60));
  EXPECT_EQ(Value("soon"), std::nullopt);
  auto listed = kv_->List(kNs, {});
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->keys.size(), 2u);
  EXPECT_EQ(listed->keys[0].name, "later");
  EXPECT_EQ(listed->keys[0].expiration, 1'700'000'000 + 3600);
  EXPECT_EQ(listed->keys[1].name, "never");
  // Still stored (and counted) until swept.
  EXPECT_EQ(Info().stored_bytes, stored);
  auto swept = kv_->SweepExpired();
  ASSERT_TRUE(swept.ok()) << swept.status();
  EXPECT_EQ(*swept, 1u);
  EXPECT_EQ(Info().stored_bytes, stored - 5);
  EXPECT_EQ(Info().keys, 2u);
  EXPECT_EQ(*kv_->SweepExpired(), 0u);

  // Overwriting an expiring entry without expiration drops it from the sweep.
  ASSERT_TRUE(kv_->Put(kNs, "later", "kept", {}).ok());
  clock_.Advance(absl::Hours(2));
  EXPECT_EQ(*kv_->SweepExpired(), 0u);
  EXPECT_THAT(Value("later"), Optional(std::string("kept")));
}

TEST_P(KvStoreTest, QuotaIsExactAndABreachWritesNothing) {
  KvStoreOptions options;
  options.limits.max_namespace_bytes = 100;
  Open(options);
  ASSERT_TRUE(kv_->Put(kNs, "a", std::string(50, 'x'), {}).ok());
  EXPECT_EQ(Info().stored_bytes, 51u);
  ASSERT_TRUE(kv_->Put(kNs, "a", std::string(60, 'x'), {.metadata = "{}"}).ok());
  EXPECT_EQ(Info().stored_bytes, 63u);
  absl::Status over = kv_->Put(kNs, "b", std::string(40, 'x'), {});
  EXPECT_EQ(over.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(over.message(), HasSubstr("--kv-max-namespace-bytes"));
  EXPECT_EQ(Value("b"), std::nullopt);
  EXPECT_EQ(Info().stored_bytes, 63u);
  // Exactly at the quota is allowed; shrinking is always allowed.
  ASSERT_TRUE(kv_->Put(kNs, "b", std::string(36, 'x'), {}).ok());
  EXPECT_EQ(Info().stored_bytes, 100u);
  ASSERT_TRUE(kv_->Put(kNs, "a", "", {}).ok());
  EXPECT_EQ(Info().stored_bytes, 38u);
  ASSERT_TRUE(kv_->Delete(kNs, "b").ok());
  EXPECT_EQ(Info().stored_bytes, 1u);
}

TEST_P(KvStoreTest, ReadsSeeEveryWriteThroughTheCache) {
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(kv_->Put(kNs, "hot", absl::StrCat(i), {}).ok());
    EXPECT_THAT(Value("hot"), Optional(absl::StrCat(i)));
    EXPECT_THAT(Value("hot"), Optional(absl::StrCat(i)));
  }
  ASSERT_TRUE(kv_->Delete(kNs, "hot").ok());
  EXPECT_EQ(Value("hot"), std::nullopt);
  // A large value (not cached) reads back too.
  const std::string big(1 << 20, 'b');
  ASSERT_TRUE(kv_->Put(kNs, "big", big, {}).ok());
  EXPECT_THAT(Value("big"), Optional(big));
}

TEST_P(KvStoreTest, ConcurrentPutsAreAllDurableAndShareCommits) {
  constexpr int kWriters = 32;
  constexpr int kPutsEach = 40;
  const uint64_t commits_before = kv_->CommitCount();
  std::vector<std::thread> writers;
  std::atomic<int> failures{0};
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; i < kPutsEach; ++i) {
        if (!kv_->Put(kNs, absl::StrCat("w", w, "-", i), absl::StrCat(i), {}).ok()) {
          failures.fetch_add(1);
        }
      }
    });
  }
  for (std::thread& t : writers) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_LT(kv_->CommitCount() - commits_before, uint64_t{kWriters * kPutsEach});
  // Reopen: everything acknowledged is in the store, and the size record agrees.
  kv_.reset();
  Open({});
  for (int w = 0; w < kWriters; ++w) {
    for (int i = 0; i < kPutsEach; ++i) {
      ASSERT_THAT(Value(absl::StrCat("w", w, "-", i)), Optional(absl::StrCat(i)));
    }
  }
  EXPECT_EQ(Info().keys, uint64_t{kWriters * kPutsEach});
}

TEST_P(KvStoreTest, NamespacesBelongToTheirTenant) {
  EXPECT_EQ(kv_->Put(kNs, "k", "v", {}, "other").code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(kv_->Delete(kNs, "k", "other").code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(kv_->GetNamespace("other", kNs).status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(kv_->DeleteNamespace("other", kNs).code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(kv_->GetNamespace(kTenant, "nope").status().code(), absl::StatusCode::kNotFound);
  // A data-plane write never creates a namespace.
  absl::Status unbound = kv_->Put("nope", "k", "v", {});
  EXPECT_EQ(unbound.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(unbound.message(), HasSubstr("'nope'"));

  ASSERT_TRUE(kv_->Put("second", "k", "v", {}, kTenant).ok());
  ASSERT_TRUE(kv_->Put("theirs", "k", "v", {}, "other").ok());
  auto mine = kv_->ListNamespaces(kTenant);
  ASSERT_TRUE(mine.ok());
  ASSERT_EQ(mine->size(), 2u);
  EXPECT_EQ((*mine)[0].name, kNs);
  EXPECT_EQ((*mine)[1].name, "second");
  EXPECT_EQ((*mine)[1].stored_bytes, 2u);
  EXPECT_EQ((*mine)[1].owner_tenant, kTenant);
}

TEST_P(KvStoreTest, DeleteNamespaceRemovesEverythingAndStopsWrites) {
  for (int i = 0; i < 1200; ++i) {
    kv_->PutAsync(kNs, absl::StrCat("k", i), "v", {.expiration_ttl = 600}, [](absl::Status) {});
  }
  ASSERT_TRUE(kv_->Put(kNs, "last", "v", {}).ok());
  ASSERT_THAT(Value("last"), Optional(std::string("v")));
  ASSERT_TRUE(kv_->DeleteNamespace(kTenant, kNs).ok());
  EXPECT_EQ(Value("last"), std::nullopt);
  EXPECT_EQ(kv_->GetNamespace(kTenant, kNs).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(kv_->Put(kNs, "k", "v", {}).code(), absl::StatusCode::kFailedPrecondition);
  auto all = store_->Scan("kv", {});
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->empty()) << all->front().key;
  // The name is free again, and the new namespace starts empty.
  ASSERT_TRUE(kv_->Put(kNs, "fresh", "v", {}, "other").ok());
  EXPECT_EQ(kv_->GetNamespace("other", kNs)->stored_bytes, 6u);
}

TEST(KvStoreOptionsTest, BadOptionsNameTheField) {
  auto store = NewInMemoryStore();
  KvStoreOptions options;
  options.limits.max_namespace_bytes = 0;
  auto kv = NewKvStore(store.get(), Clock::Real(), options);
  EXPECT_EQ(kv.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(kv.status().message(), HasSubstr("--kv-max-namespace-bytes"));
  EXPECT_EQ(NewKvStore(nullptr, Clock::Real()).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace cosmo
