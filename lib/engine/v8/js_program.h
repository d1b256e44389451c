// One version of a JavaScript family, ready to instantiate: its manifest and its code cache.
//
// Immutable after construction apart from the code cache, which fills on the first
// instantiation. Thread-safe. Created by the engine as a shared_ptr (Instances keep it alive).
#ifndef COSMO_ENGINE_V8_JS_PROGRAM_H_
#define COSMO_ENGINE_V8_JS_PROGRAM_H_

#include <memory>
#include <string>

#include "cosmo/engine.h"
#include "cosmo/manifest.h"
#include "engine/v8/code_cache.h"
#include "engine/v8/engine_core.h"

namespace cosmo::v8engine {

class JsProgram final : public Program, public std::enable_shared_from_this<JsProgram> {
 public:
  JsProgram(std::shared_ptr<EngineCore> core, std::string version, Manifest manifest,
            std::shared_ptr<CodeCache> code_cache);

  absl::StatusOr<std::unique_ptr<Instance>> Instantiate(const ScriptLimits& limits) override;
  const std::string& version() const override { return version_; }

  const Manifest& manifest() const { return manifest_; }
  EngineCore& core() const { return *core_; }
  CodeCache& code_cache() const { return *code_cache_; }

 private:
  const std::shared_ptr<EngineCore> core_;
  const std::string version_;
  const Manifest manifest_;
  const std::shared_ptr<CodeCache> code_cache_;
};

}  // namespace cosmo::v8engine

#endif  // COSMO_ENGINE_V8_JS_PROGRAM_H_
