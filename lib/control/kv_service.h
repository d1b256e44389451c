// The gRPC service cosmo.v1.Kv (proto/cosmo/v1/kv.proto) over a KvStore: what `cosmoctl kv ...`
// calls. Every call is authenticated first (TokenAuthenticator), then checked against the
// namespace's owner by the KvStore's tenant-taking calls; errors are mapped to gRPC once
// (status_mapping.h).
//
// Borrows the KvStore and TokenAuthenticator, which must outlive it. Thread-safe.
#ifndef COSMO_LIB_CONTROL_KV_SERVICE_H_
#define COSMO_LIB_CONTROL_KV_SERVICE_H_

#include <string>

#include "control/token_authenticator.h"
#include "cosmo/kv.h"
#include "cosmo/v1/kv.grpc.pb.h"

namespace cosmo::control {

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
  // The caller's tenant, from its metadata.
  absl::StatusOr<std::string> Tenant(const grpc::ServerContext& context) const;

  KvStore* const kv_;
  const TokenAuthenticator* const authenticator_;
};

}  // namespace cosmo::control

#endif  // COSMO_LIB_CONTROL_KV_SERVICE_H_
