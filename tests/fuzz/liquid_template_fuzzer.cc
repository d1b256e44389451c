// Liquid template source and request data through the Liquid engine: Validate() (the deploy-time
// parse), then Prepare(), Instantiate() and Invoke() under small render limits.
//
// Input layout (FuzzedDataProvider): the query string, an environment value and a partial named
// "card" as three backslash-terminated strings, then the entry template as the rest.
//
// Invariants:
//   - no crash, no sanitizer report;
//   - Validate() accepts or answers INVALID_ARGUMENT (a template error names its place);
//   - a validated template prepares and instantiates without an INTERNAL error;
//   - a render ends in one of the outcomes liquid_engine.h documents: kOk (status 200), or
//     kException, kExceededCpu, kExceededMemory, kExceededWallTime with an error text; never
//     kInternal, kNotFound, kLoadShed or kBadRequest.
//
// The engine (V8 platform, Liquid snapshot) is created once per process, as in production.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "cosmo/liquid_engine.h"
#include "fuzz_check.h"

namespace {

cosmo::Engine& SharedEngine() {
  static cosmo::Engine* engine = [] {
    cosmo::LiquidEngineOptions options;
    options.max_output_chars = 64 << 10;
    options.max_include_depth = 16;
    options.max_rendered_nodes = 20'000;
    options.max_allocation_units = 1 << 16;
    auto created = cosmo::NewLiquidEngine(options);
    FUZZ_CHECK(created.ok());
    return created->release();
  }();
  return *engine;
}

bool IsInvokeOutcome(cosmo::Outcome outcome) {
  switch (outcome) {
    case cosmo::Outcome::kOk:
    case cosmo::Outcome::kException:
    case cosmo::Outcome::kExceededCpu:
    case cosmo::Outcome::kExceededMemory:
    case cosmo::Outcome::kExceededWallTime:
      return true;
    default:
      return false;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > (size_t{16} << 10)) return 0;
  cosmo::Engine& engine = SharedEngine();
  FuzzedDataProvider provider(data, size);
  const std::string query = provider.ConsumeRandomLengthString(128);
  const std::string env_value = provider.ConsumeRandomLengthString(128);
  const std::string partial = provider.ConsumeRandomLengthString(1024);

  cosmo::Manifest manifest;
  manifest.engine = "liquid";
  manifest.main = "page.liquid";
  manifest.files["page.liquid"] = provider.ConsumeRemainingBytesAsString();
  if (!partial.empty()) manifest.files["card.liquid"] = partial;
  manifest.env["NAME"] = env_value;

  absl::Status valid = engine.Validate(manifest);
  if (!valid.ok()) {
    if (valid.code() != absl::StatusCode::kInvalidArgument) {
      std::fprintf(stderr, "Validate: %s\n", valid.ToString().c_str());
    }
    FUZZ_CHECK(valid.code() == absl::StatusCode::kInvalidArgument);
    return 0;
  }

  static uint64_t counter = 0;
  auto program = engine.Prepare(absl::StrCat("liquid-fuzz-", counter++), manifest);
  if (!program.ok()) {
    std::fprintf(stderr, "Prepare: %s\n", program.status().ToString().c_str());
    FUZZ_CHECK(program.status().code() != absl::StatusCode::kInternal);
    return 0;
  }
  cosmo::ScriptLimits limits;
  limits.cpu_per_request = absl::Milliseconds(100);
  limits.wall_per_request = absl::Seconds(1);
  limits.memory_bytes = size_t{64} << 20;
  auto instance = (*program)->Instantiate(limits);
  if (!instance.ok()) {
    std::fprintf(stderr, "Instantiate: %s\n", instance.status().ToString().c_str());
    FUZZ_CHECK(instance.status().code() != absl::StatusCode::kInternal);
    return 0;
  }

  cosmo::HttpRequest request;
  request.method = "GET";
  request.url = absl::StrCat("http://localhost/shop/a/b?", query);
  request.headers.emplace_back("user-agent", "fuzz");
  cosmo::InvokeResult result = (*instance)->Invoke(request);
  if (!IsInvokeOutcome(result.outcome)) {
    std::fprintf(stderr, "Invoke: outcome %d: %s\n", static_cast<int>(result.outcome),
                 result.error.c_str());
  }
  FUZZ_CHECK(IsInvokeOutcome(result.outcome));
  if (result.outcome == cosmo::Outcome::kOk) {
    FUZZ_CHECK(result.response.status == 200);
    FUZZ_CHECK(result.response.body.size() <= 4 * (size_t{64} << 10));
  } else {
    FUZZ_CHECK(!result.error.empty());
  }
  return 0;
}
