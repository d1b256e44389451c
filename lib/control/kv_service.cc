#include "control/kv_service.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "control/status_mapping.h"
#include "cosmo/status_macros.h"
#include "nlohmann/json.hpp"

namespace cosmo::control {
namespace {

namespace pb = ::cosmo::v1;

// Data-plane metadata is always JSON (the binding serialises it); metadata written over gRPC is
// checked here so that getWithMetadata() never meets text it cannot parse.
absl::Status CheckMetadataIsJson(const std::string& metadata) {
  if (nlohmann::json::accept(metadata)) return absl::OkStatus();
  return absl::InvalidArgumentError("metadata: not valid JSON text (e.g. {\"owner\":\"ada\"})");
}

}  // namespace

namespace {

absl::string_view AuthorizationOf(const grpc::ServerContext& context) {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find("authorization");
  if (it == metadata.end()) return {};
  return absl::string_view(it->second.data(), it->second.size());
}

}  // namespace

absl::StatusOr<std::string> CallerTenant(const TokenAuthenticator& authenticator,
                                         const grpc::ServerContext& context) {
  return authenticator.Authenticate(AuthorizationOf(context));
}

absl::Status AuthenticateGatewayCaller(const TokenAuthenticator& authenticator,
                                       const grpc::ServerContext& context) {
  return authenticator.AuthenticateGateway(AuthorizationOf(context));
}

absl::StatusOr<KvPutOptions> PutOptionsOf(int64_t expiration, int64_t expiration_ttl,
                                          const std::string* metadata, const KvLimits& limits) {
  KvPutOptions options;
  options.expiration = expiration;
  options.expiration_ttl = expiration_ttl;
  if (options.expiration < 0 || options.expiration_ttl < 0) {
    return absl::InvalidArgumentError(
        "expiration and expiration_ttl must not be negative (0 means none)");
  }
  if (metadata != nullptr) {
    // Oversized metadata is refused by the KvStore, naming the limit, without being parsed.
    if (metadata->size() <= limits.max_metadata_bytes) {
      COSMO_RETURN_IF_ERROR(CheckMetadataIsJson(*metadata));
    }
    options.metadata = *metadata;
  }
  return options;
}

grpc::Status ListKeysOf(KvStore& kv, const pb::ListKvKeysRequest& request,
                        pb::ListKvKeysResponse* response) {
  KvListOptions options;
  options.prefix = request.prefix();
  options.limit = request.limit();
  options.cursor = request.cursor();
  auto listed = kv.List(request.kv_namespace(), options);
  if (!listed.ok()) return ToGrpcStatus(listed.status());
  for (KvListKey& key : listed->keys) {
    pb::KvKey* out = response->add_keys();
    out->set_name(std::move(key.name));
    out->set_expiration(key.expiration);
    if (key.metadata) out->set_metadata(std::move(*key.metadata));
  }
  response->set_list_complete(listed->list_complete);
  response->set_cursor(std::move(listed->cursor));
  return grpc::Status::OK;
}

grpc::Status GetValueOf(KvStore& kv, const pb::GetKvValueRequest& request,
                        pb::GetKvValueResponse* response) {
  auto entry = kv.Get(request.kv_namespace(), request.key());
  if (!entry.ok()) return ToGrpcStatus(entry.status());
  if (!*entry) {
    return ToGrpcStatus(absl::NotFoundError(absl::StrCat("KV namespace '", request.kv_namespace(),
                                                         "' has no key '", request.key(), "'")));
  }
  response->set_value(std::move((*entry)->value));
  if ((*entry)->metadata) response->set_metadata(std::move(*(*entry)->metadata));
  response->set_expiration((*entry)->expiration);
  return grpc::Status::OK;
}

grpc::Status KvService::ListNamespaces(grpc::ServerContext* context,
                                       const pb::ListKvNamespacesRequest* /*request*/,
                                       pb::ListKvNamespacesResponse* response) {
  auto tenant = Tenant(*context);
  if (!tenant.ok()) return ToGrpcStatus(tenant.status());
  auto namespaces = kv_->ListNamespaces(*tenant);
  if (!namespaces.ok()) return ToGrpcStatus(namespaces.status());
  for (const KvNamespaceInfo& info : *namespaces) {
    pb::KvNamespace* out = response->add_namespaces();
    out->set_name(info.name);
    out->set_owner_tenant(info.owner_tenant);
    const int64_t micros = absl::ToUnixMicros(info.created);
    out->mutable_create_time()->set_seconds(micros / 1000000);
    out->mutable_create_time()->set_nanos(static_cast<int32_t>(micros % 1000000) * 1000);
    out->set_stored_bytes(info.stored_bytes);
    out->set_keys(info.keys);
  }
  return grpc::Status::OK;
}

grpc::Status KvService::ListKeys(grpc::ServerContext* context, const pb::ListKvKeysRequest* request,
                                 pb::ListKvKeysResponse* response) {
  auto tenant = Tenant(*context);
  if (!tenant.ok()) return ToGrpcStatus(tenant.status());
  if (auto owned = kv_->GetNamespace(*tenant, request->kv_namespace()); !owned.ok()) {
    return ToGrpcStatus(owned.status());
  }
  return ListKeysOf(*kv_, *request, response);
}

grpc::Status KvService::GetValue(grpc::ServerContext* context, const pb::GetKvValueRequest* request,
                                 pb::GetKvValueResponse* response) {
  auto tenant = Tenant(*context);
  if (!tenant.ok()) return ToGrpcStatus(tenant.status());
  if (auto owned = kv_->GetNamespace(*tenant, request->kv_namespace()); !owned.ok()) {
    return ToGrpcStatus(owned.status());
  }
  return GetValueOf(*kv_, *request, response);
}

grpc::Status KvService::PutValue(grpc::ServerContext* context, const pb::PutKvValueRequest* request,
                                 pb::PutKvValueResponse* /*response*/) {
  auto tenant = Tenant(*context);
  if (!tenant.ok()) return ToGrpcStatus(tenant.status());
  auto options =
      PutOptionsOf(request->expiration(), request->expiration_ttl(),
                   request->has_metadata() ? &request->metadata() : nullptr, kv_->limits());
  if (!options.ok()) return ToGrpcStatus(options.status());
  return ToGrpcStatus(
      kv_->Put(request->kv_namespace(), request->key(), request->value(), *options, *tenant));
}

grpc::Status KvService::DeleteValue(grpc::ServerContext* context,
                                    const pb::DeleteKvValueRequest* request,
                                    pb::DeleteKvValueResponse* /*response*/) {
  auto tenant = Tenant(*context);
  if (!tenant.ok()) return ToGrpcStatus(tenant.status());
  // A delete never creates a namespace: check it exists and is the caller's first.
  if (auto owned = kv_->GetNamespace(*tenant, request->kv_namespace()); !owned.ok()) {
    return ToGrpcStatus(owned.status());
  }
  return ToGrpcStatus(kv_->Delete(request->kv_namespace(), request->key(), *tenant));
}

grpc::Status KvService::DeleteNamespace(grpc::ServerContext* context,
                                        const pb::DeleteKvNamespaceRequest* request,
                                        pb::DeleteKvNamespaceResponse* /*response*/) {
  auto tenant = Tenant(*context);
  if (!tenant.ok()) return ToGrpcStatus(tenant.status());
  return ToGrpcStatus(kv_->DeleteNamespace(*tenant, request->kv_namespace()));
}

}  // namespace cosmo::control
