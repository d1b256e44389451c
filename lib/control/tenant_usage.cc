#include "control/tenant_usage.h"

#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"

namespace cosmo::control {

absl::StatusOr<std::vector<UsagePoint>> TenantUsageHistory(Registry& registry, Runtime& runtime,
                                                           absl::string_view tenant,
                                                           const FamilyInfo& family,
                                                           const UsageHistoryQuery& query) {
  UsageHistoryQuery bounded = query;
  // From the minute (or hour) the family was created in: its first bucket starts before it.
  const absl::Time created =
      absl::FromUnixSeconds(absl::ToUnixSeconds(family.created) / 3600 * 3600);
  bounded.since = std::max(bounded.since, created);
  absl::StatusOr<std::vector<UsagePoint>> points = runtime.UsageHistory(family.family, bounded);
  if (!points.ok()) return points.status();
  absl::flat_hash_map<std::string, bool> known;
  std::vector<UsagePoint> out;
  out.reserve(points->size());
  for (UsagePoint& point : *points) {
    auto [it, inserted] = known.try_emplace(point.version, false);
    if (inserted) {
      auto resolved = registry.ResolveVersion(tenant, family.family, point.version);
      if (!resolved.ok() && !absl::IsNotFound(resolved.status())) return resolved.status();
      it->second = resolved.ok();
    }
    if (it->second) out.push_back(std::move(point));
  }
  return out;
}

}  // namespace cosmo::control
