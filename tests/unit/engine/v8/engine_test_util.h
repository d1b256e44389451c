// Shared helpers for the V8 engine's tests: one engine per process (building the startup
// snapshot is the slow part), manifests from source text, and request shorthands.
#ifndef COSMO_TESTS_UNIT_ENGINE_V8_ENGINE_TEST_UTIL_H_
#define COSMO_TESTS_UNIT_ENGINE_V8_ENGINE_TEST_UTIL_H_

#include <atomic>
#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "cosmo/javascript_engine.h"
#include "engine/v8/v8_javascript_engine.h"
#include "gtest/gtest.h"

namespace cosmo::v8engine::testing {

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

inline Manifest JsManifest(std::string source, std::map<std::string, std::string> env = {}) {
  Manifest m;
  m.engine = "javascript";
  m.main = "index.js";
  m.files["index.js"] = std::move(source);
  m.env = std::move(env);
  return m;
}

// A version name nobody else in the process uses, so code caches never collide across tests.
inline std::string UniqueVersion() {
  static std::atomic<int> counter{0};
  return absl::StrCat("test-version-", counter.fetch_add(1));
}

inline absl::StatusOr<std::unique_ptr<Instance>> Start(JavaScriptEngine& engine,
                                                       const Manifest& manifest,
                                                       const ScriptLimits& limits = {}) {
  auto program = engine.Prepare(UniqueVersion(), manifest);
  if (!program.ok()) return program.status();
  return (*program)->Instantiate(limits);
}

inline HttpRequest Get(std::string url = "http://example.com/fam/path?q=1") {
  HttpRequest request;
  request.method = "GET";
  request.url = std::move(url);
  return request;
}

inline std::string HeaderOf(const HttpResponse& response, const std::string& name) {
  for (const auto& [k, v] : response.headers) {
    if (k == name) return v;
  }
  return "";
}

}  // namespace cosmo::v8engine::testing

#endif  // COSMO_TESTS_UNIT_ENGINE_V8_ENGINE_TEST_UTIL_H_
