// URL and URLSearchParams (whatwg-url, bundled into the runtime) against the web-platform-tests URL
// data, run inside the engine. The data's directory is COSMO_WPT_URL_DIR (see WptUrlDir); without
// the data the tests skip. The runner
// (tests/testdata/js/wpt_url_runner.js) follows WPT's url-constructor, url-origin,
// url-statics-canparse/parse, url-setters, percent-encoding (UTF-8 only: the URL constructor has no
// other encoding) and toascii tests.
//
// Known failures: none at the time of writing; every case of the four files passes. A failure
// that is accepted must be listed in kKnownFailures below with its reason.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "engine_test_util.h"
#include "gtest/gtest.h"

#ifndef COSMO_WPT_URL_DIR
#error "COSMO_WPT_URL_DIR must name the directory with the WPT URL data"
#endif

namespace cosmo::v8engine {
namespace {

using ::cosmo::v8engine::testing::JsManifest;
using ::cosmo::v8engine::testing::SharedEngine;
using ::cosmo::v8engine::testing::Start;

// "<description>" of WPT cases that are allowed to fail, with the reason in a comment.
const std::set<std::string>& KnownFailures() {
  static const auto* known = new std::set<std::string>{};
  return *known;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

struct WptResult {
  int passed = 0;
  int failed = 0;
  std::vector<std::string> failures;
};

// COSMO_WPT_URL_DIR, else wpt-url beside COSMO_WPT_DIR (both from the environment), else the
// directory CMake configured.
std::string WptUrlDir() {
  const char* env = std::getenv("COSMO_WPT_URL_DIR");
  if (env != nullptr && *env != '\0') return env;
  const char* wpt = std::getenv("COSMO_WPT_DIR");
  if (wpt != nullptr && *wpt != '\0') return absl::StrCat(wpt, "/../wpt-url");
  return COSMO_WPT_URL_DIR;
}

WptResult RunWptFile(const std::string& file) {
  WptResult out;
  const std::string data_path = absl::StrCat(WptUrlDir(), "/", file);
  const std::string data = ReadFile(data_path);
  EXPECT_FALSE(data.empty()) << "cannot read " << data_path;
  if (data.empty()) return out;
  const std::string runner_path = COSMO_SOURCE_DIR "/tests/testdata/js/wpt_url_runner.js";
  const std::string runner = ReadFile(runner_path);
  EXPECT_FALSE(runner.empty()) << "cannot read " << runner_path;

  ScriptLimits limits;
  limits.cpu_per_request = absl::Seconds(30);  // thousands of URL parses in one request
  auto instance = Start(SharedEngine(), JsManifest(absl::StrCat(runner, R"(
export default {
  async fetch(request) {
    const file = new URL(request.url).searchParams.get('file');
    const r = wptRunFile(file, await request.text());
    return `${r.passed} ${r.failed}\n${r.failures.join('\n')}`;
  },
};)")),
                        limits);
  EXPECT_TRUE(instance.ok()) << instance.status();
  if (!instance.ok()) return out;
  HttpRequest request;
  request.method = "POST";
  request.url = absl::StrCat("http://wpt.test/run?file=", file);
  request.body = data;
  InvokeResult result = (*instance)->Invoke(request);
  EXPECT_EQ(result.outcome, Outcome::kOk) << result.error;
  std::vector<std::string> lines = absl::StrSplit(result.response.body, '\n');
  std::vector<std::string> counts = absl::StrSplit(lines[0], ' ');
  EXPECT_EQ(counts.size(), 2u) << result.response.body;
  if (counts.size() != 2 || !absl::SimpleAtoi(counts[0], &out.passed) ||
      !absl::SimpleAtoi(counts[1], &out.failed)) {
    ADD_FAILURE() << "unexpected runner output: " << result.response.body;
    return out;
  }
  for (size_t i = 1; i < lines.size(); ++i) {
    if (!lines[i].empty()) out.failures.push_back(lines[i]);
  }
  return out;
}

// At least 99% of a file passes, and every failure is a known one.
void ExpectConformance(const std::string& file, int minimum_cases) {
  std::error_code ec;
  if (!std::filesystem::exists(absl::StrCat(WptUrlDir(), "/urltestdata.json"), ec)) {
    GTEST_SKIP() << "web-platform-tests URL data not found: looked for " << WptUrlDir()
                 << "/urltestdata.json. Set COSMO_WPT_URL_DIR (environment, or the CMake cache "
                    "variable) to the directory of the WPT URL data to run these tests.";
  }
  WptResult r = RunWptFile(file);
  const int total = r.passed + r.failed;
  std::cout << "[ WPT URL  ] " << file << ": " << r.passed << "/" << total << " passed\n";
  EXPECT_GE(total, minimum_cases) << "the runner saw fewer cases than the file holds";
  EXPECT_GE(r.passed, total * 0.99) << file << ": " << r.passed << "/" << total;
  std::vector<std::string> unexpected;
  for (const std::string& f : r.failures) {
    const std::string description = f.substr(0, f.rfind(": "));
    if (!KnownFailures().contains(description)) unexpected.push_back(f);
  }
  EXPECT_TRUE(unexpected.empty()) << file << " has unlisted failures:\n"
                                  << absl::StrJoin(unexpected, "\n");
}

// urltestdata.json holds 891 cases (excluding comments); each is checked three ways.
TEST(WptUrlTest, UrlTestDataParsesAndResolves) { ExpectConformance("urltestdata.json", 3 * 850); }
TEST(WptUrlTest, SettersTests) { ExpectConformance("setters_tests.json", 250); }
TEST(WptUrlTest, PercentEncodingUtf8) { ExpectConformance("percent-encoding.json", 5); }
TEST(WptUrlTest, ToAsciiThroughUrl) { ExpectConformance("toascii.json", 200); }

}  // namespace
}  // namespace cosmo::v8engine
