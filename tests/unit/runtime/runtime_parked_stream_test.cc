// Parked streams (docs/architecture.md, "Parked streams"): streamed responses to a Detachable()
// writer go on after Runtime::Invoke() returned, many in one instance, through a real Runtime
// with the real JavaScript engine. Each test writer keeps what it was given and signals its
// Completed().
#include <cstdint>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "cosmo/clock.h"
#include "cosmo/limits.h"
#include "cosmo/runtime.h"
#include "cosmo/store.h"
#include "gtest/gtest.h"
#include "unit/engine/v8/detachable_test_writer.h"

namespace cosmo {
namespace {

// /tick?n=N&every=MS: N chunks "chunk i\n", one every MS ms (from a timer in pull()).
// /burst?n=N: N chunks at once, as fast as pull() is called; /pulls: how often it was.
// /throw?after=K: errors after K chunks. /spin?after=K: loops forever in the timer after K chunks.
// /hog?after=K: allocates until the memory limit after K chunks. /hello: a plain response.
constexpr char kStreams[] = R"js(
globalThis.pulls = 0;
const enc = new TextEncoder();
export default {
  fetch(request) {
    const url = new URL(request.url);
    const what = url.pathname.split('/').pop();
    const param = (name, fallback) => Number(url.searchParams.get(name) ?? fallback);
    if (what === 'hello') return new Response('hello');
    if (what === 'pulls') return new Response(String(globalThis.pulls));
    const n = param('n', 10), every = param('every', 20), after = param('after', 1e9);
    let i = 0;
    if (what === 'burst') {
      return new Response(new ReadableStream({
        pull(controller) {
          ++globalThis.pulls;
          controller.enqueue(enc.encode(`chunk ${i++}\n`));
          if (i === n) controller.close();
        },
      }));
    }
    return new Response(new ReadableStream({
      pull(controller) {
        return new Promise((resolve, reject) => setTimeout(() => {
          if (i === after) {
            if (what === 'throw') return reject(new Error('the source broke at ' + i));
            if (what === 'spin') for (;;) {}
            if (what === 'hog') { const hoard = []; for (;;) hoard.push(new Array(1e5).fill(i)); }
          }
          controller.enqueue(enc.encode(`chunk ${i++}\n`));
          if (i === n) controller.close();
          resolve();
        }, every));
      },
      cancel(reason) { console.log(`cancelled after ${i} chunks: ${reason}`); },
    }));
  },
};
)js";

std::string Chunks(int n) {
  std::string body;
  for (int i = 0; i < n; ++i) absl::StrAppend(&body, "chunk ", i, "\n");
  return body;
}

class RuntimeParkedStreamTest : public ::testing::Test {
 protected:
  void Start(size_t max_instances = 0, std::map<std::string, uint64_t> limits = {},
             const std::function<void(RuntimeOptions&)>& configure = nullptr) {
    RuntimeOptions options;
    options.background_maintenance = false;
    options.clock = &clock_;
    if (configure) configure(options);
    options.max_instances_per_version = max_instances;
    // Room for a memory test to reach its limit before the CPU one (a family that says nothing
    // gets the caps).
    options.caps.cpu_per_request = absl::Seconds(5);
    auto runtime = NewRuntime(options, NewInMemoryStore());
    ASSERT_TRUE(runtime.ok()) << runtime.status();
    runtime_ = *std::move(runtime);
    Deploy(kStreams, std::move(limits));
  }

  void Deploy(const std::string& source, std::map<std::string, uint64_t> limits = {}) {
    Manifest m;
    m.engine = "javascript";
    m.main = "index.js";
    m.files["index.js"] = source;
    m.limits = std::move(limits);
    auto deployed =
        runtime_->registry().Deploy({.tenant = "local", .family = "streams", .manifest = m});
    ASSERT_TRUE(deployed.ok()) << deployed.status();
  }

  InvokeResult Invoke(const std::string& path, ResponseBodyWriter* writer = nullptr) {
    return runtime_->Invoke(
        "streams",
        {.method = "GET", .url = "http://localhost/streams/" + path, .body_writer = writer});
  }

  // Starts a stream that parks.
  void Park(const std::string& path, testing::DetachableTestWriter& writer) {
    InvokeResult r = Invoke(path, &writer);
    ASSERT_EQ(r.outcome, Outcome::kOk) << r.error;
    EXPECT_TRUE(r.response.streamed);
    ASSERT_TRUE(r.response.stream_pending) << path;
    EXPECT_EQ(writer.starts(), 1) << "the head goes out before Invoke() returns";
  }

  std::string Logs() {
    std::string text;
    for (const LogRecord& record : runtime_->ReadLogs("streams", 0, 10000).records) {
      absl::StrAppend(&text, record.text, "\n");
    }
    return text;
  }

  ManualClock clock_;
  std::unique_ptr<Runtime> runtime_;
};

void ExpectComplete(testing::DetachableTestWriter& writer, int chunks) {
  ASSERT_TRUE(writer.AwaitCompleted());
  InvokeResult r = writer.Result();
  EXPECT_EQ(r.outcome, Outcome::kOk) << r.error;
  EXPECT_TRUE(r.response.streamed);
  EXPECT_TRUE(r.response.stream_complete);
  EXPECT_FALSE(r.response.stream_pending);
  EXPECT_TRUE(writer.finished());
  EXPECT_EQ(writer.Body(), Chunks(chunks));
  EXPECT_EQ(r.usage.response_bytes, Chunks(chunks).size());
  EXPECT_EQ(writer.completions(), 1);
}

TEST_F(RuntimeParkedStreamTest, TwoHundredStreamsFromOneThreadShareAnInstanceOrTwo) {
  Start();
  constexpr int kStreams = 200;
  std::vector<std::unique_ptr<testing::DetachableTestWriter>> writers;
  for (int i = 0; i < kStreams; ++i) {
    writers.push_back(std::make_unique<testing::DetachableTestWriter>());
    ASSERT_NO_FATAL_FAILURE(Park("tick?n=10&every=20", *writers.back()));
  }
  // Other requests are served meanwhile.
  InvokeResult hello = Invoke("hello");
  EXPECT_EQ(hello.outcome, Outcome::kOk) << hello.error;
  EXPECT_EQ(hello.response.body, "hello");
  for (auto& writer : writers) ASSERT_NO_FATAL_FAILURE(ExpectComplete(*writer, 10));
  const RuntimeStats stats = runtime_->Stats();
  EXPECT_LE(stats.live_instances, 4u) << "streams must not need an instance each";
  EXPECT_LE(stats.instances_created, 4u);
  EXPECT_EQ(stats.streams_ended, static_cast<uint64_t>(kStreams));
  EXPECT_EQ(stats.parked_streams, 0u);
  std::cout << "[ info ] " << kStreams << " streams: " << stats.live_instances
            << " live instances, " << stats.instances_created << " created\n";
}

TEST_F(RuntimeParkedStreamTest, AThousandStreams) {
  Start();
  constexpr int kStreams = 1000;
  std::vector<std::unique_ptr<testing::DetachableTestWriter>> writers;
  for (int i = 0; i < kStreams; ++i) {
    writers.push_back(std::make_unique<testing::DetachableTestWriter>());
    ASSERT_NO_FATAL_FAILURE(Park("tick?n=10&every=50", *writers.back()));
  }
  for (auto& writer : writers) ASSERT_NO_FATAL_FAILURE(ExpectComplete(*writer, 10));
  const RuntimeStats stats = runtime_->Stats();
  EXPECT_LE(stats.live_instances, 4u);
  EXPECT_EQ(stats.streams_ended, static_cast<uint64_t>(kStreams));
  std::cout << "[ info ] " << kStreams << " streams: " << stats.live_instances
            << " live instances, " << stats.instances_created << " created\n";
}

TEST_F(RuntimeParkedStreamTest, AFullWriterStopsTheSourceUntilItWakes) {
  Start(/*max_instances=*/1);
  constexpr int kChunks = 40;
  testing::DetachableTestWriter writer(/*capacity=*/2);
  ASSERT_NO_FATAL_FAILURE(Park(absl::StrCat("burst?n=", kChunks), writer));
  ASSERT_TRUE(writer.AwaitWaker());
  EXPECT_EQ(writer.Pieces(), 2u);
  EXPECT_GE(writer.full(), 1);
  // The source was pulled for what the writer took, the piece it holds and the stream's queue
  // (high-water mark 1), not to its end; and nothing moves until the writer wakes.
  auto pulls = [&] {
    InvokeResult r = Invoke("pulls");
    EXPECT_EQ(r.outcome, Outcome::kOk) << r.error;
    return std::stoi(r.response.body);
  };
  const int pulled = pulls();
  EXPECT_LE(pulled, 5);
  EXPECT_EQ(pulls(), pulled);
  EXPECT_EQ(writer.Pieces(), 2u);
  // Draining lets it go on, a couple of pieces at a time, to the end: nothing lost or reordered.
  while (writer.completions() == 0) {
    writer.Drain();
    writer.AwaitWaker();
  }
  ASSERT_NO_FATAL_FAILURE(ExpectComplete(writer, kChunks));
  EXPECT_GE(writer.full(), kChunks / 2 - 1);
}

TEST_F(RuntimeParkedStreamTest, AStreamThatEndsBeforeInvokeReturnsIsReturnedWhole) {
  // Its first piece is refused, so the stream parks; the writer wakes at once, so the stream is
  // turned (and ends) while the request gives its instance back: Invoke() returns its final
  // result, and Completed() is never called on a writer whose caller was not told to wait.
  Start();
  testing::DetachableTestWriter writer;
  writer.set_refuse_first(true);
  InvokeResult r = Invoke("burst?n=5", &writer);
  EXPECT_EQ(r.outcome, Outcome::kOk) << r.error;
  EXPECT_FALSE(r.response.stream_pending);
  EXPECT_TRUE(r.response.streamed);
  EXPECT_TRUE(r.response.stream_complete);
  EXPECT_EQ(r.usage.response_bytes, Chunks(5).size());
  EXPECT_EQ(writer.full(), 1);
  EXPECT_EQ(writer.Body(), Chunks(5));
  EXPECT_TRUE(writer.finished());
  EXPECT_EQ(writer.completions(), 0);
  EXPECT_EQ(runtime_->Stats().streams_ended, 1u);
}

TEST_F(RuntimeParkedStreamTest, AClientThatLeavesCancelsTheSource) {
  Start();
  testing::DetachableTestWriter writer;
  ASSERT_NO_FATAL_FAILURE(Park("tick?n=100000&every=10", writer));
  ASSERT_TRUE(writer.AwaitPieces(3));
  writer.Leave();
  ASSERT_TRUE(writer.AwaitCompleted());
  InvokeResult r = writer.Result();
  EXPECT_EQ(r.outcome, Outcome::kOk) << r.error;
  EXPECT_TRUE(r.response.streamed);
  EXPECT_FALSE(r.response.stream_complete);
  EXPECT_FALSE(writer.finished());
  std::string console;
  for (const ConsoleMessage& message : r.console) absl::StrAppend(&console, message.text, "\n");
  EXPECT_TRUE(absl::StrContains(console, "cancelled after")) << console;
  EXPECT_TRUE(absl::StrContains(console, "the client went away")) << console;
  // Recorded like any invocation: its console is in the family's logs.
  EXPECT_TRUE(absl::StrContains(Logs(), "cancelled after")) << Logs();
}

TEST_F(RuntimeParkedStreamTest, TheWallLimitEndsAParkedStream) {
  Start(0, {{kLimitWallMs, 300}});
  testing::DetachableTestWriter writer;
  ASSERT_NO_FATAL_FAILURE(Park("tick?n=100000&every=20", writer));
  ASSERT_TRUE(writer.AwaitCompleted());
  InvokeResult r = writer.Result();
  EXPECT_EQ(r.outcome, Outcome::kExceededWallTime);
  EXPECT_TRUE(absl::StrContains(r.error, "wall-clock limit of 300ms")) << r.error;
  EXPECT_TRUE(r.response.streamed);
  EXPECT_FALSE(r.response.stream_complete);
  EXPECT_FALSE(writer.finished());
  EXPECT_GE(writer.Pieces(), 1u);
  EXPECT_TRUE(absl::StrContains(Logs(), "exceeded_wall_time")) << Logs();
  // The family goes on serving.
  EXPECT_EQ(Invoke("hello").response.body, "hello");
}

TEST_F(RuntimeParkedStreamTest, AStreamThatThrowsEndsInAnException) {
  Start();
  testing::DetachableTestWriter writer;
  ASSERT_NO_FATAL_FAILURE(Park("throw?after=3&every=10", writer));
  ASSERT_TRUE(writer.AwaitCompleted());
  InvokeResult r = writer.Result();
  EXPECT_EQ(r.outcome, Outcome::kException);
  EXPECT_TRUE(absl::StrContains(r.error, "the source broke at 3")) << r.error;
  EXPECT_EQ(writer.Body(), Chunks(3));
  EXPECT_FALSE(writer.finished());
  EXPECT_TRUE(absl::StrContains(Logs(), "the source broke at 3")) << Logs();
}

// A limit hit in one parked stream's section condemns the isolate: that stream ends with the
// limit's outcome, the others parked in it are cut off saying why, and the family keeps serving.
TEST_F(RuntimeParkedStreamTest, ACpuLimitInAParkedStreamEndsItAndItsInstancesOthers) {
  // Room for the first stream's start on a fresh instance (it materialises the streams
  // interface) under a sanitizer on a loaded machine; the spinner exceeds any limit.
  Start(/*max_instances=*/1, {{kLimitCpuMs, 250}});
  testing::DetachableTestWriter spinner, bystander;
  ASSERT_NO_FATAL_FAILURE(Park("tick?n=100000&every=50", bystander));
  ASSERT_NO_FATAL_FAILURE(Park("spin?after=2&every=10", spinner));
  ASSERT_TRUE(spinner.AwaitCompleted());
  InvokeResult r = spinner.Result();
  EXPECT_EQ(r.outcome, Outcome::kExceededCpu) << r.error;
  EXPECT_TRUE(absl::StrContains(r.error, "CPU limit of 250ms")) << r.error;
  EXPECT_TRUE(r.response.streamed);
  EXPECT_EQ(spinner.Body(), Chunks(2));
  ASSERT_TRUE(bystander.AwaitCompleted());
  InvokeResult cut = bystander.Result();
  EXPECT_EQ(cut.outcome, Outcome::kInternal);
  EXPECT_TRUE(absl::StrContains(cut.error, "another request on the same instance exceeded its CPU"))
      << cut.error;
  EXPECT_FALSE(bystander.finished());
  EXPECT_EQ(Invoke("hello").response.body, "hello");
  EXPECT_GE(runtime_->Stats().instances_discarded, 1u);
  EXPECT_TRUE(absl::StrContains(Logs(), "exceeded_cpu")) << Logs();
}

TEST_F(RuntimeParkedStreamTest, AMemoryLimitInAParkedStreamEndsItAndItsInstancesOthers) {
  Start(/*max_instances=*/1, {{kLimitMemoryMb, 16}});
  testing::DetachableTestWriter hog, bystander;
  ASSERT_NO_FATAL_FAILURE(Park("tick?n=100000&every=50", bystander));
  ASSERT_NO_FATAL_FAILURE(Park("hog?after=2&every=10", hog));
  ASSERT_TRUE(hog.AwaitCompleted());
  InvokeResult r = hog.Result();
  EXPECT_EQ(r.outcome, Outcome::kExceededMemory) << r.error;
  EXPECT_TRUE(absl::StrContains(r.error, "memory limit of 16 MiB")) << r.error;
  ASSERT_TRUE(bystander.AwaitCompleted());
  InvokeResult cut = bystander.Result();
  EXPECT_EQ(cut.outcome, Outcome::kInternal);
  EXPECT_TRUE(absl::StrContains(cut.error, "exceeded its memory limit")) << cut.error;
  EXPECT_EQ(Invoke("hello").response.body, "hello");
}

TEST_F(RuntimeParkedStreamTest, AWriterThatCannotDetachStillHoldsTheCall) {
  Start();
  testing::DetachableTestWriter writer;
  writer.set_detachable(false);
  InvokeResult r = Invoke("tick?n=5&every=5", &writer);
  EXPECT_EQ(r.outcome, Outcome::kOk) << r.error;
  EXPECT_FALSE(r.response.stream_pending);
  EXPECT_TRUE(r.response.stream_complete);
  EXPECT_EQ(writer.Body(), Chunks(5));
  EXPECT_EQ(writer.blocking_writes(), 5);
  EXPECT_EQ(writer.completions(), 0);
}

TEST_F(RuntimeParkedStreamTest, ADeployLetsParkedStreamsFinishOnTheirVersion) {
  Start();
  testing::DetachableTestWriter writer;
  ASSERT_NO_FATAL_FAILURE(Park("tick?n=10&every=30", writer));
  Deploy(R"js(export default { fetch() { return new Response('v2'); } };)js");
  EXPECT_EQ(Invoke("hello").response.body, "v2");
  ASSERT_NO_FATAL_FAILURE(ExpectComplete(writer, 10));
}

TEST_F(RuntimeParkedStreamTest, UnloadingAFamilyLetsItsParkedStreamsFinish) {
  // Idle past its timeout and over a memory budget nothing fits in: Maintain() unloads the family
  // (its pool retired, spares shed), but the instance producing the stream stays until it ends.
  ASSERT_NO_FATAL_FAILURE(Start(0, {}, [](RuntimeOptions& options) {
    options.idle_timeout = absl::Minutes(1);
    options.memory_budget_bytes = 1;
  }));
  testing::DetachableTestWriter writer;
  ASSERT_NO_FATAL_FAILURE(Park("tick?n=10&every=30", writer));
  clock_.Advance(absl::Minutes(2));
  runtime_->Maintain();
  const RuntimeStats unloaded = runtime_->Stats();
  EXPECT_EQ(unloaded.idle_unloads + unloaded.budget_unloads, 1u);
  EXPECT_EQ(unloaded.active_families, 0u);
  ASSERT_NO_FATAL_FAILURE(ExpectComplete(writer, 10));
  EXPECT_EQ(runtime_->Stats().streams_ended, 1u);
  EXPECT_EQ(Invoke("hello").response.body, "hello");
}

TEST_F(RuntimeParkedStreamTest, ShuttingDownCutsOffParkedStreams) {
  Start();
  testing::DetachableTestWriter writer;
  ASSERT_NO_FATAL_FAILURE(Park("tick?n=100000&every=20", writer));
  ASSERT_TRUE(writer.AwaitPieces(1));
  runtime_.reset();
  ASSERT_EQ(writer.completions(), 1);
  InvokeResult r = writer.Result();
  EXPECT_EQ(r.outcome, Outcome::kInternal);
  EXPECT_TRUE(absl::StrContains(r.error, "shutting down")) << r.error;
  EXPECT_FALSE(writer.finished());
}

}  // namespace
}  // namespace cosmo
