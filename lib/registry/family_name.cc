#include <algorithm>

#include "cosmo/registry.h"

namespace cosmo {
namespace {

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool IsAlnum(char c) { return IsLowerAlnum(c) || (c >= 'A' && c <= 'Z'); }

}  // namespace

bool IsValidFamilyName(absl::string_view family) {
  return !family.empty() && family.size() <= 63 && IsLowerAlnum(family[0]) &&
         std::all_of(family.begin(), family.end(),
                     [](char c) { return IsLowerAlnum(c) || c == '-'; });
}

bool IsValidTenantName(absl::string_view tenant) {
  return !tenant.empty() && tenant.size() <= 64 && IsAlnum(tenant[0]) &&
         std::all_of(tenant.begin(), tenant.end(),
                     [](char c) { return IsAlnum(c) || c == '.' || c == '_' || c == '-'; });
}

}  // namespace cosmo
