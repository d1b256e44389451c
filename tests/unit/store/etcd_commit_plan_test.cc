// How a WriteBatch becomes chunk puts and one etcd transaction (EtcdCommitPlan), checked on the
// requests themselves: no etcd runs here. etcd_store_test.cc runs the same commits on a real etcd.
#include "store/etcd/etcd_commit_plan.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cosmo {
namespace {

using ::testing::HasSubstr;

class EtcdCommitPlanTest : public ::testing::Test {
 protected:
  EtcdCommitPlanTest() { options_.key_prefix = "p/"; }

  EtcdCommitPlan Planner() const { return EtcdCommitPlan(options_, layout_); }

  std::vector<EtcdPlannedWrite> Plan(const WriteBatch& batch) const {
    absl::StatusOr<std::vector<EtcdPlannedWrite>> plan = Planner().PlanWrites(batch, "gen1");
    EXPECT_TRUE(plan.ok()) << plan.status();
    return plan.ok() ? *std::move(plan) : std::vector<EtcdPlannedWrite>();
  }

  EtcdStoreOptions options_;
  EtcdLayout layout_{"p/"};
};

TEST_F(EtcdCommitPlanTest, TheLastWriteOfEachKeyWinsInKeyOrder) {
  WriteBatch batch;
  batch.Put("b", "1").Put("a", "2").Delete("b").Put("a", "3");
  std::vector<EtcdPlannedWrite> plan = Plan(batch);
  ASSERT_EQ(plan.size(), 2u);
  EXPECT_EQ(plan[0].key, "a");
  EXPECT_EQ(plan[0].value, "3");
  EXPECT_FALSE(plan[0].chunked);
  EXPECT_EQ(plan[0].record, EtcdLayout::EncodeInline("3"));
  EXPECT_EQ(plan[1].key, "b");
  EXPECT_FALSE(plan[1].value.has_value());
  EXPECT_EQ(plan[1].record, "");
}

TEST_F(EtcdCommitPlanTest, RefusesEmptyKeysAndMoreGuardsThanTheOperationLimit) {
  WriteBatch empty_write;
  empty_write.Put("", "v");
  EXPECT_EQ(Planner().PlanWrites(empty_write, "g").status().code(),
            absl::StatusCode::kInvalidArgument);
  WriteBatch empty_guard;
  empty_guard.ExpectAbsent("").Put("k", "v");
  EXPECT_EQ(Planner().PlanWrites(empty_guard, "g").status().code(),
            absl::StatusCode::kInvalidArgument);

  options_.max_txn_ops = 4;
  WriteBatch guarded;
  for (int i = 0; i < 5; ++i) guarded.ExpectAbsent(absl::StrCat("g", i));
  absl::StatusOr<std::vector<EtcdPlannedWrite>> plan = Planner().PlanWrites(guarded, "g");
  EXPECT_EQ(plan.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(plan.status().message(), HasSubstr("at most 4 guards"));
}

TEST_F(EtcdCommitPlanTest, ValuesOverChunkBytesAreSplitIntoChunksOfTheCommitsGeneration) {
  options_.chunk_bytes = 10;
  const std::string value = "0123456789abcdefghijKLMNO";  // 25 bytes: 10 + 10 + 5
  WriteBatch batch;
  batch.Put("k", value).Put("small", "0123456789");
  std::vector<EtcdPlannedWrite> plan = Plan(batch);
  ASSERT_EQ(plan.size(), 2u);
  const EtcdPlannedWrite& big = plan[0];
  EXPECT_TRUE(big.chunked);
  EXPECT_EQ(big.generation, "gen1");
  EXPECT_EQ(big.chunks, 3u);
  EXPECT_EQ(big.record, EtcdLayout::EncodeChunked("gen1", 25, 3));
  std::string joined;
  for (size_t i = 0; i < big.chunks; ++i) {
    etcdserverpb::PutRequest put = Planner().ChunkPut(big, i);
    EXPECT_EQ(put.key(), layout_.ChunkKey("k", "gen1", i));
    joined += put.value();
  }
  EXPECT_EQ(Planner().ChunkPut(big, 2).value(), "KLMNO");
  EXPECT_EQ(joined, value);
  // Exactly chunk_bytes stays inline.
  EXPECT_FALSE(plan[1].chunked);
  EXPECT_EQ(plan[1].chunks, 0u);
  EXPECT_EQ(plan[1].generation, "");
}

TEST_F(EtcdCommitPlanTest, TheLargestInlineValuesMoveToChunksUntilTheRequestFits) {
  options_.chunk_bytes = 8000;
  options_.max_request_bytes = kEtcdRequestOverhead + 10000;
  WriteBatch batch;
  batch.Put("a", std::string(6000, 'a')).Put("b", std::string(5000, 'b')).Put("c", "c");
  std::vector<EtcdPlannedWrite> plan = Plan(batch);
  ASSERT_EQ(plan.size(), 3u);
  EXPECT_TRUE(plan[0].chunked);  // the largest alone is enough
  EXPECT_EQ(plan[0].chunks, 1u);
  EXPECT_FALSE(plan[1].chunked);
  EXPECT_FALSE(plan[2].chunked);
}

TEST_F(EtcdCommitPlanTest, ACommitOfManySmallValuesThatCannotFitIsRefused) {
  options_.max_request_bytes = kEtcdRequestOverhead + 2000;
  WriteBatch batch;
  for (int i = 0; i < 20; ++i) batch.Put(absl::StrCat("k", i), std::string(100, 'v'));
  absl::StatusOr<std::vector<EtcdPlannedWrite>> plan = Planner().PlanWrites(batch, "g");
  EXPECT_EQ(plan.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(plan.status().message(), HasSubstr("does not fit etcd's request limit"));
}

TEST_F(EtcdCommitPlanTest, EachWriteSetsItsRecordAndDeletesEveryOtherChunkGeneration) {
  options_.chunk_bytes = 4;
  WriteBatch batch;
  batch.Put("a", "in").Delete("b").Put("c", "chunked!");
  std::vector<EtcdPlannedWrite> plan = Plan(batch);
  absl::StatusOr<etcdserverpb::TxnRequest> txn = Planner().BuildTxn(plan, batch.guards());
  ASSERT_TRUE(txn.ok()) << txn.status();
  EXPECT_EQ(txn->compare_size(), 0);
  EXPECT_EQ(txn->failure_size(), 0);
  ASSERT_EQ(txn->success_size(), 7);
  auto put = [&](int i) { return txn->success(i).request_put(); };
  auto del = [&](int i) { return txn->success(i).request_delete_range(); };

  EXPECT_EQ(put(0).key(), layout_.RecordKey("a"));
  EXPECT_EQ(put(0).value(), EtcdLayout::EncodeInline("in"));
  EXPECT_EQ(del(1).key(), layout_.ChunkDir("a"));
  EXPECT_EQ(del(1).range_end(), EtcdLayout::RangeEnd(layout_.ChunkDir("a")));

  EXPECT_EQ(del(2).key(), layout_.RecordKey("b"));
  EXPECT_EQ(del(2).range_end(), "");
  EXPECT_EQ(del(3).key(), layout_.ChunkDir("b"));
  EXPECT_EQ(del(3).range_end(), EtcdLayout::RangeEnd(layout_.ChunkDir("b")));

  // The chunked put keeps its own generation: everything in the key's chunk directory before it
  // and after it goes.
  const std::string own = layout_.GenerationDir("c", "gen1");
  EXPECT_EQ(put(4).key(), layout_.RecordKey("c"));
  EXPECT_EQ(put(4).value(), EtcdLayout::EncodeChunked("gen1", 8, 2));
  EXPECT_EQ(del(5).key(), layout_.ChunkDir("c"));
  EXPECT_EQ(del(5).range_end(), own);
  EXPECT_EQ(del(6).key(), EtcdLayout::RangeEnd(own));
  EXPECT_EQ(del(6).range_end(), EtcdLayout::RangeEnd(layout_.ChunkDir("c")));
}

TEST_F(EtcdCommitPlanTest, GuardsBecomeComparesAndAFailedCompareReadsEveryGuardedRecord) {
  options_.chunk_bytes = 4;
  WriteBatch batch;
  batch.ExpectAbsent("x").ExpectValue("y", "v").ExpectValue("z", "too large").Put("w", "1");
  absl::StatusOr<etcdserverpb::TxnRequest> txn = Planner().BuildTxn(Plan(batch), batch.guards());
  ASSERT_TRUE(txn.ok()) << txn.status();
  ASSERT_EQ(txn->compare_size(), 3);
  ASSERT_EQ(txn->failure_size(), 3);

  const etcdserverpb::Compare& absent = txn->compare(0);
  EXPECT_EQ(absent.key(), layout_.RecordKey("x"));
  EXPECT_EQ(absent.target(), etcdserverpb::Compare::CREATE);
  EXPECT_EQ(absent.result(), etcdserverpb::Compare::EQUAL);
  EXPECT_EQ(absent.create_revision(), 0);

  const etcdserverpb::Compare& value = txn->compare(1);
  EXPECT_EQ(value.target(), etcdserverpb::Compare::VALUE);
  EXPECT_EQ(value.value(), EtcdLayout::EncodeInline("v"));

  // Over chunk_bytes the stored record would be chunked, so no value compare could hold: the
  // guard is left to the content check of the failure branch.
  const etcdserverpb::Compare& large = txn->compare(2);
  EXPECT_EQ(large.target(), etcdserverpb::Compare::VALUE);
  EXPECT_NE(large.value(), EtcdLayout::EncodeInline("too large"));
  EXPECT_FALSE(EtcdLayout::Decode("z", large.value()).ok());

  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(txn->failure(i).request_range().key(), layout_.RecordKey(std::string(1, "xyz"[i])));
  }
}

TEST_F(EtcdCommitPlanTest, OperationsOverTheLimitAreNestedInOrder) {
  options_.max_txn_ops = 8;
  WriteBatch batch;
  for (int i = 0; i < 7; ++i) batch.Delete(absl::StrCat("k", i));  // 14 operations
  absl::StatusOr<etcdserverpb::TxnRequest> txn = Planner().BuildTxn(Plan(batch), {});
  ASSERT_TRUE(txn.ok()) << txn.status();
  // 3 groups of at most 8 - 3 = 5 operations.
  ASSERT_EQ(txn->success_size(), 3);
  std::vector<std::string> keys;
  for (const etcdserverpb::RequestOp& group : txn->success()) {
    ASSERT_TRUE(group.has_request_txn());
    EXPECT_LE(group.request_txn().success_size(), 5);
    for (const etcdserverpb::RequestOp& op : group.request_txn().success()) {
      keys.push_back(op.request_delete_range().key());
    }
  }
  ASSERT_EQ(keys.size(), 14u);
  for (int i = 0; i < 7; ++i) {
    EXPECT_EQ(keys[2 * i], layout_.RecordKey(absl::StrCat("k", i)));
    EXPECT_EQ(keys[2 * i + 1], layout_.ChunkDir(absl::StrCat("k", i)));
  }
}

TEST_F(EtcdCommitPlanTest, NestedGroupsLeaveRoomForTheGuards) {
  // etcd gives a nested list the limit minus the longest list above it; with 5 guards, the
  // compares and failure reads are 5 long, so each group may hold 8 - 5 = 3 operations.
  options_.max_txn_ops = 8;
  WriteBatch batch;
  for (int i = 0; i < 5; ++i) {
    batch.ExpectAbsent(absl::StrCat("g", i));
    batch.Delete(absl::StrCat("k", i));  // 10 operations
  }
  absl::StatusOr<etcdserverpb::TxnRequest> txn = Planner().BuildTxn(Plan(batch), batch.guards());
  ASSERT_TRUE(txn.ok()) << txn.status();
  const int above = std::max({txn->compare_size(), txn->success_size(), txn->failure_size()});
  EXPECT_EQ(above, 5);
  int operations = 0;
  for (const etcdserverpb::RequestOp& group : txn->success()) {
    ASSERT_TRUE(group.has_request_txn());
    EXPECT_LE(group.request_txn().success_size(), options_.max_txn_ops - above);
    operations += group.request_txn().success_size();
  }
  EXPECT_EQ(operations, 10);
  // As many guards as the limit leave no room at all.
  WriteBatch full;
  for (int i = 0; i < 8; ++i) full.ExpectAbsent(absl::StrCat("g", i));
  for (int i = 0; i < 5; ++i) full.Delete(absl::StrCat("k", i));
  EXPECT_EQ(Planner().BuildTxn(Plan(full), full.guards()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(EtcdCommitPlanTest, TooManyWritesEvenNestedAreRefused) {
  options_.max_txn_ops = 8;  // at most 4 groups of 4 = 16 operations, 8 writes
  WriteBatch batch;
  for (int i = 0; i < 9; ++i) batch.Delete(absl::StrCat("k", i));
  absl::StatusOr<etcdserverpb::TxnRequest> txn = Planner().BuildTxn(Plan(batch), {});
  EXPECT_EQ(txn.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(txn.status().message(), HasSubstr("this one has 9"));
}

TEST_F(EtcdCommitPlanTest, ExactComparesPinAGuardToTheRecordItWasCheckedAgainst) {
  etcdserverpb::Compare absent = Planner().ExactCompare("k", nullptr);
  EXPECT_EQ(absent.key(), layout_.RecordKey("k"));
  EXPECT_EQ(absent.target(), etcdserverpb::Compare::CREATE);
  EXPECT_EQ(absent.create_revision(), 0);

  mvccpb::KeyValue kv;
  kv.set_mod_revision(42);
  etcdserverpb::Compare present = Planner().ExactCompare("k", &kv);
  EXPECT_EQ(present.target(), etcdserverpb::Compare::MOD);
  EXPECT_EQ(present.result(), etcdserverpb::Compare::EQUAL);
  EXPECT_EQ(present.mod_revision(), 42);
}

}  // namespace
}  // namespace cosmo
