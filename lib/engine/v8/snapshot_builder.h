// Builds the startup snapshot every isolate of an engine starts from.
//
// The snapshot's default context holds the natives and the evaluated web-API runtime (a classic
// script), so a new isolate gets Request/Response/URL/... by deserialising instead of compiling
// and running the runtime again. User modules are deliberately not in it: V8 10.2's
// SnapshotCreator aborts when an evaluated ES module's exports are reachable from the snapshot
// context, so modules are loaded per isolate through the code cache instead (see CodeCache).
//
// Stateless; Build() may be called from any thread.
#ifndef COSMO_ENGINE_V8_SNAPSHOT_BUILDER_H_
#define COSMO_ENGINE_V8_SNAPSHOT_BUILDER_H_

#include <string>

#include "absl/status/statusor.h"
#include "engine/v8/snapshot_sources.h"

namespace cosmo::v8engine {

class SnapshotBuilder {
 public:
  // The snapshot blob for `sources`, evaluated in order. INTERNAL if a script throws (a bug in the
  // runtime, never in user code). Isolates made from the blob need `sources` alive and its
  // ExternalReferences().
  static absl::StatusOr<std::string> Build(const SnapshotSources& sources);
};

}  // namespace cosmo::v8engine

#endif  // COSMO_ENGINE_V8_SNAPSHOT_BUILDER_H_
