// The Engine implementation behind NewJavaScriptEngine().
//
// Owns a shared EngineCore (startup snapshot, watchdog, code caches); Programs and Instances
// share it. Thread-safe.
#ifndef COSMO_ENGINE_V8_V8_JAVASCRIPT_ENGINE_H_
#define COSMO_ENGINE_V8_V8_JAVASCRIPT_ENGINE_H_

#include <memory>
#include <string>
#include <string_view>

#include "absl/strings/string_view.h"
#include "cosmo/javascript_engine.h"
namespace cosmo::v8engine {
class EngineCore;
}  // namespace cosmo::v8engine

namespace cosmo::v8engine {

class V8JavaScriptEngine final : public JavaScriptEngine {
 public:
  explicit V8JavaScriptEngine(std::shared_ptr<EngineCore> core) : core_(std::move(core)) {}

  absl::string_view name() const override { return "javascript"; }
  absl::Status Validate(const Manifest& manifest) override;
  absl::StatusOr<std::shared_ptr<Program>> Prepare(const std::string& version,
                                                   const Manifest& manifest) override;
  JavaScriptEngineStats Stats() const override;
  void SetMemoryShort(bool short_of_memory) override;
  // Unmaps the process's pooled heap pages (V8Platform::Pages()), Liquid's isolates' included.
  void ReleaseIdleMemory() override;

 private:
  const std::shared_ptr<EngineCore> core_;
};

// NewJavaScriptEngine() with an explicit web-API runtime script instead of the built-in one (for
// tests of how the engine treats a runtime, e.g. one that throws while it initialises).
absl::StatusOr<std::unique_ptr<JavaScriptEngine>> NewJavaScriptEngineWithRuntime(
    const JavaScriptEngineOptions& options, std::string_view runtime_source);

}  // namespace cosmo::v8engine

#endif  // COSMO_ENGINE_V8_V8_JAVASCRIPT_ENGINE_H_
