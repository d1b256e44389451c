#include "cosmo/outcome.h"

namespace cosmo {

absl::string_view OutcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kOk:
      return "ok";
    case Outcome::kException:
      return "exception";
    case Outcome::kExceededCpu:
      return "exceeded_cpu";
    case Outcome::kExceededMemory:
      return "exceeded_memory";
    case Outcome::kExceededWallTime:
      return "exceeded_wall_time";
    case Outcome::kNotFound:
      return "not_found";
    case Outcome::kLoadShed:
      return "load_shed";
    case Outcome::kBadRequest:
      return "bad_request";
    case Outcome::kInternal:
      return "internal";
  }
  return "internal";
}

}  // namespace cosmo
