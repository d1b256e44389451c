#include "cosmo/outcome.h"

namespace cosmo {
namespace {

// Empty for a value that is no enumerator. The switch names every enumerator (-Wswitch, an
// error in our code), which lets the assertion below check kLastOutcome.
constexpr absl::string_view NameOf(Outcome outcome) {
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
  return "";
}

static_assert(!NameOf(kLastOutcome).empty() && NameOf(static_cast<Outcome>(kOutcomeCount)).empty(),
              "an Outcome was appended: move kLastOutcome (include/cosmo/outcome.h) to it");

}  // namespace

absl::string_view OutcomeName(Outcome outcome) {
  absl::string_view name = NameOf(outcome);
  return name.empty() ? "internal" : name;
}

}  // namespace cosmo
