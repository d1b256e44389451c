#include "engine/liquid/liquid_on_javascript_engine.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cosmo/status_macros.h"
#include "engine/liquid/js/liquid_runtime_source.h"
#include "engine/liquid/liquid_program.h"
#include "engine/liquid/page_module.h"

namespace cosmo {
namespace liquid {
namespace {

// The version name of the check module in the engine's code cache; Liquid versions are hex
// hashes, so it never collides with one.
constexpr char kCheckVersion[] = "liquid-check";

absl::Status CheckManifest(const Manifest& manifest) {
  if (manifest.engine != "liquid") {
    return absl::InvalidArgumentError(
        absl::StrCat("engine: '", manifest.engine, "' is not \"liquid\""));
  }
  if (manifest.files.count(manifest.main) == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("main: '", manifest.main, "' is not among the files"));
  }
  auto content_type = manifest.env.find(std::string(PageModule::kContentTypeVariable));
  if (content_type != manifest.env.end()) {
    const std::string& value = content_type->second;
    bool printable = !value.empty();
    for (unsigned char c : value) printable = printable && c >= 0x20 && c != 0x7f;
    if (!printable) {
      return absl::InvalidArgumentError(
          absl::StrCat("env: ", PageModule::kContentTypeVariable,
                       " must be a non-empty header value without control characters"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status LiquidOnJavaScriptEngine::Start() {
  absl::call_once(started_, [this] {
    JavaScriptEngineOptions javascript_options = options_.javascript;
    javascript_options.extra_runtime_scripts.emplace_back(LiquidRuntimeSource());
    absl::StatusOr<std::unique_ptr<JavaScriptEngine>> javascript =
        NewJavaScriptEngine(javascript_options);
    if (!javascript.ok()) {
      start_status_ = javascript.status();
      return;
    }
    absl::StatusOr<std::shared_ptr<Program>> checker =
        (*javascript)->Prepare(kCheckVersion, PageModule::CheckModule());
    if (!checker.ok()) {
      start_status_ = checker.status();
      return;
    }
    javascript_ = *std::move(javascript);
    checker_ = *std::move(checker);
    absl::MutexLock lock(&memory_mu_);
    memory_short_to_ = javascript_.get();
    memory_short_to_->SetMemoryShort(memory_short_);
  });
  return start_status_;
}

void LiquidOnJavaScriptEngine::SetMemoryShort(bool short_of_memory) {
  absl::MutexLock lock(&memory_mu_);
  memory_short_ = short_of_memory;
  if (memory_short_to_ != nullptr) memory_short_to_->SetMemoryShort(short_of_memory);
}

void LiquidOnJavaScriptEngine::ReleaseIdleMemory() {
  absl::MutexLock lock(&memory_mu_);
  if (memory_short_to_ != nullptr) memory_short_to_->ReleaseIdleMemory();
}

absl::Status LiquidOnJavaScriptEngine::Validate(const Manifest& manifest) {
  COSMO_RETURN_IF_ERROR(CheckManifest(manifest));
  COSMO_RETURN_IF_ERROR(Start());
  if (!manifest.crons.empty()) {
    return absl::InvalidArgumentError(
        "crons: a Liquid template has no scheduled() handler; deploy crons with a JavaScript "
        "module that exports one");
  }
  // Parsing runs in a fresh isolate under a request's limits: a second of CPU, like the
  // JavaScript engine's startup probe, and the default heap.
  ScriptLimits limits;
  limits.cpu_per_request = limits.startup_cpu;
  COSMO_ASSIGN_OR_RETURN(std::unique_ptr<Instance> instance, checker_->Instantiate(limits));
  HttpRequest request;
  request.method = "POST";
  request.url = "http://localhost/_liquid/check";
  request.headers.emplace_back("content-type", "application/json");
  request.body = PageModule::CheckRequestBody(manifest);
  InvokeResult result = instance->Invoke(request);
  switch (result.outcome) {
    case Outcome::kOk:
      break;
    case Outcome::kExceededCpu:
    case Outcome::kExceededMemory:
    case Outcome::kExceededWallTime:
      return absl::InvalidArgumentError(
          absl::StrCat(manifest.main,
                       ": the templates are too large or too deeply nested to "
                       "parse within the limits (",
                       OutcomeName(result.outcome), ")"));
    default:
      return absl::InternalError(absl::StrCat("Liquid validation failed: ", result.error));
  }
  if (!result.response.body.empty()) return absl::InvalidArgumentError(result.response.body);
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<Program>> LiquidOnJavaScriptEngine::Prepare(
    const std::string& version, const Manifest& manifest) {
  COSMO_RETURN_IF_ERROR(CheckManifest(manifest));
  COSMO_RETURN_IF_ERROR(Start());
  COSMO_ASSIGN_OR_RETURN(std::shared_ptr<Program> module,
                         javascript_->Prepare(version, PageModule::ForPage(manifest, options_)));
  return std::make_shared<LiquidProgram>(std::move(module));
}

}  // namespace liquid

absl::Status LiquidEngineOptions::Validate() const {
  if (max_output_chars == 0)
    return absl::InvalidArgumentError("max_output_chars: must be positive");
  if (max_include_depth == 0) {
    return absl::InvalidArgumentError("max_include_depth: must be positive");
  }
  if (max_rendered_nodes == 0) {
    return absl::InvalidArgumentError("max_rendered_nodes: must be positive");
  }
  if (max_allocation_units == 0) {
    return absl::InvalidArgumentError("max_allocation_units: must be positive");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Engine>> NewLiquidEngine(const LiquidEngineOptions& options) {
  COSMO_RETURN_IF_ERROR(options.Validate());
  return std::make_unique<liquid::LiquidOnJavaScriptEngine>(options);
}

}  // namespace cosmo
