#include "engine/v8/js_program.h"

#include "cosmo/status_macros.h"
#include "engine/v8/js_instance.h"

namespace cosmo::v8engine {

JsProgram::JsProgram(std::shared_ptr<EngineCore> core, std::string version, Manifest manifest,
                     std::shared_ptr<CodeCache> code_cache)
    : core_(std::move(core)),
      version_(std::move(version)),
      manifest_(std::move(manifest)),
      code_cache_(std::move(code_cache)) {}

absl::StatusOr<std::unique_ptr<Instance>> JsProgram::Instantiate(const ScriptLimits& limits) {
  COSMO_RETURN_IF_ERROR(limits.Validate());
  COSMO_ASSIGN_OR_RETURN(std::unique_ptr<JsInstance> instance,
                         JsInstance::Create(shared_from_this(), limits));
  return std::unique_ptr<Instance>(std::move(instance));
}

}  // namespace cosmo::v8engine
