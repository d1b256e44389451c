// Where the memory of a warm JavaScript instance goes (docs/performance.md, "Where a warm
// family's memory goes"). Not a Google Benchmark: it prints a report.
//
//   build/benchmarks/engine/instance_memory [--instances=N] [--object-stats] [--top=K]
//                                           [--heap-snapshot=FILE.heapsnapshot]
//                                           [--v8-flags='--flag ...'] [--runtime=BUNDLE.js]
//                                           [--handler=MODULE.js]
//
// Three rows of N instances each, all alive at once, with the process's anonymous memory
// (/proc/self/smaps_rollup) and malloc's bytes in use (mallinfo2) read before and after, so the
// figures per instance are what one more instance adds:
//   v8 empty    an isolate and a context from V8's own snapshot: V8's floor per isolate
//   runtime     an isolate and a context from the engine's snapshot (the web-API runtime), as
//               made for a spare instance
//   hello       Program::Instantiate of a hello module plus one request, through the public
//               engine API: what a warm idle family holds
//   hello x1000 the same after 1,000 requests each
// and after each of the last two, what a memory-reducing GC of every instance of the row gives
// back ("then GC", Instance::ReleaseMemory()).
// Then, for one isolate of each of the first two rows, V8's heap spaces (used, committed,
// resident) before and after a full memory-reducing GC, and with --object-stats the live objects
// by V8 instance type (the runtime row, after that GC). --heap-snapshot also writes a DevTools
// heap snapshot of a runtime context and prints its shallow sizes by node type. --runtime takes
// the runtime rows' bundle from a file (node lib/engine/v8/js/tools/build.mjs --out FILE), to
// compare runtime changes without rebuilding. --handler takes the hello rows' module from a file
// (for a handler that uses more of the runtime than hello's `new Response`, e.g. URL routing).
#include <malloc.h>
#include <v8-profiler.h>
#include <v8.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "cosmo/javascript_engine.h"
#include "engine/v8/js/runtime_source.h"
#include "engine/v8/snapshot_builder.h"
#include "engine/v8/snapshot_sources.h"
#include "engine/v8/v8_platform.h"
#include "engine_bench_util.h"

namespace cosmo {
namespace {

using ::cosmo::bench::OrDie;

struct Options {
  int instances = 100;
  bool object_stats = false;
  int top = 30;
  std::string heap_snapshot;
  std::string v8_flags;
  std::string runtime;  // a bundle to use instead of the built-in one (runtime row only)
  std::string handler;  // the hello rows' module source file, instead of hello
};

// The process's anonymous (private, not file-backed) resident bytes.
size_t AnonymousBytes() {
  std::ifstream in("/proc/self/smaps_rollup");
  std::string line;
  while (std::getline(in, line)) {
    if (absl::StartsWith(line, "Anonymous:")) {
      size_t kib = 0;
      std::string digits;
      for (char c : line) {
        if (c >= '0' && c <= '9') digits += c;
      }
      if (absl::SimpleAtoi(digits, &kib)) return kib << 10;
    }
  }
  return 0;
}

size_t MallocBytes() {
  struct mallinfo2 info = mallinfo2();
  return info.uordblks + info.hblkhd;
}

// Anonymous and malloc bytes that `make` (called `count` times, everything kept alive) adds per
// call.
template <typename T>
std::pair<double, double> PerItem(int count, const std::function<T()>& make, std::vector<T>& kept) {
  malloc_trim(0);
  const size_t anon_before = AnonymousBytes();
  const size_t malloc_before = MallocBytes();
  for (int i = 0; i < count; ++i) kept.push_back(make());
  malloc_trim(0);
  const double anon = static_cast<double>(AnonymousBytes()) - static_cast<double>(anon_before);
  const double heap = static_cast<double>(MallocBytes()) - static_cast<double>(malloc_before);
  return {anon / count, heap / count};
}

// An isolate with one context, from `snapshot` (V8's own when null).
struct BareIsolate {
  v8::Isolate* isolate = nullptr;
  v8::Global<v8::Context> context;
  std::unique_ptr<v8::ArrayBuffer::Allocator> allocator;

  BareIsolate(v8::StartupData* snapshot, const intptr_t* references) {
    allocator.reset(v8::ArrayBuffer::Allocator::NewDefaultAllocator());
    v8::Isolate::CreateParams params;
    params.snapshot_blob = snapshot;
    params.external_references = references;
    params.array_buffer_allocator = allocator.get();
    params.constraints.ConfigureDefaultsFromHeapSize(0, ScriptLimits().memory_bytes);
    isolate = v8::Isolate::New(params);
    v8::Isolate::Scope isolate_scope(isolate);
    v8::HandleScope handle_scope(isolate);
    context.Reset(isolate, v8::Context::New(isolate));
  }
  ~BareIsolate() {
    context.Reset();
    isolate->Dispose();
  }
  BareIsolate(const BareIsolate&) = delete;
  BareIsolate& operator=(const BareIsolate&) = delete;
};

void PrintSpaces(v8::Isolate* isolate, const char* title) {
  std::printf("  %s\n  %-24s %12s %12s %12s\n", title, "space", "used", "committed", "resident");
  size_t used = 0, committed = 0, resident = 0;
  for (size_t i = 0; i < isolate->NumberOfHeapSpaces(); ++i) {
    v8::HeapSpaceStatistics s;
    isolate->GetHeapSpaceStatistics(&s, i);
    std::printf("  %-24s %12zu %12zu %12zu\n", s.space_name(), s.space_used_size(), s.space_size(),
                s.physical_space_size());
    used += s.space_used_size();
    committed += s.space_size();
    resident += s.physical_space_size();
  }
  v8::HeapStatistics h;
  isolate->GetHeapStatistics(&h);
  std::printf("  %-24s %12zu %12zu %12zu\n  malloced by V8's heap: %zu, external: %zu\n\n", "total",
              used, committed, resident, h.malloced_memory(), h.external_memory());
}

void ReportIsolate(v8::Isolate* isolate, const char* name) {
  v8::Isolate::Scope isolate_scope(isolate);
  std::printf("%s: V8 heap spaces of one isolate\n", name);
  PrintSpaces(isolate, "fresh");
  isolate->LowMemoryNotification();
  PrintSpaces(isolate, "after LowMemoryNotification (full GCs, memory reducing)");
}

void ReportObjectStats(v8::Isolate* isolate, int top) {
  v8::Isolate::Scope isolate_scope(isolate);
  isolate->LowMemoryNotification();
  std::vector<std::pair<size_t, std::string>> rows;
  size_t total = 0;
  for (size_t i = 0; i < isolate->NumberOfTrackedHeapObjectTypes(); ++i) {
    v8::HeapObjectStatistics s;
    if (!isolate->GetHeapObjectStatisticsAtLastGC(&s, i) || s.object_size() == 0) continue;
    std::string type = s.object_type();
    if (*s.object_sub_type() != '\0') absl::StrAppend(&type, "/", s.object_sub_type());
    rows.emplace_back(s.object_size(), absl::StrCat(type, " (", s.object_count(), ")"));
    total += s.object_size();
  }
  if (rows.empty()) {
    std::printf("object stats: none (V8 records them only with --track-gc-object-stats)\n\n");
    return;
  }
  std::sort(rows.rbegin(), rows.rend());
  std::printf("runtime: live objects by V8 type after a full GC (%zu bytes)\n", total);
  for (int i = 0; i < top && i < static_cast<int>(rows.size()); ++i) {
    std::printf("  %10zu  %s\n", rows[i].first, rows[i].second.c_str());
  }
  std::printf("\n");
}

class FileStream final : public v8::OutputStream {
 public:
  explicit FileStream(const std::string& path) : out_(path, std::ios::binary) {}
  void EndOfStream() override { out_.flush(); }
  WriteResult WriteAsciiChunk(char* data, int size) override {
    out_.write(data, size);
    return out_ ? kContinue : kAbort;
  }

 private:
  std::ofstream out_;
};

void ReportHeapSnapshot(v8::Isolate* isolate, const std::string& path, int top) {
  v8::Isolate::Scope isolate_scope(isolate);
  v8::HandleScope handle_scope(isolate);
  const v8::HeapSnapshot* snapshot = isolate->GetHeapProfiler()->TakeHeapSnapshot();
  static const char* const kTypes[] = {"hidden",
                                       "array",
                                       "string",
                                       "object",
                                       "code",
                                       "closure",
                                       "regexp",
                                       "number",
                                       "native",
                                       "synthetic",
                                       "concatenated string",
                                       "sliced string",
                                       "symbol",
                                       "bigint",
                                       "object shape"};
  std::map<std::string, std::pair<size_t, size_t>> by_type;  // size, count
  std::map<std::string, std::pair<size_t, size_t>> by_name;
  for (int i = 0; i < snapshot->GetNodesCount(); ++i) {
    const v8::HeapGraphNode* node = snapshot->GetNode(i);
    const int type = node->GetType();
    const std::string type_name =
        type >= 0 && type < static_cast<int>(std::size(kTypes)) ? kTypes[type] : "?";
    auto& t = by_type[type_name];
    t.first += node->GetShallowSize();
    ++t.second;
    v8::String::Utf8Value name(isolate, node->GetName());
    std::string label = absl::StrCat(type_name, " ", std::string(*name).substr(0, 60));
    auto& n = by_name[label];
    n.first += node->GetShallowSize();
    ++n.second;
  }
  auto print = [top](const char* title, const auto& map) {
    std::vector<std::pair<std::pair<size_t, size_t>, std::string>> rows;
    for (const auto& [key, value] : map) rows.emplace_back(value, key);
    std::sort(rows.rbegin(), rows.rend());
    std::printf("%s\n", title);
    for (int i = 0; i < top && i < static_cast<int>(rows.size()); ++i) {
      std::printf("  %10zu  %6zu  %s\n", rows[i].first.first, rows[i].first.second,
                  rows[i].second.c_str());
    }
    std::printf("\n");
  };
  print("runtime: heap snapshot, shallow bytes / nodes by node type", by_type);
  print("runtime: heap snapshot, shallow bytes / nodes by node type and name", by_name);
  FileStream out(path);
  snapshot->Serialize(&out, v8::HeapSnapshot::kJSON);
  const_cast<v8::HeapSnapshot*>(snapshot)->Delete();
  std::printf("heap snapshot written to %s (open it in Chrome DevTools, Memory tab)\n\n",
              path.c_str());
}

Options Parse(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&](const char* name) -> const char* {
      const std::string prefix = absl::StrCat(name, "=");
      return absl::StartsWith(arg, prefix) ? argv[i] + prefix.size() : nullptr;
    };
    if (const char* v = value("--instances");
        v != nullptr && absl::SimpleAtoi(v, &options.instances) && options.instances > 0) {
    } else if (const char* t = value("--top"); t != nullptr && absl::SimpleAtoi(t, &options.top)) {
    } else if (const char* f = value("--heap-snapshot"); f != nullptr && *f != '\0') {
      options.heap_snapshot = f;
    } else if (const char* flags = value("--v8-flags"); flags != nullptr) {
      options.v8_flags = flags;
    } else if (const char* file = value("--runtime"); file != nullptr && *file != '\0') {
      options.runtime = file;
    } else if (const char* file = value("--handler"); file != nullptr && *file != '\0') {
      options.handler = file;
    } else if (arg == "--object-stats") {
      options.object_stats = true;
    } else {
      std::fprintf(stderr,
                   "instance_memory: unknown or malformed argument '%s'\n"
                   "usage: instance_memory [--instances=N (positive)] [--object-stats] "
                   "[--top=K] [--heap-snapshot=FILE] [--v8-flags=FLAGS] [--runtime=BUNDLE.js] "
                   "[--handler=MODULE.js]\n",
                   arg.c_str());
      std::exit(2);
    }
  }
  return options;
}

int Main(int argc, char** argv) {
  const Options options = Parse(argc, argv);
  if (options.object_stats) {
    // Before V8 initialises: object stats are recorded at each full GC only with this flag.
    const char flag[] = "--track-gc-object-stats";
    v8::V8::SetFlagsFromString(flag, sizeof(flag) - 1);
  }
  if (!options.v8_flags.empty()) {
    v8::V8::SetFlagsFromString(options.v8_flags.data(), options.v8_flags.size());
  }
  v8engine::V8Platform::EnsureInitialized();
  const int n = options.instances;

  std::string runtime_source(v8engine::RuntimeSource());
  if (!options.runtime.empty()) {
    std::ifstream in(options.runtime, std::ios::binary);
    runtime_source.assign(std::istreambuf_iterator<char>(in), {});
    if (!in || runtime_source.empty()) {
      std::fprintf(stderr, "instance_memory: cannot read --runtime=%s\n", options.runtime.c_str());
      return 2;
    }
  }
  const v8engine::SnapshotSources sources({runtime_source});
  std::string blob = OrDie(v8engine::SnapshotBuilder::Build(sources), "snapshot");
  v8::StartupData snapshot{blob.data(), static_cast<int>(blob.size())};
  std::printf("engine snapshot: %zu bytes; runtime source %zu bytes (external)\n\n", blob.size(),
              runtime_source.size());

  std::printf("%-12s %10s %16s %16s %16s\n", "row", "instances", "anon/instance", "malloc/instance",
              "heap in use");
  using Bare = std::unique_ptr<BareIsolate>;
  std::vector<Bare> empty;
  auto [empty_anon, empty_malloc] = PerItem<Bare>(
      n, [] { return std::make_unique<BareIsolate>(nullptr, nullptr); }, empty);
  std::printf("%-12s %10d %16.0f %16.0f %16s\n", "v8 empty", n, empty_anon, empty_malloc, "-");
  std::vector<Bare> runtime;
  auto [runtime_anon, runtime_malloc] = PerItem<Bare>(
      n, [&] { return std::make_unique<BareIsolate>(&snapshot, sources.ExternalReferences()); },
      runtime);
  std::printf("%-12s %10d %16.0f %16.0f %16s\n", "runtime", n, runtime_anon, runtime_malloc, "-");

  JavaScriptEngineOptions engine_options;
  engine_options.spare_isolates = 0;  // every instance is made by the call, none in advance
  auto engine = OrDie(NewJavaScriptEngine(engine_options), "engine");
  Manifest manifest;
  manifest.engine = "javascript";
  manifest.main = "index.js";
  manifest.files["index.js"] = "export default { fetch() { return new Response('Hello'); } };";
  if (!options.handler.empty()) {
    std::ifstream in(options.handler, std::ios::binary);
    manifest.files["index.js"].assign(std::istreambuf_iterator<char>(in), {});
    if (!in.good() && !in.eof()) {
      std::fprintf(stderr, "instance_memory: cannot read --handler=%s\n", options.handler.c_str());
      return 2;
    }
  }
  auto program = OrDie(engine->Prepare("hello", manifest), "prepare");
  const HttpRequest request = bench::BenchRequest("http://127.0.0.1:8080/");
  OrDie(program->Instantiate(ScriptLimits()), "instantiate")->Invoke(request);  // code cache
  using Warm = std::unique_ptr<Instance>;
  std::vector<Warm> hello;
  auto [hello_anon, hello_malloc] = PerItem<Warm>(
      n,
      [&] {
        Warm instance = OrDie(program->Instantiate(ScriptLimits()), "instantiate");
        InvokeResult result = instance->Invoke(request);
        if (result.outcome != Outcome::kOk) {
          std::fprintf(stderr, "hello: %s\n", result.error.c_str());
          std::abort();
        }
        return instance;
      },
      hello);
  auto heap_per_instance = [](const std::vector<Warm>& row) {
    size_t heap = 0;
    for (const Warm& instance : row) heap += instance->MemoryBytes();
    return heap / row.size();
  };
  std::printf("%-12s %10d %16.0f %16.0f %16zu\n", "hello", n, hello_anon, hello_malloc,
              heap_per_instance(hello));
  // What an idle release would give back: Instance::ReleaseMemory() of each instance of a row, and
  // the row's anonymous memory read again.
  auto ReportRelease = [&](const std::vector<Warm>& row) {
    malloc_trim(0);
    const double before = static_cast<double>(AnonymousBytes());
    const absl::Time start = absl::Now();
    for (const Warm& instance : row) instance->ReleaseMemory();
    const double ms = absl::ToDoubleMilliseconds(absl::Now() - start) / row.size();
    malloc_trim(0);
    std::printf("%-12s %10zu %+16.0f %16s %16zu   %.2f ms each\n", "  then GC", row.size(),
                (static_cast<double>(AnonymousBytes()) - before) / row.size(), "",
                heap_per_instance(row), ms);
  };
  ReportRelease(hello);
  hello.clear();
  // A family that served a while: the same after 1,000 requests each (young-generation pages
  // touched by the requests' garbage stay resident).
  std::vector<Warm> busy;
  auto [busy_anon, busy_malloc] = PerItem<Warm>(
      n,
      [&] {
        Warm instance = OrDie(program->Instantiate(ScriptLimits()), "instantiate");
        for (int i = 0; i < 1000; ++i) instance->Invoke(request);
        return instance;
      },
      busy);
  std::printf("%-12s %10d %16.0f %16.0f %16zu\n", "hello x1000", n, busy_anon, busy_malloc,
              heap_per_instance(busy));
  ReportRelease(busy);
  std::printf("\n");
  busy.clear();

  ReportIsolate(empty.front()->isolate, "v8 empty");
  ReportIsolate(runtime.front()->isolate, "runtime");
  // What an idle full GC would give back: every isolate of a row collected with V8's
  // memory-reducing GC, then the row's anonymous memory read again.
  for (auto* row : {&empty, &runtime}) {
    malloc_trim(0);
    const double before = static_cast<double>(AnonymousBytes());
    for (const Bare& bare : *row) {
      v8::Isolate::Scope isolate_scope(bare->isolate);
      bare->isolate->LowMemoryNotification();
    }
    malloc_trim(0);
    std::printf("%-12s LowMemoryNotification on each: %+.0f anonymous bytes/instance\n",
                row == &empty ? "v8 empty" : "runtime",
                (static_cast<double>(AnonymousBytes()) - before) / n);
  }
  std::printf("\n");

  if (options.object_stats) ReportObjectStats(runtime.back()->isolate, options.top);
  if (!options.heap_snapshot.empty()) {
    ReportHeapSnapshot(runtime[runtime.size() / 2]->isolate, options.heap_snapshot, options.top);
  }
  return 0;
}

}  // namespace
}  // namespace cosmo

int main(int argc, char** argv) { return cosmo::Main(argc, argv); }
