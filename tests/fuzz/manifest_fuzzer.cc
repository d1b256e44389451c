// Canonical CBOR of manifests: encoding is deterministic and round-trips; decoding arbitrary
// bytes never crashes and accepts only canonical encodings.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>

#include "cosmo/manifest.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Arbitrary bytes as a stored manifest: never crash; whatever is accepted is canonical.
  const std::string raw(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<cosmo::Manifest> decoded = cosmo::DecodeManifest(raw);
  if (decoded.ok()) {
    absl::StatusOr<std::string> again = cosmo::EncodeManifest(*decoded);
    FUZZ_CHECK(again.ok() && *again == raw);
  }

  // A manifest built from the bytes: encoding is deterministic, decodes to itself, and its
  // version is the SHA-256 of the encoding.
  FuzzedDataProvider in(data, size);
  cosmo::Manifest m;
  m.engine = in.ConsumeRandomLengthString(16);
  m.main = in.ConsumeRandomLengthString(32);
  const int files = in.ConsumeIntegralInRange(0, 8);
  for (int i = 0; i < files; ++i) {
    std::string name = in.ConsumeRandomLengthString(24);
    m.files[name] = in.ConsumeRandomLengthString(512);
  }
  const int env = in.ConsumeIntegralInRange(0, 8);
  for (int i = 0; i < env; ++i) {
    std::string name = in.ConsumeRandomLengthString(24);
    m.env[name] = in.ConsumeRandomLengthString(64);
  }
  const int limits = in.ConsumeIntegralInRange(0, 6);
  for (int i = 0; i < limits; ++i) {
    std::string name = in.ConsumeRandomLengthString(16);
    m.limits[name] = in.ConsumeIntegral<uint64_t>();
  }
  absl::StatusOr<std::string> first = cosmo::EncodeManifest(m);
  absl::StatusOr<std::string> second = cosmo::EncodeManifest(m);
  FUZZ_CHECK(first.ok() == second.ok());
  if (!first.ok()) {
    FUZZ_CHECK(first.status().code() == absl::StatusCode::kInvalidArgument);
    return 0;
  }
  FUZZ_CHECK(*first == *second);
  absl::StatusOr<cosmo::Manifest> round = cosmo::DecodeManifest(*first);
  FUZZ_CHECK(round.ok() && *round == m);
  absl::StatusOr<std::string> version = cosmo::ComputeVersion(m);
  FUZZ_CHECK(version.ok() && *version == cosmo::Sha256Hex(*first) &&
             cosmo::IsFullVersion(*version));
  return 0;
}
