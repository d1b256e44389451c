// The parts of EtcdStore::Commit that need no etcd: from a WriteBatch to the chunk puts and the
// one transaction that commits it (etcd_store.h describes the protocol; etcd_layout.h the keys).
//
//   PlanWrites  checks the batch, keeps the last write of each key, chooses which values go into
//               chunks (those over chunk_bytes, then the largest inline ones until the
//               transaction fits max_request_bytes) and what each record key will hold;
//   ChunkPut    the i-th chunk of a chunked write, put before the transaction;
//   BuildTxn    the transaction: the guards as compares (with a read of every guarded record
//               when one fails), the writes as operations, nested when they exceed max_txn_ops;
//   ExactCompare  a guard pinned to the revision of the record it was checked against by
//               content, for the retry.
//
// Thread-compatible value type; borrows the options and layout, which must outlive it.
#ifndef COSMO_LIB_STORE_ETCD_ETCD_COMMIT_PLAN_H_
#define COSMO_LIB_STORE_ETCD_ETCD_COMMIT_PLAN_H_

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cosmo/store.h"
#include "etcd/etcdserverpb/rpc.pb.h"
#include "etcd/mvccpb/kv.pb.h"
#include "store/etcd/etcd_layout.h"

namespace cosmo {

// Room for everything in a transaction request that is not a key or a value.
inline constexpr size_t kEtcdRequestOverhead = 64 << 10;

// One key's write in a commit.
struct EtcdPlannedWrite {
  std::string key;
  std::optional<std::string> value;  // nullopt: delete
  bool chunked = false;
  std::string generation;  // chunked: the commit's generation, which names the chunks
  size_t chunks = 0;       // chunked: how many
  std::string record;      // puts: what the record key will hold
};

class EtcdCommitPlan {
 public:
  EtcdCommitPlan(const EtcdStoreOptions& options, const EtcdLayout& layout)
      : options_(options), layout_(layout) {}

  // The writes of `batch` in key order, chunked ones under `generation` (unique per commit).
  // INVALID_ARGUMENT for an empty key, more guards than max_txn_ops, or a batch that cannot fit
  // one request.
  absl::StatusOr<std::vector<EtcdPlannedWrite>> PlanWrites(const WriteBatch& batch,
                                                           absl::string_view generation) const;

  // Chunk `index` (< write.chunks) of a chunked write.
  etcdserverpb::PutRequest ChunkPut(const EtcdPlannedWrite& write, size_t index) const;

  // Each write sets or deletes its record and deletes every chunk generation of its key but its
  // own; each guard is a compare, and the failure branch reads every guarded record (in guard
  // order) so the caller can check them by content. INVALID_ARGUMENT when the operations do not
  // fit even nested.
  absl::StatusOr<etcdserverpb::TxnRequest> BuildTxn(
      const std::vector<EtcdPlannedWrite>& plan,
      const std::vector<WriteBatch::Guard>& guards) const;

  // A compare that holds while the record of `key` is still `kv` (absent when null).
  etcdserverpb::Compare ExactCompare(absl::string_view key, const mvccpb::KeyValue* kv) const;

 private:
  // Estimated bytes of the transaction request for `plan` and `guards`.
  size_t RequestBytes(const std::vector<EtcdPlannedWrite>& plan,
                      const std::vector<WriteBatch::Guard>& guards) const;
  // The compare for `guard` by value (or absence); a guard whose expected value is too large to
  // send gets a compare that never holds, so it is checked by content.
  etcdserverpb::Compare ValueCompare(const WriteBatch::Guard& guard) const;

  const EtcdStoreOptions& options_;
  const EtcdLayout& layout_;
};

}  // namespace cosmo

#endif  // COSMO_LIB_STORE_ETCD_ETCD_COMMIT_PLAN_H_
