// UTF-8 validation for text that crosses into CBOR manifests, store keys and JavaScript strings.
#ifndef COSMO_LIB_COMMON_UTF8_H_
#define COSMO_LIB_COMMON_UTF8_H_

#include <cstddef>

#include "absl/strings/string_view.h"

namespace cosmo {

// True when `text` is well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing past
// U+10FFFF). On false, *error_offset (if given) is the byte offset of the first bad sequence.
bool IsValidUtf8(absl::string_view text, size_t* error_offset = nullptr);

// The length of the longest prefix of `text` of at most `limit` bytes that does not split a
// UTF-8 sequence (a cut that would fall inside one drops the whole sequence), so cutting valid
// UTF-8 there keeps it valid.
size_t Utf8PrefixLength(absl::string_view text, size_t limit);

}  // namespace cosmo

#endif  // COSMO_LIB_COMMON_UTF8_H_
