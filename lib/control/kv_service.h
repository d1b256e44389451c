// The gRPC service cosmo.v1.Kv (proto/cosmo/v1/kv.proto) over a KvStore: what `cosmoctl kv ...`
// calls. Every call is authenticated first (TokenAuthenticator), then checked against the
// namespace's owner by the KvStore's tenant-taking calls; errors are mapped to gRPC once
// (status_mapping.h).
//
// Borrows the KvStore and TokenAuthenticator, which must outlive it. Thread-safe.
#ifndef COSMO_LIB_CONTROL_KV_SERVICE_H_
#define COSMO_LIB_CONTROL_KV_SERVICE_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "control/token_authenticator.h"
#include "cosmo/kv.h"
#include "cosmo/v1/kv.grpc.pb.h"

namespace cosmo::control {

// The tenant of the caller of `context`, from its `authorization` metadata (UNAUTHENTICATED when
// it has no valid token).
absl::StatusOr<std::string> CallerTenant(const TokenAuthenticator& authenticator,
                                         const grpc::ServerContext& context);

// OK when the caller of `context` may use the gateway services
// (TokenAuthenticator::AuthenticateGateway).
absl::Status AuthenticateGatewayCaller(const TokenAuthenticator& authenticator,
                                       const grpc::ServerContext& context);

// The KvPutOptions of a put request's fields (`metadata` null when absent). INVALID_ARGUMENT for a
// negative expiration or metadata (within the size limit, which the KvStore enforces) that is
// not JSON text: data-plane reads hand metadata to JSON.parse.
absl::StatusOr<KvPutOptions> PutOptionsOf(int64_t expiration, int64_t expiration_ttl,
                                          const std::string* metadata, const KvLimits& limits);

// The data-plane halves of ListKeys and GetValue (no tenant check), which cosmo.v1.Kv answers
// after checking the tenant and cosmo.v1.GatewayKv answers for gateways. GetValueOf answers
// NOT_FOUND naming the key when it is missing or expired.
grpc::Status ListKeysOf(KvStore& kv, const cosmo::v1::ListKvKeysRequest& request,
                        cosmo::v1::ListKvKeysResponse* response);
grpc::Status GetValueOf(KvStore& kv, const cosmo::v1::GetKvValueRequest& request,
                        cosmo::v1::GetKvValueResponse* response);

class KvService final : public cosmo::v1::Kv::Service {
 public:
  KvService(KvStore* kv, const TokenAuthenticator* authenticator)
      : kv_(kv), authenticator_(authenticator) {}

  grpc::Status ListNamespaces(grpc::ServerContext* context,
                              const cosmo::v1::ListKvNamespacesRequest* request,
                              cosmo::v1::ListKvNamespacesResponse* response) override;
  grpc::Status ListKeys(grpc::ServerContext* context, const cosmo::v1::ListKvKeysRequest* request,
                        cosmo::v1::ListKvKeysResponse* response) override;
  grpc::Status GetValue(grpc::ServerContext* context, const cosmo::v1::GetKvValueRequest* request,
                        cosmo::v1::GetKvValueResponse* response) override;
  grpc::Status PutValue(grpc::ServerContext* context, const cosmo::v1::PutKvValueRequest* request,
                        cosmo::v1::PutKvValueResponse* response) override;
  grpc::Status DeleteValue(grpc::ServerContext* context,
                           const cosmo::v1::DeleteKvValueRequest* request,
                           cosmo::v1::DeleteKvValueResponse* response) override;
  grpc::Status DeleteNamespace(grpc::ServerContext* context,
                               const cosmo::v1::DeleteKvNamespaceRequest* request,
                               cosmo::v1::DeleteKvNamespaceResponse* response) override;

 private:
  absl::StatusOr<std::string> Tenant(const grpc::ServerContext& context) const {
    return CallerTenant(*authenticator_, context);
  }

  KvStore* const kv_;
  const TokenAuthenticator* const authenticator_;
};

}  // namespace cosmo::control

#endif  // COSMO_LIB_CONTROL_KV_SERVICE_H_
