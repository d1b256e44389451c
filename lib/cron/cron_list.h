// The `crons` list of a manifest: checked once at deploy (docs/cron.md, "Limits").
#ifndef COSMO_LIB_CRON_CRON_LIST_H_
#define COSMO_LIB_CRON_CRON_LIST_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace cosmo {

// Most cron expressions one family may hold.
inline constexpr size_t kMaxCronsPerFamily = 10;

// OK when `crons` holds at most kMaxCronsPerFamily expressions that each parse
// (CronExpression::Parse) and none twice. INVALID_ARGUMENT otherwise, naming the entry
// (`crons[2]: cron expression "61 * * * *": minute field: '61' is out of range 0-59`).
absl::Status ValidateCronList(const std::vector<std::string>& crons);

}  // namespace cosmo

#endif  // COSMO_LIB_CRON_CRON_LIST_H_
