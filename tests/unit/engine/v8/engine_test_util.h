// Shared helpers for the V8 engine's tests: one engine per process (building the startup
// snapshot is the slow part), manifests from source text, request shorthands and threads with a
// given stack. What any
// engine's tests share is in support/instances.h.
#ifndef COSMO_TESTS_UNIT_ENGINE_V8_ENGINE_TEST_UTIL_H_
#define COSMO_TESTS_UNIT_ENGINE_V8_ENGINE_TEST_UTIL_H_

#include <pthread.h>

#include <cstdint>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cosmo/javascript_engine.h"
#include "engine/v8/v8_javascript_engine.h"
#include "gtest/gtest.h"
#include "support/files.h"
#include "support/instances.h"

namespace cosmo::v8engine::testing {

using ::cosmo::testing::HeaderOf;
using ::cosmo::testing::UniqueVersion;

// The product's engine (snapshot of the real web-API runtime).
inline absl::StatusOr<std::unique_ptr<JavaScriptEngine>> MakeTestEngine(
    const JavaScriptEngineOptions& options = {}) {
  return NewJavaScriptEngine(options);
}

// A process-wide engine with default options, destroyed at exit (so leak checkers see its
// isolates given back).
inline JavaScriptEngine& SharedEngine() {
  static std::unique_ptr<JavaScriptEngine> engine = [] {
    auto e = MakeTestEngine();
    if (!e.ok()) {
      ADD_FAILURE() << e.status();
      std::abort();
    }
    return std::move(*e);
  }();
  return *engine;
}

// Waits (up to a minute) until `engine`'s refill thread has warmed `count` spares in all, and
// returns how many it has: `count` unless a warm-up failed or the machine is very slow.
inline uint64_t WaitForSparesWarmed(const JavaScriptEngine& engine, uint64_t count) {
  const absl::Time give_up = absl::Now() + absl::Seconds(60);
  while (engine.Stats().spares_warmed < count && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  return engine.Stats().spares_warmed;
}

inline Manifest JsManifest(std::string source, std::map<std::string, std::string> env = {}) {
  Manifest m;
  m.engine = "javascript";
  m.main = "index.js";
  m.files["index.js"] = std::move(source);
  m.env = std::move(env);
  return m;
}

inline absl::StatusOr<std::unique_ptr<Instance>> Start(JavaScriptEngine& engine,
                                                       const Manifest& manifest,
                                                       const ScriptLimits& limits = {}) {
  return ::cosmo::testing::StartInstance(engine, manifest, limits);
}

// `source` started on the shared engine; nullptr, and a test failure, when it does not start.
inline std::unique_ptr<Instance> MustStart(const std::string& source,
                                           const ScriptLimits& limits = {},
                                           std::map<std::string, std::string> env = {}) {
  auto instance = Start(SharedEngine(), JsManifest(source, std::move(env)), limits);
  EXPECT_TRUE(instance.ok()) << instance.status();
  return instance.ok() ? std::move(*instance) : nullptr;
}

inline HttpRequest Get(std::string url = "http://example.com/fam/path?q=1") {
  return ::cosmo::testing::GetRequest(std::move(url));
}

// Runs `body` on a new thread with a stack of `stack_bytes`, and waits for it.
inline void OnThreadWithStack(size_t stack_bytes, const std::function<void()>& body) {
  pthread_attr_t attr;
  ASSERT_EQ(pthread_attr_init(&attr), 0);
  ASSERT_EQ(pthread_attr_setstacksize(&attr, stack_bytes), 0);
  auto trampoline = [](void* arg) -> void* {
    (*static_cast<const std::function<void()>*>(arg))();
    return nullptr;
  };
  pthread_t thread;
  ASSERT_EQ(pthread_create(&thread, &attr, trampoline, const_cast<std::function<void()>*>(&body)),
            0);
  pthread_attr_destroy(&attr);
  ASSERT_EQ(pthread_join(thread, nullptr), 0);
}

// Runs one group of a JavaScript test file under tests/testdata/js (one built on test_groups.js)
// by sending `request` with `?group=GROUP` appended to its URL, and expects every test of the
// group to pass. Returns the request's result for further checks.
inline InvokeResult RunJsTestGroup(const std::string& file, const std::string& group,
                                   HttpRequest request = Get("http://example.com/t")) {
  const std::string dir = COSMO_SOURCE_DIR "/tests/testdata/js/";
  const absl::StatusOr<std::string> source = ::cosmo::testing::ReadFile(dir + file);
  const absl::StatusOr<std::string> harness = ::cosmo::testing::ReadFile(dir + "test_groups.js");
  EXPECT_TRUE(source.ok() && harness.ok()) << "cannot read " << dir << file;
  if (!source.ok() || !harness.ok()) return {};
  Manifest manifest = JsManifest(*source);
  manifest.files["test_groups.js"] = *harness;
  ScriptLimits limits;
  limits.cpu_per_request = absl::Seconds(10);  // whole groups run in one request
  auto instance = Start(SharedEngine(), manifest, limits);
  EXPECT_TRUE(instance.ok()) << instance.status();
  if (!instance.ok()) return {};
  absl::StrAppend(&request.url, "?group=", group);
  InvokeResult result = (*instance)->Invoke(request);
  EXPECT_EQ(result.outcome, Outcome::kOk) << result.error;
  EXPECT_EQ(result.response.status, 200) << result.response.body;
  int passed = 0;
  std::vector<std::string> failures;
  for (absl::string_view line : absl::StrSplit(result.response.body, '\n')) {
    if (absl::StartsWith(line, "ok ")) {
      ++passed;
    } else if (absl::StartsWith(line, "FAIL ")) {
      failures.emplace_back(line);
    } else if (!failures.empty()) {
      absl::StrAppend(&failures.back(), "\n", line);  // a stack trace line
    }
  }
  EXPECT_GT(passed, 0) << result.response.body;
  EXPECT_TRUE(failures.empty()) << group << ": " << passed << " passed, " << failures.size()
                                << " failed:\n"
                                << absl::StrJoin(failures, "\n");
  return result;
}

}  // namespace cosmo::v8engine::testing

#endif  // COSMO_TESTS_UNIT_ENGINE_V8_ENGINE_TEST_UTIL_H_
