#include "cosmo/limits.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace cosmo {
namespace {

struct LimitKey {
  const char* name;
  // The cap for this key, in the key's unit.
  uint64_t (*cap)(const ScriptLimits&);
  // Lowers `limits` to `value` (in the key's unit) when that is below its current setting.
  void (*apply)(ScriptLimits&, uint64_t value);
};

constexpr uint64_t kMiB = uint64_t{1} << 20;

const LimitKey kLimitKeys[] = {
    {kLimitCpuMs,
     [](const ScriptLimits& c) -> uint64_t { return absl::ToInt64Milliseconds(c.cpu_per_request); },
     [](ScriptLimits& l, uint64_t v) {
       l.cpu_per_request = std::min(l.cpu_per_request, absl::Milliseconds(static_cast<int64_t>(v)));
     }},
    {kLimitMemoryMb, [](const ScriptLimits& c) -> uint64_t { return c.memory_bytes / kMiB; },
     [](ScriptLimits& l, uint64_t v) {
       l.memory_bytes = static_cast<size_t>(std::min<uint64_t>(l.memory_bytes, v * kMiB));
     }},
    {kLimitWallMs,
     [](const ScriptLimits& c) -> uint64_t {
       return absl::ToInt64Milliseconds(c.wall_per_request);
     },
     [](ScriptLimits& l, uint64_t v) {
       l.wall_per_request =
           std::min(l.wall_per_request, absl::Milliseconds(static_cast<int64_t>(v)));
     }},
    {kLimitSubrequests, [](const ScriptLimits& c) -> uint64_t { return c.subrequests; },
     [](ScriptLimits& l, uint64_t v) {
       l.subrequests = static_cast<uint32_t>(std::min<uint64_t>(l.subrequests, v));
     }},
};

const LimitKey* FindKey(const std::string& name) {
  for (const LimitKey& key : kLimitKeys) {
    if (name == key.name) return &key;
  }
  return nullptr;
}

}  // namespace

absl::Status ScriptLimits::Validate() const {
  if (cpu_per_request <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("limits: cpu_per_request must be positive");
  }
  if (memory_bytes < (size_t{4} << 20)) {
    return absl::InvalidArgumentError("limits: memory_bytes must be at least 4 MiB");
  }
  if (wall_per_request <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("limits: wall_per_request must be positive");
  }
  if (startup_cpu <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("limits: startup_cpu must be positive");
  }
  return absl::OkStatus();
}

absl::Status ValidateRequestedLimits(const std::map<std::string, uint64_t>& requested,
                                     const ScriptLimits& caps) {
  for (const auto& [name, value] : requested) {
    const LimitKey* key = FindKey(name);
    if (key == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("limits: unknown limit '", name,
                       "'; known limits are cpu_ms, memory_mb, wall_ms, subrequests"));
    }
    if (value == 0) {
      return absl::InvalidArgumentError(absl::StrCat("limits: ", name, " must be at least 1"));
    }
    const uint64_t cap = key->cap(caps);
    if (value > cap) {
      return absl::InvalidArgumentError(
          absl::StrCat("limits: ", name, "=", value, " exceeds this server's cap of ", cap));
    }
  }
  return absl::OkStatus();
}

ScriptLimits ResolveLimits(const std::map<std::string, uint64_t>& requested,
                           const ScriptLimits& caps) {
  ScriptLimits limits = caps;
  for (const auto& [name, value] : requested) {
    const LimitKey* key = FindKey(name);
    if (key != nullptr && value > 0) key->apply(limits, value);
  }
  return limits;
}

}  // namespace cosmo
