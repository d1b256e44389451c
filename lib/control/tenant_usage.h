// Usage history of a family as its tenant sees it: shared by the gRPC Control service and the
// dashboard's JSON API, so both answer the same question the same way.
//
// Usage is kept by family name and outlives a deleted family, so a name deleted and deployed
// again (perhaps by another tenant) would inherit its predecessor's history: only versions this
// incarnation of the family has had, and buckets from its creation on, are returned.
//
// Stateless; thread-safe as the Registry and Runtime are.
#ifndef COSMO_LIB_CONTROL_TENANT_USAGE_H_
#define COSMO_LIB_CONTROL_TENANT_USAGE_H_

#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cosmo/registry.h"
#include "cosmo/runtime.h"
#include "cosmo/usage.h"

namespace cosmo::control {

// `family` must come from registry.GetFamily(tenant, ...), which checked ownership.
absl::StatusOr<std::vector<UsagePoint>> TenantUsageHistory(Registry& registry, Runtime& runtime,
                                                           absl::string_view tenant,
                                                           const FamilyInfo& family,
                                                           const UsageHistoryQuery& query);

}  // namespace cosmo::control

#endif  // COSMO_LIB_CONTROL_TENANT_USAGE_H_
