#include "dashboard/dashboard.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "dashboard/content_negotiation.h"
#include "dashboard/dashboard_assets.h"
#include "dashboard/request_checks.h"
#include "http/outcome_status.h"

namespace cosmo::dashboard {
namespace {

constexpr absl::string_view kUiPrefix = "/_cosmo/ui";
constexpr absl::string_view kApiPrefix = "/_cosmo/api/";

// Every value of the header `name` (case-insensitive) of `request`, in order.
std::vector<std::string> HeaderValues(const HostRequest& request, absl::string_view name) {
  std::vector<std::string> values;
  for (const auto& [key, value] : request.headers) {
    if (absl::EqualsIgnoreCase(key, name)) values.push_back(value);
  }
  return values;
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
    : options_(std::move(options)),
      owned_backend_(std::make_unique<LocalApiBackend>(runtime, authenticator, options_.api)),
      backend_(owned_backend_.get()) {}

Dashboard::Dashboard(ApiBackend* backend, DashboardOptions options)
    : options_(std::move(options)), backend_(backend) {}

HostResponse Dashboard::Handle(const HostRequest& request) {
  if (absl::Status host =
          CheckHost(HeaderOf(request, "Host"), request.listen_address, options_.extra_hosts);
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
  // Each file in two forms, gzipped for clients that accept it and as it is for the others:
  // caches must keep them apart (Vary), and each has its own ETag to revalidate with.
  const bool gzip = !asset->gzip.empty() && AcceptsGzip(HeaderValues(request, "Accept-Encoding"));
  const std::string etag =
      gzip ? absl::StrCat(asset->etag.substr(0, asset->etag.size() - 1), "-gzip\"")
           : std::string(asset->etag);
  response.headers.emplace_back("ETag", etag);
  response.headers.emplace_back("Vary", "Accept-Encoding");
  if (ETagMatches(HeaderOf(request, "If-None-Match"), etag)) {
    response.status = 304;  // the client's copy is this one
    response.content_type.clear();
  } else if (gzip) {
    response.body = std::string(asset->gzip);
    response.headers.emplace_back("Content-Encoding", "gzip");
  } else {
    response.body = std::string(asset->body);
  }
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
  if (AdminApi::ChangesState(request.method)) {
    if (options_.read_only) {
      return MethodNotAllowed("GET, HEAD",
                              "this dashboard is read-only (cosmo-gateway's); roll back and "
                              "change state through cosmo-server's dashboard or cosmoctl");
    }
    if (absl::Status s = CheckOrigin(HeaderOf(request, "Origin"), HeaderOf(request, "Host"));
        !s.ok()) {
      return Error(s);
    }
    if (absl::Status s = CheckJsonContentType(HeaderOf(request, "Content-Type")); !s.ok()) {
      return Error(s);
    }
  }
  ApiCall call;
  call.method = request.method;
  call.path = request.path.substr(kApiPrefix.size());
  call.params = request.params;
  call.body = request.body;
  call.read_only = options_.read_only;
  absl::StatusOr<std::string> body = backend_->Answer(request, std::move(call));
  if (!body.ok()) return Error(body.status());
  HostResponse response;
  response.content_type = "application/json";
  response.body = *std::move(body);
  response.headers.emplace_back("Cache-Control", "no-store");
  AddCommonHeaders(response);
  return response;
}

}  // namespace cosmo::dashboard
