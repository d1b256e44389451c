#include "engine/v8/v8_javascript_engine.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "cosmo/status_macros.h"
#include "engine/v8/engine_core.h"
#include "engine/v8/fetch/destination_policy.h"
#include "engine/v8/fetch/trust_store.h"
#include "engine/v8/js/runtime_source.h"
#include "engine/v8/js_program.h"
#include "engine/v8/recycling_page_allocator.h"
#include "engine/v8/snapshot_builder.h"
#include "engine/v8/snapshot_sources.h"
#include "engine/v8/v8_platform.h"

namespace cosmo {
namespace v8engine {
namespace {

absl::Status CheckManifest(const Manifest& manifest) {
  if (manifest.engine != "javascript") {
    return absl::InvalidArgumentError(
        absl::StrCat("engine: '", manifest.engine, "' is not \"javascript\""));
  }
  if (manifest.files.count(manifest.main) == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("main: '", manifest.main, "' is not among the files"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status V8JavaScriptEngine::Validate(const Manifest& manifest) {
  COSMO_RETURN_IF_ERROR(CheckManifest(manifest));
  // A startup probe in a fresh isolate: compile, link and run the top level under the default
  // startup CPU limit, then look for the handler. Nothing is cached: the version is not known
  // (and may never be deployed).
  auto program =
      std::make_shared<JsProgram>(core_, "validation", manifest, std::make_shared<CodeCache>());
  absl::StatusOr<std::unique_ptr<Instance>> instance = program->Instantiate(ScriptLimits());
  if (instance.ok()) return absl::OkStatus();
  if (absl::IsFailedPrecondition(instance.status()) ||
      absl::IsResourceExhausted(instance.status())) {
    return absl::InvalidArgumentError(instance.status().message());
  }
  return instance.status();
}

absl::StatusOr<std::shared_ptr<Program>> V8JavaScriptEngine::Prepare(const std::string& version,
                                                                     const Manifest& manifest) {
  COSMO_RETURN_IF_ERROR(CheckManifest(manifest));
  return std::make_shared<JsProgram>(core_, version, manifest, core_->CodeCacheFor(version));
}

void V8JavaScriptEngine::SetMemoryShort(bool short_of_memory) {
  core_->memory_short.store(short_of_memory, std::memory_order_relaxed);
}

void V8JavaScriptEngine::ReleaseIdleMemory() {
  (void)V8Platform::Pages().Trim(absl::InfiniteFuture());
}

JavaScriptEngineStats V8JavaScriptEngine::Stats() const {
  JavaScriptEngineStats stats;
  stats.modules_compiled = core_->modules_compiled.load();
  stats.code_cache_hits = core_->code_cache_hits.load();
  stats.code_cache_rejected = core_->code_cache_rejected.load();
  stats.isolates_created = core_->isolates_created.load();
  stats.spares_warmed = core_->spares_warmed.load();
  return stats;
}

absl::StatusOr<std::unique_ptr<JavaScriptEngine>> NewJavaScriptEngineWithRuntime(
    const JavaScriptEngineOptions& options, std::string_view runtime_source) {
  if (options.watchdog_interval <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("watchdog_interval: must be positive");
  }
  if (options.max_cached_versions == 0) {
    return absl::InvalidArgumentError("max_cached_versions: must be at least 1");
  }
  COSMO_RETURN_IF_ERROR(DestinationPolicy::Create(options.fetch_allow).status());
  if (options.fetch_max_response_bytes == 0) {
    return absl::InvalidArgumentError("fetch_max_response_bytes: must be at least 1");
  }
  if (options.fetch_connect_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("fetch_connect_timeout: must be positive");
  }
  // Extra scripts run after the runtime, in the same context, each as its own script.
  std::vector<std::string> scripts{std::string(runtime_source)};
  scripts.insert(scripts.end(), options.extra_runtime_scripts.begin(),
                 options.extra_runtime_scripts.end());
  auto sources = std::make_unique<const SnapshotSources>(std::move(scripts));
  COSMO_ASSIGN_OR_RETURN(std::shared_ptr<const TrustStore> trust_store,
                         TrustStore::Load(options.fetch_ca_file));
  COSMO_ASSIGN_OR_RETURN(std::string snapshot, SnapshotBuilder::Build(*sources));
  return std::make_unique<V8JavaScriptEngine>(std::make_shared<EngineCore>(
      options, std::move(sources), std::move(snapshot), std::move(trust_store)));
}

}  // namespace v8engine

absl::StatusOr<std::unique_ptr<JavaScriptEngine>> NewJavaScriptEngine(
    const JavaScriptEngineOptions& options) {
  return v8engine::NewJavaScriptEngineWithRuntime(options, v8engine::RuntimeSource());
}

}  // namespace cosmo
