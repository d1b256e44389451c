// The cron scheduler's cost with 10,000 families holding crons (docs/cron.md, "Performance"):
// a poll while no tick is due, which the runtime makes every 100 ms (600 a minute), and a poll
// that must walk every family's schedule because one tick is due.
#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "cosmo/clock.h"
#include "cosmo/runtime.h"
#include "runtime/cron_scheduler.h"
#include "support/scripted_engine.h"

namespace cosmo {
namespace {

constexpr int kFamilies = 10'000;

// 10,000 families, all with a yearly cron except `every-minute`, in a Runtime over the
// in-memory store (its own scheduler off), and a scheduler of their crons whose runs do nothing.
struct Setup {
  ManualClock clock{absl::FromUnixSeconds(1780272007)};  // Monday 2026-06-01 00:00:07
  std::unique_ptr<Runtime> runtime;
  std::unique_ptr<CronScheduler> scheduler;

  Setup() {
    RuntimeOptions options;
    options.clock = &clock;
    options.background_maintenance = false;
    options.run_crons = false;
    std::vector<std::unique_ptr<Engine>> engines;
    engines.push_back(std::make_unique<testing::ScriptedEngine>());
    runtime = *NewRuntime(options, NewInMemoryStore(), std::move(engines));
    for (int i = 0; i < kFamilies; ++i) {
      Manifest m = testing::ScriptManifest("respond 200 ok");
      m.crons = {i == 0 ? "* * * * *" : absl::StrCat(i % 60, " ", i % 24, " 1 1 *")};
      (void)runtime->registry().Deploy({.tenant = "local",
                                        .family = i == 0 ? "every-minute" : absl::StrCat("f", i),
                                        .manifest = m});
    }
    scheduler = std::make_unique<CronScheduler>(
        &runtime->store(), &runtime->registry(), &clock,
        [](const std::string&, const ScheduledEvent&) {
          InvokeResult result;
          result.outcome = Outcome::kOk;
          return result;
        },
        [](const Manifest&) { return absl::Seconds(30); },
        CronSchedulerOptions{.server_id = "bench"});
    (void)scheduler->Start();
  }
};

Setup& Shared() {
  static Setup* setup = new Setup();
  return *setup;
}

// Between ticks: the poll the runtime makes every 100 ms.
void BM_PollIdle(benchmark::State& state) {
  Setup& s = Shared();
  s.scheduler->Poll();
  for (auto _ : state) s.scheduler->Poll();
}
BENCHMARK(BM_PollIdle);

// A minute passes: `every-minute`'s tick is due, so the poll walks all 10,000 schedules and
// claims that one tick (a guarded create in the in-memory store).
void BM_PollOneDueTick(benchmark::State& state) {
  Setup& s = Shared();
  for (auto _ : state) {
    s.clock.Advance(absl::Minutes(1));
    s.scheduler->Poll();
    state.PauseTiming();
    s.scheduler->WaitForRuns();
    state.ResumeTiming();
  }
}
BENCHMARK(BM_PollOneDueTick)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace cosmo
