// Shared helpers for the Liquid engine's tests: one engine per process (its snapshot is the slow
// part), manifests from template text, request shorthands. What any engine's tests share is in
// support/instances.h.
#ifndef COSMO_TESTS_UNIT_ENGINE_LIQUID_LIQUID_TEST_UTIL_H_
#define COSMO_TESTS_UNIT_ENGINE_LIQUID_LIQUID_TEST_UTIL_H_

#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "cosmo/liquid_engine.h"
#include "gtest/gtest.h"
#include "support/instances.h"

namespace cosmo::liquid::testing {

using ::cosmo::testing::HeaderOf;

inline std::unique_ptr<Engine> MakeEngine(const LiquidEngineOptions& options = {}) {
  auto engine = NewLiquidEngine(options);
  if (!engine.ok()) {
    ADD_FAILURE() << engine.status();
    std::abort();
  }
  return std::move(*engine);
}

// A process-wide engine with default options, destroyed at exit.
inline Engine& SharedEngine() {
  static std::unique_ptr<Engine> engine = MakeEngine();
  return *engine;
}

// Limits for tests of what a page renders, not how fast: a 10 s CPU limit. A page's first render
// in an isolate compiles LiquidJS's code, which under the sanitizers can take more than the
// default 50 ms (the limit has tests of its own, in liquid_engine_test).
inline ScriptLimits RenderingNotSpeed() {
  ScriptLimits limits;
  limits.cpu_per_request = absl::Seconds(10);
  return limits;
}

inline Manifest Page(std::string source, std::map<std::string, std::string> env = {},
                     std::map<std::string, std::string> partials = {}) {
  Manifest m;
  m.engine = "liquid";
  m.main = "page.liquid";
  m.files = std::move(partials);
  m.files["page.liquid"] = std::move(source);
  m.env = std::move(env);
  return m;
}

inline absl::StatusOr<std::unique_ptr<Instance>> Start(Engine& engine, const Manifest& manifest,
                                                       const ScriptLimits& limits = {}) {
  return ::cosmo::testing::StartInstance(engine, manifest, limits);
}

inline HttpRequest Get(std::string url = "http://example.com/shop/a/b?q=1") {
  return ::cosmo::testing::GetRequest(std::move(url));
}

// Renders `source` once on the shared engine.
inline InvokeResult Render(const std::string& source, const HttpRequest& request = Get(),
                           std::map<std::string, std::string> env = {}) {
  auto instance = Start(SharedEngine(), Page(source, std::move(env)));
  if (!instance.ok()) {
    InvokeResult failed;
    failed.error = std::string(instance.status().message());
    return failed;
  }
  return (*instance)->Invoke(request);
}

}  // namespace cosmo::liquid::testing

#endif  // COSMO_TESTS_UNIT_ENGINE_LIQUID_LIQUID_TEST_UTIL_H_
