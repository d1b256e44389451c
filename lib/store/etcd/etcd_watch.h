// A Store::Watch() on etcd: one thread running an etcd watch stream over a key range.
//
// The stream carries "hasleader", so a member that loses the leader ends it; the thread then
// reconnects (to the next endpoint) and resumes from the revision after the last event it
// delivered. When that revision was compacted away it delivers WatchEvent::kResync and resumes
// from the current revision. Chunked values are reassembled at the event's revision.
//
// Thread-safe to destroy from any thread but the callback's own. Borrows the EtcdStore.
#ifndef COSMO_LIB_STORE_ETCD_ETCD_WATCH_H_
#define COSMO_LIB_STORE_ETCD_ETCD_WATCH_H_

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <functional>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "cosmo/store.h"
#include "etcd/etcdserverpb/rpc.pb.h"

namespace cosmo {

class EtcdStore;

class EtcdWatch final : public WatchHandle {
 public:
  // Starts watching user keys under `prefix` from etcd revision `start_revision`.
  EtcdWatch(EtcdStore* store, std::string prefix, int64_t start_revision,
            std::function<void(const WatchEvent&)> callback);
  ~EtcdWatch() override;

 private:
  void Run();
  // One stream's life; returns when it ends.
  void Stream();
  // Delivers `event`; false when the watch must resync instead.
  bool Deliver(const mvccpb::Event& event);
  void Resync();

  EtcdStore* const store_;
  const std::string prefix_;
  const std::function<void(const WatchEvent&)> callback_;
  int64_t next_revision_;  // touched by the watch thread only

  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  grpc::ClientContext* context_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::thread thread_;
};

}  // namespace cosmo

#endif  // COSMO_LIB_STORE_ETCD_ETCD_WATCH_H_
