// The classic scripts a startup snapshot is built from (the web-API runtime, then any extra
// runtime scripts), kept for as long as isolates made from the snapshot live.
//
// V8 keeps a script's source on the heap for as long as its functions live (they compile lazily
// from it, and Function.prototype.toString reads it), so a snapshot would carry the runtime's
// whole text into every isolate deserialised from it — about half a megabyte each. An ASCII script
// is instead handed to V8 as an external string over this object's copy, whose resource is listed
// in ExternalReferences(): V8 then serialises a reference to the resource rather than the text,
// and every isolate of the engine shares the one copy outside its heap. A script with other
// characters is copied onto the heap instead (as a two-byte string, so the runtime's bundle is
// kept ASCII: lib/engine/v8/js/tools/build.mjs).
//
// Immutable after construction; thread-safe. Must outlive every isolate made from a snapshot
// built from it, and every isolate must be created with its ExternalReferences() (EngineCore owns
// it and hands the list to Isolate::New).
#ifndef COSMO_ENGINE_V8_SNAPSHOT_SOURCES_H_
#define COSMO_ENGINE_V8_SNAPSHOT_SOURCES_H_

#include <v8.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace cosmo::v8engine {

class SnapshotSources {
 public:
  explicit SnapshotSources(std::vector<std::string> scripts);
  ~SnapshotSources();
  SnapshotSources(const SnapshotSources&) = delete;
  SnapshotSources& operator=(const SnapshotSources&) = delete;

  size_t size() const { return scripts_.size(); }
  // Script `i`'s text as a V8 string: external (no copy) when it is ASCII. Empty only if V8
  // cannot allocate the string.
  v8::MaybeLocal<v8::String> Source(v8::Isolate* isolate, size_t i) const;
  // True when script `i` is handed to V8 as an external string.
  bool IsExternal(size_t i) const { return resources_[i] != nullptr; }
  // Natives::ExternalReferences() followed by the external scripts' resources, null-terminated:
  // what SnapshotCreator and Isolate::New must both be given.
  const intptr_t* ExternalReferences() const { return references_.data(); }

 private:
  class Resource;

  const std::vector<std::string> scripts_;
  // One per script; null for a script that is not ASCII.
  std::vector<std::unique_ptr<Resource>> resources_;
  std::vector<intptr_t> references_;
};

}  // namespace cosmo::v8engine

#endif  // COSMO_ENGINE_V8_SNAPSHOT_SOURCES_H_
