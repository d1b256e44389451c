#include "engine/liquid/page_module.h"

#include "absl/strings/str_cat.h"
#include "common/json_string.h"

namespace cosmo::liquid {
namespace {

// The files as a JavaScript object literal {"name": "source", ...}.
std::string FilesLiteral(const Manifest& page) {
  std::string out = "{";
  for (const auto& [name, source] : page.files) {
    if (out.size() > 1) out += ",\n";
    absl::StrAppend(&out, PageModule::Quote(name), ": ", PageModule::Quote(source));
  }
  out += "}";
  return out;
}

std::string ModuleName(const Manifest& page) { return absl::StrCat(page.main, ".js"); }

}  // namespace

std::string PageModule::Quote(absl::string_view text) { return JsonString(text); }

Manifest PageModule::ForPage(const Manifest& page, const LiquidEngineOptions& options) {
  auto content_type = page.env.find(std::string(kContentTypeVariable));
  std::string config = absl::StrCat(
      "{contentType: ",
      Quote(content_type == page.env.end() ? kDefaultContentType : content_type->second),
      ", maxOutputChars: ", options.max_output_chars,
      ", maxIncludeDepth: ", options.max_include_depth,
      ", maxRenders: ", options.max_rendered_nodes, ", memoryLimit: ", options.max_allocation_units,
      "}");
  Manifest module;
  module.engine = "javascript";
  module.main = ModuleName(page);
  module.env = page.env;
  module.kv = page.kv;
  module.limits = page.limits;
  module.files[module.main] = absl::StrCat(
      "const page = globalThis.__cosmo_liquid.page(", FilesLiteral(page), ",\n", Quote(page.main),
      ", ", config, ");\n",
      "export default { fetch(request, env) { return page.fetch(request, env); } };\n");
  return module;
}

Manifest PageModule::CheckModule() {
  Manifest module;
  module.engine = "javascript";
  module.main = "check.js";
  module.files[module.main] =
      "export default { async fetch(request) {\n"
      "  return globalThis.__cosmo_liquid.check(JSON.parse(await request.text()));\n"
      "} };\n";
  return module;
}

std::string PageModule::CheckRequestBody(const Manifest& page) { return FilesLiteral(page); }

}  // namespace cosmo::liquid
