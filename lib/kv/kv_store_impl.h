// The KvStore of include/cosmo/kv.h over any Store: writes go through the group committer
// (GroupCommitter), expired entries are found through the expiry index and swept by a background
// thread, and reads go through the hot-key cache (KvCache) when this process is the store's only
// writer. On a shared store (etcd) every read asks the store, which is what makes a write through
// one server visible to the very next read through any other.
//
// Thread-safe.
#ifndef COSMO_LIB_KV_KV_STORE_IMPL_H_
#define COSMO_LIB_KV_KV_STORE_IMPL_H_

#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "cosmo/kv.h"
#include "kv/group_committer.h"
#include "kv/kv_cache.h"

namespace cosmo::kv {

class KvStoreImpl final : public KvStore {
 public:
  KvStoreImpl(Store* store, Clock* clock, const KvStoreOptions& options);
  ~KvStoreImpl() override;

  // Starts the committer and the sweeper.
  absl::Status Start();

  absl::StatusOr<std::optional<KvEntry>> Get(absl::string_view ns, absl::string_view key) override;
  absl::Status Put(absl::string_view ns, absl::string_view key, std::string value,
                   const KvPutOptions& options, absl::string_view tenant) override;
  void PutAsync(absl::string_view ns, absl::string_view key, std::string value,
                const KvPutOptions& options, Callback done) override;
  absl::Status Delete(absl::string_view ns, absl::string_view key,
                      absl::string_view tenant) override;
  void DeleteAsync(absl::string_view ns, absl::string_view key, Callback done) override;
  absl::StatusOr<KvListResult> List(absl::string_view ns, const KvListOptions& options) override;
  absl::StatusOr<std::vector<KvNamespaceInfo>> ListNamespaces(absl::string_view tenant) override;
  absl::StatusOr<KvNamespaceInfo> GetNamespace(absl::string_view tenant,
                                               absl::string_view ns) override;
  absl::Status DeleteNamespace(absl::string_view tenant, absl::string_view ns) override;
  absl::StatusOr<size_t> SweepExpired() override;
  uint64_t CommitCount() const override { return committer_->commits(); }
  const KvLimits& limits() const override { return options_.limits; }

 private:
  // A validated put, ready for the committer; or the limit it breaks.
  absl::StatusOr<KvWrite> MakePut(absl::string_view ns, absl::string_view key, std::string value,
                                  const KvPutOptions& options);
  absl::StatusOr<KvWrite> MakeDelete(absl::string_view ns, absl::string_view key);
  // Submits `write` and waits for its outcome.
  absl::Status SubmitAndWait(KvWrite write);
  void OnCommitted(const GroupCommitter::Change& change);
  void SweepLoop();

  Store* const store_;
  Clock* const clock_;
  const KvStoreOptions options_;
  // Whether reads may be served from cache_: only when every write to the store goes through
  // this process's committer, which updates the cache before any writer's call returns. On a
  // shared store another server's write is known only by asking the store: a cache checked
  // against etcd costs the same quorum round trip as the read itself, and etcd 3.4's requested
  // watch progress notifications may run ahead of undelivered events, so they cannot prove a
  // watch-invalidated cache current.
  const bool cache_reads_;
  KvCache cache_;
  std::unique_ptr<GroupCommitter> committer_;

  absl::Mutex sweep_mu_;
  bool stopping_ ABSL_GUARDED_BY(sweep_mu_) = false;
  std::thread sweeper_;
};

}  // namespace cosmo::kv

#endif  // COSMO_LIB_KV_KV_STORE_IMPL_H_
