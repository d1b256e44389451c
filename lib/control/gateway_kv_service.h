// The gRPC service cosmo.v1.GatewayKv (proto/cosmo/v1/gateway_kv.proto): the KV calls of the
// bindings of families a cosmo-gateway serves, answered by this server's KvStore through its
// data-plane calls (no tenant check: binding was tenant-checked at deploy, as for the server's
// own runtime). A gateway thus has no KV state of its own, and its families get the same
// guarantees as families served here: durable puts, and reads that see every acknowledged write.
//
// Borrows the KvStore and TokenAuthenticator, which must outlive it. Thread-safe.
#ifndef COSMO_LIB_CONTROL_GATEWAY_KV_SERVICE_H_
#define COSMO_LIB_CONTROL_GATEWAY_KV_SERVICE_H_

#include "control/token_authenticator.h"
#include "cosmo/kv.h"
#include "cosmo/v1/gateway_kv.grpc.pb.h"

namespace cosmo::control {

class GatewayKvService final : public cosmo::v1::GatewayKv::Service {
 public:
  GatewayKvService(KvStore* kv, const TokenAuthenticator* authenticator)
      : kv_(kv), authenticator_(authenticator) {}

  grpc::Status Get(grpc::ServerContext* context, const cosmo::v1::GetKvValueRequest* request,
                   cosmo::v1::GetKvValueResponse* response) override;
  grpc::Status Put(grpc::ServerContext* context, const cosmo::v1::PutKvValueRequest* request,
                   cosmo::v1::PutKvValueResponse* response) override;
  grpc::Status Delete(grpc::ServerContext* context, const cosmo::v1::DeleteKvValueRequest* request,
                      cosmo::v1::DeleteKvValueResponse* response) override;
  grpc::Status List(grpc::ServerContext* context, const cosmo::v1::ListKvKeysRequest* request,
                    cosmo::v1::ListKvKeysResponse* response) override;

 private:
  KvStore* const kv_;
  const TokenAuthenticator* const authenticator_;
};

}  // namespace cosmo::control

#endif  // COSMO_LIB_CONTROL_GATEWAY_KV_SERVICE_H_
