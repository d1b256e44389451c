#include "runtime/version_router.h"

#include <algorithm>

#include "absl/random/random.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace cosmo {
namespace {

constexpr uint64_t kFnvOffset = 14695981039346656037ull;
constexpr uint64_t kFnvPrime = 1099511628211ull;
constexpr size_t kMinPrefix = 8;
constexpr size_t kMaxPrefix = 64;

bool IsVersionPrefix(absl::string_view prefix) {
  return prefix.size() >= kMinPrefix && prefix.size() <= kMaxPrefix &&
         std::all_of(prefix.begin(), prefix.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

}  // namespace

VersionRouter::VersionRouter(std::string base, std::string canary, uint32_t canary_percent)
    : base_(std::move(base)),
      canary_(std::move(canary)),
      canary_percent_(canary_.empty() ? 0 : std::min<uint32_t>(canary_percent, 100)) {}

uint32_t VersionRouter::Bucket(absl::string_view key) {
  uint64_t hash = kFnvOffset;
  for (unsigned char c : key) {
    hash ^= c;
    hash *= kFnvPrime;
  }
  return static_cast<uint32_t>(hash % 100);
}

VersionRouter::Side VersionRouter::RouteRandom() const {
  if (canary_percent_ == 0) return Side::kBase;
  if (canary_percent_ >= 100) return Side::kCanary;
  // One generator per thread: no shared state on the request path.
  thread_local absl::InsecureBitGen generator;
  return absl::Uniform<uint32_t>(generator, 0, 100) < canary_percent_ ? Side::kCanary : Side::kBase;
}

absl::StatusOr<VersionRouter::Side> VersionRouter::Route(const HeaderList& headers,
                                                         bool* pinned) const {
  bool keyed = false;
  absl::string_view key;
  for (const auto& [name, value] : headers) {
    // Cheap length tests first: most requests carry neither header.
    if (name.size() == kVersionOverrideHeader.size() &&
        absl::EqualsIgnoreCase(name, kVersionOverrideHeader)) {
      if (pinned != nullptr) *pinned = true;
      return RouteOverride(value);
    }
    if (!keyed && name.size() == kVersionKeyHeader.size() &&
        absl::EqualsIgnoreCase(name, kVersionKeyHeader)) {
      keyed = true;
      key = value;
    }
  }
  if (!split()) return Side::kBase;
  return keyed ? RouteKey(key) : RouteRandom();
}

absl::StatusOr<VersionRouter::Side> VersionRouter::RouteOverride(absl::string_view prefix) const {
  if (!IsVersionPrefix(prefix)) {
    return absl::InvalidArgumentError(absl::StrCat(
        kVersionOverrideHeader, ": '", absl::CHexEscape(prefix.substr(0, 80)),
        "' is not a version prefix; give 8 to 64 lowercase hex digits of a version this family "
        "serves (as in the Cosmo-Version response header)"));
  }
  const bool base = absl::StartsWith(base_, prefix);
  const bool canary = split() && absl::StartsWith(canary_, prefix);
  if (base != canary) return base ? Side::kBase : Side::kCanary;
  if (base) {
    return absl::InvalidArgumentError(absl::StrCat(kVersionOverrideHeader, ": '", prefix,
                                                   "' matches both serving versions; give more "
                                                   "digits"));
  }
  return absl::InvalidArgumentError(
      absl::StrCat(kVersionOverrideHeader, ": no serving version starts with '", prefix,
                   "'; this family serves ",
                   split() ? absl::StrCat(base_.substr(0, 12), " and ", canary_.substr(0, 12))
                           : base_.substr(0, 12)));
}

}  // namespace cosmo
