// The dashboard's JSON API under /_cosmo/api/ (docs/dashboard.md, "API"): the control plane's
// library calls (Registry, Runtime) as JSON, for one authenticated tenant.
//
//   GET  whoami                               the caller's tenant, whether tokens are on, read-only
//   GET  families?filter=&sort=&order=&offset=&limit=   the tenant's families with recent usage
//   GET  families/F                           one family
//   GET  families/F/history?limit=&page_token=
//   GET  families/F/usage?since=&bucket=      usage history per version
//   GET  families/F/logs?after=&limit=&wait_ms=   log records after a sequence (long poll)
//   GET  families/F/crons
//   POST families/F/rollback   {"version": PREFIX}   (body optional)
//   GET  kv/namespaces
//   GET  kv/namespaces/NS/keys?prefix=&cursor=&limit=
//   GET  kv/namespaces/NS/value?key=              one value (its first 64 KiB, base64)
//
// Authentication, Host/Origin/Content-Type checks and the read-only switch are the caller's
// (Dashboard); AdminApi answers one call for a tenant already known. Errors are absl::Status,
// mapped to HTTP by the caller through the one table (lib/http/outcome_status.h).
//
// Borrows the Runtime (and its Registry), which must outlive it. Thread-safe.
#ifndef COSMO_LIB_DASHBOARD_ADMIN_API_H_
#define COSMO_LIB_DASHBOARD_ADMIN_API_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "cosmo/runtime.h"

namespace cosmo::dashboard {

struct ApiCall {
  std::string method;
  // The path after /_cosmo/api/, e.g. "families/shop/usage".
  std::string path;
  std::vector<std::pair<std::string, std::string>> params;
  std::string body;
  std::string tenant;
  bool tokens_required = false;
  // The dashboard answering refuses state changes (cosmo-gateway's); told to the page by whoami.
  bool read_only = false;
};

struct AdminApiOptions {
  // Families per page of `families`: the default and the most a caller may ask for.
  size_t default_page = 50;
  size_t max_page = 500;
  // The window of the families table's recent-usage columns.
  absl::Duration recent_window = absl::Minutes(5);
  // Longest wait of a logs long poll.
  absl::Duration max_log_wait = absl::Seconds(10);
};

class AdminApi {
 public:
  AdminApi(Runtime* runtime, AdminApiOptions options = {}) : runtime_(runtime), options_(options) {}

  // The JSON body of a successful call; NOT_FOUND for an unknown path, and the library's error
  // otherwise. A path that exists under another method is INVALID_ARGUMENT naming the method.
  absl::StatusOr<std::string> Handle(const ApiCall& call);

  // Whether `method` on `path` changes state (so needs the Origin and Content-Type checks).
  static bool ChangesState(absl::string_view method);

  // The `logs` call of the family called `family`, created at `created` (records older than that
  // are an earlier family's of the same name): what this process's Runtime holds. Public for
  // cosmo-gateway, whose logs are its own while the rest of its answers are its servers'.
  absl::StatusOr<std::string> Logs(const ApiCall& call, absl::string_view family,
                                   absl::Time created);

 private:
  absl::StatusOr<std::string> Families(const ApiCall& call);
  absl::StatusOr<std::string> Family(const ApiCall& call, const FamilyInfo& info);
  absl::StatusOr<std::string> History(const ApiCall& call, const FamilyInfo& info);
  absl::StatusOr<std::string> Usage(const ApiCall& call, const FamilyInfo& info);
  absl::StatusOr<std::string> Crons(const FamilyInfo& info);
  absl::StatusOr<std::string> Rollback(const ApiCall& call, const FamilyInfo& info);
  absl::StatusOr<std::string> KvNamespaces(const ApiCall& call);
  absl::StatusOr<std::string> KvKeys(const ApiCall& call, absl::string_view ns);
  absl::StatusOr<std::string> KvValue(const ApiCall& call, absl::string_view ns);

  Runtime* const runtime_;
  const AdminApiOptions options_;
};

}  // namespace cosmo::dashboard

#endif  // COSMO_LIB_DASHBOARD_ADMIN_API_H_
