// The Store on an etcd v3 cluster. See docs/cluster.md for the design and include/cosmo/store.h
// for the contract; etcd_layout.h for the key layout and chunking.
//
// Commit() is one etcd transaction: the guards become its compare list (value equality, or
// create_revision == 0 for "absent"), the writes its success operations; when the compares fail
// the same transaction reads the guarded keys, so a guard whose value is stored in chunks (which
// etcd cannot compare) is checked by content and the commit retried against its mod_revision.
// When a transaction fails ambiguously (the member died or timed out with it in flight) the
// guarded and written keys are re-read: if every write is visible the commit is reported OK,
// otherwise it is retried (its guards make the retry safe) until operation_timeout, then
// UNAVAILABLE.
//
// Thread-safe. Watch handles borrow the store, which must outlive them.
#ifndef COSMO_LIB_STORE_ETCD_ETCD_STORE_H_
#define COSMO_LIB_STORE_ETCD_ETCD_STORE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cosmo/store.h"
#include "etcd/etcdserverpb/rpc.pb.h"
#include "etcd/mvccpb/kv.pb.h"
#include "store/etcd/etcd_client.h"
#include "store/etcd/etcd_commit_plan.h"
#include "store/etcd/etcd_layout.h"

namespace cosmo {

class EtcdStore final : public Store {
 public:
  EtcdStore(const EtcdStoreOptions& options, std::unique_ptr<EtcdClient> client);

  absl::StatusOr<std::string> Get(absl::string_view key) override;
  absl::StatusOr<std::vector<KeyValue>> Scan(absl::string_view prefix,
                                             const ScanOptions& options) override;
  absl::Status Commit(const WriteBatch& batch, Durability durability) override;
  absl::StatusOr<std::unique_ptr<WatchHandle>> Watch(
      absl::string_view prefix, std::function<void(const WatchEvent&)> callback) override;
  std::string Describe() const override;
  // Every cosmo-server of a cluster writes the same etcd.
  bool IsShared() const override { return true; }

  // The user value of a record read at `revision` (chunks are read at that same revision, so a
  // concurrent overwrite cannot tear it). OUT_OF_RANGE when that revision was compacted.
  absl::StatusOr<std::string> Resolve(absl::string_view key, const EtcdLayout::Record& record,
                                      int64_t revision);
  // The current revision of the cluster.
  absl::StatusOr<int64_t> CurrentRevision();

  EtcdClient& client() { return *client_; }
  const EtcdLayout& layout() const { return layout_; }

 private:
  // What the guards of a transaction that failed its compares say: the first that no longer
  // holds, or a failure to read a chunked value (OUT_OF_RANGE when compacted meanwhile), or else
  // a compare for each pinning it to the record it holds by content.
  struct GuardCheck {
    const WriteBatch::Guard* lost = nullptr;
    absl::Status read;
    std::vector<etcdserverpb::Compare> exact;
  };

  // The phases of Commit() that talk to etcd (the others are EtcdCommitPlan's): the chunks of
  // `plan`, then `request` until it commits, fails for good or the operation timeout passes
  // (re-reading after an ambiguous failure, retrying guards that hold by content).
  absl::Status WriteChunks(const EtcdCommitPlan& planner,
                           const std::vector<EtcdPlannedWrite>& plan);
  absl::Status RunTxn(const EtcdCommitPlan& planner, etcdserverpb::TxnRequest request,
                      const std::vector<WriteBatch::Guard>& guards,
                      const std::vector<EtcdPlannedWrite>& plan);
  GuardCheck CheckGuards(const EtcdCommitPlan& planner,
                         const std::vector<WriteBatch::Guard>& guards,
                         const etcdserverpb::TxnResponse& response);
  // Reads the records of `keys` at one revision (the first read's); std::nullopt for absent.
  absl::StatusOr<std::vector<std::optional<mvccpb::KeyValue>>> ReadRecords(
      const std::vector<std::string>& keys);
  // Whether every write of `plan` is visible now.
  absl::StatusOr<bool> WritesVisible(const std::vector<EtcdPlannedWrite>& plan);
  // Whether `guard` holds given its record `kv` (absent when null) read at `revision`.
  absl::StatusOr<bool> GuardHolds(const WriteBatch::Guard& guard, const mvccpb::KeyValue* kv,
                                  int64_t revision);
  void DeleteGenerations(const std::vector<EtcdPlannedWrite>& plan);
  std::string NewGeneration();

  const EtcdStoreOptions options_;
  const EtcdLayout layout_;
  std::unique_ptr<EtcdClient> client_;
};

}  // namespace cosmo

#endif  // COSMO_LIB_STORE_ETCD_ETCD_STORE_H_
