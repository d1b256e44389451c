// The Engine behind NewLiquidEngine(): Liquid manifests become page modules (PageModule) run by a
// JavaScriptEngine of its own, whose startup snapshot holds the Liquid runtime (LiquidJS and
// lib/engine/liquid/js/src). Its own engine, not the process's JavaScript engine, so JavaScript
// families never see the Liquid runtime and each snapshot holds only what its language needs;
// built on first use, so a process that serves no Liquid holds neither.
//
// Thread-safe.
#ifndef COSMO_ENGINE_LIQUID_LIQUID_ON_JAVASCRIPT_ENGINE_H_
#define COSMO_ENGINE_LIQUID_LIQUID_ON_JAVASCRIPT_ENGINE_H_

#include <memory>
#include <string>

#include "absl/base/call_once.h"
#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "cosmo/engine.h"
#include "cosmo/javascript_engine.h"
#include "cosmo/liquid_engine.h"

namespace cosmo::liquid {

class LiquidOnJavaScriptEngine final : public Engine {
 public:
  // `options` must be valid (LiquidEngineOptions::Validate).
  explicit LiquidOnJavaScriptEngine(const LiquidEngineOptions& options) : options_(options) {}

  absl::string_view name() const override { return "liquid"; }
  absl::Status Validate(const Manifest& manifest) override;
  absl::StatusOr<std::shared_ptr<Program>> Prepare(const std::string& version,
                                                   const Manifest& manifest) override;
  // Passed on to the JavaScript engine underneath (once started).
  void SetMemoryShort(bool short_of_memory) override;
  // Likewise (nothing to give back before Start()).
  void ReleaseIdleMemory() override;

 private:
  // Builds the JavaScript engine (its snapshot holds LiquidJS) and the check module's Program on
  // the first call, so a server without Liquid families never holds a second snapshot; returns
  // that first call's status ever after.
  absl::Status Start();

  const LiquidEngineOptions options_;
  absl::once_flag started_;
  // Set once, by Start(); read after it.
  absl::Status start_status_;
  std::unique_ptr<JavaScriptEngine> javascript_;
  // javascript_'s Program of PageModule::CheckModule().
  std::shared_ptr<Program> checker_;
  // SetMemoryShort()'s last word, and javascript_ once Start() made it, to pass it and
  // ReleaseIdleMemory() on to.
  absl::Mutex memory_mu_;
  bool memory_short_ ABSL_GUARDED_BY(memory_mu_) = false;
  JavaScriptEngine* memory_short_to_ ABSL_GUARDED_BY(memory_mu_) = nullptr;
};

}  // namespace cosmo::liquid

#endif  // COSMO_ENGINE_LIQUID_LIQUID_ON_JAVASCRIPT_ENGINE_H_
