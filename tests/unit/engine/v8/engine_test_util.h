// Shared helpers for the V8 engine's tests: one engine per process (building the startup
// snapshot is the slow part), manifests from source text, and request shorthands.
#ifndef COSMO_TESTS_UNIT_ENGINE_V8_ENGINE_TEST_UTIL_H_
#define COSMO_TESTS_UNIT_ENGINE_V8_ENGINE_TEST_UTIL_H_

#include <atomic>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
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

// A whole file's bytes, or "" when it cannot be read.
inline std::string ReadTestFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Runs one group of a JavaScript test file under tests/testdata/js (one built on test_groups.js)
// by sending `request` with `?group=GROUP` appended to its URL, and expects every test of the
// group to pass. Returns the request's result for further checks.
inline InvokeResult RunJsTestGroup(const std::string& file, const std::string& group,
                                   HttpRequest request = Get("http://example.com/t")) {
  const std::string dir = COSMO_SOURCE_DIR "/tests/testdata/js/";
  const std::string source = ReadTestFile(dir + file);
  const std::string harness = ReadTestFile(dir + "test_groups.js");
  EXPECT_FALSE(source.empty() || harness.empty()) << "cannot read " << dir << file;
  Manifest manifest = JsManifest(source);
  manifest.files["test_groups.js"] = harness;
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
