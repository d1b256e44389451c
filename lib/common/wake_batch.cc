#include "common/wake_batch.h"

#include <algorithm>
#include <utility>
#include <vector>

namespace cosmo {
namespace {

thread_local int t_depth = 0;
// The deferred targets of the calling thread's batch (a few: one per event loop it feeds).
thread_local std::vector<std::shared_ptr<Wakeable>> t_deferred;

}  // namespace

WakeBatch::WakeBatch() { ++t_depth; }

WakeBatch::~WakeBatch() {
  if (--t_depth > 0) return;
  std::vector<std::shared_ptr<Wakeable>> deferred;
  deferred.swap(t_deferred);
  for (const std::shared_ptr<Wakeable>& target : deferred) target->Wake();
  deferred.clear();
  if (t_deferred.empty()) t_deferred.swap(deferred);  // keep the capacity for the next batch
}

void WakeBatch::WakeOrDefer(const std::shared_ptr<Wakeable>& target) {
  if (t_depth == 0) {
    target->Wake();
    return;
  }
  if (std::find(t_deferred.begin(), t_deferred.end(), target) == t_deferred.end()) {
    t_deferred.push_back(target);
  }
}

}  // namespace cosmo
