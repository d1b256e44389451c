// What one chunk of a parked streamed response costs in-process (docs/performance.md, "Streamed
// responses next to hello traffic"): the runtime with the real JavaScript engine, a family whose
// ReadableStream emits one chunk from a timer in each pull() (as benchmarks/streams/ticker.js
// does), and writers that take every piece at once (Detachable(), never full): no socket, so
// what is measured is the JavaScript of the stream, the parked-stream machinery and the driver.
//
//   BM_ParkedStreamChunks/streams:S/every_ms:0    S streams of 100 chunks each, one per turn
//                                                  of the event loop, started together;
//   BM_ParkedStreamChunks/streams:S/every_ms:100  S streams of 20 chunks, one every 100 ms (as
//                                                  the server benchmark's ticker: the driver
//                                                  wakes for a few due streams at a time).
// The benchmark's time is the whole run; the counter cpu_us_per_chunk is the process's CPU
// (every thread) per chunk written once every stream had started (the requests that start them
// are not counted).
#include <benchmark/benchmark.h>
#include <time.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "benchmarks/runtime/bench_runtime.h"
#include "cosmo/runtime.h"

namespace cosmo {
namespace {

constexpr int kChunks = 100;
// With a timer interval: fewer chunks, so that an iteration takes about two seconds.
constexpr int kSpreadChunks = 20;

// One chunk per pull(), each after a timer of ?every= ms (0: the next turn of the loop).
constexpr char kTicker[] = R"js(
const enc = new TextEncoder();
export default {
  fetch(request) {
    const query = new URL(request.url).searchParams;
    const n = Number(query.get('n') ?? 100), every = Number(query.get('every') ?? 0);
    let i = 0;
    return new Response(new ReadableStream({
      pull(controller) {
        return new Promise((resolve) => setTimeout(() => {
          controller.enqueue(enc.encode(`tick ${++i}\n`));
          if (i === n) controller.close();
          resolve();
        }, every));
      },
    }), {headers: {'content-type': 'text/plain'}});
  },
};
)js";

// Counts what it is given; tells `done` when the runtime says the stream ended.
class CountingWriter final : public ResponseBodyWriter {
 public:
  explicit CountingWriter(std::function<void()> done) : done_(std::move(done)) {}
  absl::Status Start(int, const HeaderList&) override { return absl::OkStatus(); }
  bool Write(absl::string_view bytes) override {
    pieces_.fetch_add(1, std::memory_order_relaxed);
    return true;
  }
  void Finish() override {}
  bool ReceiverGone() override { return false; }
  bool Detachable() const override { return true; }
  Offered TryWrite(absl::string_view) override {
    pieces_.fetch_add(1, std::memory_order_relaxed);
    return Offered::kTaken;
  }
  void WhenWritable(std::function<void()> wake) override { wake(); }
  void Completed(InvokeResult&&) override { done_(); }
  uint64_t pieces() const { return pieces_.load(std::memory_order_relaxed); }

 private:
  const std::function<void()> done_;
  std::atomic<uint64_t> pieces_{0};
};

Runtime& SharedRuntime() {
  static Runtime* runtime = [] {
    std::unique_ptr<Runtime> created = bench::NewBenchRuntime();
    bench::DeployJavaScript(*created, "ticker", kTicker);
    return created.release();
  }();
  return *runtime;
}

double ProcessCpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

void BM_ParkedStreamChunks(benchmark::State& state) {
  const int streams = static_cast<int>(state.range(0));
  const int every_ms = static_cast<int>(state.range(1));
  FamilyHandle ticker = SharedRuntime().Family("ticker");
  const std::string url = "http://127.0.0.1/ticker/?every=" + std::to_string(every_ms) +
                          "&n=" + std::to_string(every_ms == 0 ? kChunks : kSpreadChunks);
  double cpu = 0;
  uint64_t chunks = 0;
  for (auto _ : state) {
    absl::Mutex mu;
    int open = streams;
    std::vector<std::unique_ptr<CountingWriter>> writers;
    for (int i = 0; i < streams; ++i) {
      writers.push_back(std::make_unique<CountingWriter>([&] {
        absl::MutexLock lock(&mu);
        --open;
      }));
      InvokeResult r =
          ticker.Invoke({.method = "GET", .url = url, .body_writer = writers.back().get()});
      if (r.outcome != Outcome::kOk) {
        state.SkipWithError(r.error.c_str());
        return;
      }
      if (!r.response.stream_pending) writers.back()->Completed(std::move(r));
    }
    // From here on only the streams run: their starts (a request each) are not counted.
    const double cpu0 = ProcessCpuSeconds();
    uint64_t written_before = 0;
    for (const auto& w : writers) written_before += w->pieces();
    {
      absl::MutexLock lock(&mu);
      mu.Await(absl::Condition(
          +[](int* n) { return *n == 0; }, &open));
    }
    cpu += ProcessCpuSeconds() - cpu0;
    for (const auto& w : writers) chunks += w->pieces();
    chunks -= written_before;
  }
  state.counters["cpu_us_per_chunk"] = chunks ? cpu * 1e6 / chunks : 0;
  state.counters["chunks"] = static_cast<double>(chunks);
}
BENCHMARK(BM_ParkedStreamChunks)
    ->ArgNames({"streams", "every_ms"})
    ->Args({10, 0})
    ->Args({100, 0})
    ->Args({1000, 0})
    ->Args({1000, 100})
    ->Args({100, 10})
    ->Args({100, 100})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace cosmo
