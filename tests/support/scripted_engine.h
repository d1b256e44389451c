// A stand-in Engine for tests about everything except a language: the registry, the runtime's
// activation table, the control plane. Its "language" is one line per file:
//
//   respond <status> <body...>   the handler answers with that status and body
//   throw <message...>           the invocation ends in Outcome::kException with that error
//   log <text...>                one console.log(text), then 200 "logged"
//   sleep <ms>                   the invocation sleeps (real time), then 200 "slept"
//   syntax-error                 Validate() fails with INVALID_ARGUMENT at 1:1, like a parser
//   startup-error                Instantiate() fails with FAILED_PRECONDITION, like a top-level
//   throw
//   slow-start <ms>              Instantiate() takes that long (real time), like an isolate
//
// Anything else validates and answers 200 with the source as body. Every invocation reports the
// same usage (kCpuUs, kWallUs, request/response sizes) so metering can be checked exactly. It
// counts calls so tests can assert how often validation, preparation and instantiation ran, and
// records what the runtime said of memory (SetMemoryShort, ReleaseIdleMemory). An instance's
// MemoryBytes() is its source size. Thread-safe.
#ifndef COSMO_TESTS_SUPPORT_SCRIPTED_ENGINE_H_
#define COSMO_TESTS_SUPPORT_SCRIPTED_ENGINE_H_

#include <atomic>
#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "cosmo/engine.h"

namespace cosmo::testing {

// A one-file manifest for the engine named "javascript" (ScriptedEngine's default name, and the
// real JavaScript engine's): `source` under the file name `main`, which is also the entry.
Manifest ScriptManifest(std::string source, std::string main = "index.js");

class ScriptedEngine final : public Engine {
 public:
  explicit ScriptedEngine(std::string name = "javascript") : name_(std::move(name)) {}

  absl::string_view name() const override { return name_; }
  absl::Status Validate(const Manifest& manifest) override;
  absl::StatusOr<std::shared_ptr<Program>> Prepare(const std::string& version,
                                                   const Manifest& manifest) override;

  static constexpr int64_t kCpuUs = 7;
  static constexpr int64_t kWallUs = 11;

  int validate_calls() const { return validate_calls_.load(); }
  int prepare_calls() const { return prepare_calls_.load(); }
  int instantiate_calls() const { return instantiate_calls_->load(); }

  // Engine::SetMemoryShort(): only recorded (the last value, and how many times it was called).
  void SetMemoryShort(bool short_of_memory) override {
    memory_short_.store(short_of_memory);
    memory_short_calls_.fetch_add(1);
  }
  bool memory_short() const { return memory_short_.load(); }
  int memory_short_calls() const { return memory_short_calls_.load(); }

  // Engine::ReleaseIdleMemory(): only counted.
  void ReleaseIdleMemory() override { idle_memory_releases_.fetch_add(1); }
  int idle_memory_releases() const { return idle_memory_releases_.load(); }

 private:
  const std::string name_;
  std::atomic<int> validate_calls_{0};
  std::atomic<int> prepare_calls_{0};
  std::atomic<bool> memory_short_{false};
  std::atomic<int> memory_short_calls_{0};
  std::atomic<int> idle_memory_releases_{0};
  // Shared with Programs, which may outlive the engine.
  std::shared_ptr<std::atomic<int>> instantiate_calls_ = std::make_shared<std::atomic<int>>(0);
};

}  // namespace cosmo::testing

#endif  // COSMO_TESTS_SUPPORT_SCRIPTED_ENGINE_H_
