#include "engine/liquid/liquid_program.h"

#include "engine/liquid/liquid_instance.h"

namespace cosmo::liquid {

absl::StatusOr<std::unique_ptr<Instance>> LiquidProgram::Instantiate(const ScriptLimits& limits) {
  absl::StatusOr<std::unique_ptr<Instance>> instance = module_->Instantiate(limits);
  if (!instance.ok()) return instance.status();
  return std::make_unique<LiquidInstance>(module_, std::move(*instance));
}

}  // namespace cosmo::liquid
