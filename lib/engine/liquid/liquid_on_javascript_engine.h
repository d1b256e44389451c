// The Engine behind NewLiquidEngine(): Liquid manifests become page modules (PageModule) run by a
// JavaScriptEngine of its own, whose startup snapshot holds the Liquid runtime (LiquidJS and
// lib/engine/liquid/js/src). Its own engine, not the process's JavaScript engine, so JavaScript
// families never see the Liquid runtime and each snapshot holds only what its language needs.
//
// Thread-safe.
#ifndef COSMO_ENGINE_LIQUID_LIQUID_ON_JAVASCRIPT_ENGINE_H_
#define COSMO_ENGINE_LIQUID_LIQUID_ON_JAVASCRIPT_ENGINE_H_

#include <memory>
#include <string>

#include "cosmo/engine.h"
#include "cosmo/javascript_engine.h"
#include "cosmo/liquid_engine.h"

namespace cosmo::liquid {

class LiquidOnJavaScriptEngine final : public Engine {
 public:
  // `checker` is `javascript`'s Program of PageModule::CheckModule().
  LiquidOnJavaScriptEngine(const LiquidEngineOptions& options,
                           std::unique_ptr<JavaScriptEngine> javascript,
                           std::shared_ptr<Program> checker)
      : options_(options), javascript_(std::move(javascript)), checker_(std::move(checker)) {}

  absl::string_view name() const override { return "liquid"; }
  absl::Status Validate(const Manifest& manifest) override;
  absl::StatusOr<std::shared_ptr<Program>> Prepare(const std::string& version,
                                                   const Manifest& manifest) override;

 private:
  const LiquidEngineOptions options_;
  const std::unique_ptr<JavaScriptEngine> javascript_;
  const std::shared_ptr<Program> checker_;
};

}  // namespace cosmo::liquid

#endif  // COSMO_ENGINE_LIQUID_LIQUID_ON_JAVASCRIPT_ENGINE_H_
