// A deployable version's content, its canonical encoding, and its name.
//
// A Manifest is what one deploy stores: the engine, the entry file, the source files, the
// environment variables, the limits and the KV namespace bindings the deployer set. Its version is
// the lowercase hex SHA-256 of its core-deterministic CBOR encoding (RFC 8949 §4.2.1: definite
// lengths, shortest integer forms, map keys sorted by their encoded bytes), of exactly the map
//
//   { "engine": text, "main": text, "files": {text: text}, "env": {text: text},
//     "limits": {text: unsigned}, "kv": {text: text}, "crons": [text, ...] }
//
// with the first five maps present even when empty, and "kv" and "crons" present only when not
// empty, so a version made before bindings or crons existed keeps its hash. Anyone can recompute
// a version from the sources and deploy flags; `scripts/hash_vectors.py` does it independently
// with python3-cbor2.
//
// Plain value types and pure functions; thread-safe.
#ifndef COSMO_MANIFEST_H_
#define COSMO_MANIFEST_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace cosmo {

struct Manifest {
  std::string engine;  // "javascript" or "liquid"
  std::string main;    // entry file; a key of `files`
  std::map<std::string, std::string> files;
  std::map<std::string, std::string> env;
  std::map<std::string, uint64_t> limits;
  // KV bindings: the name the script sees in `env` -> the namespace it reaches (docs/kv.md).
  std::map<std::string, std::string> kv;
  std::vector<std::string> crons;  // cron expressions, in the deploy's order (docs/cron.md)

  friend bool operator==(const Manifest&, const Manifest&) = default;

  // Total bytes of source in `files` (keys and values).
  size_t SourceBytes() const;
};

// Canonical CBOR bytes of `manifest`. Fails with INVALID_ARGUMENT if any text is not valid UTF-8
// (CBOR text strings must be), naming the offending field.
absl::StatusOr<std::string> EncodeManifest(const Manifest& manifest);

// Parses canonical CBOR written by EncodeManifest(). Rejects anything else (wrong shape, extra or
// missing keys, non-canonical forms) with DATA_LOSS, since stored manifests are only ever written
// by EncodeManifest().
absl::StatusOr<Manifest> DecodeManifest(absl::string_view cbor);

// Lowercase hex SHA-256 of `bytes`: 64 characters.
std::string Sha256Hex(absl::string_view bytes);

// The version name of `manifest`: Sha256Hex(EncodeManifest(manifest)).
absl::StatusOr<std::string> ComputeVersion(const Manifest& manifest);

// True when `version` is 64 lowercase hex digits.
bool IsFullVersion(absl::string_view version);

}  // namespace cosmo

#endif  // COSMO_MANIFEST_H_
