// KvStore on a real etcd cluster, two stores standing for two cosmo-servers: writes through one
// are read through the other by the very next read, however often that key was read before,
// concurrent writers through both keep the size record exact, and killing the etcd
// leader under load loses no acknowledged put.
#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/blocking_counter.h"
#include "absl/synchronization/mutex.h"
#include "cosmo/kv.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "support/etcd_cluster.h"

namespace cosmo {
namespace {

using ::testing::Optional;

class KvEtcdTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cluster = testing::EtcdCluster::Start(3);
    if (absl::IsNotFound(cluster.status())) GTEST_SKIP() << cluster.status().message();
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = *std::move(cluster);
    for (int i = 0; i < 2; ++i) {
      auto store = OpenEtcdStore({.endpoints = cluster_->ClientEndpoints(), .key_prefix = "kv/"});
      ASSERT_TRUE(store.ok()) << store.status();
      stores_.push_back(*std::move(store));
      auto kv =
          NewKvStore(stores_.back().get(), Clock::Real(), {.sweep_interval = absl::ZeroDuration()});
      ASSERT_TRUE(kv.ok()) << kv.status();
      kvs_.push_back(*std::move(kv));
    }
    ASSERT_TRUE(kvs_[0]->Put("shared", "seed", "", {}, "acme").ok());
  }

  std::optional<std::string> Value(int server, const std::string& key) {
    auto entry = kvs_[server]->Get("shared", key);
    EXPECT_TRUE(entry.ok()) << entry.status();
    if (!entry.ok() || !*entry) return std::nullopt;
    return (*entry)->value;
  }

  std::unique_ptr<testing::EtcdCluster> cluster_;
  std::vector<std::unique_ptr<Store>> stores_;
  std::vector<std::unique_ptr<KvStore>> kvs_;
};

TEST_F(KvEtcdTest, APutThroughOneServerIsReadThroughTheOther) {
  ASSERT_TRUE(kvs_[0]->Put("shared", "k", "from A", {}).ok());
  // B never cached k: its first read goes to etcd and sees A's acknowledged write at once.
  EXPECT_THAT(Value(1, "k"), Optional(std::string("from A")));
}

TEST_F(KvEtcdTest, AValueReadOnOneServerIsReplacedAtOnceAfterAWriteOnTheOther) {
  // A read on B that follows an acknowledged write on A sees it, however hot the key is on B:
  // no waiting for B's view of etcd to catch up. Repeated, since a stale read would be a race.
  for (int i = 0; i < 50; ++i) {
    const std::string value = absl::StrCat("v", i);
    ASSERT_TRUE(kvs_[0]->Put("shared", "hot", value, {}).ok());
    ASSERT_THAT(Value(1, "hot"), Optional(value)) << "round " << i;
    ASSERT_THAT(Value(1, "hot"), Optional(value)) << "round " << i;
  }
  ASSERT_TRUE(kvs_[0]->Delete("shared", "hot").ok());
  EXPECT_EQ(Value(1, "hot"), std::nullopt);
  // And the other way round.
  ASSERT_TRUE(kvs_[1]->Put("shared", "hot", "from B", {}).ok());
  EXPECT_THAT(Value(0, "hot"), Optional(std::string("from B")));
}

TEST_F(KvEtcdTest, AGroupOfManyNewKeysFitsOneEtcdTransaction) {
  // Writes queued together commit as one group: 64 new keys are 64 guards and about 260 etcd
  // operations, over etcd's 128 per list, so the transaction nests them around the guards.
  constexpr int kWrites = 64;
  absl::Mutex mu;
  std::vector<absl::Status> results;
  absl::BlockingCounter pending(kWrites);
  const uint64_t commits_before = kvs_[0]->CommitCount();
  for (int i = 0; i < kWrites; ++i) {
    kvs_[0]->PutAsync("shared", absl::StrCat("g", i), std::string(100, 'v'),
                      {.expiration_ttl = 3600}, [&](absl::Status s) {
                        absl::MutexLock lock(&mu);
                        results.push_back(std::move(s));
                        pending.DecrementCount();
                      });
  }
  pending.Wait();
  for (const absl::Status& s : results) ASSERT_TRUE(s.ok()) << s;
  EXPECT_LT(kvs_[0]->CommitCount() - commits_before, static_cast<uint64_t>(kWrites));
  for (int i = 0; i < kWrites; ++i) {
    ASSERT_THAT(Value(1, absl::StrCat("g", i)), Optional(std::string(100, 'v')));
  }
}

TEST_F(KvEtcdTest, WritersOnBothServersKeepTheSizeExact) {
  std::vector<std::thread> writers;
  std::atomic<int> failures{0};
  for (int w = 0; w < 8; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; i < 25; ++i) {
        // Both servers write the same keys, so their groups collide and retry.
        const std::string key = absl::StrCat("k", i % 10);
        if (!kvs_[w % 2]->Put("shared", key, std::string(w + 1, 'v'), {}).ok()) ++failures;
      }
    });
  }
  for (std::thread& t : writers) t.join();
  EXPECT_EQ(failures.load(), 0);
  auto page = kvs_[0]->List("shared", {});
  ASSERT_TRUE(page.ok());
  uint64_t bytes = 0;
  for (const KvListKey& key : page->keys) {
    auto entry = kvs_[0]->Get("shared", key.name);
    ASSERT_TRUE(entry.ok() && entry->has_value());
    bytes += key.name.size() + (*entry)->value.size();
  }
  auto info = kvs_[1]->GetNamespace("acme", "shared");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->keys, page->keys.size());
  EXPECT_EQ(info->stored_bytes, bytes);
}

TEST_F(KvEtcdTest, KillingTheLeaderUnderLoadLosesNoAcknowledgedPut) {
  absl::Mutex mu;
  std::map<std::string, std::string> acked;
  std::atomic<bool> stop{false};
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; !stop.load(); ++i) {
        const std::string key = absl::StrCat("w", w, "-", i);
        if (kvs_[w % 2]->Put("shared", key, key, {}).ok()) {
          absl::MutexLock lock(&mu);
          acked[key] = key;
        }
      }
    });
  }
  absl::SleepFor(absl::Milliseconds(300));
  auto leader = cluster_->WaitForLeader(absl::Seconds(10));
  ASSERT_TRUE(leader.ok()) << leader.status();
  cluster_->Kill(*leader);
  ASSERT_TRUE(cluster_->WaitForLeader(absl::Seconds(30)).ok());
  absl::SleepFor(absl::Milliseconds(300));
  stop = true;
  for (std::thread& t : writers) t.join();
  absl::MutexLock lock(&mu);
  ASSERT_FALSE(acked.empty());
  for (const auto& [key, value] : acked) {
    ASSERT_THAT(Value(0, key), Optional(value)) << key;
    ASSERT_THAT(Value(1, key), Optional(value)) << key;
  }
}

}  // namespace
}  // namespace cosmo
