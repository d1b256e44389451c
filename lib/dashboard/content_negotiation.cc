#include "dashboard/content_negotiation.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace cosmo::dashboard {
namespace {

// The q value of one Accept-Encoding element's parameters ("q=0.5"); 1 when absent, 0 when
// unreadable (an element nobody can rely on).
double QualityOf(absl::string_view params) {
  for (absl::string_view param : absl::StrSplit(params, ';')) {
    param = absl::StripAsciiWhitespace(param);
    if (param.size() < 2 || absl::AsciiStrToLower(param.substr(0, 2)) != "q=") continue;
    double q = 0;
    if (!absl::SimpleAtod(param.substr(2), &q) || q < 0 || q > 1) return 0;
    return q;
  }
  return 1;
}

}  // namespace

bool AcceptsGzip(const std::vector<std::string>& accept_encoding) {
  bool gzip = false, wildcard = false, gzip_refused = false;
  for (const std::string& field : accept_encoding) {
    for (absl::string_view element : absl::StrSplit(field, ',')) {
      element = absl::StripAsciiWhitespace(element);
      const size_t semicolon = element.find(';');
      const std::string coding =
          absl::AsciiStrToLower(absl::StripAsciiWhitespace(element.substr(0, semicolon)));
      const double q =
          semicolon == absl::string_view::npos ? 1 : QualityOf(element.substr(semicolon + 1));
      if ((coding == "gzip" || coding == "x-gzip") && q > 0) {
        gzip = true;
      } else if (coding == "gzip" || coding == "x-gzip") {
        gzip_refused = true;
      } else if (coding == "*" && q > 0) {
        wildcard = true;
      }
    }
  }
  return gzip || (wildcard && !gzip_refused);
}

bool ETagMatches(absl::string_view if_none_match, absl::string_view etag) {
  for (absl::string_view tag : absl::StrSplit(if_none_match, ',')) {
    tag = absl::StripAsciiWhitespace(tag);
    if (tag == "*") return true;
    absl::ConsumePrefix(&tag, "W/");
    absl::string_view want = etag;
    absl::ConsumePrefix(&want, "W/");
    if (tag == want) return true;
  }
  return false;
}

}  // namespace cosmo::dashboard
