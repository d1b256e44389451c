// Process-wide V8 initialisation.
//
// V8 allows one platform per process and its flags must be set before the first isolate exists.
// V8Platform::EnsureInitialized() does both exactly once, from whichever thread gets there first;
// the platform is never torn down (V8 cannot be re-initialised after V8::Dispose()). It is V8's
// default platform but for the page allocator of the isolates' heaps (RecyclingPageAllocator).
#ifndef COSMO_ENGINE_V8_V8_PLATFORM_H_
#define COSMO_ENGINE_V8_V8_PLATFORM_H_

#include <string>

namespace v8 {
class Platform;
}  // namespace v8

namespace cosmo::v8engine {

class RecyclingPageAllocator;

class V8Platform {
 public:
  // Initialises the platform and flags on first call; later calls return at once. Thread-safe.
  static void EnsureInitialized();

  // "10.2.154.26": part of every code-cache key, since cached code is only valid for the V8 build
  // that wrote it.
  static const std::string& Version();

  // The process's platform, for pumping an isolate's foreground tasks. Requires
  // EnsureInitialized().
  static v8::Platform* Get();

  // Where every isolate's heap pages come from (recycling_page_allocator.h): V8's default page
  // allocator, keeping torn-down isolates' pages for the next ones. Requires EnsureInitialized().
  static RecyclingPageAllocator& Pages();
};

}  // namespace cosmo::v8engine

#endif  // COSMO_ENGINE_V8_V8_PLATFORM_H_
