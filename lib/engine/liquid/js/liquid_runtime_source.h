// The Liquid runtime script: LiquidJS and src/liquid_runtime.js bundled by tools/build.mjs at
// build time. Evaluated into the Liquid engine's startup snapshot after the web-API runtime.
#ifndef COSMO_ENGINE_LIQUID_JS_LIQUID_RUNTIME_SOURCE_H_
#define COSMO_ENGINE_LIQUID_JS_LIQUID_RUNTIME_SOURCE_H_

#include <string_view>

namespace cosmo::liquid {

// UTF-8 source text; static storage.
std::string_view LiquidRuntimeSource();

}  // namespace cosmo::liquid

#endif  // COSMO_ENGINE_LIQUID_JS_LIQUID_RUNTIME_SOURCE_H_
