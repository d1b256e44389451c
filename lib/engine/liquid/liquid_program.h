// One Liquid version, prepared: the JavaScript Program of its page module. Its Instances are
// LiquidInstances. Immutable; thread-safe.
#ifndef COSMO_ENGINE_LIQUID_LIQUID_PROGRAM_H_
#define COSMO_ENGINE_LIQUID_LIQUID_PROGRAM_H_

#include <memory>
#include <string>

#include "cosmo/engine.h"

namespace cosmo::liquid {

class LiquidProgram final : public Program {
 public:
  explicit LiquidProgram(std::shared_ptr<Program> module) : module_(std::move(module)) {}

  absl::StatusOr<std::unique_ptr<Instance>> Instantiate(const ScriptLimits& limits) override;
  const std::string& version() const override { return module_->version(); }

 private:
  const std::shared_ptr<Program> module_;
};

}  // namespace cosmo::liquid

#endif  // COSMO_ENGINE_LIQUID_LIQUID_PROGRAM_H_
