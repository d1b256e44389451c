// Checks of what a KV call may ask for (DESIGN §11 limits). Every error is INVALID_ARGUMENT and
// names the limit, so the JavaScript binding can pass the message on unchanged.
#ifndef COSMO_LIB_KV_KV_VALIDATION_H_
#define COSMO_LIB_KV_KV_VALIDATION_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "cosmo/kv.h"

namespace cosmo::kv {

absl::Status CheckNamespaceName(absl::string_view ns);

// 1..max_key_bytes of UTF-8, not "." or "..".
absl::Status CheckKey(absl::string_view key, const KvLimits& limits);

absl::Status CheckValueSize(size_t bytes, const KvLimits& limits);

// Metadata is JSON text (the binding serialises it) of at most max_metadata_bytes.
absl::Status CheckMetadata(absl::string_view metadata, const KvLimits& limits);

// The absolute expiration (Unix seconds, 0 for none) `options` ask for at `now`, or
// INVALID_ARGUMENT naming expiration / expirationTtl when it is nearer than min_expiration_ttl.
absl::StatusOr<int64_t> ResolveExpiration(const KvPutOptions& options, absl::Time now,
                                          const KvLimits& limits);

// List cursors are the last key returned, web-safe base64, so they are opaque and printable.
std::string EncodeCursor(absl::string_view last_key);
absl::StatusOr<std::string> DecodeCursor(absl::string_view cursor);

}  // namespace cosmo::kv

#endif  // COSMO_LIB_KV_KV_VALIDATION_H_
