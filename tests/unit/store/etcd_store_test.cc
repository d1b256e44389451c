// EtcdStore behaviour beyond the shared Store contract (store_conformance_test.cc): chunked values,
// large batches, watches, options. Runs against one real single-member etcd on a loopback port.
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "cosmo/store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "support/etcd_cluster.h"

namespace cosmo {
namespace {

using ::testing::ElementsAre;

// Collects watch events; waits on a condition rather than sleeping.
class EventLog {
 public:
  void Add(const WatchEvent& e) {
    absl::MutexLock lock(&mu_);
    events_.push_back(e);
  }
  // The events once at least `n` have arrived (or whatever arrived within `timeout`).
  std::vector<WatchEvent> WaitFor(size_t n, absl::Duration timeout = absl::Seconds(10)) {
    absl::MutexLock lock(&mu_);
    auto enough = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return events_.size() >= n; };
    mu_.AwaitWithTimeout(absl::Condition(&enough), timeout);
    return events_;
  }

 private:
  absl::Mutex mu_;
  std::vector<WatchEvent> events_ ABSL_GUARDED_BY(mu_);
};

std::string Describe(const WatchEvent& e) {
  switch (e.type) {
    case WatchEvent::Type::kPut:
      return absl::StrCat("put ", e.key, " (", e.value.size(), " bytes)");
    case WatchEvent::Type::kDelete:
      return absl::StrCat("delete ", e.key);
    case WatchEvent::Type::kResync:
      return "resync";
  }
  return "?";
}

std::vector<std::string> Describe(const std::vector<WatchEvent>& events) {
  std::vector<std::string> out;
  for (const WatchEvent& e : events) out.push_back(Describe(e));
  return out;
}

// Bytes that differ chunk to chunk, so a misordered reassembly shows.
std::string Pattern(size_t size, char seed) {
  std::string s(size, '\0');
  for (size_t i = 0; i < size; ++i) s[i] = static_cast<char>(seed + i * 31 + (i >> 20));
  return s;
}

class EtcdStoreTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (testing::EtcdCluster::FindBinary().empty()) return;
    auto started = testing::EtcdCluster::Start(1);
    ASSERT_TRUE(started.ok()) << started.status();
    cluster_ = started->release();
  }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }

  void SetUp() override {
    if (testing::EtcdCluster::FindBinary().empty()) {
      GTEST_SKIP() << testing::EtcdCluster::kNoBinary;
    }
    ASSERT_NE(cluster_, nullptr);
    const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
    prefix_ = absl::StrCat(info->name(), "/");
    auto store = OpenEtcdStore({.endpoints = cluster_->ClientEndpoints(), .key_prefix = prefix_});
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }

  int64_t ChunkKeys() {
    auto n = cluster_->CountKeys(prefix_ + "c/");
    EXPECT_TRUE(n.ok()) << n.status();
    return n.value_or(-1);
  }

  static testing::EtcdCluster* cluster_;
  std::string prefix_;
  std::unique_ptr<Store> store_;
};

testing::EtcdCluster* EtcdStoreTest::cluster_ = nullptr;

TEST_F(EtcdStoreTest, LargeValueIsChunkedAndReassembledTransparently) {
  const std::string big = Pattern(3 << 20, 'a');
  ASSERT_TRUE(store_->Put("s/big", big).ok());
  EXPECT_EQ(ChunkKeys(), 3);
  EXPECT_EQ(*store_->Get("s/big"), big);
  ASSERT_TRUE(store_->Put("s/small", "x").ok());
  auto rows = store_->Scan("s/", {});
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0].key, "s/big");
  EXPECT_EQ((*rows)[0].value, big);

  // Overwriting with another large value leaves only the new chunks; a small value or a delete
  // leaves none.
  const std::string bigger = Pattern((5 << 20) / 2, 'b');
  ASSERT_TRUE(store_->Put("s/big", bigger).ok());
  EXPECT_EQ(ChunkKeys(), 3);
  EXPECT_EQ(*store_->Get("s/big"), bigger);
  ASSERT_TRUE(store_->Put("s/big", "tiny").ok());
  EXPECT_EQ(ChunkKeys(), 0);
  EXPECT_EQ(*store_->Get("s/big"), "tiny");
  ASSERT_TRUE(store_->Put("s/big", big).ok());
  ASSERT_TRUE(store_->Delete("s/big").ok());
  EXPECT_EQ(ChunkKeys(), 0);
  EXPECT_EQ(store_->Get("s/big").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(EtcdStoreTest, GuardOnChunkedValueComparesContent) {
  const std::string a = Pattern(2 << 20, 'a');
  const std::string b = Pattern(2 << 20, 'b');
  ASSERT_TRUE(store_->Put("k", a).ok());
  EXPECT_EQ(store_->CompareAndSet("k", b, "x").code(), absl::StatusCode::kAborted);
  EXPECT_EQ(store_->CompareAndSet("k", std::nullopt, "x").code(), absl::StatusCode::kAborted);
  ASSERT_TRUE(store_->CompareAndSet("k", a, b).ok());
  EXPECT_EQ(*store_->Get("k"), b);
  ASSERT_TRUE(store_->CompareAndSet("k", b, "small").ok());
  EXPECT_EQ(*store_->Get("k"), "small");
  EXPECT_EQ(ChunkKeys(), 0);
}

TEST_F(EtcdStoreTest, AbortedCommitLeavesNoChunksBehind) {
  ASSERT_TRUE(store_->Put("head", "v1").ok());
  WriteBatch batch;
  batch.ExpectValue("head", "v0").Put("blob", Pattern(3 << 20, 'c'));
  EXPECT_EQ(store_->Commit(batch, Durability::kSync).code(), absl::StatusCode::kAborted);
  EXPECT_EQ(store_->Get("blob").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(ChunkKeys(), 0);
}

TEST_F(EtcdStoreTest, BatchLargerThanOneRequestMovesValuesIntoChunks) {
  // Four 600 KiB values: 2.4 MiB, over etcd's 1.5 MiB request limit as one transaction.
  WriteBatch batch;
  for (int i = 0; i < 4; ++i) batch.Put(absl::StrCat("m/", i), Pattern(600 << 10, 'a' + i));
  ASSERT_TRUE(store_->Commit(batch, Durability::kSync).ok());
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(*store_->Get(absl::StrCat("m/", i)), Pattern(600 << 10, 'a' + i));
  }
}

TEST_F(EtcdStoreTest, BatchBeyondTxnOpLimitCommitsAtomically) {
  // 300 writes are 600 etcd operations, over --max-txn-ops=128: split into nested transactions.
  ASSERT_TRUE(store_->Put("guard", "g1").ok());
  WriteBatch ok;
  ok.ExpectValue("guard", "g1");
  for (int i = 0; i < 300; ++i) ok.Put(absl::StrCat("n/", 1000 + i), "v");
  const absl::Status committed = store_->Commit(ok, Durability::kSync);
  ASSERT_TRUE(committed.ok()) << committed;
  EXPECT_EQ(store_->Scan("n/", {})->size(), 300u);

  WriteBatch lost;
  lost.ExpectValue("guard", "g0");
  for (int i = 0; i < 300; ++i) lost.Put(absl::StrCat("o/", 1000 + i), "v");
  EXPECT_EQ(store_->Commit(lost, Durability::kSync).code(), absl::StatusCode::kAborted);
  EXPECT_TRUE(store_->Scan("o/", {})->empty());

  WriteBatch too_many_guards;
  for (int i = 0; i < 129; ++i) too_many_guards.ExpectAbsent(absl::StrCat("g/", i));
  const absl::Status s = store_->Commit(too_many_guards, Durability::kSync);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), ::testing::HasSubstr("--max-txn-ops"));
}

TEST_F(EtcdStoreTest, WatchDeliversPutsAndDeletesUnderThePrefixInOrder) {
  EventLog log;
  auto watch = store_->Watch("w/", [&](const WatchEvent& e) { log.Add(e); });
  ASSERT_TRUE(watch.ok()) << watch.status();
  ASSERT_TRUE(store_->Put("w/a", "1").ok());
  ASSERT_TRUE(store_->Put("x/a", "ignored").ok());
  ASSERT_TRUE(store_->Put("w/big", Pattern(3 << 20, 'w')).ok());
  WriteBatch batch;
  batch.Delete("w/a").Put("w/b", "2");
  ASSERT_TRUE(store_->Commit(batch, Durability::kSync).ok());
  const std::vector<WatchEvent> events = log.WaitFor(4);
  EXPECT_THAT(Describe(events), ElementsAre("put w/a (1 bytes)", "put w/big (3145728 bytes)",
                                            "delete w/a", "put w/b (1 bytes)"));
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[1].value, Pattern(3 << 20, 'w'));
  EXPECT_LT(events[0].revision, events[1].revision);
  EXPECT_EQ(events[2].revision, events[3].revision);  // one commit, one revision
  watch->reset();                                     // stops delivery
  ASSERT_TRUE(store_->Put("w/c", "3").ok());
  EXPECT_EQ(log.WaitFor(5, absl::Milliseconds(200)).size(), 4u);
}

TEST_F(EtcdStoreTest, KeysContainingSeparatorsAndBinaryBytesStayDistinct) {
  // A key's chunk directory must never be a prefix of another key's.
  const std::string big = Pattern(3 << 20, 'z');
  ASSERT_TRUE(store_->Put("a", big).ok());
  ASSERT_TRUE(store_->Put("a/", big).ok());
  ASSERT_TRUE(store_->Put(std::string("a\0b", 3), "nul").ok());
  ASSERT_TRUE(store_->Put("a", "small").ok());
  EXPECT_EQ(*store_->Get("a/"), big);
  EXPECT_EQ(*store_->Get(std::string("a\0b", 3)), "nul");
}

TEST(EtcdStoreOptionsTest, ParsesStoreUrls) {
  auto options = ParseEtcdStoreUrl("etcd://h1:2379,10.0.0.2:2380");
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_THAT(options->endpoints, ElementsAre("h1:2379", "10.0.0.2:2380"));
  EXPECT_EQ(options->key_prefix, "cosmo/");
  options = ParseEtcdStoreUrl("etcd://h1:2379/prod/");
  ASSERT_TRUE(options.ok());
  EXPECT_EQ(options->key_prefix, "prod/");
  EXPECT_EQ(ParseEtcdStoreUrl("http://h1:2379").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseEtcdStoreUrl("etcd://h1").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseEtcdStoreUrl("etcd://h1:99999").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(EtcdStoreOptionsTest, InvalidOptionsNameTheField) {
  auto store = OpenEtcdStore({});
  EXPECT_EQ(store.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(store.status().message()), ::testing::HasSubstr("endpoints"));
  store = OpenEtcdStore({.endpoints = {"127.0.0.1:1"}, .chunk_bytes = 2 << 20});
  EXPECT_THAT(std::string(store.status().message()), ::testing::HasSubstr("chunk_bytes"));
}

TEST(EtcdStoreOptionsTest, OpenFailsWithUnavailableWhenNoMemberAnswers) {
  const absl::Time start = absl::Now();
  auto store = OpenEtcdStore(
      {.endpoints = {"127.0.0.1:1", "127.0.0.1:2"}, .dial_timeout = absl::Milliseconds(500)});
  EXPECT_EQ(store.status().code(), absl::StatusCode::kUnavailable) << store.status();
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
}

}  // namespace
}  // namespace cosmo
