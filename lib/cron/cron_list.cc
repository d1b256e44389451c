#include "cron/cron_list.h"

#include "absl/container/flat_hash_set.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "cron/cron_expression.h"

namespace cosmo {

absl::Status ValidateCronList(const std::vector<std::string>& crons) {
  if (crons.size() > kMaxCronsPerFamily) {
    return absl::InvalidArgumentError(absl::StrCat("crons: ", crons.size(),
                                                   " expressions exceed the limit of ",
                                                   kMaxCronsPerFamily, " per family"));
  }
  absl::flat_hash_set<std::string> seen;
  for (size_t i = 0; i < crons.size(); ++i) {
    absl::StatusOr<CronExpression> cron = CronExpression::Parse(crons[i]);
    if (!cron.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("crons[", i, "]: ", cron.status().message()));
    }
    // The same text twice would run the handler twice a tick with nothing to tell the runs apart.
    if (!seen.insert(crons[i]).second) {
      return absl::InvalidArgumentError(absl::StrCat(
          "crons[", i, "]: \"", absl::CHexEscape(crons[i]), "\" is listed twice; list it once"));
    }
  }
  return absl::OkStatus();
}

}  // namespace cosmo
