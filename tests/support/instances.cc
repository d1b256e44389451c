#include "support/instances.h"

#include <atomic>
#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"

namespace cosmo::testing {

std::string UniqueVersion() {
  static std::atomic<int> counter{0};
  return absl::StrCat("test-version-", counter.fetch_add(1));
}

absl::StatusOr<std::unique_ptr<Instance>> StartInstance(Engine& engine, const Manifest& manifest,
                                                        const ScriptLimits& limits) {
  auto program = engine.Prepare(UniqueVersion(), manifest);
  if (!program.ok()) return program.status();
  return (*program)->Instantiate(limits);
}

HttpRequest GetRequest(std::string url) {
  HttpRequest request;
  request.method = "GET";
  request.url = std::move(url);
  return request;
}

std::string HeaderOf(const HttpResponse& response, const std::string& name) {
  for (const auto& [k, v] : response.headers) {
    if (k == name) return v;
  }
  return "";
}

TimedInvocation InvokeTimed(Instance& instance, const HttpRequest& request) {
  TimedInvocation run;
  const auto start = std::chrono::steady_clock::now();
  run.result = instance.Invoke(request);
  run.wall_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  run.reusable = instance.Reusable();
  return run;
}

}  // namespace cosmo::testing
