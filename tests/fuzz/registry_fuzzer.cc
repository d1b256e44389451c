// Deploy requests from arbitrary bytes through validation and the registry on the in-memory
// store: never a crash, only documented error codes, and the registry's invariants always hold
// (the active version is the newest history entry, history is numbered without gaps, every
// version in history loads and matches its hash).
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <memory>
#include <string>

#include "cosmo/registry.h"
#include "fuzz_check.h"
#include "support/scripted_engine.h"

namespace {

bool Documented(const absl::Status& s) {
  switch (s.code()) {
    case absl::StatusCode::kOk:
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kAborted:
      return true;
    default:
      return false;
  }
}

std::string Family(FuzzedDataProvider& in) {
  static const char* const kNames[] = {"shop", "a", "b-2", "Bad", "", "x/y", "_cosmo", "z"};
  return in.ConsumeBool() ? kNames[in.ConsumeIntegralInRange<int>(0, 7)]
                          : in.ConsumeRandomLengthString(70);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  std::unique_ptr<cosmo::Store> store = cosmo::NewInMemoryStore();
  cosmo::testing::ScriptedEngine js("javascript");
  cosmo::ManualClock clock;
  auto registry = cosmo::NewRegistry(store.get(), {&js}, &clock);
  FUZZ_CHECK(registry.ok());
  const char* const kTenants[] = {"acme", "globex"};

  for (int step = 0; step < 32 && in.remaining_bytes() > 0; ++step) {
    const std::string tenant = kTenants[in.ConsumeIntegralInRange<int>(0, 1)];
    const std::string family = Family(in);
    clock.Advance(absl::Seconds(1));
    switch (in.ConsumeIntegralInRange<int>(0, 3)) {
      case 0: {
        cosmo::DeployRequest request;
        request.tenant = tenant;
        request.family = family;
        request.manifest.engine =
            in.ConsumeBool() ? "javascript" : in.ConsumeRandomLengthString(12);
        request.manifest.main = in.ConsumeBool() ? "index.js" : in.ConsumeRandomLengthString(20);
        request.manifest.files[request.manifest.main] = in.ConsumeRandomLengthString(64);
        if (in.ConsumeBool()) {
          request.manifest.files[in.ConsumeRandomLengthString(20)] =
              in.ConsumeRandomLengthString(8);
        }
        if (in.ConsumeBool()) {
          request.manifest.env[in.ConsumeRandomLengthString(12)] = in.ConsumeRandomLengthString(12);
        }
        if (in.ConsumeBool()) {
          request.manifest.limits[in.ConsumeBool() ? "cpu_ms" : in.ConsumeRandomLengthString(10)] =
              in.ConsumeIntegralInRange<uint64_t>(0, 100);
        }
        if (in.ConsumeBool()) request.expected_version = in.ConsumeRandomLengthString(16);
        auto result = (*registry)->Deploy(request);
        FUZZ_CHECK(Documented(result.status()));
        if (result.ok()) {
          auto active = (*registry)->GetActiveVersion(family);
          FUZZ_CHECK(active.ok() && active->version == result->version);
        }
        break;
      }
      case 1: {
        std::optional<std::string> version;
        if (in.ConsumeBool()) version = in.ConsumeRandomLengthString(64);
        auto entry = (*registry)->Rollback(tenant, family, version);
        FUZZ_CHECK(Documented(entry.status()));
        break;
      }
      case 2:
        FUZZ_CHECK(Documented((*registry)->DeleteFamily(tenant, family)));
        break;
      case 3: {
        auto page = (*registry)->History(tenant, family, {.page_size = 1000});
        FUZZ_CHECK(Documented(page.status()));
        if (!page.ok() || page->items.empty()) break;
        auto active = (*registry)->GetActiveVersion(family);
        FUZZ_CHECK(active.ok() && active->version == page->items.front().version);
        for (size_t i = 0; i < page->items.size(); ++i) {
          FUZZ_CHECK(page->items[i].sequence == page->items.size() - i);
          auto manifest = (*registry)->LoadManifest(page->items[i].version);
          FUZZ_CHECK(manifest.ok());
          FUZZ_CHECK(*cosmo::ComputeVersion(*manifest) == page->items[i].version);
        }
        break;
      }
    }
  }
  return 0;
}
