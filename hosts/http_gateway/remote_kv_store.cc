#include "remote_kv_store.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace cosmo::gateway {
namespace {

namespace pb = ::cosmo::v1;

absl::Status ServersOnly(absl::string_view call) {
  return absl::UnimplementedError(
      absl::StrCat("KV ", call, " is a control-plane call: ask a cosmo-server (cosmoctl kv)"));
}

}  // namespace

absl::StatusOr<std::optional<KvEntry>> RemoteKvStore::Get(absl::string_view ns,
                                                          absl::string_view key) {
  pb::GetKvValueRequest request;
  request.set_kv_namespace(std::string(ns));
  request.set_key(std::string(key));
  pb::GetKvValueResponse response;
  absl::Status status = client_->KvGet(request, &response);
  if (absl::IsNotFound(status)) return std::optional<KvEntry>();
  if (!status.ok()) return status;
  KvEntry entry;
  entry.value = std::move(*response.mutable_value());
  if (response.has_metadata()) entry.metadata = std::move(*response.mutable_metadata());
  entry.expiration = response.expiration();
  return entry;
}

absl::Status RemoteKvStore::Put(absl::string_view ns, absl::string_view key, std::string value,
                                const KvPutOptions& options, absl::string_view tenant) {
  if (!tenant.empty()) return ServersOnly("put for a tenant");
  pb::PutKvValueRequest request;
  request.set_kv_namespace(std::string(ns));
  request.set_key(std::string(key));
  request.set_value(std::move(value));
  request.set_expiration(options.expiration);
  request.set_expiration_ttl(options.expiration_ttl);
  if (options.metadata) request.set_metadata(*options.metadata);
  return client_->KvPut(request);
}

void RemoteKvStore::PutAsync(absl::string_view ns, absl::string_view key, std::string value,
                             const KvPutOptions& options, Callback done) {
  done(Put(ns, key, std::move(value), options, ""));
}

absl::Status RemoteKvStore::Delete(absl::string_view ns, absl::string_view key,
                                   absl::string_view tenant) {
  if (!tenant.empty()) return ServersOnly("delete for a tenant");
  pb::DeleteKvValueRequest request;
  request.set_kv_namespace(std::string(ns));
  request.set_key(std::string(key));
  return client_->KvDelete(request);
}

void RemoteKvStore::DeleteAsync(absl::string_view ns, absl::string_view key, Callback done) {
  done(Delete(ns, key, ""));
}

absl::StatusOr<KvListResult> RemoteKvStore::List(absl::string_view ns,
                                                 const KvListOptions& options) {
  pb::ListKvKeysRequest request;
  request.set_kv_namespace(std::string(ns));
  request.set_prefix(options.prefix);
  if (options.limit > limits_.max_list_limit) {
    return absl::InvalidArgumentError(absl::StrCat("KV list limit: ", options.limit,
                                                   " is over the maximum of ",
                                                   limits_.max_list_limit, " keys"));
  }
  request.set_limit(static_cast<uint32_t>(options.limit));
  request.set_cursor(options.cursor);
  pb::ListKvKeysResponse response;
  if (absl::Status s = client_->KvList(request, &response); !s.ok()) return s;
  KvListResult result;
  for (pb::KvKey& key : *response.mutable_keys()) {
    KvListKey out;
    out.name = std::move(*key.mutable_name());
    out.expiration = key.expiration();
    if (key.has_metadata()) out.metadata = std::move(*key.mutable_metadata());
    result.keys.push_back(std::move(out));
  }
  result.list_complete = response.list_complete();
  result.cursor = std::move(*response.mutable_cursor());
  return result;
}

absl::StatusOr<std::vector<KvNamespaceInfo>> RemoteKvStore::ListNamespaces(absl::string_view) {
  return ServersOnly("ListNamespaces");
}

absl::StatusOr<KvNamespaceInfo> RemoteKvStore::GetNamespace(absl::string_view, absl::string_view) {
  return ServersOnly("GetNamespace");
}

absl::Status RemoteKvStore::DeleteNamespace(absl::string_view, absl::string_view) {
  return ServersOnly("DeleteNamespace");
}

absl::StatusOr<size_t> RemoteKvStore::SweepExpired() { return ServersOnly("SweepExpired"); }

}  // namespace cosmo::gateway
