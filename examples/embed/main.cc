// Deploys a JavaScript function into an in-memory CosmoCompute runtime and invokes it, with no
// network and no server: everything a C++ program needs is libcosmo.
#include <cstdio>
#include <memory>

#include "cosmo/runtime.h"
#include "cosmo/store.h"

int main() {
  absl::StatusOr<std::unique_ptr<cosmo::Runtime>> runtime =
      cosmo::NewRuntime(cosmo::RuntimeOptions(), cosmo::NewInMemoryStore());
  if (!runtime.ok()) {
    std::fprintf(stderr, "embed: cannot start the runtime: %s\n",
                 runtime.status().ToString().c_str());
    return 1;
  }

  cosmo::Manifest manifest;
  manifest.engine = "javascript";
  manifest.main = "index.js";
  manifest.files["index.js"] = R"js(
    export default {
      async fetch(request, env) {
        const url = new URL(request.url);
        return Response.json({ greeting: `hello, ${env.WHO}`, path: url.pathname });
      }
    };
  )js";
  manifest.env["WHO"] = "embedder";

  absl::StatusOr<cosmo::DeployResult> deployed =
      (*runtime)->registry().Deploy({.tenant = "local", .family = "hello", .manifest = manifest});
  if (!deployed.ok()) {
    std::fprintf(stderr, "embed: deploy failed: %s\n", deployed.status().ToString().c_str());
    return 1;
  }
  std::printf("deployed version %s\n", deployed->version.c_str());

  cosmo::FamilyHandle hello = (*runtime)->Family("hello");
  cosmo::InvokeResult result =
      hello.Invoke({.method = "GET", .url = "http://localhost/hello/world"});
  if (result.outcome != cosmo::Outcome::kOk) {
    std::fprintf(stderr, "embed: invoke ended in %s: %s\n",
                 std::string(cosmo::OutcomeName(result.outcome)).c_str(), result.error.c_str());
    return 1;
  }
  std::printf("status %d\n%s\n", result.response.status, result.response.body.c_str());
  return 0;
}
