// One contract, every backend: the same tests run against the in-memory store, LevelDB and etcd
// (a real single-member etcd on a loopback port, started once per test process).
#include <memory>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cosmo/store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "support/etcd_cluster.h"
#include "support/temp_dir.h"

namespace cosmo {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

struct InMemoryBackend {
  std::unique_ptr<Store> Open() { return NewInMemoryStore(); }
};

struct LevelDbBackend {
  testing::TempDir dir;
  std::unique_ptr<Store> Open() {
    auto store = OpenLevelDbStore({.path = dir.Sub("db")});
    EXPECT_TRUE(store.ok()) << store.status();
    return std::move(store).value();
  }
};

// One etcd member serves every etcd-backed test of the process; each test gets its own key
// prefix, so tests stay independent. The member is killed at process exit (or when the process
// dies).
struct EtcdBackend {
  std::string unavailable_reason;
  std::unique_ptr<Store> Open() {
    static testing::EtcdCluster* cluster = nullptr;
    static absl::Status start_status;
    static int next_namespace = 0;
    if (testing::EtcdCluster::FindBinary().empty()) {
      unavailable_reason = testing::EtcdCluster::kNoBinary;
      return nullptr;
    }
    if (cluster == nullptr && start_status.ok()) {
      static std::unique_ptr<testing::EtcdCluster> owned;
      auto started = testing::EtcdCluster::Start(1);
      start_status = started.status();
      if (started.ok()) {
        owned = *std::move(started);
        cluster = owned.get();
      }
    }
    if (cluster == nullptr) {
      ADD_FAILURE() << "etcd did not start: " << start_status;
      return nullptr;
    }
    auto store = OpenEtcdStore({.endpoints = cluster->ClientEndpoints(),
                                .key_prefix = absl::StrCat("conformance/", next_namespace++, "/")});
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *std::move(store) : nullptr;
  }
};

template <typename Backend>
class StoreConformanceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = backend_.Open();
    if constexpr (requires { backend_.unavailable_reason; }) {
      if (store_ == nullptr) GTEST_SKIP() << backend_.unavailable_reason;
    }
  }

  std::vector<std::string> Keys(absl::string_view prefix, ScanOptions options = {}) {
    auto rows = store_->Scan(prefix, options);
    EXPECT_TRUE(rows.ok()) << rows.status();
    std::vector<std::string> keys;
    for (const KeyValue& kv : *rows) keys.push_back(kv.key);
    return keys;
  }

  Backend backend_;
  std::unique_ptr<Store> store_;
};

using Backends = ::testing::Types<InMemoryBackend, LevelDbBackend, EtcdBackend>;
TYPED_TEST_SUITE(StoreConformanceTest, Backends);

TYPED_TEST(StoreConformanceTest, GetOfMissingKeyIsNotFound) {
  EXPECT_EQ(this->store_->Get("nope").status().code(), absl::StatusCode::kNotFound);
  auto found = this->store_->Find("nope");
  ASSERT_TRUE(found.ok());
  EXPECT_FALSE(found->has_value());
}

TYPED_TEST(StoreConformanceTest, PutThenGetReturnsTheValueIncludingBinaryBytes) {
  const std::string binary("a\0b\xff", 4);
  ASSERT_TRUE(this->store_->Put("k", binary).ok());
  EXPECT_EQ(*this->store_->Get("k"), binary);
  ASSERT_TRUE(this->store_->Put("k", "v2").ok());
  EXPECT_EQ(*this->store_->Get("k"), "v2");
}

TYPED_TEST(StoreConformanceTest, DeleteRemovesAndIsIdempotent) {
  ASSERT_TRUE(this->store_->Put("k", "v").ok());
  ASSERT_TRUE(this->store_->Delete("k").ok());
  EXPECT_EQ(this->store_->Get("k").status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(this->store_->Delete("k").ok());
}

TYPED_TEST(StoreConformanceTest, EmptyKeyIsInvalid) {
  EXPECT_EQ(this->store_->Put("", "v").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(this->store_->Get("").status().code(), absl::StatusCode::kInvalidArgument);
}

TYPED_TEST(StoreConformanceTest, ScanReturnsOnlyThePrefixInOrder) {
  for (const char* key : {"a/2", "a/1", "a/10", "a", "ab/1", "b/1", "a/"}) {
    ASSERT_TRUE(this->store_->Put(key, key).ok());
  }
  EXPECT_THAT(this->Keys("a/"), ElementsAre("a/", "a/1", "a/10", "a/2"));
  EXPECT_THAT(this->Keys("c/"), IsEmpty());
  auto rows = this->store_->Scan("b/", {});
  ASSERT_TRUE(rows.ok());
  EXPECT_THAT(*rows, ElementsAre(KeyValue{"b/1", "b/1"}));
}

TYPED_TEST(StoreConformanceTest, ScanPagesForwardAndBackward) {
  for (int i = 0; i < 7; ++i) ASSERT_TRUE(this->store_->Put(absl::StrCat("p/", i), "x").ok());
  ASSERT_TRUE(this->store_->Put("q/0", "x").ok());
  ASSERT_TRUE(this->store_->Put("o/9", "x").ok());

  EXPECT_THAT(this->Keys("p/", {.limit = 3}), ElementsAre("p/0", "p/1", "p/2"));
  EXPECT_THAT(this->Keys("p/", {.start_after = "p/2", .limit = 3}),
              ElementsAre("p/3", "p/4", "p/5"));
  EXPECT_THAT(this->Keys("p/", {.start_after = "p/5", .limit = 3}), ElementsAre("p/6"));
  EXPECT_THAT(this->Keys("p/", {.limit = 3, .reverse = true}), ElementsAre("p/6", "p/5", "p/4"));
  EXPECT_THAT(this->Keys("p/", {.start_after = "p/4", .limit = 3, .reverse = true}),
              ElementsAre("p/3", "p/2", "p/1"));
  EXPECT_THAT(this->Keys("p/", {.start_after = "p/1", .reverse = true}), ElementsAre("p/0"));
  // A cursor outside the prefix range clamps to it.
  EXPECT_THAT(this->Keys("p/", {.start_after = "a", .limit = 1}), ElementsAre("p/0"));
  EXPECT_THAT(this->Keys("p/", {.start_after = "z", .limit = 1, .reverse = true}),
              ElementsAre("p/6"));
}

TYPED_TEST(StoreConformanceTest, ReverseScanOfLastPrefixInKeyspace) {
  ASSERT_TRUE(this->store_->Put("\xff\xff/a", "1").ok());
  ASSERT_TRUE(this->store_->Put("\xff\xff/b", "2").ok());
  EXPECT_THAT(this->Keys("\xff\xff/", {.reverse = true}), ElementsAre("\xff\xff/b", "\xff\xff/a"));
  EXPECT_THAT(this->Keys("", {.limit = 1, .reverse = true}), ElementsAre("\xff\xff/b"));
}

TYPED_TEST(StoreConformanceTest, CommitAppliesAllWritesAtomically) {
  ASSERT_TRUE(this->store_->Put("gone", "x").ok());
  WriteBatch batch;
  batch.Put("a", "1").Put("b", "2").Delete("gone").Put("a", "3");
  ASSERT_TRUE(this->store_->Commit(batch, Durability::kSync).ok());
  EXPECT_EQ(*this->store_->Get("a"), "3");  // the later write to a key wins
  EXPECT_EQ(*this->store_->Get("b"), "2");
  EXPECT_EQ(this->store_->Get("gone").status().code(), absl::StatusCode::kNotFound);
}

TYPED_TEST(StoreConformanceTest, FailedGuardWritesNothing) {
  ASSERT_TRUE(this->store_->Put("head", "v1").ok());
  WriteBatch batch;
  batch.ExpectValue("head", "v0").Put("head", "v2").Put("other", "x");
  EXPECT_EQ(this->store_->Commit(batch, Durability::kSync).code(), absl::StatusCode::kAborted);
  EXPECT_EQ(*this->store_->Get("head"), "v1");
  EXPECT_EQ(this->store_->Get("other").status().code(), absl::StatusCode::kNotFound);

  WriteBatch absent;
  absent.ExpectAbsent("head").Put("x", "y");
  EXPECT_EQ(this->store_->Commit(absent, Durability::kSync).code(), absl::StatusCode::kAborted);

  WriteBatch ok;
  ok.ExpectValue("head", "v1").ExpectAbsent("new").Put("head", "v2").Put("new", "n");
  EXPECT_TRUE(this->store_->Commit(ok, Durability::kBuffered).ok());
  EXPECT_EQ(*this->store_->Get("head"), "v2");
}

TYPED_TEST(StoreConformanceTest, CompareAndSetSucceedsOnlyFromTheExpectedValue) {
  EXPECT_TRUE(this->store_->CompareAndSet("k", std::nullopt, "1").ok());
  EXPECT_EQ(this->store_->CompareAndSet("k", std::nullopt, "2").code(), absl::StatusCode::kAborted);
  EXPECT_EQ(this->store_->CompareAndSet("k", "0", "2").code(), absl::StatusCode::kAborted);
  EXPECT_TRUE(this->store_->CompareAndSet("k", "1", "2").ok());
  EXPECT_EQ(*this->store_->Get("k"), "2");
}

TYPED_TEST(StoreConformanceTest, ConcurrentCompareAndSetIncrementsLoseNothing) {
  constexpr int kThreads = 4;
  constexpr int kIncrements = 50;
  ASSERT_TRUE(this->store_->Put("counter", "0").ok());
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kIncrements;) {
        std::string current = *this->store_->Get("counter");
        const std::string next = std::to_string(std::stoi(current) + 1);
        absl::Status s =
            this->store_->CompareAndSet("counter", current, next, Durability::kBuffered);
        if (s.ok())
          ++i;
        else
          ASSERT_TRUE(absl::IsAborted(s)) << s;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(*this->store_->Get("counter"), std::to_string(kThreads * kIncrements));
}

TYPED_TEST(StoreConformanceTest, ValuesSurviveLargeSizes) {
  const std::string big(3 << 20, 'z');
  ASSERT_TRUE(this->store_->Put("big", big).ok());
  EXPECT_EQ(this->store_->Get("big")->size(), big.size());
}

}  // namespace
}  // namespace cosmo
