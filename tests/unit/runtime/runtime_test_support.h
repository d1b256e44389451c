// Shared set-up of the runtime tests: a Runtime over a given store with the scripted engine.
#ifndef COSMO_TESTS_UNIT_RUNTIME_RUNTIME_TEST_SUPPORT_H_
#define COSMO_TESTS_UNIT_RUNTIME_RUNTIME_TEST_SUPPORT_H_

#include <memory>
#include <string>
#include <vector>

#include "cosmo/clock.h"
#include "cosmo/runtime.h"
#include "cosmo/store.h"
#include "gtest/gtest.h"
#include "support/scripted_engine.h"

namespace cosmo::testing {

// A Runtime with one ScriptedEngine; `engine` stays valid while the runtime lives.
struct ScriptedRuntime {
  ScriptedEngine* engine = nullptr;
  std::unique_ptr<Runtime> runtime;

  static ScriptedRuntime Create(RuntimeOptions options, std::unique_ptr<Store> store) {
    ScriptedRuntime out;
    auto engine = std::make_unique<ScriptedEngine>();
    out.engine = engine.get();
    std::vector<std::unique_ptr<Engine>> engines;
    engines.push_back(std::move(engine));
    auto runtime = NewRuntime(std::move(options), std::move(store), std::move(engines));
    EXPECT_TRUE(runtime.ok()) << runtime.status();
    if (runtime.ok()) out.runtime = std::move(runtime).value();
    return out;
  }

  std::string Deploy(const std::string& family, const std::string& source) {
    auto result = runtime->registry().Deploy(
        {.tenant = "local", .family = family, .manifest = ScriptManifest(source)});
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? result->version : "";
  }
};

// A Runtime with the built-in engines (the real JavaScript engine) over an in-memory store, on
// `clock`, with Maintain() left to the test; `options` give the rest. Null (and a test failure)
// if it cannot start.
inline std::unique_ptr<Runtime> NewRuntimeOnManualClock(ManualClock* clock,
                                                        RuntimeOptions options = {}) {
  options.clock = clock;
  options.background_maintenance = false;
  auto runtime = NewRuntime(options, NewInMemoryStore());
  EXPECT_TRUE(runtime.ok()) << runtime.status();
  return runtime.ok() ? std::move(runtime).value() : nullptr;
}

inline HttpRequest Get(const std::string& family) {
  return HttpRequest{.method = "GET", .url = "http://localhost/" + family + "/"};
}

}  // namespace cosmo::testing

#endif  // COSMO_TESTS_UNIT_RUNTIME_RUNTIME_TEST_SUPPORT_H_
