// A stand-in Engine for tests about everything except a language: the registry, the runtime's
// activation table, the control plane. Its "language" is one line per file:
//
//   respond <status> <body...>   the handler answers with that status and body
//   syntax-error                 Validate() fails with INVALID_ARGUMENT at 1:1, like a parser
//
// Anything else validates and answers 200 with the source as body. It counts calls so tests can
// assert how often validation and preparation ran. Thread-safe.
#ifndef COSMO_TESTS_SUPPORT_SCRIPTED_ENGINE_H_
#define COSMO_TESTS_SUPPORT_SCRIPTED_ENGINE_H_

#include <atomic>
#include <string>

#include "absl/strings/string_view.h"
#include "cosmo/engine.h"

namespace cosmo::testing {

class ScriptedEngine final : public Engine {
 public:
  explicit ScriptedEngine(std::string name = "javascript") : name_(std::move(name)) {}

  absl::string_view name() const override { return name_; }
  absl::Status Validate(const Manifest& manifest) override;
  absl::StatusOr<std::shared_ptr<Program>> Prepare(const std::string& version,
                                                   const Manifest& manifest) override;

  int validate_calls() const { return validate_calls_.load(); }
  int prepare_calls() const { return prepare_calls_.load(); }

 private:
  const std::string name_;
  std::atomic<int> validate_calls_{0};
  std::atomic<int> prepare_calls_{0};
};

}  // namespace cosmo::testing

#endif  // COSMO_TESTS_SUPPORT_SCRIPTED_ENGINE_H_
