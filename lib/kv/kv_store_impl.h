// The KvStore of include/cosmo/kv.h over any Store: reads go through the hot-key cache (KvCache),
// writes through the group committer (GroupCommitter), expired entries are found through the
// expiry index and swept by a background thread, and on a Store with Watch() the cache follows
// writes made by other servers.
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

  // Starts following other servers' writes when the Store can watch, and the sweeper.
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
  KvCache cache_;
  // Without a watch every write to the store goes through this process's committer, so the
  // cache can take committed values directly; with one it only invalidates.
  bool write_through_ = true;
  std::unique_ptr<WatchHandle> watch_;
  std::unique_ptr<GroupCommitter> committer_;

  absl::Mutex sweep_mu_;
  bool stopping_ ABSL_GUARDED_BY(sweep_mu_) = false;
  std::thread sweeper_;
};

}  // namespace cosmo::kv

#endif  // COSMO_LIB_KV_KV_STORE_IMPL_H_
