// The runaway scripts of docs/security.md ("Runaway scripts"): each behaviour ends in its
// documented Outcome within its limit, and the engine keeps serving a healthy script afterwards.
#include <sys/resource.h>
#include <time.h>
#include <zlib.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "engine/v8/zlib_stream.h"
#include "engine_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cosmo::v8engine {
namespace {

using ::cosmo::v8engine::testing::Get;
using ::cosmo::v8engine::testing::JsManifest;
using ::cosmo::v8engine::testing::OnThreadWithStack;
using ::cosmo::v8engine::testing::SharedEngine;
using ::cosmo::v8engine::testing::Start;
using ::testing::HasSubstr;

constexpr auto kCpuLimit = absl::Milliseconds(50);

ScriptLimits TestLimits() {
  ScriptLimits limits;
  limits.cpu_per_request = kCpuLimit;
  limits.memory_bytes = size_t{64} << 20;
  return limits;
}

using HostileRun = ::cosmo::testing::TimedInvocation;

HostileRun RunHandler(const std::string& source, const ScriptLimits& limits = TestLimits()) {
  auto instance = Start(SharedEngine(), JsManifest(source), limits);
  EXPECT_TRUE(instance.ok()) << instance.status();
  if (!instance.ok()) return {};
  return ::cosmo::testing::InvokeTimed(**instance, Get());
}

void ExpectHealthyScriptStillServes() {
  auto instance = Start(SharedEngine(),
                        JsManifest("export default { fetch() { return 'fine'; } };"), TestLimits());
  ASSERT_TRUE(instance.ok()) << instance.status();
  InvokeResult result = (*instance)->Invoke(Get());
  EXPECT_EQ(result.outcome, Outcome::kOk) << result.error;
  EXPECT_EQ(result.response.body, "fine");
}

size_t RssBytes() {
  std::ifstream statm("/proc/self/statm");
  size_t pages_total = 0, pages_resident = 0;
  statm >> pages_total >> pages_resident;
  return pages_resident * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

// CPU runaways must end near the limit: not before it, and not long after (the watchdog polls
// every millisecond; the generous upper bound absorbs a loaded CI machine).
void ExpectCpuLimitHit(const HostileRun& run) {
  EXPECT_EQ(run.result.outcome, Outcome::kExceededCpu) << run.result.error;
  EXPECT_FALSE(run.reusable);
  EXPECT_GE(run.result.usage.cpu_us, absl::ToInt64Microseconds(kCpuLimit));
  EXPECT_LT(run.result.usage.cpu_us, absl::ToInt64Microseconds(kCpuLimit) + 30'000);
  EXPECT_LT(run.wall_ms, 1000);
  EXPECT_THAT(run.result.error, HasSubstr("CPU limit"));
  // The message says what was counted (the usage's CPU, to a tenth of a millisecond) and in what
  // wall time.
  const absl::Duration counted =
      absl::Trunc(absl::Microseconds(run.result.usage.cpu_us), absl::Microseconds(100));
  EXPECT_THAT(run.result.error,
              HasSubstr(absl::StrCat("CPU limit of 50ms (", absl::FormatDuration(counted),
                                     " of CPU counted in ")));
}

TEST(HostileScriptTest, InfiniteLoopExceedsCpu) {
  ExpectCpuLimitHit(RunHandler("export default { fetch() { while (true) {} } };"));
  ExpectHealthyScriptStillServes();
}

TEST(HostileScriptTest, CatastrophicRegexFallsBackToLinearEngine) {
  // With V8's backtrack fallback the classic ReDoS finishes quickly and correctly.
  HostileRun run = RunHandler(
      "export default { fetch() { return String(/(a+)+$/.test('a'.repeat(40) + 'b')); } };");
  EXPECT_EQ(run.result.outcome, Outcome::kOk) << run.result.error;
  EXPECT_EQ(run.result.response.body, "false");
  EXPECT_LT(run.result.usage.cpu_us, absl::ToInt64Microseconds(kCpuLimit));
  ExpectHealthyScriptStillServes();
}

TEST(HostileScriptTest, CatastrophicRegexInALoopExceedsCpu) {
  ExpectCpuLimitHit(
      RunHandler("export default { fetch() { for (;;) /(a+)+$/.test('a'.repeat(40) + 'b'); } };"));
  ExpectHealthyScriptStillServes();
}

TEST(HostileScriptTest, MicrotaskStormExceedsCpu) {
  ExpectCpuLimitHit(RunHandler(R"(export default { fetch() {
      function f() { Promise.resolve().then(f); } f(); return 'never sent'; } };)"));
  ExpectHealthyScriptStillServes();
}

TEST(HostileScriptTest, LoopInAGetterOfTheReturnedValueExceedsCpu) {
  // Resolving the handler's promise with this value reads `then`, during the microtask checkpoint.
  ExpectCpuLimitHit(
      RunHandler("export default { async fetch() { return { get then() { for (;;) {} } }; } };"));
  ExpectHealthyScriptStillServes();
}

TEST(HostileScriptTest, LoopInToStringOfAThrownValueExceedsCpu) {
  ExpectCpuLimitHit(
      RunHandler("export default { fetch() { throw { toString() { for (;;) {} } }; } };"));
  ExpectHealthyScriptStillServes();
}

TEST(HostileScriptTest, HeapGrowthExceedsMemory) {
  // CPU to spare, so the memory limit is what stops it: the outcome says it was the memory limit,
  // which is reached long before 5 s of CPU (no wall-clock bound: a loaded machine or a sanitizer
  // build may take seconds to fill 128 MiB).
  ScriptLimits limits = TestLimits();
  limits.cpu_per_request = absl::Seconds(5);
  HostileRun run = RunHandler(R"(export default { fetch() {
      const a = []; for (;;) a.push(new Array(1e5).fill(1)); } };)",
                              limits);
  EXPECT_EQ(run.result.outcome, Outcome::kExceededMemory) << run.result.error;
  EXPECT_FALSE(run.reusable);
  EXPECT_THAT(run.result.error, HasSubstr("memory limit"));
  ExpectHealthyScriptStillServes();
}

TEST(HostileScriptTest, HugeArrayBufferIsARangeError) {
  HostileRun uncaught = RunHandler("export default { fetch() { new ArrayBuffer(2 ** 30); } };");
  EXPECT_EQ(uncaught.result.outcome, Outcome::kException);
  EXPECT_THAT(uncaught.result.error, HasSubstr("RangeError"));
  EXPECT_TRUE(uncaught.reusable);

  HostileRun caught = RunHandler(R"(export default { fetch() {
      try { new Uint8Array(2 ** 30); return 'allocated'; } catch (e) { return e.name; } } };)");
  EXPECT_EQ(caught.result.outcome, Outcome::kOk) << caught.result.error;
  EXPECT_EQ(caught.result.response.body, "RangeError");
  ExpectHealthyScriptStillServes();
}

TEST(HostileScriptTest, ArrayBuffersAreChargedToTheSameBudget) {
  // 16 MiB at a time: each fits alone, but not 64 MiB of them together with the heap. CPU to
  // spare: zeroing and faulting in 48 MiB can take more than 50 ms of CPU under a sanitizer.
  ScriptLimits limits = TestLimits();
  limits.cpu_per_request = absl::Seconds(5);
  HostileRun run = RunHandler(R"(export default { fetch() {
      const keep = [];
      try { for (;;) keep.push(new ArrayBuffer(16 << 20)); }
      catch (e) { return `${e.name} after ${keep.length}`; } } };)",
                              limits);
  EXPECT_EQ(run.result.outcome, Outcome::kOk) << run.result.error;
  EXPECT_THAT(run.result.response.body, ::testing::MatchesRegex("RangeError after [1-3]"));
  ExpectHealthyScriptStillServes();
}

TEST(HostileScriptTest, HugeStringIsARangeError) {
  HostileRun run = RunHandler("export default { fetch() { return 'x'.repeat(2 ** 30); } };");
  EXPECT_EQ(run.result.outcome, Outcome::kException);
  EXPECT_THAT(run.result.error, HasSubstr("RangeError: Invalid string length"));
  ExpectHealthyScriptStillServes();
}

TEST(HostileScriptTest, UnboundedRecursionIsAStackOverflowException) {
  HostileRun run =
      RunHandler("export default { fetch() { const r = () => r() + 1; return r(); } };");
  EXPECT_EQ(run.result.outcome, Outcome::kException);
  EXPECT_THAT(run.result.error, HasSubstr("RangeError: Maximum call stack size exceeded"));
  EXPECT_TRUE(run.reusable);
  ExpectHealthyScriptStillServes();
}

TEST(HostileScriptTest, UnboundedRecursionOnASmallThreadStackIsSafe) {
  // 512 KiB of thread stack: the engine sets V8's limit from the thread's real stack.
  HostileRun run;
  OnThreadWithStack(512 << 10, [&run] {
    run = RunHandler("export default { fetch() { const r = () => r(); r(); } };");
  });
  EXPECT_EQ(run.result.outcome, Outcome::kException);
  EXPECT_THAT(run.result.error, HasSubstr("Maximum call stack size exceeded"));
}

TEST(HostileScriptTest, NeverSettlingPromiseEndsPromptly) {
  HostileRun run = RunHandler("export default { fetch() { return new Promise(() => {}); } };");
  EXPECT_EQ(run.result.outcome, Outcome::kException);
  EXPECT_EQ(run.result.error, "Promise will never complete.");
  EXPECT_LT(run.wall_ms, 100);
  EXPECT_TRUE(run.reusable);
  HostileRun awaited =
      RunHandler("export default { async fetch() { await new Promise(() => {}); } };");
  EXPECT_EQ(awaited.result.outcome, Outcome::kException);
  ExpectHealthyScriptStillServes();
}

// CPU time of the calling thread, which runs an activation's top level.
double ThreadCpuMs() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

TEST(HostileScriptTest, TopLevelInfiniteLoopFailsActivationWithinStartupLimit) {
  ScriptLimits limits = TestLimits();
  limits.startup_cpu = absl::Milliseconds(200);
  // The limit is on CPU time, which a loaded machine does not stretch the way it stretches the
  // wall clock: the activation must end within the limit plus the watchdog's slack in CPU time,
  // and in wall time merely end.
  const auto start = std::chrono::steady_clock::now();
  const double cpu_start = ThreadCpuMs();
  auto instance =
      Start(SharedEngine(),
            JsManifest("while (true) {}\nexport default { fetch() { return 'x'; } };"), limits);
  const double cpu_ms = ThreadCpuMs() - cpu_start;
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  EXPECT_TRUE(absl::IsResourceExhausted(instance.status())) << instance.status();
  EXPECT_THAT(instance.status().message(), HasSubstr("startup CPU limit"));
  EXPECT_GE(cpu_ms, 200);
  EXPECT_LT(cpu_ms, 1000);
  EXPECT_LT(ms, 30'000);
  ExpectHealthyScriptStillServes();
}

TEST(HostileScriptTest, TopLevelInfiniteLoopIsRejectedAtValidation) {
  absl::Status status =
      SharedEngine().Validate(JsManifest("for (;;) {}\nexport default { fetch() {} };"));
  EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
  EXPECT_THAT(status.message(), HasSubstr("startup CPU limit of 1s"));
}

TEST(HostileScriptTest, CodegenIsBlockedWhenDisallowed) {
  JavaScriptEngineOptions options;
  options.allow_codegen = false;
  auto engine = testing::MakeTestEngine(options);
  ASSERT_TRUE(engine.ok()) << engine.status();
  for (const char* source : {"export default { fetch() { return eval('1 + 1'); } };",
                             "export default { fetch() { return new Function('return 1')(); } };",
                             "export default { async fetch() { await WebAssembly.compile("
                             "new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0])); return 'x'; } };",
                             "export default { fetch() { new WebAssembly.Module("
                             "new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0])); return 'x'; } };"}) {
    auto instance = Start(**engine, JsManifest(source), TestLimits());
    ASSERT_TRUE(instance.ok()) << instance.status();
    InvokeResult result = (*instance)->Invoke(Get());
    EXPECT_EQ(result.outcome, Outcome::kException) << source;
    EXPECT_THAT(result.error, ::testing::AnyOf(HasSubstr("EvalError"), HasSubstr("CompileError")))
        << source;
  }
}

TEST(HostileScriptTest, CodegenWorksByDefault) {
  HostileRun run = RunHandler(R"(export default { async fetch() {
      const m = await WebAssembly.compile(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]));
      const n = new WebAssembly.Module(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]));
      return `${eval('1 + 1')} ${new Function('return 3')()} ${m instanceof WebAssembly.Module}` +
             ` ${n instanceof WebAssembly.Module}`;
    } };)");
  EXPECT_EQ(run.result.outcome, Outcome::kOk) << run.result.error;
  EXPECT_EQ(run.result.response.body, "2 3 true true");
}

// `mib` MiB of zeros, gzipped (about 1 KiB per MiB). Built from one compressed MiB: a full flush
// resets the compressor, so every MiB compresses to the same bytes, and those are repeated.
std::string GzippedZeros(size_t mib) {
  const std::string block(size_t{1} << 20, '\0');
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY), Z_OK);
  auto compress = [&](const std::string& input, int flush) {
    std::string out(deflateBound(&z, input.size()) + 64, '\0');
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(input.data()));
    z.avail_in = static_cast<uInt>(input.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    EXPECT_NE(deflate(&z, flush), Z_STREAM_ERROR);
    EXPECT_EQ(z.avail_in, 0u);
    out.resize(out.size() - z.avail_out);
    return out;
  };
  const std::string one_mib = compress(block, Z_FULL_FLUSH);
  const std::string last = compress("", Z_FINISH);
  deflateEnd(&z);
  const uLong block_crc = crc32(0, reinterpret_cast<const Bytef*>(block.data()), block.size());
  uLong crc = 0;
  for (size_t i = 0; i < mib; ++i) crc = crc32_combine(crc, block_crc, block.size());
  const uint32_t size = static_cast<uint32_t>(mib << 20);  // ISIZE is the length modulo 2^32
  std::string out("\x1f\x8b\x08\0\0\0\0\0\0\xff", 10);
  for (size_t i = 0; i < mib; ++i) out += one_mib;
  out += last;
  for (uint32_t word : {static_cast<uint32_t>(crc), size}) {
    for (int i = 0; i < 4; ++i) out += static_cast<char>((word >> (8 * i)) & 0xff);
  }
  return out;
}

// 1 GiB of zeros in about 1 MiB (HostDecompressesNormallyAfterABomb checks the construction with
// 16 MiB).
const std::string& Bomb() {
  static const std::string* bomb = new std::string(GzippedZeros(1024));
  return *bomb;
}

HttpRequest PostOf(std::string body) {
  HttpRequest request = Get();
  request.method = "POST";
  request.body = std::move(body);
  return request;
}

// Decompresses the request body and answers with the decompressed size. `keep` collects the
// output (as Response.arrayBuffer does); otherwise each piece is dropped once read.
std::string GunzipBodySource(bool keep) {
  return absl::StrCat(R"(export default { async fetch(request) {
      const reader = request.body.pipeThrough(new DecompressionStream('gzip')).getReader();
      const kept = [];
      let total = 0;
      for (;;) {
        const {done, value} = await reader.read();
        if (done) break;
        total += value.byteLength;)",
                      keep ? "kept.push(value);" : "", R"(
      }
      return String(total);
    } };)");
}

TEST(HostileScriptTest, DecompressionBombExceedsMemory) {
  const std::string& bomb = Bomb();
  ASSERT_LT(bomb.size(), size_t{2} << 20);
  // CPU to spare, so the memory limit is what stops it (the outcome says so; no wall-clock bound,
  // which a loaded machine could break), for a script that keeps the output and for one that
  // drops it (a single compressed chunk inflates to more than the budget).
  ScriptLimits limits = TestLimits();
  limits.cpu_per_request = absl::Seconds(5);
  for (bool keep : {true, false}) {
    SCOPED_TRACE(keep ? "keeping the output" : "dropping the output");
    auto instance = Start(SharedEngine(), JsManifest(GunzipBodySource(keep)), limits);
    ASSERT_TRUE(instance.ok()) << instance.status();
    InvokeResult result = (*instance)->Invoke(PostOf(bomb));
    EXPECT_EQ(result.outcome, Outcome::kExceededMemory) << result.error;
    EXPECT_THAT(result.error, HasSubstr("memory limit"));
    EXPECT_FALSE((*instance)->Reusable());
  }
  ExpectHealthyScriptStillServes();
}

TEST(HostileScriptTest, HostDecompressesNormallyAfterABomb) {
  const std::string& bomb = Bomb();
  ScriptLimits limits = TestLimits();
  limits.cpu_per_request = absl::Seconds(5);
  {
    auto instance = Start(SharedEngine(), JsManifest(GunzipBodySource(true)), limits);
    ASSERT_TRUE(instance.ok()) << instance.status();
    EXPECT_EQ((*instance)->Invoke(PostOf(bomb)).outcome, Outcome::kExceededMemory);
  }
  // 16 MiB streamed through a 64 MiB budget: bounded pieces, each dropped once read.
  auto instance = Start(SharedEngine(), JsManifest(GunzipBodySource(false)), limits);
  ASSERT_TRUE(instance.ok()) << instance.status();
  for (int i = 0; i < 3; ++i) {
    InvokeResult result = (*instance)->Invoke(PostOf(GzippedZeros(16)));
    EXPECT_EQ(result.outcome, Outcome::kOk) << result.error;
    EXPECT_EQ(result.response.body, std::to_string(size_t{16} << 20));
  }
  EXPECT_TRUE((*instance)->Reusable());
}

TEST(HostileScriptTest, CompressingAHugeChunkStopsNearTheCpuLimit) {
  // 64 MiB of poorly compressible bytes in one write: seconds of deflate, stopped between slices.
  ScriptLimits limits = TestLimits();
  limits.cpu_per_request = absl::Milliseconds(300);
  limits.memory_bytes = size_t{512} << 20;
  HostileRun run = RunHandler(R"(export default { async fetch() {
      // Random 64 KiB blocks: deflate's 32 KiB window finds no repeats.
      const bytes = new Uint8Array(64 << 20);
      const block = new Uint8Array(64 << 10);
      for (let at = 0; at < bytes.length; at += block.length) {
        bytes.set(crypto.getRandomValues(block), at);
      }
      const cs = new CompressionStream('gzip');
      const reader = cs.readable.getReader();
      const draining = (async () => { while (!(await reader.read()).done); })();
      const writer = cs.writable.getWriter();
      await writer.write(bytes);
      await writer.close();
      await draining;
      return 'compressed';
    } };)",
                              limits);
  EXPECT_EQ(run.result.outcome, Outcome::kExceededCpu) << run.result.error;
  EXPECT_LT(run.result.usage.cpu_us, 300'000 + 100'000);
  ExpectHealthyScriptStillServes();
}

TEST(HostileScriptTest, StreamsAbandonedMidwayAreFreedWithTheIsolate) {
  const size_t before = ZlibStreamsAlive();
  // Setting up 100 zlib streams is not what this test measures: a CPU limit no loaded machine
  // reaches keeps it about freeing.
  ScriptLimits limits = TestLimits();
  limits.cpu_per_request = absl::Seconds(10);
  {
    auto instance = Start(SharedEngine(), JsManifest(R"(
        const kept = [];
        export default { async fetch() {
          for (let i = 0; i < 50; i++) {
            const cs = new CompressionStream(i % 2 ? 'gzip' : 'deflate-raw');
            const ds = new DecompressionStream('deflate');
            cs.writable.getWriter().write(new Uint8Array(1000));
            ds.writable.getWriter().write(new Uint8Array([120, 156, 75]));
            kept.push(cs, ds);
          }
          await new Promise((resolve) => setTimeout(resolve, 1));
          return 'kept ' + kept.length;
        } };)"),
                          limits);
    ASSERT_TRUE(instance.ok()) << instance.status();
    InvokeResult result = (*instance)->Invoke(Get());
    EXPECT_EQ(result.outcome, Outcome::kOk) << result.error;
    EXPECT_EQ(result.response.body, "kept 100");
    EXPECT_GE(ZlibStreamsAlive(), before + 100);
  }
  EXPECT_EQ(ZlibStreamsAlive(), before);
  ExpectHealthyScriptStillServes();
}

// Stream sources that never return from start() or pull(), enqueueing all the while. One that
// does it in start() runs before anything can read the stream, so nothing but the limits stops
// it: CPU to spare, so the memory budget is what decides.
ScriptLimits MemoryDecides() {
  ScriptLimits limits = TestLimits();
  limits.cpu_per_request = absl::Seconds(10);
  return limits;
}

TEST(HostileScriptTest, StreamSourceEnqueuingBytesForeverInStartEndsAtTheBufferBudget) {
  // The chunk that does not fit is refused like any ArrayBuffer over the budget: the RangeError
  // errors the stream (which drops its queue), and the unread response fails the request.
  HostileRun run = RunHandler(R"(export default { fetch() { return new Response(new ReadableStream({
                start(c) { for (;;) c.enqueue(new Uint8Array(65536)); } })); } };)",
                              MemoryDecides());
  EXPECT_EQ(run.result.outcome, Outcome::kException);
  EXPECT_THAT(run.result.error, HasSubstr("RangeError: Array buffer allocation failed"));
  EXPECT_TRUE(run.reusable);
  ExpectHealthyScriptStillServes();
}

TEST(HostileScriptTest, StreamSourceEnqueuingStringsForeverInStartExceedsMemory) {
  HostileRun run = RunHandler(R"(export default { fetch() { return new Response(new ReadableStream({
                start(c) { for (let i = 0;; i++) c.enqueue('chunk ' + i); } })); } };)",
                              MemoryDecides());
  EXPECT_EQ(run.result.outcome, Outcome::kExceededMemory) << run.result.error;
  EXPECT_FALSE(run.reusable);
  EXPECT_THAT(run.result.error, HasSubstr("memory limit"));
  ExpectHealthyScriptStillServes();
}

// In pull(), the body is being read: as the standard's read requests do, each chunk is taken as
// it is enqueued, so the reader's own bounds end the loop (the next enqueue() throws on the
// cancelled stream) — the body size limit for bytes, at once for a chunk that is not bytes.
TEST(HostileScriptTest, StreamSourceEnqueuingForeverInPullEndsAtTheReadersBounds) {
  HostileRun bytes =
      RunHandler(R"(export default { fetch() { return new Response(new ReadableStream({
                pull(c) { for (;;) c.enqueue(new Uint8Array(65536)); } })); } };)",
                 MemoryDecides());
  EXPECT_EQ(bytes.result.outcome, Outcome::kException);
  EXPECT_THAT(bytes.result.error, HasSubstr("The body stream exceeds the limit of"));
  EXPECT_TRUE(bytes.reusable);
  HostileRun strings =
      RunHandler(R"(export default { fetch() { return new Response(new ReadableStream({
                pull(c) { for (;;) c.enqueue('x'); } })); } };)",
                 MemoryDecides());
  EXPECT_EQ(strings.result.outcome, Outcome::kException);
  EXPECT_THAT(strings.result.error, HasSubstr("Body stream chunks must be Uint8Arrays"));
  EXPECT_TRUE(strings.reusable);
  ExpectHealthyScriptStillServes();
}

// Under the usual 50 ms the CPU limit usually comes first; which one does depends on the
// machine's speed, and both end the request in 503 and discard the isolate.
TEST(HostileScriptTest, StreamSourceEnqueuingForeverEndsAtALimitWithTheDefaultCpu) {
  HostileRun run = RunHandler(R"(export default { fetch() {
      return new Response(new ReadableStream({
        start(c) { for (let i = 0;; i++) c.enqueue('chunk ' + i); } })); } };)");
  EXPECT_THAT(run.result.outcome, ::testing::AnyOf(Outcome::kExceededCpu, Outcome::kExceededMemory))
      << run.result.error;
  EXPECT_FALSE(run.reusable);
  ExpectHealthyScriptStillServes();
}

// 100 rounds of the cheap runaways, each on a fresh instance as the runtime would do, must not
// grow the process: isolates and their memory are really given back.
TEST(HostileScriptTest, RepeatedRunawaysDoNotGrowRss) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "AddressSanitizer's quarantine holds freed memory; its leak check covers this";
#endif
  ScriptLimits limits = TestLimits();
  limits.cpu_per_request = absl::Milliseconds(5);
  const char* kSources[] = {
      "export default { fetch() { while (true) {} } };",
      "export default { fetch() { new ArrayBuffer(2 ** 30); } };",
      "export default { fetch() { const r = () => r(); r(); } };",
      "export default { fetch() { return new Promise(() => {}); } };",
  };
  auto round = [&] {
    for (const char* source : kSources) {
      auto instance = Start(SharedEngine(), JsManifest(source), limits);
      ASSERT_TRUE(instance.ok()) << instance.status();
      EXPECT_NE((*instance)->Invoke(Get()).outcome, Outcome::kOk);
    }
  };
  for (int i = 0; i < 10; ++i) round();  // warm-up: allocator pools, code caches
  size_t before = RssBytes();
  for (int i = 0; i < 100; ++i) round();
  size_t after = RssBytes();
  EXPECT_LT(after, before + before / 10 + (8 << 20))
      << "RSS grew from " << (before >> 20) << " MiB to " << (after >> 20) << " MiB";
  ExpectHealthyScriptStillServes();
}

}  // namespace
}  // namespace cosmo::v8engine
