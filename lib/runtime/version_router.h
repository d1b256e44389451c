// Which version of a family serves one request: the family's one version, or during a traffic
// split (registry.h, TrafficSplit) one of two, chosen from the request's headers
// (docs/deployments.md, "Routing"):
//
//   Cosmo-Version-Override: PREFIX  pins the request to the serving version starting with PREFIX
//                                   (8 to 64 lowercase hex digits); anything else is refused.
//   Cosmo-Version-Key: K            K's bucket (Bucket(): 0..99, the same in every process) goes
//                                   to the canary when below its percent, else to the base.
//   neither                         random, by the percentages.
//
// Keyed routing is sticky across changes in a key's favour: raising the canary's percent only
// adds buckets to it, lowering it only takes buckets away.
//
// Immutable after construction, so thread-safe; Route() takes no lock and allocates only for
// the message of a refused override.
#ifndef COSMO_LIB_RUNTIME_VERSION_ROUTER_H_
#define COSMO_LIB_RUNTIME_VERSION_ROUTER_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cosmo/invocation.h"

namespace cosmo {

inline constexpr absl::string_view kVersionKeyHeader = "Cosmo-Version-Key";
inline constexpr absl::string_view kVersionOverrideHeader = "Cosmo-Version-Override";

class VersionRouter {
 public:
  enum class Side { kBase, kCanary };

  // `base` and `canary` are full versions; `canary` is empty when one version serves everything
  // (then Route() always answers kBase). `canary_percent` is 0..100.
  VersionRouter(std::string base, std::string canary, uint32_t canary_percent);

  // The side serving a request with `headers`. INVALID_ARGUMENT, with a message for the client,
  // for an override that names no serving version. `pinned` (may be null) is set when an
  // override chose the side, so that no other side may stand in for it.
  absl::StatusOr<Side> Route(const HeaderList& headers, bool* pinned = nullptr) const;

  // The side of a Cosmo-Version-Key, and of a request without one (a fresh random draw).
  Side RouteKey(absl::string_view key) const {
    return Bucket(key) < canary_percent_ ? Side::kCanary : Side::kBase;
  }
  Side RouteRandom() const;

  // A key's bucket, 0..99: its 64-bit FNV-1a hash modulo 100. Fixed forever — gateways and
  // servers of different builds must agree — and easy to compute anywhere.
  static uint32_t Bucket(absl::string_view key);

  bool split() const { return !canary_.empty(); }

 private:
  absl::StatusOr<Side> RouteOverride(absl::string_view prefix) const;

  const std::string base_;
  const std::string canary_;
  const uint32_t canary_percent_;
};

}  // namespace cosmo

#endif  // COSMO_LIB_RUNTIME_VERSION_ROUTER_H_
