// Deploy-time validation, multi-file modules and the code cache of the JavaScript engine.
#include "engine/v8/v8_javascript_engine.h"

#include <algorithm>
#include <memory>
#include <string>
#include <thread>

#include "engine/v8/js/runtime_source.h"
#include "engine_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cosmo::v8engine {
namespace {

using ::cosmo::v8engine::testing::Get;
using ::cosmo::v8engine::testing::JsManifest;
using ::cosmo::v8engine::testing::MustStart;
using ::cosmo::v8engine::testing::SharedEngine;
using ::cosmo::v8engine::testing::UniqueVersion;
using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(V8JavaScriptEngineTest, NameIsJavascript) { EXPECT_EQ(SharedEngine().name(), "javascript"); }

TEST(V8JavaScriptEngineTest, ValidHandlerPassesValidation) {
  EXPECT_TRUE(
      SharedEngine().Validate(JsManifest("export default { fetch() { return 'ok'; } };")).ok());
}

TEST(V8JavaScriptEngineTest, SyntaxErrorIsRejectedWithFileLineAndColumn) {
  absl::Status status =
      SharedEngine().Validate(JsManifest("export default {\n"
                                         "  fetch() {\n"
                                         "    return 'x' +;\n"
                                         "  }\n"
                                         "};\n"));
  EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
  EXPECT_EQ(std::string(status.message()), "index.js:3:17: SyntaxError: Unexpected token ';'");
}

TEST(V8JavaScriptEngineTest, TopLevelExceptionIsRejectedWithItsLocation) {
  absl::Status status =
      SharedEngine().Validate(JsManifest("const x = 1;\n"
                                         "undefinedFunction();\n"
                                         "export default { fetch() {} };\n"));
  EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
  EXPECT_EQ(std::string(status.message()),
            "index.js:2:1: ReferenceError: undefinedFunction is not defined");
}

TEST(V8JavaScriptEngineTest, MissingDefaultExportIsRejected) {
  absl::Status status = SharedEngine().Validate(JsManifest("export const fetch = () => 'x';"));
  EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr("no default export"));
}

TEST(V8JavaScriptEngineTest, DefaultExportWithoutFetchIsRejected) {
  absl::Status status = SharedEngine().Validate(JsManifest("export default { get() {} };"));
  EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr("no fetch() method"));
}

TEST(V8JavaScriptEngineTest, WrongEngineOrMissingMainIsRejected) {
  Manifest wrong_engine = JsManifest("export default { fetch() {} };");
  wrong_engine.engine = "liquid";
  EXPECT_TRUE(absl::IsInvalidArgument(SharedEngine().Validate(wrong_engine)));
  Manifest missing_main = JsManifest("export default { fetch() {} };");
  missing_main.main = "other.js";
  absl::Status status = SharedEngine().Validate(missing_main);
  EXPECT_TRUE(absl::IsInvalidArgument(status));
  EXPECT_THAT(std::string(status.message()), StartsWith("main:"));
}

TEST(V8JavaScriptEngineTest, RelativeImportsOfDeployedFilesWork) {
  Manifest manifest = JsManifest(
      "import { greet } from './lib/greet.js';\n"
      "export default { fetch() { return greet('ada'); } };\n");
  manifest.files["lib/greet.js"] =
      "import { suffix } from '../util.js';\n"
      "export const greet = (n) => `hello ${n}${suffix}`;\n";
  manifest.files["util.js"] = "export const suffix = '!';\n";
  ASSERT_TRUE(SharedEngine().Validate(manifest).ok());
  auto program = SharedEngine().Prepare(UniqueVersion(), manifest);
  ASSERT_TRUE(program.ok()) << program.status();
  auto instance = (*program)->Instantiate(ScriptLimits());
  ASSERT_TRUE(instance.ok()) << instance.status();
  InvokeResult result = (*instance)->Invoke(Get());
  ASSERT_EQ(result.outcome, Outcome::kOk) << result.error;
  EXPECT_EQ(result.response.body, "hello ada!");
}

TEST(V8JavaScriptEngineTest, UnresolvableImportsAreRejected) {
  absl::Status missing =
      SharedEngine().Validate(JsManifest("import './nope.js';\nexport default { fetch() {} };"));
  EXPECT_TRUE(absl::IsInvalidArgument(missing)) << missing;
  EXPECT_THAT(std::string(missing.message()), HasSubstr("cannot find module 'nope.js'"));
  absl::Status bare = SharedEngine().Validate(
      JsManifest("import x from 'lodash';\nexport default { fetch() {} };"));
  EXPECT_TRUE(absl::IsInvalidArgument(bare)) << bare;
  EXPECT_THAT(std::string(bare.message()), HasSubstr("only relative imports"));
  absl::Status escape = SharedEngine().Validate(
      JsManifest("import '../../etc/passwd';\nexport default { fetch() {} };"));
  EXPECT_TRUE(absl::IsInvalidArgument(escape)) << escape;
}

TEST(V8JavaScriptEngineTest, SyntaxErrorInAnImportedFileNamesThatFile) {
  Manifest manifest = JsManifest("import './b.js';\nexport default { fetch() {} };");
  manifest.files["b.js"] = "\n\nlet = = 1;\n";
  absl::Status status = SharedEngine().Validate(manifest);
  EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
  EXPECT_THAT(std::string(status.message()), StartsWith("b.js:3:"));
}

TEST(V8JavaScriptEngineTest, SecondActivationOfAVersionDoesNotCompileAgain) {
  const std::string version = UniqueVersion();
  Manifest manifest = JsManifest(
      "import { n } from './two.js';\n"
      "export default { fetch() { return String(n); } };\n");
  manifest.files["two.js"] = "export const n = 2;\n";

  JavaScriptEngineStats before = SharedEngine().Stats();
  auto program = SharedEngine().Prepare(version, manifest);
  ASSERT_TRUE(program.ok()) << program.status();
  auto first = (*program)->Instantiate(ScriptLimits());
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ((*first)->Invoke(Get()).response.body, "2");
  JavaScriptEngineStats after_first = SharedEngine().Stats();
  EXPECT_EQ(after_first.modules_compiled - before.modules_compiled, 2u);
  EXPECT_EQ(after_first.code_cache_hits - before.code_cache_hits, 0u);

  // Another instance of the same Program, and a fresh Program of the same version (as after the
  // activation was unloaded): both load from the cache.
  auto second = (*program)->Instantiate(ScriptLimits());
  ASSERT_TRUE(second.ok()) << second.status();
  auto again = SharedEngine().Prepare(version, manifest);
  ASSERT_TRUE(again.ok()) << again.status();
  auto third = (*again)->Instantiate(ScriptLimits());
  ASSERT_TRUE(third.ok()) << third.status();
  EXPECT_EQ((*second)->Invoke(Get()).response.body, "2");
  EXPECT_EQ((*third)->Invoke(Get()).response.body, "2");
  JavaScriptEngineStats after = SharedEngine().Stats();
  EXPECT_EQ(after.modules_compiled - after_first.modules_compiled, 0u);
  EXPECT_EQ(after.code_cache_hits - after_first.code_cache_hits, 4u);
  EXPECT_EQ(after.code_cache_rejected, before.code_cache_rejected);
}

TEST(V8JavaScriptEngineTest, InstancesOfOneProgramAreIsolated) {
  auto program = SharedEngine().Prepare(
      UniqueVersion(),
      JsManifest("let n = 0; export default { fetch() { return String(++n); } };"));
  ASSERT_TRUE(program.ok());
  auto a = (*program)->Instantiate(ScriptLimits());
  auto b = (*program)->Instantiate(ScriptLimits());
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ((*a)->Invoke(Get()).response.body, "1");
  EXPECT_EQ((*a)->Invoke(Get()).response.body, "2");
  EXPECT_EQ((*b)->Invoke(Get()).response.body, "1");
}

TEST(V8JavaScriptEngineTest, GlobalsOfTheRuntimeExistAndNativesAreHidden) {
  auto program = SharedEngine().Prepare(UniqueVersion(), JsManifest(R"(
      export default { fetch() {
        return [typeof Response, typeof Request, typeof Headers, typeof console,
                typeof globalThis.__cosmo_native, typeof globalThis.__cosmo_dispatch,
                typeof Object.hasOwn, typeof [].at, typeof WebAssembly].join(); } };)"));
  ASSERT_TRUE(program.ok());
  auto instance = (*program)->Instantiate(ScriptLimits());
  ASSERT_TRUE(instance.ok()) << instance.status();
  InvokeResult result = (*instance)->Invoke(Get());
  ASSERT_EQ(result.outcome, Outcome::kOk) << result.error;
  // The snapshot carries the runtime; V8's post-snapshot builtins are the real ones.
  EXPECT_EQ(result.response.body,
            "function,function,function,object,undefined,undefined,function,function,object");
}

TEST(V8JavaScriptEngineTest, ActivationsWorkWithAndWithoutSpareIsolates) {
  for (size_t spares : {0, 2}) {
    JavaScriptEngineOptions options;
    options.spare_isolates = spares;
    auto engine = testing::MakeTestEngine(options);
    ASSERT_TRUE(engine.ok()) << engine.status();
    auto program = (*engine)->Prepare(
        UniqueVersion(), JsManifest("export default { fetch() { return 'pooled'; } };"));
    ASSERT_TRUE(program.ok());
    // Alternating heap sizes make the pool drop and rebuild its spares.
    for (size_t memory_mb : {128, 64, 64, 128, 128}) {
      ScriptLimits limits;
      limits.memory_bytes = memory_mb << 20;
      auto instance = (*program)->Instantiate(limits);
      ASSERT_TRUE(instance.ok()) << instance.status();
      EXPECT_EQ((*instance)->Invoke(Get()).response.body, "pooled") << spares << " " << memory_mb;
    }
  }
}

TEST(V8JavaScriptEngineTest, RunawayInstanceDoesNotStallAnotherRunningInParallel) {
  auto program = SharedEngine().Prepare(UniqueVersion(), JsManifest(R"(
      export default { fetch(request) {
        if (request.method === 'POST') for (;;) {}
        return 'quick'; } };)"));
  ASSERT_TRUE(program.ok());
  ScriptLimits limits;
  limits.cpu_per_request = absl::Milliseconds(300);
  auto runaway = (*program)->Instantiate(limits);
  auto healthy = (*program)->Instantiate(limits);
  ASSERT_TRUE(runaway.ok() && healthy.ok());
  HttpRequest post = Get();
  post.method = "POST";
  InvokeResult runaway_result;
  std::thread thread([&] { runaway_result = (*runaway)->Invoke(post); });
  int served = 0;
  for (int i = 0; i < 50; ++i) {
    InvokeResult result = (*healthy)->Invoke(Get());
    if (result.outcome == Outcome::kOk && result.response.body == "quick") ++served;
  }
  thread.join();
  EXPECT_EQ(served, 50);
  EXPECT_EQ(runaway_result.outcome, Outcome::kExceededCpu);
  EXPECT_FALSE((*runaway)->Reusable());
  EXPECT_TRUE((*healthy)->Reusable());
}

// Every isolate shares the runtime's text outside its heap only if the bundle is ASCII
// (docs/performance.md, "Per-isolate heap of the runtime").
TEST(V8JavaScriptEngineTest, RuntimeBundleIsAscii) {
  const std::string_view source = RuntimeSource();
  const size_t offset = std::find_if(source.begin(), source.end(),
                                     [](char c) { return static_cast<unsigned char>(c) >= 0x80; }) -
                        source.begin();
  EXPECT_EQ(offset, source.size())
      << "non-ASCII text: " << source.substr(offset < 40 ? 0 : offset - 40, 80);
}

// A fresh isolate's heap after its first request is held to 110 % of the 2.325 MB it was before
// the web platform (docs/performance.md); it is 1.54 MB, so this fails only when something puts
// several hundred KB back on every isolate's heap (a two-byte or copied runtime source, a table
// built at startup).
TEST(V8JavaScriptEngineTest, FreshIsolateHeapStaysWithinTheRuntimeBudget) {
  std::unique_ptr<Instance> instance = MustStart(R"(
      export default { fetch(request) {
        return new Response(new URL(request.url).pathname); } };)");
  ASSERT_NE(instance, nullptr);
  InvokeResult result = instance->Invoke(Get());
  ASSERT_EQ(result.outcome, Outcome::kOk) << result.error;
  EXPECT_EQ(result.response.body, "/fam/path");
  EXPECT_LT(instance->MemoryBytes(), 2'557'500u);
}

// While memory is short (Engine::SetMemoryShort), an isolate built on demand (no spare ready)
// starts without the dead maps and objects it brings from the snapshot, as a spare does: its
// MemoryBytes() after a first request is ~0.3 MB lower than one built while memory is not short.
TEST(V8JavaScriptEngineTest, AnIsolateBuiltWhileMemoryIsShortStartsWithoutTheSnapshotsGarbage) {
  JavaScriptEngineOptions options;
  options.spare_isolates = 0;  // every instance is built on demand
  auto engine = testing::MakeTestEngine(options);
  ASSERT_TRUE(engine.ok()) << engine.status();
  const Manifest hello = JsManifest("export default { fetch() { return new Response('hi'); } };");
  auto served_memory = [&](bool short_of_memory) -> size_t {
    (*engine)->SetMemoryShort(short_of_memory);
    auto instance = testing::Start(**engine, hello);
    EXPECT_TRUE(instance.ok()) << instance.status();
    if (!instance.ok()) return 0;
    InvokeResult result = (*instance)->Invoke(Get());
    EXPECT_EQ(result.outcome, Outcome::kOk) << result.error;
    EXPECT_EQ(result.response.body, "hi");
    return (*instance)->MemoryBytes();
  };
  served_memory(false);  // compiles the module and writes its code cache
  const size_t as_built = served_memory(false);
  const size_t collected = served_memory(true);
  EXPECT_LT(collected + 128'000, as_built)
      << "as built " << as_built << ", collected " << collected;
  EXPECT_GT(collected, 500'000u) << "a context from the snapshot was there all the same";
}

// Extra runtime scripts run after the runtime as scripts of their own; one with non-ASCII text
// is copied onto the heap instead of being shared, and still sees the runtime's globals.
TEST(V8JavaScriptEngineTest, ExtraRuntimeScriptsRunAfterTheRuntime) {
  JavaScriptEngineOptions options;
  options.extra_runtime_scripts = {"globalThis.extraAscii = typeof Response;",
                                   "globalThis.extraText = 'grüß ' + extraAscii + ' "
                                   "' + new URL('http://bücher.example/').host;"};
  auto engine = testing::MakeTestEngine(options);
  ASSERT_TRUE(engine.ok()) << engine.status();
  auto instance = testing::Start(
      **engine, JsManifest("export default { fetch() { return globalThis.extraText; } };"));
  ASSERT_TRUE(instance.ok()) << instance.status();
  InvokeResult result = (*instance)->Invoke(Get());
  ASSERT_EQ(result.outcome, Outcome::kOk) << result.error;
  EXPECT_EQ(result.response.body, "grüß function xn--bcher-kva.example");
}

TEST(V8JavaScriptEngineTest, BadOptionsAreRejectedNamingTheField) {
  JavaScriptEngineOptions options;
  options.watchdog_interval = absl::ZeroDuration();
  auto engine = NewJavaScriptEngine(options);
  EXPECT_TRUE(absl::IsInvalidArgument(engine.status()));
  EXPECT_THAT(std::string(engine.status().message()), StartsWith("watchdog_interval"));
}

TEST(V8JavaScriptEngineTest, BrokenRuntimeIsAnInternalError) {
  auto engine = NewJavaScriptEngineWithRuntime({}, "throw new Error('runtime bug');");
  EXPECT_TRUE(absl::IsInternal(engine.status())) << engine.status();
  EXPECT_THAT(std::string(engine.status().message()), HasSubstr("runtime bug"));
}

}  // namespace
}  // namespace cosmo::v8engine
