// Turns a Liquid manifest into the JavaScript manifests the Liquid engine runs.
//
// A Liquid version runs as one generated ES module: its top level hands the deploy's template
// sources (embedded as string literals) to `__cosmo_liquid.page()` from the Liquid runtime in the
// snapshot, which parses them once, and its default export's fetch() renders per request.
// Deploy-time validation uses one constant check module instead: its handler parses the files
// posted to it as JSON and answers the first syntax error, so validating never compiles or caches
// a module per manifest.
//
// Stateless; thread-safe.
#ifndef COSMO_ENGINE_LIQUID_PAGE_MODULE_H_
#define COSMO_ENGINE_LIQUID_PAGE_MODULE_H_

#include <string>

#include "absl/strings/string_view.h"
#include "cosmo/liquid_engine.h"
#include "cosmo/manifest.h"

namespace cosmo::liquid {

class PageModule {
 public:
  // The environment variable of a deploy that sets the response's content type.
  static constexpr absl::string_view kContentTypeVariable = "CONTENT_TYPE";
  static constexpr absl::string_view kDefaultContentType = "text/html; charset=utf-8";

  // The JavaScript manifest serving `page` (engine "liquid", already validated): same env and
  // limits, one module named after the entry file.
  static Manifest ForPage(const Manifest& page, const LiquidEngineOptions& options);

  // The check module: POST it CheckRequestBody(page); it answers "" when every file of `page`
  // parses, else the first error as "file:line:column: message".
  static Manifest CheckModule();
  // The files of `page` as the JSON object {"name": "source", ...}.
  static std::string CheckRequestBody(const Manifest& page);

  // `text` (UTF-8) as a double-quoted JavaScript string literal, which is also a JSON string.
  static std::string Quote(absl::string_view text);
};

}  // namespace cosmo::liquid

#endif  // COSMO_ENGINE_LIQUID_PAGE_MODULE_H_
