#include "store/etcd/etcd_client.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"

namespace cosmo {
namespace {

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& address) {
  grpc::ChannelArguments args;
  // etcd's server enforces at least 5 s between pings and no pings without active calls
  // (PermitWithoutStream=false); violating either gets the connection closed with GOAWAY.
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 10000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 5000);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 0);
  // Chunked values and large scans arrive in big messages; the server bounds what it sends.
  args.SetMaxReceiveMessageSize(-1);
  args.SetMaxSendMessageSize(-1);
  // A restarted member should be usable again within about two seconds. The minimum is also the
  // connect timeout: a member that is starting accepts connections before it answers them, so
  // give it time to send its HTTP/2 SETTINGS.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 2000);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
  // A refused connection makes the channel resolve its name again before reconnecting, which
  // gRPC allows only once per 30 s by default.
  args.SetInt(GRPC_ARG_DNS_MIN_TIME_BETWEEN_RESOLUTIONS_MS, 200);
  // One channel per endpoint: distinct channel args keep gRPC from sharing a subchannel pool
  // across stores, so a store's failure handling is its own.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
}

absl::Time ContextDeadline(absl::Time deadline, absl::Duration request_timeout) {
  return std::min(deadline, absl::Now() + request_timeout);
}

}  // namespace

EtcdClient::EtcdClient(std::vector<std::string> endpoints, absl::Duration request_timeout,
                       absl::Duration operation_timeout)
    : request_timeout_(request_timeout), operation_timeout_(operation_timeout) {
  for (std::string& address : endpoints) {
    std::shared_ptr<grpc::Channel> channel = MakeChannel(address);
    Endpoint endpoint;
    endpoint.address = std::move(address);
    endpoint.kv = etcdserverpb::KV::NewStub(channel);
    endpoints_.push_back(std::move(endpoint));
  }
}

void EtcdClient::PrepareContext(grpc::ClientContext* context) {
  // etcd's interceptors refuse calls carrying this when the member has no leader (ErrNoLeader,
  // UNAVAILABLE), instead of letting them wait out an election on a partitioned member.
  context->AddMetadata("hasleader", "true");
}

bool EtcdClient::IsRetryable(absl::StatusCode code) {
  return code == absl::StatusCode::kUnavailable || code == absl::StatusCode::kDeadlineExceeded ||
         code == absl::StatusCode::kResourceExhausted || code == absl::StatusCode::kCancelled;
}

absl::Duration EtcdClient::Backoff(int attempt) {
  static absl::Mutex mu(absl::kConstInit);
  static absl::BitGen* gen = new absl::BitGen();
  const absl::Duration base =
      std::min(absl::Milliseconds(25) * (1 << std::min(attempt, 5)), absl::Milliseconds(500));
  absl::MutexLock lock(&mu);
  return base / 2 + base * absl::Uniform(*gen, 0.0, 0.5);
}

void EtcdClient::MarkFailed(size_t index) {
  size_t expected = index;
  current_.compare_exchange_strong(expected, (index + 1) % endpoints_.size());
}

std::string EtcdClient::Describe() const {
  std::vector<std::string> addresses;
  for (const Endpoint& e : endpoints_) addresses.push_back(e.address);
  return absl::StrJoin(addresses, ",");
}

absl::Status EtcdClient::ToStatus(const grpc::Status& status, absl::string_view what,
                                  size_t endpoint) const {
  if (status.ok()) return absl::OkStatus();
  // gRPC and Abseil share status code numbering.
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      absl::StrCat("etcd ", what, " at ", endpoints_[endpoint].address, ": ",
                                   status.error_message()));
}

template <typename Call>
absl::Status EtcdClient::Retry(absl::string_view what, absl::Time deadline, Call call) {
  absl::Status last;
  for (int attempt = 0;; ++attempt) {
    const size_t index = current_.load() % endpoints_.size();
    grpc::ClientContext context;
    PrepareContext(&context);
    context.set_deadline(absl::ToChronoTime(ContextDeadline(deadline, request_timeout_)));
    last = ToStatus(call(endpoints_[index], &context), what, index);
    if (!IsRetryable(last.code())) return last;
    MarkFailed(index);
    const absl::Duration pause = Backoff(attempt);
    if (absl::Now() + pause >= deadline) break;
    absl::SleepFor(pause);
  }
  return absl::UnavailableError(absl::StrCat("etcd cluster ", Describe(), " unavailable for ",
                                             absl::FormatDuration(operation_timeout_),
                                             "; last error: ", last.message()));
}

absl::Status EtcdClient::TxnOnce(const etcdserverpb::TxnRequest& request,
                                 etcdserverpb::TxnResponse* response, absl::Time deadline) {
  const size_t index = current_.load() % endpoints_.size();
  grpc::ClientContext context;
  PrepareContext(&context);
  context.set_deadline(absl::ToChronoTime(ContextDeadline(deadline, request_timeout_)));
  absl::Status status =
      ToStatus(endpoints_[index].kv->Txn(&context, request, response), "Txn", index);
  if (IsRetryable(status.code())) MarkFailed(index);
  return status;
}

absl::Status EtcdClient::Range(const etcdserverpb::RangeRequest& request,
                               etcdserverpb::RangeResponse* response) {
  return Retry("Range", absl::Now() + operation_timeout_,
               [&](Endpoint& e, grpc::ClientContext* context) {
                 return e.kv->Range(context, request, response);
               });
}

absl::Status EtcdClient::Put(const etcdserverpb::PutRequest& request) {
  etcdserverpb::PutResponse response;
  return Retry("Put", absl::Now() + operation_timeout_,
               [&](Endpoint& e, grpc::ClientContext* context) {
                 return e.kv->Put(context, request, &response);
               });
}

absl::Status EtcdClient::DeleteRange(const etcdserverpb::DeleteRangeRequest& request) {
  etcdserverpb::DeleteRangeResponse response;
  return Retry("DeleteRange", absl::Now() + operation_timeout_,
               [&](Endpoint& e, grpc::ClientContext* context) {
                 return e.kv->DeleteRange(context, request, &response);
               });
}

absl::Status EtcdClient::Probe(absl::Duration timeout) {
  etcdserverpb::RangeRequest request;
  request.set_key(std::string(1, '\0'));
  request.set_count_only(true);
  request.set_limit(1);
  etcdserverpb::RangeResponse response;
  return Retry("Range", absl::Now() + timeout, [&](Endpoint& e, grpc::ClientContext* context) {
    return e.kv->Range(context, request, &response);
  });
}

std::unique_ptr<etcdserverpb::Watch::Stub> EtcdClient::NewWatchStub(size_t* endpoint) {
  *endpoint = current_.load() % endpoints_.size();
  return etcdserverpb::Watch::NewStub(MakeChannel(endpoints_[*endpoint].address));
}

}  // namespace cosmo
