// The web-platform-tests, run inside the engine: one ctest per area (streams, encoding, fetch/api,
// ...), each running every upstream test file of its folders in a fresh instance and comparing
// every subtest's result with tests/wpt/expectations.json.
//
// A test file runs as WPT runs a `.any.js` file in a dedicated worker: testharness.js, the
// `// META: script=` helpers, then the file itself, as classic scripts on the global object
// (tests/testdata/js/wpt_runner.js does that inside a request and reports through testharness's
// completion callback). Only `.any.js` files can run here: `.window.js`, `.worker.js` and `.html`
// files, and `.any.js` files limited to `// META: global=window`, need a browser and are counted as
// not applicable. `// META: variant=` runs the file once per variant.
//
// tests/wpt/expectations.json lists, per file (with `?variant` when the file has variants), what
// is known: {"not_applicable": reason} (not run, not counted), {"not_applicable": {subtest name:
// reason}} (those subtests run but are not counted: they need what only a browser or WPT's server
// has, and must keep failing), {"expected_failure": reason} (every subtest fails: the API is
// missing), and {"failures": {subtest name: reason}}. The area fails when a subtest fails that is
// not listed, when a listed one passes, or when a listed one no longer exists. "(harness)" names
// the file's own status (a script that throws at the top level, a harness error, or the engine
// failing the request).
//
// The data: COSMO_WPT_DIR (environment, else the CMake cache variable of the same name). Without
// it the tests skip. COSMO_WPT_FILTER=substring runs only the files whose path contains it;
// COSMO_WPT_VERBOSE=1 prints each file's count. Each unexpected result is also printed as one
// `WPT-UNEXPECTED {json}` line.
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "engine_test_util.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

#ifndef COSMO_WPT_DIR
#error "COSMO_WPT_DIR must name the default directory of the web-platform-tests data"
#endif

namespace cosmo::v8engine {
namespace {

namespace fs = std::filesystem;
using ::cosmo::v8engine::testing::JsManifest;
using ::cosmo::v8engine::testing::SharedEngine;
using ::cosmo::v8engine::testing::Start;
using Json = nlohmann::json;

constexpr int kPass = 0;
constexpr const char* kHarness = "(harness)";

struct Area {
  const char* name;                  // the ctest's suffix
  std::vector<const char*> folders;  // under the data directory
};

void PrintTo(const Area& area, std::ostream* os) { *os << area.name; }

const std::vector<Area>& Areas() {
  static const auto* areas = new std::vector<Area>{
      {"streams", {"streams"}},         {"encoding", {"encoding"}},
      {"compression", {"compression"}}, {"fetch_api", {"fetch/api"}},
      {"FileAPI", {"FileAPI"}},         {"xhr_formdata", {"xhr/formdata"}},
      {"dom_abort", {"dom/abort"}},     {"dom_events", {"dom/events"}},
      {"urlpattern", {"urlpattern"}},   {"html_webappapis", {"html/webappapis"}},
      {"hr_time", {"hr-time"}},         {"WebCryptoAPI", {"WebCryptoAPI"}},
  };
  return *areas;
}

std::string WptDir() {
  const char* env = std::getenv("COSMO_WPT_DIR");
  return env != nullptr && *env != '\0' ? env : COSMO_WPT_DIR;
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The `// META: key=value` lines at the top of a test file.
std::vector<std::pair<std::string, std::string>> MetaLines(const std::string& source) {
  std::vector<std::pair<std::string, std::string>> meta;
  for (absl::string_view line : absl::StrSplit(source, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (line.empty()) continue;
    if (!absl::ConsumePrefix(&line, "// META:")) break;
    line = absl::StripLeadingAsciiWhitespace(line);
    const size_t eq = line.find('=');
    if (eq == absl::string_view::npos) continue;
    meta.emplace_back(std::string(line.substr(0, eq)), std::string(line.substr(eq + 1)));
  }
  return meta;
}

// Whether a `// META: global=` list includes a worker-like scope, which is what the engine's
// global object is.
bool RunsInWorkers(const std::string& globals) {
  for (absl::string_view g : absl::StrSplit(globals, ',')) {
    g = absl::StripAsciiWhitespace(g);
    if (g == "worker" || g == "dedicatedworker" || g == "sharedworker" || g == "serviceworker" ||
        g == "shadowrealm" || g == "dedicatedworker-module" || g == "jsshell") {
      return true;
    }
  }
  return false;
}

struct Expectation {
  std::string not_applicable;                                  // the whole file
  std::map<std::string, std::string> not_applicable_subtests;  // name -> reason
  std::string expected_failure;
  std::map<std::string, std::string> failures;
};

std::map<std::string, Expectation> LoadExpectations() {
  const std::string path = COSMO_SOURCE_DIR "/tests/wpt/expectations.json";
  std::map<std::string, Expectation> out;
  const std::string text = ReadFile(path);
  if (text.empty()) {
    ADD_FAILURE() << "cannot read " << path;
    return out;
  }
  Json json = Json::parse(text, nullptr, /*allow_exceptions=*/false, /*ignore_comments=*/true);
  if (!json.is_object()) {
    ADD_FAILURE() << path << " is not a JSON object";
    return out;
  }
  for (const auto& [file, entry] : json.items()) {
    Expectation& e = out[file];
    if (!entry.is_object()) {
      ADD_FAILURE() << path << ": " << file << " is not an object";
      continue;
    }
    for (const auto& [key, value] : entry.items()) {
      if (key == "not_applicable" && value.is_string()) {
        e.not_applicable = value.get<std::string>();
      } else if (key == "not_applicable" && value.is_object()) {
        for (const auto& [name, reason] : value.items()) {
          e.not_applicable_subtests[name] = reason.is_string() ? reason.get<std::string>() : "";
        }
      } else if (key == "expected_failure" && value.is_string()) {
        e.expected_failure = value.get<std::string>();
      } else if (key == "failures" && value.is_object()) {
        for (const auto& [name, reason] : value.items()) {
          e.failures[name] = reason.is_string() ? reason.get<std::string>() : reason.dump();
        }
      } else {
        ADD_FAILURE() << path << ": " << file << ": unknown key or type " << key;
      }
    }
  }
  return out;
}

// One run of one file (one variant).
struct FileRun {
  std::string key;  // path relative to the data directory, plus ?variant
  std::string path;
  std::string variant;
  std::string title;
  bool long_timeout = false;
  std::vector<std::string> scripts;  // absolute paths, testharness.js first, the test last
};

struct SubtestResult {
  std::string name;
  int status = 0;
  std::string message;
};

std::string StatusName(int status) {
  static const char* const kNames[] = {"PASS", "FAIL", "TIMEOUT", "NOTRUN", "PRECONDITION_FAILED"};
  return status >= 0 && status < 5 ? kNames[status] : absl::StrCat("status ", status);
}

// The JSON files beside a test and in its resources/ folder, and those the test or its helper
// scripts name in a `fetch('....json')` elsewhere in the data (resolved against the test's
// location, as fetch() does), served to the test's fetch().
Json DataFiles(const fs::path& root, const fs::path& test,
               const std::vector<std::string>& scripts) {
  Json files = Json::object();
  auto add = [&](const fs::path& file) {
    files[absl::StrCat("/", fs::relative(file, root).generic_string())] = ReadFile(file);
  };
  for (const fs::path& dir : {test.parent_path(), test.parent_path() / "resources"}) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) continue;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      if (entry.is_regular_file() && entry.path().extension() == ".json") add(entry.path());
    }
  }
  static const std::regex kFetchedJson(R"re(fetch\(\s*["']([^"'?#]+\.json)["'])re");
  for (const std::string& script : scripts) {
    const std::string source = ReadFile(script);
    for (std::sregex_iterator it(source.begin(), source.end(), kFetchedJson), end; it != end;
         ++it) {
      const std::string url = (*it)[1].str();
      const fs::path file =
          (url.front() == '/' ? root / url.substr(1) : test.parent_path() / url).lexically_normal();
      const std::string relative = fs::relative(file, root).generic_string();
      std::error_code ec;
      if (!absl::StartsWith(relative, "..") && fs::is_regular_file(file, ec)) add(file);
    }
  }
  return files;
}

std::vector<SubtestResult> RunFile(const fs::path& root, const FileRun& run,
                                   const std::string& runner) {
  std::vector<SubtestResult> results;
  auto harness_failure = [&](std::string message) {
    results.push_back({kHarness, 1, std::move(message)});
    return results;
  };
  Json job;
  job["path"] = run.path;
  job["variant"] = run.variant;
  job["title"] = run.title;
  job["timeoutMs"] = run.long_timeout ? 45000 : 15000;
  job["scripts"] = Json::array();
  for (const std::string& script : run.scripts) {
    std::string source = ReadFile(script);
    if (source.empty()) return harness_failure(absl::StrCat("cannot read ", script));
    job["scripts"].push_back(
        {{"name", absl::StrCat("/", fs::relative(script, root).generic_string())},
         {"source", std::move(source)}});
  }
  job["files"] = DataFiles(root, root / run.path, run.scripts);

  ScriptLimits limits;
  limits.cpu_per_request = absl::Seconds(120);
  limits.wall_per_request = absl::Seconds(run.long_timeout ? 60 : 30);
  limits.memory_bytes = size_t{512} << 20;
  auto instance = Start(SharedEngine(), JsManifest(runner), limits);
  if (!instance.ok()) return harness_failure(absl::StrCat("start: ", instance.status().ToString()));
  HttpRequest request;
  request.method = "POST";
  request.url = "http://wpt.test/run";
  request.body = job.dump(-1, ' ', false, Json::error_handler_t::replace);
  InvokeResult result = (*instance)->Invoke(request);
  if (result.outcome != Outcome::kOk) {
    return harness_failure(absl::StrCat("request failed: ", result.error));
  }
  Json out = Json::parse(result.response.body, nullptr, /*allow_exceptions=*/false);
  if (!out.is_object()) return harness_failure("runner answered no JSON");
  for (const Json& t : out["tests"]) {
    results.push_back({t["name"].get<std::string>(), t["status"].get<int>(),
                       t["message"].is_string() ? t["message"].get<std::string>() : ""});
  }
  std::vector<std::string> harness_problems;
  for (const Json& e : out["loadErrors"]) harness_problems.push_back(e.get<std::string>());
  const Json& harness = out["harness"];
  if (harness.is_object() && harness["status"].get<int>() != 0) {
    static const char* const kHarnessStatus[] = {"OK", "ERROR", "TIMEOUT", "PRECONDITION_FAILED"};
    const int status = harness["status"].get<int>();
    harness_problems.push_back(
        absl::StrCat("harness ", status >= 0 && status < 4 ? kHarnessStatus[status] : "?", ": ",
                     harness["message"].is_string() ? harness["message"].get<std::string>() : ""));
  }
  if (!harness_problems.empty()) {
    results.push_back({kHarness, 1, absl::StrJoin(harness_problems, "; ")});
  }
  return results;
}

// Every test file of an area, with the files that cannot run here counted.
struct AreaPlan {
  std::vector<FileRun> runs;
  std::vector<std::string> not_applicable;  // "path: reason"
};

AreaPlan PlanArea(const fs::path& root, const Area& area,
                  const std::map<std::string, Expectation>& expectations) {
  AreaPlan plan;
  std::vector<fs::path> files;
  for (const char* folder : area.folders) {
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(root / folder, ec);
         it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (ec) break;
      const std::string name = it->path().filename().string();
      if (!it->is_regular_file() || !absl::EndsWith(name, ".js")) continue;
      // Helpers the tests load (resources/, support/, ...) are not tests.
      if (absl::EndsWith(name, ".any.js") || absl::EndsWith(name, ".window.js") ||
          absl::EndsWith(name, ".worker.js") || absl::EndsWith(name, ".sharedworker.js") ||
          absl::EndsWith(name, ".serviceworker.js")) {
        files.push_back(it->path());
      }
    }
  }
  std::sort(files.begin(), files.end());
  const char* filter = std::getenv("COSMO_WPT_FILTER");
  for (const fs::path& file : files) {
    const std::string rel = fs::relative(file, root).generic_string();
    if (filter != nullptr && !absl::StrContains(rel, filter)) continue;
    if (!absl::EndsWith(rel, ".any.js")) {
      plan.not_applicable.push_back(absl::StrCat(rel, ": needs a window or a worker"));
      continue;
    }
    const std::string source = ReadFile(file);
    FileRun base;
    base.path = rel;
    base.scripts.push_back((root / "resources/testharness.js").string());
    std::vector<std::string> variants;
    std::string globals = "window,dedicatedworker";
    for (const auto& [key, value] : MetaLines(source)) {
      if (key == "script") {
        const fs::path script =
            absl::StartsWith(value, "/") ? root / value.substr(1) : file.parent_path() / value;
        base.scripts.push_back(script.lexically_normal().string());
      } else if (key == "variant") {
        variants.push_back(value);
      } else if (key == "global") {
        globals = value;
      } else if (key == "timeout") {
        base.long_timeout = value == "long";
      } else if (key == "title") {
        base.title = value;
      }
    }
    base.scripts.push_back(file.string());
    if (!RunsInWorkers(globals)) {
      plan.not_applicable.push_back(
          absl::StrCat(rel, ": runs in a window only (global=", globals, ")"));
      continue;
    }
    if (variants.empty()) variants.push_back("");
    for (const std::string& variant : variants) {
      FileRun run = base;
      run.variant = variant;
      run.key = rel + variant;
      auto e = expectations.find(run.key);
      if (e == expectations.end() && !variant.empty()) e = expectations.find(rel);
      if (e != expectations.end() && !e->second.not_applicable.empty()) {
        plan.not_applicable.push_back(absl::StrCat(run.key, ": ", e->second.not_applicable));
        continue;
      }
      plan.runs.push_back(std::move(run));
    }
  }
  return plan;
}

// One JSON line per unexpected result, easy to fold into expectations.json.
void PrintUnexpected(const std::string& key, const SubtestResult& r, const std::string& what) {
  Json line = {{"file", key},
               {"name", r.name},
               {"what", what},
               {"status", StatusName(r.status)},
               {"message", r.message}};
  std::cout << "WPT-UNEXPECTED " << line.dump(-1, ' ', false, Json::error_handler_t::replace)
            << "\n";
}

class WptTest : public ::testing::TestWithParam<Area> {};

TEST_P(WptTest, MatchesExpectations) {
  const Area& area = GetParam();
  const fs::path root = WptDir();
  std::error_code ec;
  if (!fs::exists(root / "resources/testharness.js", ec)) {
    GTEST_SKIP() << "web-platform-tests data not found: looked for " << root.string()
                 << "/resources/testharness.js. Set COSMO_WPT_DIR (environment, or the CMake "
                    "cache variable) to a checkout of the WPT subset to run these tests.";
  }
  const std::string runner = ReadFile(COSMO_SOURCE_DIR "/tests/testdata/js/wpt_runner.js");
  ASSERT_FALSE(runner.empty()) << "cannot read tests/testdata/js/wpt_runner.js";
  const std::map<std::string, Expectation> expectations = LoadExpectations();
  const AreaPlan plan = PlanArea(root, area, expectations);

  int passed = 0, total = 0, known = 0, not_applicable_subtests = 0;
  std::vector<std::string> problems;
  std::set<std::string> seen_keys;
  for (const FileRun& run : plan.runs) {
    seen_keys.insert(run.key);
    auto found = expectations.find(run.key);
    if (found == expectations.end() && !run.variant.empty()) found = expectations.find(run.path);
    static const Expectation kNone;
    const Expectation& e = found == expectations.end() ? kNone : found->second;
    const std::vector<SubtestResult> results = RunFile(root, run, runner);
    std::set<std::string> names;
    for (const SubtestResult& r : results) {
      names.insert(r.name);
      const bool ok = r.status == kPass;
      if (e.not_applicable_subtests.contains(r.name)) {
        ++not_applicable_subtests;
        if (ok) {
          problems.push_back(
              absl::StrCat(run.key, ": listed as not applicable but passes: ", r.name));
          PrintUnexpected(run.key, r, "passes");
        }
        continue;
      }
      if (r.name != kHarness) {
        ++total;
        if (ok) ++passed;
      }
      const bool listed = !e.expected_failure.empty() || e.failures.contains(r.name);
      if (!ok && listed) {
        ++known;
      } else if (!ok) {
        problems.push_back(absl::StrCat(run.key, ": unexpected ", StatusName(r.status), ": ",
                                        r.name, ": ", r.message.substr(0, 300)));
        PrintUnexpected(run.key, r, "fails");
      } else if (listed) {
        problems.push_back(absl::StrCat(run.key, ": listed as failing but passes: ", r.name));
        PrintUnexpected(run.key, r, "passes");
      }
    }
    if (std::getenv("COSMO_WPT_VERBOSE") != nullptr) {
      int file_passed = 0;
      for (const SubtestResult& r : results) file_passed += r.status == kPass ? 1 : 0;
      std::cout
          << "WPT-FILE "
          << Json{{"file", run.key}, {"passed", file_passed}, {"total", results.size()}}.dump()
          << "\n";
    }
    for (const auto* listed : {&e.failures, &e.not_applicable_subtests}) {
      for (const auto& [name, reason] : *listed) {
        if (!names.contains(name)) {
          problems.push_back(absl::StrCat(run.key, ": listed subtest no longer reported: ", name));
        }
      }
    }
  }
  if (std::getenv("COSMO_WPT_FILTER") == nullptr) {
    // Entries for files of this area that no longer exist.
    for (const auto& [key, e] : expectations) {
      if (!e.not_applicable.empty()) continue;
      const std::string path = key.substr(0, key.find('?'));
      for (const char* folder : area.folders) {
        if (absl::StartsWith(path, absl::StrCat(folder, "/")) && !seen_keys.contains(key) &&
            !seen_keys.contains(path)) {
          bool variant_of_seen = false;
          for (const std::string& k : seen_keys) variant_of_seen |= absl::StartsWith(k, path + "?");
          if (!variant_of_seen) problems.push_back(absl::StrCat(key, ": listed but not run"));
        }
      }
    }
  }
  std::cout << "wpt: " << area.name << " " << passed << "/" << total << " passed, " << known
            << " known failures, " << plan.not_applicable.size() << " files n/a, "
            << not_applicable_subtests << " subtests n/a, " << plan.runs.size() << " files run\n";
  EXPECT_TRUE(problems.empty()) << problems.size() << " results differ from "
                                << "tests/wpt/expectations.json:\n"
                                << absl::StrJoin(problems, "\n");
}

INSTANTIATE_TEST_SUITE_P(Wpt, WptTest, ::testing::ValuesIn(Areas()),
                         [](const ::testing::TestParamInfo<Area>& info) {
                           return std::string(info.param.name);
                         });

}  // namespace
}  // namespace cosmo::v8engine
