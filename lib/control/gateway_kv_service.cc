#include "control/gateway_kv_service.h"

#include "control/kv_service.h"
#include "control/status_mapping.h"

namespace cosmo::control {

namespace pb = ::cosmo::v1;

grpc::Status GatewayKvService::Get(grpc::ServerContext* context,
                                   const pb::GetKvValueRequest* request,
                                   pb::GetKvValueResponse* response) {
  if (absl::Status caller = AuthenticateGatewayCaller(*authenticator_, *context); !caller.ok()) {
    return ToGrpcStatus(caller);
  }
  return GetValueOf(*kv_, *request, response);
}

grpc::Status GatewayKvService::Put(grpc::ServerContext* context,
                                   const pb::PutKvValueRequest* request,
                                   pb::PutKvValueResponse* /*response*/) {
  if (absl::Status caller = AuthenticateGatewayCaller(*authenticator_, *context); !caller.ok()) {
    return ToGrpcStatus(caller);
  }
  auto options =
      PutOptionsOf(request->expiration(), request->expiration_ttl(),
                   request->has_metadata() ? &request->metadata() : nullptr, kv_->limits());
  if (!options.ok()) return ToGrpcStatus(options.status());
  // No tenant: a data-plane write, which never creates a namespace.
  return ToGrpcStatus(
      kv_->Put(request->kv_namespace(), request->key(), request->value(), *options));
}

grpc::Status GatewayKvService::Delete(grpc::ServerContext* context,
                                      const pb::DeleteKvValueRequest* request,
                                      pb::DeleteKvValueResponse* /*response*/) {
  if (absl::Status caller = AuthenticateGatewayCaller(*authenticator_, *context); !caller.ok()) {
    return ToGrpcStatus(caller);
  }
  return ToGrpcStatus(kv_->Delete(request->kv_namespace(), request->key()));
}

grpc::Status GatewayKvService::List(grpc::ServerContext* context,
                                    const pb::ListKvKeysRequest* request,
                                    pb::ListKvKeysResponse* response) {
  if (absl::Status caller = AuthenticateGatewayCaller(*authenticator_, *context); !caller.ok()) {
    return ToGrpcStatus(caller);
  }
  return ListKeysOf(*kv_, *request, response);
}

}  // namespace cosmo::control
