#include "runtime/instance_gate.h"

namespace cosmo {

bool InstanceGate::Enter(absl::Duration max_wait) {
  absl::MutexLock lock(&mu_);
  auto open = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return running_ < capacity_; };
  if (!open() && !mu_.AwaitWithTimeout(absl::Condition(&open), max_wait)) return false;
  ++running_;
  return true;
}

void InstanceGate::Leave() {
  absl::MutexLock lock(&mu_);
  --running_;
}

}  // namespace cosmo
