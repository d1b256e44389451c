// The HTTP header rules the dashboard's page files need (RFC 9110): whether a request accepts a
// gzip-coded answer, and whether its If-None-Match names the ETag it already holds. Pure
// functions; thread-safe.
#ifndef COSMO_LIB_DASHBOARD_CONTENT_NEGOTIATION_H_
#define COSMO_LIB_DASHBOARD_CONTENT_NEGOTIATION_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace cosmo::dashboard {

// Whether the Accept-Encoding field values `accept_encoding` (one per header line; none means
// "identity only" for this purpose) accept gzip: `gzip`, `x-gzip` or `*` with a q above 0, unless
// gzip itself is listed with q=0.
bool AcceptsGzip(const std::vector<std::string>& accept_encoding);

// Whether the If-None-Match field value `if_none_match` names `etag` (a quoted entity tag), or is
// `*`. Weak comparison (W/ prefixes ignored), as for GET.
bool ETagMatches(absl::string_view if_none_match, absl::string_view etag);

}  // namespace cosmo::dashboard

#endif  // COSMO_LIB_DASHBOARD_CONTENT_NEGOTIATION_H_
