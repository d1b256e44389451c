// The registry's key layout in the Store (documented in docs/architecture.md).
//
// Family names cannot contain '/', and tenant names cannot either, so "<kind>/<family>/" is a
// prefix of exactly one family's keys: `hist/a/` never matches family `ab`.
#ifndef COSMO_LIB_REGISTRY_STORE_KEYS_H_
#define COSMO_LIB_REGISTRY_STORE_KEYS_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace cosmo::store_keys {

// fam/<family> -> FamilyRecord
std::string Family(absl::string_view family);
inline constexpr absl::string_view kFamilyPrefix = "fam/";

// own/<tenant>/<family> -> "" (index of a tenant's families)
std::string Owned(absl::string_view tenant, absl::string_view family);
std::string OwnedPrefix(absl::string_view tenant);

// hist/<family>/<sequence, 20 decimal digits> -> HistoryRecord. Fixed width keeps key order equal
// to sequence order.
std::string History(absl::string_view family, uint64_t sequence);
std::string HistoryPrefix(absl::string_view family);
std::optional<uint64_t> HistorySequence(absl::string_view key);

// fver/<family>/<version> -> FamilyVersionRecord
std::string FamilyVersion(absl::string_view family, absl::string_view version);
std::string FamilyVersionPrefix(absl::string_view family);

// blob/<version> -> canonical CBOR manifest
std::string Blob(absl::string_view version);
// blobref/<version> -> BlobRefRecord
std::string BlobRef(absl::string_view version);

}  // namespace cosmo::store_keys

#endif  // COSMO_LIB_REGISTRY_STORE_KEYS_H_
