// Fills a LevelDB store with N families of tenant "local" (a hello function each, every tenth
// one invoked a few times), for measuring the dashboard's families page at scale
// (tests/browser/dashboard_browser_test.py --families=N; docs/dashboard.md, "Performance").
//
//   seed_families DATA_DIR N
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/str_format.h"
#include "cosmo/runtime.h"
#include "cosmo/store.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: seed_families DATA_DIR N\n");
    return 2;
  }
  const int n = std::atoi(argv[2]);
  auto store = cosmo::OpenLevelDbStore({.path = argv[1]});
  if (!store.ok()) {
    std::fprintf(stderr, "seed_families: %s\n", std::string(store.status().message()).c_str());
    return 1;
  }
  cosmo::RuntimeOptions options;
  options.run_crons = false;
  auto runtime = cosmo::NewRuntime(options, *std::move(store));
  if (!runtime.ok()) {
    std::fprintf(stderr, "seed_families: %s\n", std::string(runtime.status().message()).c_str());
    return 1;
  }
  cosmo::Manifest manifest;
  manifest.engine = "javascript";
  manifest.main = "index.js";
  manifest.files["index.js"] = "export default { fetch() { return new Response('hi'); } };";
  for (int i = 0; i < n; ++i) {
    const std::string family = absl::StrFormat("fam-%05d", i);
    auto deployed =
        (*runtime)->registry().Deploy({.tenant = "local", .family = family, .manifest = manifest});
    if (!deployed.ok()) {
      std::fprintf(stderr, "seed_families: %s: %s\n", family.c_str(),
                   std::string(deployed.status().message()).c_str());
      return 1;
    }
    if (i % 10 == 0) {
      for (int k = 0; k < i % 7 + 1; ++k) {
        (*runtime)->Invoke(family, {.method = "GET", .url = "http://x/" + family + "/"});
      }
    }
  }
  (void)(*runtime)->FlushUsage();
  std::printf("seed_families: %d families in %s\n", n, argv[1]);
  return 0;
}
