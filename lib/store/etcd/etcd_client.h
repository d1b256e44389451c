// The gRPC connection to an etcd cluster: one channel per endpoint, failover between them, retries
// of idempotent calls, and the call options etcd needs.
//
// Every call carries the "hasleader" metadata, so a member cut off from the leader fails fast with
// UNAVAILABLE instead of hanging; the client then moves to the next endpoint. Keepalive pings are
// 10 s apart (etcd's server rejects clients that ping more often than every 5 s) and only while
// calls are active. Thread-safe; the stubs are shared by every thread.
#ifndef COSMO_LIB_STORE_ETCD_ETCD_CLIENT_H_
#define COSMO_LIB_STORE_ETCD_ETCD_CLIENT_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "etcd/etcdserverpb/rpc.grpc.pb.h"

namespace cosmo {

class EtcdClient {
 public:
  using WatchStream =
      grpc::ClientReaderWriter<etcdserverpb::WatchRequest, etcdserverpb::WatchResponse>;

  EtcdClient(std::vector<std::string> endpoints, absl::Duration request_timeout,
             absl::Duration operation_timeout);

  // One attempt of a transaction on the current endpoint; moves to the next endpoint when the
  // result is retryable. The caller resolves ambiguous outcomes (a retryable error may hide a
  // transaction that was applied).
  absl::Status TxnOnce(const etcdserverpb::TxnRequest& request, etcdserverpb::TxnResponse* response,
                       absl::Time deadline);

  // Idempotent calls, retried across endpoints on retryable errors until operation_timeout.
  absl::Status Range(const etcdserverpb::RangeRequest& request,
                     etcdserverpb::RangeResponse* response);
  absl::Status Put(const etcdserverpb::PutRequest& request);
  absl::Status DeleteRange(const etcdserverpb::DeleteRangeRequest& request);

  // Waits until some endpoint answers a read, up to `timeout`.
  absl::Status Probe(absl::Duration timeout);

  // A Watch stub on a channel of its own to the current endpoint; `endpoint` receives its index,
  // for MarkFailed() when the stream breaks. Each watch (re)connection gets a fresh channel: a
  // long-lived stream should not share the fate (or the reconnect backoff) of a channel that
  // saw its member die and come back.
  std::unique_ptr<etcdserverpb::Watch::Stub> NewWatchStub(size_t* endpoint);
  // Moves calls off endpoint `index` (if it is still the current one).
  void MarkFailed(size_t index);

  // Adds the metadata every call carries.
  static void PrepareContext(grpc::ClientContext* context);
  // Errors worth retrying on another endpoint or after a pause: the member is down, has no leader,
  // is overloaded, or timed out.
  static bool IsRetryable(absl::StatusCode code);
  // The pause before retry `attempt` (0-based): 25 ms doubling up to 500 ms, with jitter.
  static absl::Duration Backoff(int attempt);

  absl::Duration operation_timeout() const { return operation_timeout_; }
  std::string Describe() const;

 private:
  struct Endpoint {
    std::string address;
    std::unique_ptr<etcdserverpb::KV::Stub> kv;
  };

  // Runs `call(endpoint, context)` with retries until the operation deadline.
  template <typename Call>
  absl::Status Retry(absl::string_view what, absl::Time deadline, Call call);
  absl::Status ToStatus(const grpc::Status& status, absl::string_view what, size_t endpoint) const;

  std::vector<Endpoint> endpoints_;
  std::atomic<size_t> current_{0};
  const absl::Duration request_timeout_;
  const absl::Duration operation_timeout_;
};

}  // namespace cosmo

#endif  // COSMO_LIB_STORE_ETCD_ETCD_CLIENT_H_
