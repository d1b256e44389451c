// JSON string literals for text we generate: error bodies on the wire, and source of generated
// JavaScript modules (a JSON string is a valid JS string literal since ES2019).
#ifndef COSMO_LIB_COMMON_JSON_STRING_H_
#define COSMO_LIB_COMMON_JSON_STRING_H_

#include <string>

#include "absl/strings/string_view.h"

namespace cosmo {

// Appends `text` to `out` as a double-quoted JSON string: `"` and `\` escaped, \n \r \t as
// such, other control characters and DEL as \u00XX; all other bytes (UTF-8) pass through, so the
// caller must pass valid UTF-8 when the result must be valid JSON.
void AppendJsonString(absl::string_view text, std::string* out);

// AppendJsonString() into a new string.
std::string JsonString(absl::string_view text);

}  // namespace cosmo

#endif  // COSMO_LIB_COMMON_JSON_STRING_H_
