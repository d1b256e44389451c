// Parked streams in one JsInstance (parked_stream.h), driven by the test as an owner would:
// Invoke() returns with `stream_pending`, ResumeParked() turns the streams when NextParkedWake()
// says, the wake handler fires when a full writer drains, and AbandonParked() and the destructor
// end what is still parked.
#include <algorithm>
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "unit/engine/v8/detachable_test_writer.h"
#include "unit/engine/v8/engine_test_util.h"

namespace cosmo::v8engine {
namespace {

using ::cosmo::testing::DetachableTestWriter;
using testing::Get;
using testing::MustStart;

// /N: N chunks "i,", one per 5 ms timer; /hello: a plain response.
constexpr char kTicker[] = R"js(
const enc = new TextEncoder();
export default {
  fetch(request) {
    const last = request.url.split('/').pop();
    if (last === 'hello') return new Response('hello');
    const n = Number(last);
    let i = 0;
    return new Response(new ReadableStream({
      pull(controller) {
        return new Promise((resolve) => setTimeout(() => {
          controller.enqueue(enc.encode(`${i++},`));
          if (i === n) controller.close();
          resolve();
        }, 5));
      },
    }));
  },
};
)js";

std::string Ticks(int n) {
  std::string body;
  for (int i = 0; i < n; ++i) absl::StrAppend(&body, i, ",");
  return body;
}

InvokeResult StartStream(Instance& instance, const std::string& path,
                         DetachableTestWriter& writer) {
  HttpRequest request = Get("http://example.com/fam/" + path);
  request.body_writer = &writer;
  return instance.Invoke(request);
}

// Turns the instance's parked streams until none is left, telling each writer Completed() as an
// owner does.
void TurnUntilEnded(Instance& instance) {
  while (instance.ParkedStreams() > 0) {
    const absl::Time wake = instance.NextParkedWake();
    ASSERT_NE(wake, absl::InfiniteFuture());
    if (wake > absl::Now()) absl::SleepFor(wake - absl::Now());
    for (Instance::EndedStream& ended : instance.ResumeParked()) {
      ended.writer->Completed(std::move(ended.result));
    }
  }
}

// Runs `source`'s response stream to its end into a writer of each kind (a blocking one: Invoke
// returns once the body ended; a detached one: turned as an owner would) and returns the two
// bodies.
std::vector<std::string> StreamBoth(const std::string& source) {
  ScriptLimits limits;
  limits.cpu_per_request = absl::Seconds(10);  // sanitizer builds are slow
  std::vector<std::string> bodies;
  for (const bool detachable : {false, true}) {
    std::unique_ptr<Instance> instance = MustStart(source, limits);
    if (instance == nullptr) return {};
    DetachableTestWriter writer;
    writer.set_detachable(detachable);
    InvokeResult r = StartStream(*instance, "s", writer);
    EXPECT_EQ(r.outcome, Outcome::kOk) << r.error;
    if (r.response.stream_pending) {
      TurnUntilEnded(*instance);
      r = writer.Result();
      EXPECT_EQ(r.outcome, Outcome::kOk) << r.error;
    }
    EXPECT_TRUE(r.response.stream_complete) << (detachable ? "detached" : "blocking");
    bodies.push_back(writer.Body());
  }
  return bodies;
}

// Fetch copies a chunk's bytes in the read request's chunk steps, so what the script does to the
// buffer after enqueue() returned is not sent (the pump writes the piece there, not a microtask
// later).
TEST(ParkedStreamTest, APieceIsItsBytesWhenEnqueued) {
  std::vector<std::string> bodies = StreamBoth(R"js(
export default {
  fetch() {
    const buffer = new Uint8Array(1);
    let i = 0;
    return new Response(new ReadableStream({
      pull(controller) {
        return new Promise((resolve) => setTimeout(() => {
          buffer[0] = 0x61 + i++;
          controller.enqueue(buffer);
          buffer[0] = 0x3f;
          if (i === 3) controller.close();
          resolve();
        }, 1));
      },
    }));
  },
};
)js");
  EXPECT_THAT(bodies, ::testing::ElementsAre("abc", "abc"));
}

// Chunks queued before the pump starts are read in a loop (each taken as the read request's
// chunk steps run inside the read): all of them, in order, however many.
TEST(ParkedStreamTest, ManyQueuedChunksAreSentInOrder) {
  std::vector<std::string> bodies = StreamBoth(R"js(
export default {
  fetch() {
    return new Response(new ReadableStream({
      start(controller) {
        for (let i = 0; i < 5000; ++i) controller.enqueue(new Uint8Array([0x30 + i % 10]));
        controller.close();
      },
    }));
  },
};
)js");
  std::string expected;
  for (int i = 0; i < 5000; ++i) expected.push_back(static_cast<char>('0' + i % 10));
  EXPECT_THAT(bodies, ::testing::ElementsAre(expected, expected));
}

// A source that enqueues outside pull() (from its own timers) while the pump waits, then ends:
// every piece arrives and the body ends once.
TEST(ParkedStreamTest, ASourcePushingFromTimersIsSentWhole) {
  std::vector<std::string> bodies = StreamBoth(R"js(
const enc = new TextEncoder();
export default {
  fetch() {
    let timer;
    return new Response(new ReadableStream({
      start(controller) {
        let i = 0;
        timer = setInterval(() => {
          controller.enqueue(enc.encode(`${i},`));
          controller.enqueue(enc.encode(''));
          if (++i === 5) {
            clearInterval(timer);
            controller.close();
          }
        }, 1);
      },
    }));
  },
};
)js");
  EXPECT_THAT(bodies, ::testing::ElementsAre(Ticks(5), Ticks(5)));
}

TEST(ParkedStreamTest, StreamsParkInOneInstanceWhileItServesOthers) {
  std::unique_ptr<Instance> instance = MustStart(kTicker);
  ASSERT_NE(instance, nullptr);
  EXPECT_EQ(instance->NextParkedWake(), absl::InfiniteFuture());
  constexpr int kStreams = 20;
  std::vector<std::unique_ptr<DetachableTestWriter>> writers;
  for (int i = 0; i < kStreams; ++i) {
    writers.push_back(std::make_unique<DetachableTestWriter>());
    InvokeResult r = StartStream(*instance, std::to_string(5 + i), *writers.back());
    ASSERT_EQ(r.outcome, Outcome::kOk) << r.error;
    ASSERT_TRUE(r.response.stream_pending);
    EXPECT_TRUE(r.response.streamed);
    EXPECT_EQ(writers.back()->starts(), 1);
  }
  EXPECT_EQ(instance->ParkedStreams(), static_cast<size_t>(kStreams));
  EXPECT_NE(instance->NextParkedWake(), absl::InfiniteFuture());
  EXPECT_EQ(instance->Invoke(Get("http://example.com/fam/hello")).response.body, "hello");
  ASSERT_NO_FATAL_FAILURE(TurnUntilEnded(*instance));
  for (int i = 0; i < kStreams; ++i) {
    DetachableTestWriter& writer = *writers[i];
    ASSERT_EQ(writer.completions(), 1);
    InvokeResult r = writer.Result();
    EXPECT_EQ(r.outcome, Outcome::kOk) << r.error;
    EXPECT_TRUE(r.response.stream_complete);
    EXPECT_FALSE(r.response.stream_pending);
    EXPECT_TRUE(writer.finished());
    EXPECT_EQ(writer.Body(), Ticks(5 + i));
    EXPECT_EQ(r.usage.response_bytes, Ticks(5 + i).size());
    EXPECT_GT(r.usage.cpu_us, 0);
  }
  EXPECT_EQ(instance->NextParkedWake(), absl::InfiniteFuture());
  EXPECT_TRUE(instance->Reusable());
}

TEST(ParkedStreamTest, AFullWriterWakesTheInstanceThroughItsHandler) {
  std::unique_ptr<Instance> instance = MustStart(kTicker);
  ASSERT_NE(instance, nullptr);
  std::atomic<int> wakes{0};
  instance->SetParkedWakeHandler([&] { wakes.fetch_add(1); });
  DetachableTestWriter writer(/*capacity=*/1);
  ASSERT_TRUE(StartStream(*instance, "6", writer).response.stream_pending);
  // Turned until the writer is full and the stream waits for it: nothing is due meanwhile.
  while (writer.full() == 0) {
    const absl::Time wake = instance->NextParkedWake();
    if (wake > absl::Now()) absl::SleepFor(wake - absl::Now());
    ASSERT_TRUE(instance->ResumeParked().empty());
  }
  EXPECT_EQ(wakes.load(), 0);
  writer.Drain();
  EXPECT_GE(wakes.load(), 1);
  EXPECT_EQ(instance->NextParkedWake(), absl::InfinitePast());
  while (writer.completions() == 0) {
    writer.Drain();
    const absl::Time wake = instance->NextParkedWake();
    if (wake > absl::Now()) absl::SleepFor(std::min(wake - absl::Now(), absl::Milliseconds(5)));
    for (Instance::EndedStream& ended : instance->ResumeParked()) {
      ended.writer->Completed(std::move(ended.result));
    }
  }
  EXPECT_EQ(writer.Body(), Ticks(6));
  EXPECT_EQ(writer.Result().outcome, Outcome::kOk);
}

TEST(ParkedStreamTest, AbandonedStreamsAreReturnedCutOffWithTheReason) {
  std::unique_ptr<Instance> instance = MustStart(kTicker);
  ASSERT_NE(instance, nullptr);
  DetachableTestWriter a, b;
  ASSERT_TRUE(StartStream(*instance, "1000", a).response.stream_pending);
  ASSERT_TRUE(StartStream(*instance, "1000", b).response.stream_pending);
  std::vector<Instance::EndedStream> ended = instance->AbandonParked("the test let go");
  ASSERT_EQ(ended.size(), 2u);
  for (Instance::EndedStream& stream : ended) {
    EXPECT_EQ(stream.result.outcome, Outcome::kInternal);
    EXPECT_EQ(stream.result.error, "the test let go");
    EXPECT_TRUE(stream.result.response.streamed);
    EXPECT_FALSE(stream.result.response.stream_complete);
  }
  EXPECT_EQ(a.completions(), 0) << "the owner tells the writer";
  EXPECT_EQ(instance->ParkedStreams(), 0u);
  // The instance serves on.
  EXPECT_EQ(instance->Invoke(Get("http://example.com/fam/hello")).response.body, "hello");
}

TEST(ParkedStreamTest, DestroyingAnInstanceTellsItsParkedWriters) {
  DetachableTestWriter writer;
  {
    std::unique_ptr<Instance> instance = MustStart(kTicker);
    ASSERT_NE(instance, nullptr);
    ASSERT_TRUE(StartStream(*instance, "1000", writer).response.stream_pending);
  }
  ASSERT_EQ(writer.completions(), 1);
  EXPECT_EQ(writer.Result().outcome, Outcome::kInternal);
  EXPECT_TRUE(absl::StrContains(writer.Result().error, "shut down")) << writer.Result().error;
  EXPECT_FALSE(writer.finished());
}

}  // namespace
}  // namespace cosmo::v8engine
