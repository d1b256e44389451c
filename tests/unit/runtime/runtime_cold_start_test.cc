// The cold path through the real JavaScript engine: a family unloaded after idling comes back
// from what the runtime and the engine kept: its module loads from the code cache, nothing is
// compiled again.
#include <memory>
#include <utility>
#include <vector>

#include "cosmo/javascript_engine.h"
#include "cosmo/runtime.h"
#include "cosmo/store.h"
#include "gtest/gtest.h"
#include "support/instances.h"

namespace cosmo {
namespace {

TEST(RuntimeColdStartTest, AnActivationAfterAnIdleUnloadCompilesNothing) {
  JavaScriptEngineOptions js_options;
  js_options.spare_isolates = 1;
  auto js = NewJavaScriptEngine(js_options);
  ASSERT_TRUE(js.ok()) << js.status();
  JavaScriptEngine* engine = js->get();
  std::vector<std::unique_ptr<Engine>> engines;
  engines.push_back(*std::move(js));
  ManualClock clock;
  RuntimeOptions options;
  options.clock = &clock;
  options.background_maintenance = false;
  auto runtime = NewRuntime(options, NewInMemoryStore(), std::move(engines));
  ASSERT_TRUE(runtime.ok()) << runtime.status();
  Manifest manifest;
  manifest.engine = "javascript";
  manifest.main = "index.js";
  manifest.files["index.js"] = "export default { fetch() { return new Response('cold'); } };";
  ASSERT_TRUE(
      (*runtime)->registry().Deploy({.tenant = "t", .family = "cold", .manifest = manifest}).ok());
  const HttpRequest request{.method = "GET", .url = "http://localhost/cold/"};
  ASSERT_EQ((*runtime)->Invoke("cold", request).response.body, "cold");
  const JavaScriptEngineStats warm = engine->Stats();

  clock.Advance(absl::Minutes(2));
  (*runtime)->Maintain();
  ASSERT_EQ((*runtime)->Stats().idle_unloads, 1u);
  ASSERT_EQ((*runtime)->Stats().live_instances, 0u);
  InvokeResult cold = (*runtime)->Invoke("cold", request);
  ASSERT_EQ(cold.outcome, Outcome::kOk) << cold.error;
  EXPECT_EQ(cold.response.body, "cold");
  const JavaScriptEngineStats after = engine->Stats();
  EXPECT_EQ(after.modules_compiled, warm.modules_compiled);
  EXPECT_EQ(after.code_cache_hits, warm.code_cache_hits + 1);
  EXPECT_EQ(after.code_cache_rejected, 0u);
  EXPECT_EQ((*runtime)->Stats().activations, 2u);
}

}  // namespace
}  // namespace cosmo
