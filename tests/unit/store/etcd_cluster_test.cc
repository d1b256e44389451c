// EtcdStore on a 3-member etcd cluster on loopback ports, through member failures: no
// acknowledged commit is lost when the leader dies mid-stream, and watches resume after a member
// restart (resyncing when the history they needed was compacted).
#include "support/etcd_cluster.h"

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "cosmo/store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cosmo {
namespace {

class EtcdClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto started = testing::EtcdCluster::Start(3);
    if (absl::IsNotFound(started.status())) GTEST_SKIP() << started.status().message();
    ASSERT_TRUE(started.ok()) << started.status();
    cluster_ = *std::move(started);
  }

  std::unique_ptr<Store> Open(std::vector<std::string> endpoints) {
    auto store = OpenEtcdStore({.endpoints = std::move(endpoints), .key_prefix = "t/"});
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *std::move(store) : nullptr;
  }

  std::unique_ptr<testing::EtcdCluster> cluster_;
};

TEST_F(EtcdClusterTest, NoAcknowledgedCommitIsLostWhenTheLeaderIsKilled) {
  auto leader = cluster_->WaitForLeader(absl::Seconds(10));
  ASSERT_TRUE(leader.ok()) << leader.status();
  // The store talks to the leader first, so its death catches transactions in flight.
  std::vector<std::string> endpoints = {cluster_->ClientEndpoint(*leader)};
  for (int i = 0; i < cluster_->size(); ++i) {
    if (i != *leader) endpoints.push_back(cluster_->ClientEndpoint(i));
  }
  std::unique_ptr<Store> store = Open(endpoints);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->Put("counter", "0").ok());

  // A stream of guarded commits: each moves the counter from n to n+1 and records entry n+1.
  std::atomic<int> acknowledged{0};
  std::atomic<int> unavailable{0};
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    while (!stop.load()) {
      auto current = store->Get("counter");
      if (!current.ok()) {
        ++unavailable;
        continue;
      }
      const int n = std::stoi(*current);
      WriteBatch batch;
      batch.ExpectValue("counter", *current)
          .Put("counter", std::to_string(n + 1))
          .Put(absl::StrCat("log/", n + 1), "x");
      const absl::Status s = store->Commit(batch, Durability::kSync);
      if (s.ok()) {
        ASSERT_EQ(n + 1, acknowledged.load() + 1) << "commit acknowledged out of order";
        ++acknowledged;
      } else if (absl::IsUnavailable(s)) {
        ++unavailable;
      } else {
        ASSERT_TRUE(absl::IsAborted(s)) << s;  // no one else writes: only after an ambiguity
      }
    }
  });

  auto wait_for = [&](int target) {
    const absl::Time deadline = absl::Now() + absl::Seconds(20);
    while (acknowledged.load() < target && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(5));  // polling a counter the writer advances
    }
    return acknowledged.load() >= target;
  };
  EXPECT_TRUE(wait_for(30));
  const int before_kill = acknowledged.load();
  cluster_->Kill(*leader);
  const absl::Time killed = absl::Now();
  EXPECT_TRUE(wait_for(before_kill + 30)) << "no progress after the leader died";
  const absl::Duration recovery = absl::Now() - killed;
  stop = true;
  writer.join();

  // The store rides out the election (about 2 s) inside operation_timeout: no UNAVAILABLE.
  EXPECT_EQ(unavailable.load(), 0);
  const int total = acknowledged.load();
  EXPECT_EQ(*store->Get("counter"), std::to_string(total));
  auto log = store->Scan("log/", {});
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ(log->size(), static_cast<size_t>(total));
  std::cerr << "acknowledged " << total << " commits, " << before_kill
            << " before the leader died; 30 more within " << recovery << "\n";
}

class EventLog {
 public:
  void Add(const WatchEvent& e) {
    absl::MutexLock lock(&mu_);
    events_.push_back(
        e.type == WatchEvent::Type::kResync
            ? std::string("resync")
            : absl::StrCat(e.type == WatchEvent::Type::kPut ? "put " : "delete ", e.key));
  }
  std::vector<std::string> WaitFor(size_t n) {
    absl::MutexLock lock(&mu_);
    auto enough = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return events_.size() >= n; };
    mu_.AwaitWithTimeout(absl::Condition(&enough), absl::Seconds(20));
    return events_;
  }

 private:
  absl::Mutex mu_;
  std::vector<std::string> events_ ABSL_GUARDED_BY(mu_);
};

TEST_F(EtcdClusterTest, WatchResumesAfterMemberRestartAndResyncsAfterCompaction) {
  // The watching store knows only member 0, so its watch must survive that member's restarts;
  // the writer uses the other two.
  std::unique_ptr<Store> watcher = Open({cluster_->ClientEndpoint(0)});
  std::unique_ptr<Store> writer = Open({cluster_->ClientEndpoint(1), cluster_->ClientEndpoint(2)});
  ASSERT_NE(watcher, nullptr);
  ASSERT_NE(writer, nullptr);
  EventLog log;
  auto watch = watcher->Watch("k/", [&](const WatchEvent& e) { log.Add(e); });
  ASSERT_TRUE(watch.ok()) << watch.status();

  ASSERT_TRUE(writer->Put("k/1", "a").ok());
  EXPECT_THAT(log.WaitFor(1), ::testing::ElementsAre("put k/1"));

  // Missed while member 0 is down, delivered after it returns: resumed from the last revision.
  cluster_->Kill(0);
  ASSERT_TRUE(writer->Put("k/2", "b").ok());
  ASSERT_TRUE(writer->Delete("k/1").ok());
  ASSERT_TRUE(cluster_->Restart(0).ok());
  EXPECT_THAT(log.WaitFor(3), ::testing::ElementsAre("put k/1", "put k/2", "delete k/1"));

  // Missed and then compacted away (etcd keeps the compaction revision itself, so two writes):
  // the watch cannot resume, so it asks for a re-read.
  cluster_->Kill(0);
  ASSERT_TRUE(writer->Put("k/3", "c").ok());
  ASSERT_TRUE(writer->Put("k/3", "cc").ok());
  ASSERT_TRUE(cluster_->CompactAll().ok());
  ASSERT_TRUE(cluster_->Restart(0).ok());
  EXPECT_THAT(log.WaitFor(4), ::testing::ElementsAre("put k/1", "put k/2", "delete k/1", "resync"));
  ASSERT_TRUE(writer->Put("k/4", "d").ok());
  EXPECT_THAT(log.WaitFor(5),
              ::testing::ElementsAre("put k/1", "put k/2", "delete k/1", "resync", "put k/4"));
}

}  // namespace
}  // namespace cosmo
