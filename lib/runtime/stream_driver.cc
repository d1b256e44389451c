#include "runtime/stream_driver.h"

#include <algorithm>
#include <utility>

#include "absl/time/clock.h"
#include "common/thread_name.h"
#include "common/wake_batch.h"

namespace cosmo {
namespace {

// The driver sleeps this much past the earliest wake, so that streams due within it (a thousand
// streams' timers are a few microseconds apart) are turned in one pass over their instance.
constexpr absl::Duration kCoalesce = absl::Milliseconds(1);

}  // namespace

StreamDriver::StreamDriver(EndFn end) : end_(std::move(end)) {
  thread_ = std::thread([this] {
    NameThisThread("cosmo-streams");
    Run();
  });
}

StreamDriver::~StreamDriver() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void StreamDriver::Track(const std::string& family, std::shared_ptr<const VersionSlot> slot) {
  absl::MutexLock lock(&mu_);
  woken_ = true;
  for (Tracked& tracked : tracked_) {
    if (tracked.slot->pool == slot->pool) {
      tracked.slot = std::move(slot);  // the newest masking of the version's secrets
      return;
    }
  }
  tracked_.push_back({family, std::move(slot)});
}

void StreamDriver::Wake() {
  absl::MutexLock lock(&mu_);
  woken_ = true;
}

void StreamDriver::Run() {
  absl::Time next = absl::InfiniteFuture();
  while (true) {
    std::vector<Tracked> tracked;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return woken_ || stop_; };
      if (next == absl::InfiniteFuture()) {
        mu_.Await(absl::Condition(&ready));
      } else {
        mu_.AwaitWithDeadline(absl::Condition(&ready), next + kCoalesce);
      }
      if (stop_) return;
      woken_ = false;
      tracked = tracked_;
    }
    next = absl::InfiniteFuture();
    std::vector<std::shared_ptr<InstancePool>> idle;
    {
      // What the pass offers the streams' writers reaches their event loops at its end: one
      // wake of each loop per pass, not one per chunk that finds it idle.
      WakeBatch batch;
      for (const Tracked& t : tracked) {
        const absl::Time due = Turn(t);
        next = std::min(next, due);
        if (due == absl::InfiniteFuture()) idle.push_back(t.slot->pool);
      }
    }
    if (idle.empty()) continue;
    absl::MutexLock lock(&mu_);
    // A pool whose idle instances have nothing parked is dropped; a request that parks a stream
    // on one of its busy instances tracks it again after giving the instance back.
    tracked_.erase(std::remove_if(tracked_.begin(), tracked_.end(),
                                  [&](const Tracked& t) {
                                    return std::find(idle.begin(), idle.end(), t.slot->pool) !=
                                               idle.end() &&
                                           t.slot->pool->ParkedStreams() == 0;
                                  }),
                   tracked_.end());
  }
}

absl::Time StreamDriver::Turn(const Tracked& tracked) {
  InstancePool& pool = *tracked.slot->pool;
  while (std::unique_ptr<Instance> instance = pool.TakeParkedDue(absl::Now())) {
    std::vector<Instance::EndedStream> ended = instance->ResumeParked();
    pool.Release(std::move(instance));
    EndAll(tracked, std::move(ended));
  }
  return pool.NextParkedWake();
}

void StreamDriver::EndAll(const Tracked& tracked, std::vector<Instance::EndedStream> ended) {
  Ended(ended.size());
  for (Instance::EndedStream& stream : ended)
    end_(tracked.family, *tracked.slot, std::move(stream));
}

void StreamDriver::Shutdown(absl::string_view reason) {
  std::vector<Tracked> tracked;
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
    tracked.swap(tracked_);
  }
  if (thread_.joinable()) thread_.join();
  for (const Tracked& t : tracked) {
    while (std::unique_ptr<Instance> instance =
               t.slot->pool->TakeParkedDue(absl::InfiniteFuture())) {
      std::vector<Instance::EndedStream> ended = instance->AbandonParked(reason);
      t.slot->pool->Release(std::move(instance));
      EndAll(t, std::move(ended));
    }
  }
}

}  // namespace cosmo
