// Next-fire computation and parsing of cron expressions (docs/cron.md, "Performance"); the
// target is under 2 us per next-fire time.
#include <cstdint>
#include <string>

#include "absl/time/time.h"
#include "benchmark/benchmark.h"
#include "cron/cron_expression.h"

namespace cosmo {
namespace {

const char* const kExpressions[] = {
    "* * * * *",             // every minute
    "*/5 9-17 * * MON-FRI",  // office hours
    "0 0 1 * *",             // monthly
    "0 0 L * *",             // last day of the month
    "0 12 * * 5L",           // last Friday
    "0 9 15W * *",           // weekday nearest the 15th
    "0 0 * * MON#2",         // second Monday
    "0 0 13 * FRI",          // the 13th or a Friday
    "0 0 29 2 *",            // leap days: up to eight years ahead
    "0 0 * 2 MON#5",         // a fifth Monday in February: up to 40 years ahead
};

// Start times spread over two years so month lengths and weekdays vary between iterations.
void BM_NextAfter(benchmark::State& state) {
  const CronExpression cron = *CronExpression::Parse(kExpressions[state.range(0)]);
  state.SetLabel(cron.text());
  const int64_t base =
      absl::ToUnixMicros(absl::FromCivil(absl::CivilDay(2026, 1, 1), absl::UTCTimeZone()));
  constexpr int64_t kStep = 7'919LL * 60'000'000 + 12'345;  // about 5.5 days, not on a minute
  int64_t offset = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(cron.NextAfterMicros(base + offset));
    offset += kStep;
    if (offset > 2 * 366LL * 86'400'000'000) offset = 0;
  }
}
BENCHMARK(BM_NextAfter)->DenseRange(0, sizeof(kExpressions) / sizeof(kExpressions[0]) - 1);

void BM_Parse(benchmark::State& state) {
  const std::string text = kExpressions[state.range(0)];
  state.SetLabel(text);
  for (auto _ : state) benchmark::DoNotOptimize(CronExpression::Parse(text));
}
BENCHMARK(BM_Parse)->Arg(0)->Arg(1)->Arg(7);

}  // namespace
}  // namespace cosmo
