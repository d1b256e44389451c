// Runs benchmarks/webcrypto/webcrypto_ops.mjs inside CosmoCompute's JavaScript engine, as a
// request to a handler, and prints the figures (JSON) the handler answers.
//
//   webcrypto_benchmark PATH/TO/webcrypto_ops.mjs
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/time/time.h"
#include "cosmo/engine.h"
#include "cosmo/javascript_engine.h"

namespace {

// performance.now() moves in 100 µs steps here; the runs of at least 200 ms make that immaterial.
constexpr char kHandler[] = R"(
import {runAll} from './webcrypto_ops.mjs';
export default {
  async fetch() {
    return Response.json(await runAll(crypto.subtle, () => performance.now()));
  },
};
)";

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s PATH/TO/webcrypto_ops.mjs\n", argv[0]);
    return 2;
  }
  std::ifstream in(argv[1]);
  std::stringstream ops;
  ops << in.rdbuf();
  if (!in || ops.str().empty()) {
    std::fprintf(stderr, "cannot read %s\n", argv[1]);
    return 1;
  }
  auto engine = cosmo::NewJavaScriptEngine({});
  if (!engine.ok()) {
    std::fprintf(stderr, "engine: %s\n", engine.status().ToString().c_str());
    return 1;
  }
  cosmo::Manifest manifest;
  manifest.engine = "javascript";
  manifest.main = "index.js";
  manifest.files["index.js"] = kHandler;
  manifest.files["webcrypto_ops.mjs"] = ops.str();
  auto program = (*engine)->Prepare("webcrypto-bench", manifest);
  if (!program.ok()) {
    std::fprintf(stderr, "prepare: %s\n", program.status().ToString().c_str());
    return 1;
  }
  cosmo::ScriptLimits limits;
  limits.cpu_per_request = absl::Seconds(120);
  limits.wall_per_request = absl::Seconds(120);
  auto instance = (*program)->Instantiate(limits);
  if (!instance.ok()) {
    std::fprintf(stderr, "instantiate: %s\n", instance.status().ToString().c_str());
    return 1;
  }
  cosmo::HttpRequest request;
  request.url = "http://127.0.0.1/webcrypto-bench/";
  cosmo::InvokeResult result = (*instance)->Invoke(request);
  if (result.outcome != cosmo::Outcome::kOk || result.response.status != 200) {
    std::fprintf(stderr, "run failed: %s %s\n", result.error.c_str(), result.response.body.c_str());
    return 1;
  }
  std::printf("%s\n", result.response.body.c_str());
  return 0;
}
