// Liquid conformance: every template of tests/testdata/liquid/cases renders through the Liquid
// engine (real V8 and LiquidJS) exactly as Ruby Liquid, the reference implementation, rendered it
// (expected.json, written by scripts/liquid-conformance from the same request data).
//
// A case whose expected result is a syntax error must fail validation with INVALID_ARGUMENT and a
// "file:line:column: " location; a render error must end the request in Outcome::kException.
// kKnownDifferences lists the cases where LiquidJS still differs from Ruby, with the reason
// (docs/liquid.md); they are checked to still differ, so a fixed one must leave the list.
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "liquid_test_util.h"
#include "nlohmann/json.hpp"
#include "support/files.h"

namespace cosmo::liquid {
namespace {

using ::cosmo::liquid::testing::RenderingNotSpeed;
using ::cosmo::liquid::testing::SharedEngine;
using ::cosmo::liquid::testing::Start;
using ::cosmo::testing::ReadFile;
using ::testing::MatchesRegex;

const std::map<std::string, std::string>& KnownDifferences() {
  static const auto* differences = new std::map<std::string, std::string>{
      {"056-float-math",
       "JavaScript has one number type: a whole float prints without '.0' (2.5 | times: 2 is 5, "
       "Ruby 5.0; 3.0 is 3)"},
      {"059-size",
       "Ruby's lax parser drops '.size' after a string literal ('hello'.size is "
       "hello); LiquidJS applies it (5)"},
      {"069-float-output", "a whole float literal prints without '.0' (1.0 is 1)"},
      {"088-error-unbalanced-tag-in-comment",
       "Ruby parses tags inside {% comment %} and rejects unbalanced ones; LiquidJS skips the "
       "comment's content"},
      {"089-blank",
       "Ruby Liquid compares with blank through ActiveSupport's blank?, absent from plain "
       "ruby-liquid (so nothing equals blank there); LiquidJS treats '', whitespace and nil as "
       "blank, as Shopify does"},
  };
  return *differences;
}

struct Case {
  std::string name;
  nlohmann::json expected;
};

std::vector<Case> LoadCases() {
  nlohmann::json expected = nlohmann::json::parse(
      ReadFile(std::filesystem::path(COSMO_LIQUID_TESTDATA_DIR) / "expected.json").value());
  std::vector<Case> cases;
  for (auto& [name, value] : expected.items()) cases.push_back({name, value});
  return cases;
}

class LiquidConformanceTest : public ::testing::TestWithParam<Case> {};

struct Rendered {
  bool syntax_error = false;
  std::string message;
  InvokeResult result;
};

Rendered RenderCase(const std::string& name) {
  const std::filesystem::path dir(COSMO_LIQUID_TESTDATA_DIR);
  nlohmann::json request = nlohmann::json::parse(ReadFile(dir / "request.json").value());
  if (std::filesystem::exists(dir / "cases" / (name + ".json"))) {
    request.update(nlohmann::json::parse(ReadFile(dir / "cases" / (name + ".json")).value()));
  }
  Manifest manifest;
  manifest.engine = "liquid";
  manifest.main = name + ".liquid";
  for (const auto& entry : std::filesystem::directory_iterator(dir / "partials")) {
    manifest.files[entry.path().filename().string()] = ReadFile(entry.path()).value();
  }
  manifest.files[manifest.main] = ReadFile(dir / "cases" / manifest.main).value();
  manifest.env = request["env"].get<std::map<std::string, std::string>>();

  Rendered rendered;
  absl::Status valid = SharedEngine().Validate(manifest);
  if (!valid.ok()) {
    EXPECT_TRUE(absl::IsInvalidArgument(valid)) << valid;
    rendered.syntax_error = true;
    rendered.message = std::string(valid.message());
    return rendered;
  }
  // What a template renders, not how fast: the first date filter formats through ICU, ~0.8 s of
  // CPU under ThreadSanitizer.
  auto instance = Start(SharedEngine(), manifest, RenderingNotSpeed());
  if (!instance.ok()) {
    ADD_FAILURE() << instance.status();
    return rendered;
  }
  HttpRequest http;
  http.method = request["method"].get<std::string>();
  http.url = request["url"].get<std::string>();
  for (const auto& header : request["headers"]) {
    http.headers.emplace_back(header[0].get<std::string>(), header[1].get<std::string>());
  }
  http.body = request["body"].get<std::string>();
  rendered.result = (*instance)->Invoke(http);
  return rendered;
}

// Whether `rendered` is what Ruby produced (`expected`), and why not.
bool Matches(const Rendered& rendered, const nlohmann::json& expected, std::string* why) {
  if (expected.contains("output")) {
    std::string want = expected["output"].get<std::string>();
    if (rendered.syntax_error) {
      *why = absl::StrCat("rejected at deploy: ", rendered.message);
      return false;
    }
    if (rendered.result.outcome != Outcome::kOk) {
      *why = absl::StrCat("failed: ", rendered.result.error);
      return false;
    }
    *why = absl::StrCat("rendered\n[", rendered.result.response.body, "]\nRuby rendered\n[", want,
                        "]");
    return rendered.result.response.body == want;
  }
  std::string kind = expected["error"].get<std::string>();
  if (kind == "syntax") {
    *why = rendered.syntax_error ? "" : "accepted at deploy, Ruby: a syntax error";
    return rendered.syntax_error;
  }
  *why = absl::StrCat("outcome ", OutcomeName(rendered.result.outcome), ", Ruby: a render error");
  return !rendered.syntax_error && rendered.result.outcome == Outcome::kException;
}

TEST_P(LiquidConformanceTest, RendersAsRubyLiquid) {
  const Case& c = GetParam();
  Rendered rendered = RenderCase(c.name);
  std::string why;
  bool matches = Matches(rendered, c.expected, &why);
  auto known = KnownDifferences().find(c.name);
  if (known != KnownDifferences().end()) {
    EXPECT_FALSE(matches) << c.name << " now matches Ruby: remove it from the known differences";
    return;
  }
  EXPECT_TRUE(matches) << c.name << ": " << why;
  if (rendered.syntax_error) {
    EXPECT_THAT(rendered.message,
                MatchesRegex(absl::StrCat(c.name, "\\.liquid:[0-9]+:[0-9]+: .*")));
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, LiquidConformanceTest, ::testing::ValuesIn(LoadCases()),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           std::string name = "Case" + info.param.name;
                           for (char& ch : name) {
                             if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           }
                           return name;
                         });

TEST(LiquidConformanceSuiteTest, HasAtLeastSixtyCasesAndFewKnownDifferences) {
  std::vector<Case> cases = LoadCases();
  EXPECT_GE(cases.size(), 60u);
  EXPECT_LE(KnownDifferences().size() * 10, cases.size());
  for (const auto& [name, reason] : KnownDifferences()) {
    bool present = false;
    for (const Case& c : cases) present = present || c.name == name;
    EXPECT_TRUE(present) << name << " is listed as a known difference but is not a case";
  }
}

}  // namespace
}  // namespace cosmo::liquid
