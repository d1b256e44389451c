#include "engine/v8/v8_platform.h"

#include <libplatform/libplatform.h>
#include <v8.h>

#include <memory>
#include <string_view>

#include "absl/base/call_once.h"

namespace cosmo::v8engine {
namespace {

// Flags every isolate in the process runs with.
//  - The experimental linear-time regexp engine takes over from irregexp once a match has
//    backtracked 10,000 times, so catastrophic patterns like /(a+)+$/ finish in milliseconds
//    instead of burning the request's CPU budget (the watchdog stays the backstop).
//  - The startup snapshot is built in this process and never leaves memory, so re-checksumming
//    it on every new isolate (8% of an activation) buys nothing.
//  - WebAssembly.compile()/instantiate() compile on the calling thread and settle at once: there
//    is no event loop yet to deliver a background compile's result, and the compile then counts
//    against the request's CPU like any other work.
constexpr std::string_view kFlags =
    "--enable-experimental-regexp-engine-on-excessive-backtracks "
    "--regexp-backtracks-before-fallback=10000 "
    "--harmony-sharedarraybuffer "
    "--no-wasm-async-compilation "
    "--no-verify-snapshot-checksum";

absl::once_flag g_once;
v8::Platform* g_platform = nullptr;

void Initialize() {
  v8::V8::SetFlagsFromString(kFlags.data(), kFlags.size());
  // Leaked on purpose: the platform must outlive every isolate, including ones destroyed by
  // static destructors, and V8 cannot be initialised twice anyway.
  g_platform = v8::platform::NewDefaultPlatform(/*thread_pool_size=*/2,
                                                v8::platform::IdleTaskSupport::kDisabled)
                   .release();
  v8::V8::InitializePlatform(g_platform);
  v8::V8::Initialize();
}

}  // namespace

void V8Platform::EnsureInitialized() { absl::call_once(g_once, Initialize); }

v8::Platform* V8Platform::Get() { return g_platform; }

const std::string& V8Platform::Version() {
  static const std::string* version = new std::string(v8::V8::GetVersion());
  return *version;
}

}  // namespace cosmo::v8engine
