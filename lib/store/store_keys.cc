#include "registry/store_keys.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace cosmo::store_keys {

std::string Family(absl::string_view family) { return absl::StrCat(kFamilyPrefix, family); }

std::string Owned(absl::string_view tenant, absl::string_view family) {
  return absl::StrCat("own/", tenant, "/", family);
}

std::string OwnedPrefix(absl::string_view tenant) { return absl::StrCat("own/", tenant, "/"); }

std::string History(absl::string_view family, uint64_t sequence) {
  return absl::StrFormat("hist/%s/%020u", family, sequence);
}

std::string HistoryPrefix(absl::string_view family) { return absl::StrCat("hist/", family, "/"); }

std::optional<uint64_t> HistorySequence(absl::string_view key) {
  const size_t slash = key.rfind('/');
  uint64_t sequence = 0;
  if (slash == absl::string_view::npos || !absl::SimpleAtoi(key.substr(slash + 1), &sequence)) {
    return std::nullopt;
  }
  return sequence;
}

std::string FamilyVersion(absl::string_view family, absl::string_view version) {
  return absl::StrCat("fver/", family, "/", version);
}

std::string FamilyVersionPrefix(absl::string_view family) {
  return absl::StrCat("fver/", family, "/");
}

std::string Blob(absl::string_view version) { return absl::StrCat("blob/", version); }

std::string BlobRef(absl::string_view version) { return absl::StrCat("blobref/", version); }

}  // namespace cosmo::store_keys
