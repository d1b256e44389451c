// V8 code cache of one version's modules.
//
// Holds, per source file, the bytes of ScriptCompiler::CreateCodeCache() for that file's module,
// so every isolate after the first deserialises compiled code instead of parsing and compiling
// the source again. A cache belongs to one version (content-addressed, so its sources never
// change) and one V8 build; the engine keys caches by "<version>@<V8 version>".
//
// Thread-safe.
#ifndef COSMO_ENGINE_V8_CODE_CACHE_H_
#define COSMO_ENGINE_V8_CODE_CACHE_H_

#include <map>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace cosmo::v8engine {

class CodeCache {
 public:
  // The cached bytes for `file`, or null.
  std::shared_ptr<const std::string> Find(const std::string& file) const;
  // Keeps `bytes` for `file`, replacing what was held (a later cache of the same source holds
  // more lazily compiled functions, never less valid code).
  void Store(const std::string& file, std::string bytes);
  // Forgets `file`'s bytes (V8 rejected them).
  void Drop(const std::string& file);
  // Total bytes held, for the runtime's memory accounting.
  size_t Bytes() const;

 private:
  mutable absl::Mutex mu_;
  std::map<std::string, std::shared_ptr<const std::string>> files_ ABSL_GUARDED_BY(mu_);
  size_t bytes_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace cosmo::v8engine

#endif  // COSMO_ENGINE_V8_CODE_CACHE_H_
