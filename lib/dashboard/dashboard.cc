#include "dashboard/dashboard.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "dashboard/dashboard_assets.h"
#include "dashboard/request_checks.h"
#include "http/outcome_status.h"

namespace cosmo::dashboard {
namespace {

constexpr absl::string_view kUiPrefix = "/_cosmo/ui";
constexpr absl::string_view kApiPrefix = "/_cosmo/api/";

std::string Header(const HostRequest& request, absl::string_view name) {
  for (const auto& [key, value] : request.headers) {
    if (absl::EqualsIgnoreCase(key, name)) return value;
  }
  return "";
}

// Headers of every answer: nothing here may be framed, sniffed or cached by a shared cache.
void AddCommonHeaders(HostResponse& response) {
  response.headers.emplace_back("X-Content-Type-Options", "nosniff");
  response.headers.emplace_back("X-Frame-Options", "DENY");
  response.headers.emplace_back("Referrer-Policy", "no-referrer");
}

HostResponse Error(const absl::Status& status) {
  http::ErrorStatus mapped = http::StatusForCode(status.code());
  HostResponse response;
  response.status = mapped.http_status;
  response.content_type = "application/json";
  response.body = http::ErrorJson(mapped.code, status.message());
  response.headers.emplace_back("Cache-Control", "no-store");
  if (status.code() == absl::StatusCode::kUnauthenticated) {
    response.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"cosmo\"");
  }
  AddCommonHeaders(response);
  return response;
}

HostResponse MethodNotAllowed(absl::string_view allow, absl::string_view what) {
  http::ErrorStatus mapped = http::StatusForRejection(http::Rejection::kMethodNotAllowed);
  HostResponse response;
  response.status = mapped.http_status;
  response.content_type = "application/json";
  response.body = http::ErrorJson(mapped.code, what);
  response.headers.emplace_back("Allow", std::string(allow));
  AddCommonHeaders(response);
  return response;
}

}  // namespace

Dashboard::Dashboard(Runtime* runtime, const control::TokenAuthenticator* authenticator,
                     DashboardOptions options)
    : authenticator_(authenticator), options_(std::move(options)), api_(runtime, options_.api) {}

HostResponse Dashboard::Handle(const HostRequest& request) {
  if (absl::Status host =
          CheckHost(Header(request, "Host"), request.listen_address, options_.extra_hosts);
      !host.ok()) {
    return Error(host);
  }
  if (absl::StartsWith(request.path, kApiPrefix)) return Api(request);
  return Ui(request);
}

HostResponse Dashboard::Ui(const HostRequest& request) {
  if (request.method != "GET" && request.method != "HEAD") {
    return MethodNotAllowed("GET, HEAD", "the dashboard's pages take GET");
  }
  absl::string_view name = absl::string_view(request.path).substr(kUiPrefix.size());
  if (name.empty() || name == "/") name = "/index.html";
  const DashboardAsset* asset = FindDashboardAsset(name.substr(1));
  if (asset == nullptr) {
    return Error(absl::NotFoundError(absl::StrCat("no dashboard file ", request.path)));
  }
  HostResponse response;
  response.content_type = std::string(asset->content_type);
  response.body = std::string(asset->body);
  // Everything the page loads is its own: no CDN, no inline script, no other origin to talk to.
  response.headers.emplace_back(
      "Content-Security-Policy",
      "default-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; "
      "base-uri 'none'; form-action 'none'");
  response.headers.emplace_back("Cache-Control", "no-cache");
  AddCommonHeaders(response);
  return response;
}

HostResponse Dashboard::Api(const HostRequest& request) {
  for (const auto& [key, value] : request.params) {
    const std::string lower = absl::AsciiStrToLower(key);
    if (lower == "token" || lower == "access_token") {
      return Error(absl::InvalidArgumentError(
          "tokens travel in the Authorization header (Bearer), never in the URL"));
    }
  }
  ApiCall call;
  call.tokens_required = authenticator_->requires_tokens();
  if (call.tokens_required) {
    absl::StatusOr<std::string> tenant =
        authenticator_->Authenticate(Header(request, "Authorization"));
    if (!tenant.ok()) {
      // The authenticator words its error for gRPC metadata; this is HTTP.
      return Error(absl::UnauthenticatedError(
          "missing or unknown token: send `Authorization: Bearer TOKEN` (cosmoctl token new)"));
    }
    call.tenant = *std::move(tenant);
  } else if (!IsLoopbackIp(request.peer_ip)) {
    return Error(absl::PermissionDeniedError(
        "without a tokens file the dashboard answers loopback clients only; start the server "
        "with --auth-tokens-file to serve others"));
  } else {
    call.tenant = std::string(control::TokenAuthenticator::kLocalTenant);
  }
  if (AdminApi::ChangesState(request.method)) {
    if (options_.read_only) {
      return MethodNotAllowed("GET, HEAD",
                              "this dashboard is read-only (a gateway); change state through "
                              "cosmo-server");
    }
    if (absl::Status s = CheckOrigin(Header(request, "Origin"), Header(request, "Host")); !s.ok()) {
      return Error(s);
    }
    if (absl::Status s = CheckJsonContentType(Header(request, "Content-Type")); !s.ok()) {
      return Error(s);
    }
  }
  call.method = request.method;
  call.path = request.path.substr(kApiPrefix.size());
  call.params = request.params;
  call.body = request.body;
  absl::StatusOr<std::string> body = api_.Handle(call);
  if (!body.ok()) return Error(body.status());
  HostResponse response;
  response.content_type = "application/json";
  response.body = *std::move(body);
  response.headers.emplace_back("Cache-Control", "no-store");
  AddCommonHeaders(response);
  return response;
}

}  // namespace cosmo::dashboard
