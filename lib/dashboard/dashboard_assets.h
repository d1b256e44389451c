// The dashboard's page app (lib/dashboard/ui/src and uPlot from npm), embedded in the binary at
// build time by lib/dashboard/ui/tools/embed.mjs, so the dashboard needs no files, CDN or
// network at run time. Each file also gzipped at build time, for clients that accept it.
//
// Immutable data; thread-safe.
#ifndef COSMO_LIB_DASHBOARD_DASHBOARD_ASSETS_H_
#define COSMO_LIB_DASHBOARD_DASHBOARD_ASSETS_H_

#include <vector>

#include "absl/strings/string_view.h"

namespace cosmo::dashboard {

struct DashboardAsset {
  absl::string_view name;  // below /_cosmo/ui/, e.g. "app.js"
  absl::string_view content_type;
  absl::string_view body;
  // `body` gzipped; empty when that would not be smaller.
  absl::string_view gzip;
  // A strong entity tag of `body` (quoted): its SHA-256's first 20 hex digits.
  absl::string_view etag;
};

// The file called `name`, or nullptr.
const DashboardAsset* FindDashboardAsset(absl::string_view name);

// Every file (for tests and the page-weight figure).
std::vector<DashboardAsset> AllDashboardAssets();

}  // namespace cosmo::dashboard

#endif  // COSMO_LIB_DASHBOARD_DASHBOARD_ASSETS_H_
