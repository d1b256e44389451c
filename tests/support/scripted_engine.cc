#include "support/scripted_engine.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"

namespace cosmo::testing {
namespace {

class ScriptedInstance final : public Instance {
 public:
  explicit ScriptedInstance(std::string source) : source_(std::move(source)) {}

  InvokeResult Invoke(const HttpRequest& request) override {
    InvokeResult result;
    result.outcome = Outcome::kOk;
    result.response.status = 200;
    result.response.body = source_;
    std::vector<absl::string_view> words = absl::StrSplit(source_, absl::MaxSplits(' ', 2));
    int number = 0;
    if (words.size() == 3 && words[0] == "respond" && absl::SimpleAtoi(words[1], &number)) {
      result.response.status = number;
      result.response.body = std::string(words[2]);
    } else if (words.size() >= 2 && words[0] == "throw") {
      result.outcome = Outcome::kException;
      result.error = source_.substr(6);
      result.response = HttpResponse();
    } else if (words.size() >= 2 && words[0] == "log") {
      result.console.push_back({LogLevel::kLog, absl::Now(), source_.substr(4)});
      result.response.body = "logged";
    } else if (words.size() == 2 && words[0] == "sleep" && absl::SimpleAtoi(words[1], &number)) {
      absl::SleepFor(absl::Milliseconds(number));
      result.response.body = "slept";
    }
    result.usage.cpu_us = ScriptedEngine::kCpuUs;
    result.usage.wall_us = ScriptedEngine::kWallUs;
    result.usage.request_bytes = request.body.size();
    result.usage.response_bytes = result.response.body.size();
    return result;
  }

  bool Reusable() const override { return true; }
  size_t MemoryBytes() const override { return source_.size(); }

 private:
  const std::string source_;
};

class ScriptedProgram final : public Program {
 public:
  ScriptedProgram(std::string version, std::string source,
                  std::shared_ptr<std::atomic<int>> instantiate_calls)
      : version_(std::move(version)),
        source_(std::move(source)),
        instantiate_calls_(std::move(instantiate_calls)) {}

  absl::StatusOr<std::unique_ptr<Instance>> Instantiate(const ScriptLimits&) override {
    ++*instantiate_calls_;
    if (source_ == "startup-error") {
      return absl::FailedPreconditionError("index.js:1:1: Uncaught Error: scripted startup error");
    }
    std::vector<absl::string_view> words = absl::StrSplit(source_, ' ');
    int start_ms = 0;
    if (words.size() == 2 && words[0] == "slow-start" && absl::SimpleAtoi(words[1], &start_ms)) {
      absl::SleepFor(absl::Milliseconds(start_ms));
    }
    return std::make_unique<ScriptedInstance>(source_);
  }
  const std::string& version() const override { return version_; }

 private:
  const std::string version_;
  const std::string source_;
  const std::shared_ptr<std::atomic<int>> instantiate_calls_;
};

}  // namespace

Manifest ScriptManifest(std::string source, std::string main) {
  Manifest m;
  m.engine = "javascript";
  m.main = main;
  m.files[main] = std::move(source);
  return m;
}

absl::Status ScriptedEngine::Validate(const Manifest& manifest) {
  ++validate_calls_;
  auto main = manifest.files.find(manifest.main);
  if (main == manifest.files.end()) return absl::InvalidArgumentError("main: missing");
  if (main->second == "syntax-error") {
    return absl::InvalidArgumentError(
        absl::StrCat(manifest.main, ":1:1: SyntaxError: scripted syntax error"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<Program>> ScriptedEngine::Prepare(const std::string& version,
                                                                 const Manifest& manifest) {
  ++prepare_calls_;
  auto main = manifest.files.find(manifest.main);
  if (main == manifest.files.end()) return absl::InvalidArgumentError("main: missing");
  return std::make_shared<ScriptedProgram>(version, main->second, instantiate_calls_);
}

}  // namespace cosmo::testing
