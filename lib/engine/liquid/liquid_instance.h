// One running copy of a Liquid version: the JavaScript instance of its page module, with the
// Liquid runtime's own limits reported as limit outcomes.
//
// The Liquid runtime ends a render that crosses one of LiquidEngineOptions' limits with an
// uncaught LiquidLimitError; to users and metrics that is a limit like the JavaScript engine's
// CPU and memory limits, so it becomes kExceededCpu (work: rendered nodes, include depth) or
// kExceededMemory (size: output, allocations) instead of kException.
//
// Thread-compatible, like every Instance.
#ifndef COSMO_ENGINE_LIQUID_LIQUID_INSTANCE_H_
#define COSMO_ENGINE_LIQUID_LIQUID_INSTANCE_H_

#include <memory>

#include "cosmo/engine.h"

namespace cosmo::liquid {

class LiquidInstance final : public Instance {
 public:
  // `program` keeps the page module's Program (and so the JavaScript engine) alive.
  LiquidInstance(std::shared_ptr<Program> program, std::unique_ptr<Instance> instance)
      : program_(std::move(program)), instance_(std::move(instance)) {}

  InvokeResult Invoke(const HttpRequest& request) override;
  bool Reusable() const override { return instance_->Reusable(); }
  size_t MemoryBytes() const override { return instance_->MemoryBytes(); }

  // The outcome a failed render's error text stands for (kException unless it is a limit).
  static Outcome OutcomeOf(const std::string& error);

 private:
  const std::shared_ptr<Program> program_;
  const std::unique_ptr<Instance> instance_;
};

}  // namespace cosmo::liquid

#endif  // COSMO_ENGINE_LIQUID_LIQUID_INSTANCE_H_
