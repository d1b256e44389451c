#include "engine/v8/v8_platform.h"

#include <libplatform/libplatform.h>
#include <v8.h>

#include <memory>
#include <string_view>
#include <utility>

#include "absl/base/call_once.h"
#include "engine/v8/recycling_page_allocator.h"

namespace cosmo::v8engine {
namespace {

// Flags every isolate in the process runs with.
//  - The experimental linear-time regexp engine takes over from irregexp once a match has
//    backtracked 10,000 times, so catastrophic patterns like /(a+)+$/ finish in milliseconds
//    instead of burning the request's CPU budget (the watchdog stays the backstop).
//  - The startup snapshot is built in this process and never leaves memory, so re-checksumming
//    it on every new isolate (8% of an activation) buys nothing.
//  - WebAssembly.compile()/instantiate() compile on the calling thread and settle at once: there
//    is no event loop yet to deliver a background compile's result, and the compile then counts
//    against the request's CPU like any other work.
constexpr std::string_view kFlags =
    "--enable-experimental-regexp-engine-on-excessive-backtracks "
    "--regexp-backtracks-before-fallback=10000 "
    "--harmony-sharedarraybuffer "
    "--no-wasm-async-compilation "
    "--no-verify-snapshot-checksum";

// V8's default platform with one change: heap pages come from a RecyclingPageAllocator over the
// default platform's page allocator. Everything else is the default platform's, which stays the
// one v8::platform::PumpMessageLoop() and NotifyIsolateShutdown() are given (V8Platform::Get()):
// they work on its task queues, which this one forwards to.
class RecyclingPlatform final : public v8::Platform {
 public:
  explicit RecyclingPlatform(v8::Platform* platform)
      : platform_(platform),
        pages_(platform->GetPageAllocator(),
               {.schedule_trim = [this](absl::Duration delay) { ScheduleTrim(delay); }}) {}

  RecyclingPageAllocator& pages() { return pages_; }

  v8::PageAllocator* GetPageAllocator() override { return &pages_; }
  v8::ZoneBackingAllocator* GetZoneBackingAllocator() override {
    return platform_->GetZoneBackingAllocator();
  }
  void OnCriticalMemoryPressure() override {
    pages_.Trim(absl::InfiniteFuture());
    platform_->OnCriticalMemoryPressure();
  }
  bool OnCriticalMemoryPressure(size_t length) override {
    pages_.Trim(absl::InfiniteFuture());
    return platform_->OnCriticalMemoryPressure(length);
  }
  int NumberOfWorkerThreads() override { return platform_->NumberOfWorkerThreads(); }
  std::shared_ptr<v8::TaskRunner> GetForegroundTaskRunner(v8::Isolate* isolate) override {
    return platform_->GetForegroundTaskRunner(isolate);
  }
  void CallOnWorkerThread(std::unique_ptr<v8::Task> task) override {
    platform_->CallOnWorkerThread(std::move(task));
  }
  void CallBlockingTaskOnWorkerThread(std::unique_ptr<v8::Task> task) override {
    platform_->CallBlockingTaskOnWorkerThread(std::move(task));
  }
  void CallLowPriorityTaskOnWorkerThread(std::unique_ptr<v8::Task> task) override {
    platform_->CallLowPriorityTaskOnWorkerThread(std::move(task));
  }
  void CallDelayedOnWorkerThread(std::unique_ptr<v8::Task> task, double delay_in_seconds) override {
    platform_->CallDelayedOnWorkerThread(std::move(task), delay_in_seconds);
  }
  bool IdleTasksEnabled(v8::Isolate* isolate) override {
    return platform_->IdleTasksEnabled(isolate);
  }
  std::unique_ptr<v8::JobHandle> PostJob(v8::TaskPriority priority,
                                         std::unique_ptr<v8::JobTask> job_task) override {
    return platform_->PostJob(priority, std::move(job_task));
  }
  double MonotonicallyIncreasingTime() override { return platform_->MonotonicallyIncreasingTime(); }
  double CurrentClockTimeMillis() override { return platform_->CurrentClockTimeMillis(); }
  StackTracePrinter GetStackTracePrinter() override { return platform_->GetStackTracePrinter(); }
  v8::TracingController* GetTracingController() override {
    return platform_->GetTracingController();
  }
  void DumpWithoutCrashing() override { platform_->DumpWithoutCrashing(); }
  v8::HighAllocationThroughputObserver* GetHighAllocationThroughputObserver() override {
    return platform_->GetHighAllocationThroughputObserver();
  }

 private:
  class TrimTask final : public v8::Task {
   public:
    explicit TrimTask(RecyclingPageAllocator* pages) : pages_(pages) {}
    void Run() override { pages_->Trim(absl::Now()); }

   private:
    RecyclingPageAllocator* const pages_;
  };

  void ScheduleTrim(absl::Duration delay) {
    platform_->CallDelayedOnWorkerThread(std::make_unique<TrimTask>(&pages_),
                                         absl::ToDoubleSeconds(delay));
  }

  v8::Platform* const platform_;
  RecyclingPageAllocator pages_;
};

absl::once_flag g_once;
v8::Platform* g_platform = nullptr;
RecyclingPlatform* g_recycling_platform = nullptr;

void Initialize() {
  v8::V8::SetFlagsFromString(kFlags.data(), kFlags.size());
  // Leaked on purpose: the platform must outlive every isolate, including ones destroyed by
  // static destructors, and V8 cannot be initialised twice anyway.
  g_platform = v8::platform::NewDefaultPlatform(/*thread_pool_size=*/2,
                                                v8::platform::IdleTaskSupport::kDisabled)
                   .release();
  g_recycling_platform = new RecyclingPlatform(g_platform);
  v8::V8::InitializePlatform(g_recycling_platform);
  v8::V8::Initialize();
}

}  // namespace

void V8Platform::EnsureInitialized() { absl::call_once(g_once, Initialize); }

v8::Platform* V8Platform::Get() { return g_platform; }

RecyclingPageAllocator& V8Platform::Pages() { return g_recycling_platform->pages(); }

const std::string& V8Platform::Version() {
  static const std::string* version = new std::string(v8::V8::GetVersion());
  return *version;
}

}  // namespace cosmo::v8engine
