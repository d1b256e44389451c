#include "store/etcd/etcd_commit_plan.h"

#include <algorithm>
#include <map>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace cosmo {
namespace {

// A compare that never holds: no record is the bare chunked tag.
constexpr absl::string_view kNeverStored = "c";

etcdserverpb::RequestOp DeleteOp(std::string key, std::string range_end) {
  etcdserverpb::RequestOp op;
  op.mutable_request_delete_range()->set_key(std::move(key));
  op.mutable_request_delete_range()->set_range_end(std::move(range_end));
  return op;
}

etcdserverpb::RequestOp PutOp(std::string key, std::string value) {
  etcdserverpb::RequestOp op;
  op.mutable_request_put()->set_key(std::move(key));
  op.mutable_request_put()->set_value(std::move(value));
  return op;
}

}  // namespace

size_t EtcdCommitPlan::RequestBytes(const std::vector<EtcdPlannedWrite>& plan,
                                    const std::vector<WriteBatch::Guard>& guards) const {
  size_t total = 0;
  for (const WriteBatch::Guard& g : guards) {
    total += 2 * g.key.size() + 32;
    if (g.expected && g.expected->size() <= options_.chunk_bytes) total += g.expected->size();
  }
  for (const EtcdPlannedWrite& p : plan) {
    total += 5 * (layout_.prefix().size() + p.key.size()) + 128;
    if (p.value && !p.chunked) total += p.value->size();
  }
  return total;
}

absl::StatusOr<std::vector<EtcdPlannedWrite>> EtcdCommitPlan::PlanWrites(
    const WriteBatch& batch, absl::string_view generation) const {
  const size_t max_ops = static_cast<size_t>(options_.max_txn_ops);
  for (const WriteBatch::Guard& guard : batch.guards()) {
    if (guard.key.empty()) return absl::InvalidArgumentError("store key must not be empty");
  }
  if (batch.guards().size() > max_ops) {
    return absl::InvalidArgumentError(
        absl::StrCat("etcd store: a commit may hold at most ", max_ops,
                     " guards (etcd's --max-txn-ops); this one has ", batch.guards().size()));
  }

  // The last write to a key wins; etcd rejects a transaction that puts one key twice.
  std::map<std::string, std::optional<std::string>> latest;
  for (const WriteBatch::Write& w : batch.writes()) {
    if (w.key.empty()) return absl::InvalidArgumentError("store key must not be empty");
    latest.insert_or_assign(w.key, w.value);
  }
  std::vector<EtcdPlannedWrite> plan;
  for (auto& [key, value] : latest) {
    EtcdPlannedWrite p;
    p.key = key;
    p.chunked = value && value->size() > options_.chunk_bytes;
    p.value = std::move(value);
    plan.push_back(std::move(p));
  }

  // Fit the transaction into one request by moving the largest inline values into chunks.
  const size_t budget = options_.max_request_bytes - kEtcdRequestOverhead;
  while (RequestBytes(plan, batch.guards()) > budget) {
    EtcdPlannedWrite* largest = nullptr;
    for (EtcdPlannedWrite& p : plan) {
      if (p.value && !p.chunked && !p.value->empty() &&
          (largest == nullptr || p.value->size() > largest->value->size())) {
        largest = &p;
      }
    }
    if (largest == nullptr || largest->value->size() < 1024) {
      return absl::InvalidArgumentError(
          absl::StrCat("etcd store: a commit of ", plan.size(), " writes and ",
                       batch.guards().size(), " guards does not fit etcd's request limit of ",
                       options_.max_request_bytes, " bytes (--max-request-bytes)"));
    }
    largest->chunked = true;
  }

  for (EtcdPlannedWrite& p : plan) {
    if (!p.value) continue;
    if (!p.chunked) {
      p.record = EtcdLayout::EncodeInline(*p.value);
      continue;
    }
    p.generation = std::string(generation);
    p.chunks = (p.value->size() + options_.chunk_bytes - 1) / options_.chunk_bytes;
    p.record = EtcdLayout::EncodeChunked(generation, p.value->size(), p.chunks);
  }
  return plan;
}

etcdserverpb::PutRequest EtcdCommitPlan::ChunkPut(const EtcdPlannedWrite& write,
                                                  size_t index) const {
  etcdserverpb::PutRequest put;
  put.set_key(layout_.ChunkKey(write.key, write.generation, index));
  put.set_value(write.value->substr(index * options_.chunk_bytes, options_.chunk_bytes));
  return put;
}

etcdserverpb::Compare EtcdCommitPlan::ValueCompare(const WriteBatch::Guard& guard) const {
  etcdserverpb::Compare compare;
  compare.set_key(layout_.RecordKey(guard.key));
  compare.set_result(etcdserverpb::Compare::EQUAL);
  if (!guard.expected) {
    // create_revision is 0 exactly when the key does not exist.
    compare.set_target(etcdserverpb::Compare::CREATE);
    compare.set_create_revision(0);
  } else {
    compare.set_target(etcdserverpb::Compare::VALUE);
    compare.set_value(guard.expected->size() <= options_.chunk_bytes
                          ? EtcdLayout::EncodeInline(*guard.expected)
                          : std::string(kNeverStored));
  }
  return compare;
}

etcdserverpb::Compare EtcdCommitPlan::ExactCompare(absl::string_view key,
                                                   const mvccpb::KeyValue* kv) const {
  etcdserverpb::Compare compare;
  compare.set_key(layout_.RecordKey(key));
  compare.set_result(etcdserverpb::Compare::EQUAL);
  if (kv == nullptr) {
    compare.set_target(etcdserverpb::Compare::CREATE);
    compare.set_create_revision(0);
  } else {
    compare.set_target(etcdserverpb::Compare::MOD);
    compare.set_mod_revision(kv->mod_revision());
  }
  return compare;
}

absl::StatusOr<etcdserverpb::TxnRequest> EtcdCommitPlan::BuildTxn(
    const std::vector<EtcdPlannedWrite>& plan, const std::vector<WriteBatch::Guard>& guards) const {
  const size_t max_ops = static_cast<size_t>(options_.max_txn_ops);
  std::vector<etcdserverpb::RequestOp> ops;
  for (const EtcdPlannedWrite& p : plan) {
    const std::string dir = layout_.ChunkDir(p.key);
    const std::string dir_end = EtcdLayout::RangeEnd(dir);
    if (!p.value) {
      ops.push_back(DeleteOp(layout_.RecordKey(p.key), ""));
      ops.push_back(DeleteOp(dir, dir_end));
      continue;
    }
    ops.push_back(PutOp(layout_.RecordKey(p.key), p.record));
    if (p.chunked) {
      const std::string own = layout_.GenerationDir(p.key, p.generation);
      ops.push_back(DeleteOp(dir, own));
      ops.push_back(DeleteOp(EtcdLayout::RangeEnd(own), dir_end));
    } else {
      ops.push_back(DeleteOp(dir, dir_end));
    }
  }

  etcdserverpb::TxnRequest request;
  if (ops.size() <= max_ops) {
    for (auto& op : ops) *request.add_success() = std::move(op);
  } else {
    // etcd limits each operation list to --max-txn-ops but accepts nested transactions inside
    // one atomic transaction; a nested list may hold the limit minus the longest list of the
    // transaction above it — its compares and failure reads (one per guard) count as much as its
    // g nested groups. So g groups of (limit - max(g, guards)) operations each: up to limit^2 / 4
    // operations without guards.
    const size_t guard_ops = guards.size();
    if (guard_ops >= max_ops) {
      return absl::InvalidArgumentError(
          absl::StrCat("etcd store: a commit with ", guard_ops, " guards leaves no room for ",
                       "its writes under etcd's --max-txn-ops of ", max_ops));
    }
    auto room = [&](size_t g) { return max_ops - std::max(g, guard_ops); };
    size_t groups = 1;
    while (groups * room(groups) < ops.size() && groups < max_ops / 2) ++groups;
    const size_t per_group = room(groups);
    if (groups * per_group < ops.size()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "etcd store: a commit may hold at most about ", max_ops * max_ops / 8,
          " writes (a quarter of etcd's --max-txn-ops squared, two operations per write); this "
          "one has ",
          plan.size()));
    }
    for (size_t g = 0; g * per_group < ops.size(); ++g) {
      etcdserverpb::TxnRequest* nested = request.add_success()->mutable_request_txn();
      for (size_t i = g * per_group; i < std::min(ops.size(), (g + 1) * per_group); ++i) {
        *nested->add_success() = std::move(ops[i]);
      }
    }
  }
  for (const WriteBatch::Guard& guard : guards) {
    *request.add_compare() = ValueCompare(guard);
    // When a compare fails, the same transaction reads every guarded record, so the commit can
    // tell a lost race from a guard etcd cannot compare by value.
    request.add_failure()->mutable_request_range()->set_key(layout_.RecordKey(guard.key));
  }
  return request;
}

}  // namespace cosmo
