#include "engine/liquid/liquid_instance.h"

#include "absl/strings/match.h"

namespace cosmo::liquid {

Outcome LiquidInstance::OutcomeOf(const std::string& error) {
  // The runtime's errors have no JavaScript stack, so the text is "Uncaught <name>: <message>".
  if (!absl::StartsWith(error, "Uncaught LiquidLimitError: ")) return Outcome::kException;
  if (absl::StrContains(error, "output longer than") ||
      absl::StrContains(error, "Liquid limit exceeded: memory alloc")) {
    return Outcome::kExceededMemory;
  }
  return Outcome::kExceededCpu;
}

InvokeResult LiquidInstance::Invoke(const HttpRequest& request) {
  InvokeResult result = instance_->Invoke(request);
  if (result.outcome == Outcome::kException) result.outcome = OutcomeOf(result.error);
  return result;
}

}  // namespace cosmo::liquid
