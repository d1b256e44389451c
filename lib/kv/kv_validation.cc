#include "kv/kv_validation.h"

#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/utf8.h"

namespace cosmo::kv {

absl::Status CheckNamespaceName(absl::string_view ns) {
  if (IsValidKvNamespaceName(ns)) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "namespace: '", absl::CHexEscape(ns.substr(0, 80)),
      "' is not a valid namespace name; use 1-63 characters from a-z, 0-9 and '-', starting with "
      "a letter or digit"));
}

absl::Status CheckKey(absl::string_view key, const KvLimits& limits) {
  if (key.empty()) return absl::InvalidArgumentError("KV key: a key must not be empty");
  if (key.size() > limits.max_key_bytes) {
    return absl::InvalidArgumentError(absl::StrCat("KV key: ", key.size(),
                                                   " bytes exceed the key size limit of ",
                                                   limits.max_key_bytes, " bytes"));
  }
  if (key == "." || key == "..") {
    return absl::InvalidArgumentError("KV key: \".\" and \"..\" are not allowed as keys");
  }
  size_t offset = 0;
  if (!IsValidUtf8(key, &offset)) {
    return absl::InvalidArgumentError(
        absl::StrCat("KV key: not valid UTF-8 (first bad byte at offset ", offset, ")"));
  }
  return absl::OkStatus();
}

absl::Status CheckValueSize(size_t bytes, const KvLimits& limits) {
  if (bytes <= limits.max_value_bytes) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("KV value: ", bytes,
                                                 " bytes exceed the value size limit of ",
                                                 limits.max_value_bytes, " bytes"));
}

absl::Status CheckMetadata(absl::string_view metadata, const KvLimits& limits) {
  if (metadata.size() > limits.max_metadata_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "KV metadata: ", metadata.size(), " bytes of serialized JSON exceed the metadata limit of ",
        limits.max_metadata_bytes, " bytes"));
  }
  if (!IsValidUtf8(metadata)) return absl::InvalidArgumentError("KV metadata: not valid UTF-8");
  return absl::OkStatus();
}

absl::StatusOr<int64_t> ResolveExpiration(const KvPutOptions& options, absl::Time now,
                                          const KvLimits& limits) {
  const int64_t min_ttl = absl::ToInt64Seconds(limits.min_expiration_ttl);
  const int64_t now_s = absl::ToUnixSeconds(now);
  if (options.expiration_ttl != 0) {
    if (options.expiration_ttl < min_ttl) {
      return absl::InvalidArgumentError(absl::StrCat("KV expirationTtl: ", options.expiration_ttl,
                                                     " s is below the minimum expirationTtl of ",
                                                     min_ttl, " s"));
    }
    return now_s + options.expiration_ttl;
  }
  if (options.expiration != 0) {
    if (options.expiration < now_s + min_ttl) {
      return absl::InvalidArgumentError(
          absl::StrCat("KV expiration: ", options.expiration, " is less than the minimum of ",
                       min_ttl, " s in the future (now is ", now_s, " Unix seconds)"));
    }
    return options.expiration;
  }
  return 0;
}

std::string EncodeCursor(absl::string_view last_key) { return absl::WebSafeBase64Escape(last_key); }

absl::StatusOr<std::string> DecodeCursor(absl::string_view cursor) {
  std::string key;
  if (!absl::WebSafeBase64Unescape(cursor, &key) || key.empty()) {
    return absl::InvalidArgumentError(
        "KV cursor: not a cursor returned by list(); pass the previous result's cursor unchanged");
  }
  return key;
}

}  // namespace cosmo::kv
