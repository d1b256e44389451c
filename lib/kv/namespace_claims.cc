// Namespace ownership: the first tenant to bind (at deploy) or write (through the control plane)
// a namespace owns it. The namespace record never changes while it exists, so a deploy guards on
// its exact bytes and a concurrent delete-namespace makes the deploy re-read instead of binding
// a namespace that is gone.
#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"
#include "cosmo/internal/kv_records.pb.h"
#include "cosmo/kv.h"
#include "cosmo/status_macros.h"
#include "kv/kv_validation.h"
#include "store/store_keys.h"

namespace cosmo {

bool IsValidKvNamespaceName(absl::string_view ns) {
  const auto lower_alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  return !ns.empty() && ns.size() <= 63 && lower_alnum(ns[0]) &&
         std::all_of(ns.begin(), ns.end(), [&](char c) { return lower_alnum(c) || c == '-'; });
}

absl::Status AddKvNamespaceClaims(Store* store, absl::string_view tenant,
                                  const std::vector<std::string>& namespaces, absl::Time now,
                                  WriteBatch& batch) {
  for (const std::string& ns : namespaces) {
    COSMO_RETURN_IF_ERROR(kv::CheckNamespaceName(ns));
    const std::string key = store_keys::KvNamespace(ns);
    COSMO_ASSIGN_OR_RETURN(std::optional<std::string> raw, store->Find(key));
    if (raw) {
      internal::KvNamespaceRecord record;
      if (!record.ParseFromString(*raw)) {
        return absl::DataLossError(absl::StrCat("stored record ", key, " is malformed"));
      }
      if (record.owner_tenant() != tenant) {
        return absl::PermissionDeniedError(
            absl::StrCat("KV namespace '", ns, "' belongs to another tenant; bind one of yours"));
      }
      if (record.deleting()) {
        return absl::FailedPreconditionError(absl::StrCat(
            "KV namespace '", ns, "' is being deleted; run `cosmoctl kv delete-namespace ", ns,
            "` again to finish, then bind it"));
      }
      batch.ExpectValue(key, *raw);
      continue;
    }
    internal::KvNamespaceRecord record;
    record.set_owner_tenant(std::string(tenant));
    record.set_created_unix_micros(absl::ToUnixMicros(now));
    batch.ExpectAbsent(key);
    batch.Put(key, record.SerializeAsString());
    // delete-namespace removes the size record last, after every entry: a new namespace starts
    // empty.
    batch.Put(store_keys::KvSize(ns), internal::KvNamespaceSize().SerializeAsString());
  }
  return absl::OkStatus();
}

}  // namespace cosmo
