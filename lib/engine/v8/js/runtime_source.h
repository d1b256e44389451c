// The web-API runtime: one classic script (Headers, Request, Response, URL, TextEncoder, console,
// ... and the __cosmo_dispatch surface the engine calls), bundled at build time from
// lib/engine/v8/js/src and whatwg-url by tools/build.mjs. The engine evaluates it once into the
// startup snapshot's context, after installing __cosmo_native (natives.h).
#ifndef COSMO_ENGINE_V8_JS_RUNTIME_SOURCE_H_
#define COSMO_ENGINE_V8_JS_RUNTIME_SOURCE_H_

#include <string_view>

namespace cosmo::v8engine {

// The script's UTF-8 text, with static storage duration. Thread-safe.
std::string_view RuntimeSource();

}  // namespace cosmo::v8engine

#endif  // COSMO_ENGINE_V8_JS_RUNTIME_SOURCE_H_
