#include "engine/v8/js_instance.h"

#include <libplatform/libplatform.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <string_view>

#include "absl/container/inlined_vector.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "cosmo/status_macros.h"
#include "engine/v8/exception_text.h"
#include "engine/v8/isolate_pool.h"
#include "engine/v8/response_fields.h"
#include "engine/v8/thread_stack.h"
#include "engine/v8/v8_platform.h"
#include "engine/v8/v8_util.h"

namespace cosmo::v8engine {
namespace {

// Isolate data slot holding the JsInstance, for the module resolver.
constexpr uint32_t kInstanceSlot = 1;

// How far the heap limit is raised when it is hit, so V8 can unwind the terminated script
// instead of dying in FatalProcessOutOfMemory.
constexpr size_t kMinHeapSlack = size_t{64} << 20;

// Two semi-spaces of one V8 page (256 KiB) each plus the new large-object space V8 sizes like one
// of them: V8's young generation is three semi-spaces' worth.
constexpr size_t kInitialYoungGenerationBytes = 3 * (size_t{256} << 10);

// Foreground platform tasks (GC finalisation, compile jobs) run after a request, a few at a time:
// after every request that saw a GC, and every kPumpEvery requests otherwise (checking the queue
// costs a lock, a measurable share of a warm invoke).
constexpr int kMaxPumpedTasks = 8;
constexpr uint64_t kPumpEvery = 16;

// The module of WarmUp()'s synthetic requests: what a typical family's module and first request
// do with the runtime (a module compiled from a code cache, linked and evaluated in the spare's
// context; its URL and a header read, a Response built from a string, an async handler's
// promise). A module rather than a script because the family's module is one: V8 then makes the
// context's first module, namespace and code-cache objects (and their maps) on the spare, not on
// the family's activation (3% of its CPU, docs/performance.md).
// It must not touch what the runtime evaluates on first use (lazy.js: URL, streams, `body`), or
// every spare would hold it. It keeps its requests' objects, and the instance keeps it: V8 holds
// the transitions between an object's maps weakly, so once no object used them the warm-up's
// garbage collection took the maps it had made for a request, a context and a response, and the
// instance's first real request made them all again (5-8% of a cold activation's CPU,
// docs/performance.md).
// An extra runtime script may define the global function `__cosmo_warm_up(request)`, awaited
// here: the Liquid runtime parses and renders a page with it, compiling LiquidJS on the spare.
constexpr std::string_view kWarmUpModule = R"JS(const kept = [];
const runtimeWarmUp = globalThis.__cosmo_warm_up;
export default {
  async fetch(request, env, ctx) {
    request.headers.get('accept');
    if (typeof runtimeWarmUp === 'function') kept.push(await runtimeWarmUp(request));
    const response = new Response(request.url, { headers: { 'content-type': 'text/plain' } });
    kept.push(request, ctx, response);
    return response;
  },
};
)JS";
constexpr char kWarmUpFile[] = "cosmo:warm_up.js";

// Takes a warm-up's response body and drops it, as a data plane's connection would send it.
class DiscardingWriter final : public ResponseBodyWriter {
 public:
  absl::Status Start(int status, const HeaderList& headers) override { return absl::OkStatus(); }
  bool Write(absl::string_view bytes) override { return true; }
  void Finish() override {}
};

// A section of JavaScript without a GC is measured by the growth of the young generation alone
// (two GetHeapSpaceStatistics calls, a quarter of what the whole heap's statistics cost); a
// section a GC ran in, the first request's, every kPumpEvery-th request's and at least every
// kExactHeapEvery-th section read the whole heap, and so take up what V8 allocated directly in
// the old generation since the last whole reading.
constexpr uint64_t kExactHeapEvery = 16;

// "./util.js" imported from "lib/index.js" is "lib/util.js". Only relative (and root-relative)
// specifiers name deployed files; bare specifiers would need a package registry.
absl::StatusOr<std::string> ResolveSpecifier(const std::string& referrer,
                                             const std::string& specifier) {
  bool relative = absl::StartsWith(specifier, "./") || absl::StartsWith(specifier, "../");
  if (!relative && !absl::StartsWith(specifier, "/")) {
    return absl::FailedPreconditionError(
        absl::StrCat(referrer, ": cannot import '", specifier,
                     "': only relative imports of deployed files (\"./file.js\") are supported"));
  }
  std::vector<std::string> parts;
  if (relative) {
    size_t slash = referrer.rfind('/');
    if (slash != std::string::npos) {
      parts = absl::StrSplit(referrer.substr(0, slash), '/', absl::SkipEmpty());
    }
  }
  for (absl::string_view part : absl::StrSplit(specifier, '/', absl::SkipEmpty())) {
    if (part == ".") continue;
    if (part == "..") {
      if (parts.empty()) {
        return absl::FailedPreconditionError(
            absl::StrCat(referrer, ": import '", specifier, "' leaves the deployed files"));
      }
      parts.pop_back();
      continue;
    }
    parts.emplace_back(part);
  }
  return absl::StrJoin(parts, "/");
}

// What compiling a module made of the code cache held for it.
enum class CacheUse { kNone, kConsumed, kRejected };

// Compiles `text` as the module `file`, from `cache`'s bytes for `file` when it holds any, and
// says in `use` what became of them. Empty on a compile error, which the caller's TryCatch holds.
v8::MaybeLocal<v8::Module> CompileModuleFromCache(v8::Isolate* isolate, const CodeCache& cache,
                                                  const std::string& file,
                                                  v8::Local<v8::String> text, CacheUse* use) {
  v8::ScriptOrigin origin(isolate, NewUtf8String(isolate, file), 0, 0, false, -1,
                          v8::Local<v8::Value>(), false, false, /*is_module=*/true);
  // `source` owns the CachedData, which points into `cached` (declared first, so it outlives it).
  std::shared_ptr<const std::string> cached = cache.Find(file);
  auto* cached_data = cached == nullptr ? nullptr
                                        : new v8::ScriptCompiler::CachedData(
                                              reinterpret_cast<const uint8_t*>(cached->data()),
                                              static_cast<int>(cached->size()));
  v8::ScriptCompiler::Source source(text, origin, cached_data);
  v8::MaybeLocal<v8::Module> module = v8::ScriptCompiler::CompileModule(
      isolate, &source,
      cached_data != nullptr ? v8::ScriptCompiler::kConsumeCodeCache
                             : v8::ScriptCompiler::kNoCompileOptions);
  *use = cached_data == nullptr             ? CacheUse::kNone
         : source.GetCachedData()->rejected ? CacheUse::kRejected
                                            : CacheUse::kConsumed;
  return module;
}

// Keeps the code cache of `unbound` (what V8 compiled of the module so far) as `file`'s.
void StoreCodeCache(v8::Local<v8::UnboundModuleScript> unbound, const std::string& file,
                    CodeCache& cache) {
  std::unique_ptr<v8::ScriptCompiler::CachedData> data(
      v8::ScriptCompiler::CreateCodeCache(unbound));
  if (data != nullptr && data->length > 0) {
    cache.Store(file, std::string(reinterpret_cast<const char*>(data->data), data->length));
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<JsInstance>> JsInstance::Create(
    std::shared_ptr<const JsProgram> program, const ScriptLimits& limits) {
  EngineCore& core = program->core();
  std::unique_ptr<JsInstance> instance = core.pool().Take(limits.memory_bytes);
  if (instance == nullptr) {
    COSMO_ASSIGN_OR_RETURN(instance, CreateBlank(core, limits.memory_bytes));
    // A spare's warm-up ends with this GC; an isolate built on demand skips it for its request's
    // sake, unless memory is short: then the ~0.3 MB of dead maps and objects it brings from the
    // snapshot would count against the budget until a maintenance pass collects them, and unload
    // another family meanwhile (docs/performance.md "Fresh isolates' garbage under a full budget").
    if (core.memory_short.load(std::memory_order_relaxed)) instance->ReleaseMemory();
  }
  COSMO_RETURN_IF_ERROR(instance->Bind(std::move(program), limits));
  return instance;
}

absl::StatusOr<std::unique_ptr<JsInstance>> JsInstance::CreateBlank(EngineCore& core,
                                                                    size_t memory_bytes) {
  std::unique_ptr<JsInstance> instance(new JsInstance(core, memory_bytes));
  COSMO_RETURN_IF_ERROR(instance->CreateContext());
  return instance;
}

absl::Status JsInstance::WarmUp() {
  if (program_ != nullptr) {
    return absl::FailedPreconditionError("only a blank instance can be warmed up");
  }
  {
    Entered entered(*this);
    v8::Local<v8::Context> context = entered.context();
    v8::TryCatch try_catch(isolate_);
    CodeCache& cache = core_->warm_up_code_cache();
    v8::Local<v8::Module> module;
    v8::Local<v8::Value> evaluated;
    v8::Local<v8::Value> handler;
    auto no_imports = [](v8::Local<v8::Context>, v8::Local<v8::String>, v8::Local<v8::FixedArray>,
                         v8::Local<v8::Module>) { return v8::MaybeLocal<v8::Module>(); };
    CacheUse use;
    if (!CompileModuleFromCache(isolate_, cache, kWarmUpFile,
                                NewUtf8String(isolate_, kWarmUpModule), &use)
             .ToLocal(&module)) {
      return absl::InternalError(
          absl::StrCat("warm-up module: ", ExceptionText::Located(isolate_, context, try_catch)));
    }
    // Written at once, for the next spare (a family's module waits for its first request, so
    // that its cache holds the functions the request compiled lazily; WriteCodeCache).
    if (use != CacheUse::kConsumed) {
      StoreCodeCache(module->GetUnboundModuleScript(), kWarmUpFile, cache);
    }
    if (!module->InstantiateModule(context, no_imports).FromMaybe(false) ||
        !module->Evaluate(context).ToLocal(&evaluated) ||
        !module->GetModuleNamespace()
             .As<v8::Object>()
             ->Get(context, NewUtf8String(isolate_, "default"))
             .ToLocal(&handler) ||
        !handler->IsObject()) {
      return absl::InternalError(
          absl::StrCat("warm-up module: ", ExceptionText::Located(isolate_, context, try_catch)));
    }
    isolate_->PerformMicrotaskCheckpoint();
    handler_.Reset(isolate_, handler.As<v8::Object>());
    env_.Reset(isolate_, v8::Object::New(isolate_));
  }
  limits_ = ScriptLimits();
  // The runtime's own code, bounded like a module's top level rather than a request: a Liquid
  // warm-up compiles LiquidJS (~20 ms of CPU, several times that under the sanitizers), and a
  // warm-up stopped at a limit would leave the engine without spares.
  cpu_budget_ns_ = absl::ToInt64Nanoseconds(limits_.startup_cpu);
  HttpRequest request;
  request.url = "http://localhost/";
  request.headers = {{"host", "localhost"}, {"accept", "*/*"}};
  DiscardingWriter writer;
  request.body_writer = &writer;
  const InvokeResult streamed = Invoke(request);
  request.body_writer = nullptr;
  const InvokeResult buffered = Invoke(request);
  {
    Taken taken(*this);
    v8::HandleScope handle_scope(isolate_);
    warm_up_kept_.Reset(isolate_, handler_.Get(isolate_));
    handler_.Reset();
    env_.Reset();
  }
  // Blank again: Bind() sets the limits; the code cache is written by the version's first request.
  limits_ = ScriptLimits();
  cpu_budget_ns_ = 0;
  code_cache_final_ = false;
  invocations_ = 0;
  // The warm-up's garbage collected now, on this (idle-priority) thread: else the family would
  // be charged for it in MemoryBytes() until its first GC. What kWarmUpModule keeps (its
  // handler and module context, two requests, their contexts and responses: ~7 KB of heap) stays.
  ReleaseMemory();
  heap_known_ = false;
  for (const InvokeResult* result : {&streamed, &buffered}) {
    if (result->outcome != Outcome::kOk || result->response.status != 200) {
      return absl::InternalError(absl::StrCat("warm-up request failed: ", result->error));
    }
  }
  return absl::OkStatus();
}

JsInstance::JsInstance(EngineCore& core, size_t memory_bytes)
    : core_(&core), allocator_(std::make_unique<LimitedAllocator>(memory_bytes)) {
  state_.allocator = allocator_.get();
  state_.kv = core.options().kv;
  state_.cpu = this;
  v8::Isolate::CreateParams params;
  params.snapshot_blob = core.snapshot();
  params.external_references = core.external_references();
  params.array_buffer_allocator = allocator_.get();
  params.constraints.ConfigureDefaultsFromHeapSize(0, memory_bytes);
  // The young generation starts at its smallest (one 256 KiB page per semi-space, where V8's
  // default is four): a request's garbage fills whatever the semi-spaces hold before a scavenge
  // empties them, so every page of them ends up resident in a family that has served a while
  // (1.3 MB more per instance after 1,000 hello requests). V8 still grows them for a family
  // whose objects survive scavenges.
  params.constraints.set_initial_young_generation_size_in_bytes(kInitialYoungGenerationBytes);
  isolate_ = v8::Isolate::New(params);
  isolate_->SetData(kIsolateStateSlot, &state_);
  isolate_->SetData(kInstanceSlot, this);
  watchdog_slot_ = core.watchdog().Register(isolate_);
  core.isolates_created.fetch_add(1, std::memory_order_relaxed);
}

JsInstance::~JsInstance() {
  // Nobody collects these any more: their writers are told here, so none waits forever.
  parked_wake_->SetHandler(nullptr);
  if (ParkedStreams() > 0) {
    for (EndedStream& ended : AbandonParked("the instance serving the stream was shut down")) {
      ended.writer->Completed(std::move(ended.result));
    }
  }
  core_->watchdog().Unregister(watchdog_slot_);
  {
    Taken taken(*this);
    modules_.clear();
    handler_.Reset();
    warm_up_kept_.Reset();
    env_.Reset();
    invoke_fast_.Reset();
    response_parts_.Reset();
    stream_head_.Reset();
    pump_body_.Reset();
    abort_request_.Reset();
    make_kv_namespace_.Reset();
    scheduled_.Reset();
    method_get_.Reset();
    text_plain_.name.Reset();
    text_plain_.value.Reset();
    context_.Reset();
  }
  isolate_->Dispose();
  // The default platform keeps a task queue per isolate until told it is gone.
  v8::platform::NotifyIsolateShutdown(V8Platform::Get(), isolate_);
}

absl::Status JsInstance::CreateContext() {
  const EngineCore& core = *core_;
  Taken taken(*this);
  v8::HandleScope handle_scope(isolate_);
  isolate_->SetMicrotasksPolicy(v8::MicrotasksPolicy::kExplicit);
  isolate_->AddNearHeapLimitCallback(NearHeapLimit, this);
  isolate_->AddGCPrologueCallback(GcPrologue, this);
  isolate_->AddGCEpilogueCallback(GcEpilogue, this);
  FindYoungSpaces();
  if (!core.options().allow_codegen) {
    isolate_->SetAllowWasmCodeGenerationCallback(
        [](v8::Local<v8::Context>, v8::Local<v8::String>) { return false; });
  }

  v8::Local<v8::Context> context = v8::Context::New(isolate_);
  if (context.IsEmpty()) return absl::InternalError("V8 could not create a context");
  if (!core.options().allow_codegen) context->AllowCodeGenerationFromStrings(false);
  context_.Reset(isolate_, context);
  v8::Context::Scope context_scope(context);
  method_get_.Reset(
      isolate_, v8::String::NewFromUtf8Literal(isolate_, "GET", v8::NewStringType::kInternalized));
  // The same objects as the literals of response.js and dispatch.js (body.js kTextPlain).
  text_plain_.Set(isolate_, "content-type", "text/plain;charset=UTF-8");
  state_.text_plain = &text_plain_;

  // The runtime's dispatch functions, cached for the request path and then hidden from scripts
  // when the runtime made the global configurable.
  v8::Local<v8::Object> global = context->Global();
  v8::Local<v8::String> dispatch_name = NewUtf8String(isolate_, "__cosmo_dispatch");
  v8::Local<v8::Value> dispatch;
  if (!global->Get(context, dispatch_name).ToLocal(&dispatch) || !dispatch->IsObject()) {
    return absl::InternalError("the web-API runtime defines no __cosmo_dispatch");
  }
  for (auto [name, slot] :
       {std::pair{"invokeFast", &invoke_fast_}, std::pair{"responseParts", &response_parts_},
        std::pair{"streamHead", &stream_head_}, std::pair{"pumpBody", &pump_body_},
        std::pair{"abortRequest", &abort_request_},
        std::pair{"makeKvNamespace", &make_kv_namespace_}, std::pair{"scheduled", &scheduled_}}) {
    v8::Local<v8::Value> fn;
    if (!dispatch.As<v8::Object>()->Get(context, NewUtf8String(isolate_, name)).ToLocal(&fn) ||
        !fn->IsFunction()) {
      return absl::InternalError(absl::StrCat("__cosmo_dispatch.", name, " is not a function"));
    }
    slot->Reset(isolate_, fn.As<v8::Function>());
  }
  if (global->Delete(context, dispatch_name).IsNothing()) {
    return absl::InternalError("__cosmo_dispatch could not be removed");
  }
  return absl::OkStatus();
}

absl::Status JsInstance::Bind(std::shared_ptr<const JsProgram> program,
                              const ScriptLimits& limits) {
  // The module's top level is JavaScript too, and may recurse as deep as a handler.
  ThreadStack::Scope stack_scope;
  program_ = std::move(program);
  limits_ = limits;
  cpu_budget_ns_ = absl::ToInt64Nanoseconds(limits.cpu_per_request);
  const Manifest& manifest = program_->manifest();
  Taken taken(*this);
  v8::HandleScope handle_scope(isolate_);
  v8::Local<v8::Context> context = context_.Get(isolate_);
  v8::Context::Scope context_scope(context);

  v8::Local<v8::Object> env = v8::Object::New(isolate_);
  for (const auto& [key, value] : manifest.env) {
    env->Set(context, NewUtf8String(isolate_, key), NewUtf8String(isolate_, value)).Check();
  }
  for (const auto& [binding, ns] : manifest.kv) {
    v8::Local<v8::Value> argv[] = {NewUtf8String(isolate_, ns)};
    v8::Local<v8::Value> kv_namespace;
    if (!make_kv_namespace_.Get(isolate_)
             ->Call(context, v8::Undefined(isolate_), 1, argv)
             .ToLocal(&kv_namespace)) {
      return absl::InternalError(absl::StrCat("KV binding ", binding, " could not be created"));
    }
    env->Set(context, NewUtf8String(isolate_, binding), kv_namespace).Check();
  }
  env_.Reset(isolate_, env);

  if (manifest.files.count(manifest.main) == 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("the entry file '", manifest.main, "' is not among the files"));
  }
  v8::TryCatch try_catch(isolate_);
  COSMO_ASSIGN_OR_RETURN(v8::Local<v8::Module> main, LoadModule(context, manifest.main));
  if (!main->InstantiateModule(context, ResolveModule).FromMaybe(false)) {
    return absl::FailedPreconditionError(
        try_catch.HasCaught() ? ExceptionText::Located(isolate_, context, try_catch)
                              : absl::StrCat(manifest.main, ": the modules could not be linked"));
  }

  cpu_account_ = CpuWatchdog::CpuAccount();
  ArmCpu(absl::ToInt64Nanoseconds(limits_.startup_cpu));
  std::string error;
  v8::Local<v8::Value> evaluated;
  bool ok = main->Evaluate(context).ToLocal(&evaluated);
  if (ok) isolate_->PerformMicrotaskCheckpoint();
  if (!isolate_->IsExecutionTerminating()) {
    if (!ok) {
      error = try_catch.HasCaught() ? ExceptionText::Located(isolate_, context, try_catch)
                                    : absl::StrCat(manifest.main, ": evaluation failed");
    } else if (main->GetStatus() == v8::Module::kErrored) {
      error = ExceptionText::Located(isolate_, context, main->GetException());
    } else if (evaluated->IsPromise() &&
               evaluated.As<v8::Promise>()->State() == v8::Promise::kPending) {
      error = absl::StrCat(manifest.main, ": top-level await never settles");
    } else {
      v8::Local<v8::Value> handler;
      v8::Local<v8::Value> fetch;
      if (!main->GetModuleNamespace()
               .As<v8::Object>()
               ->Get(context, NewUtf8String(isolate_, "default"))
               .ToLocal(&handler) ||
          !handler->IsObject()) {
        error = absl::StrCat(manifest.main,
                             ": no default export; expected `export default { fetch(request, "
                             "env, ctx) { ... } }`");
      } else if (!handler.As<v8::Object>()
                      ->Get(context, NewUtf8String(isolate_, "fetch"))
                      .ToLocal(&fetch) ||
                 !fetch->IsFunction()) {
        error = try_catch.HasCaught() && !isolate_->IsExecutionTerminating()
                    ? ExceptionText::Located(isolate_, context, try_catch)
                    : absl::StrCat(manifest.main, ": the default export has no fetch() method");
      } else if (v8::Local<v8::Value> scheduled;
                 !manifest.crons.empty() &&
                 (!handler.As<v8::Object>()
                       ->Get(context, NewUtf8String(isolate_, "scheduled"))
                       .ToLocal(&scheduled) ||
                  !scheduled->IsFunction())) {
        // A family with crons runs scheduled(controller, env, ctx) at each tick
        // (docs/cron.md).
        error = try_catch.HasCaught() && !isolate_->IsExecutionTerminating()
                    ? ExceptionText::Located(isolate_, context, try_catch)
                    : absl::StrCat(manifest.main,
                                   ": the family has crons but the default export has no "
                                   "scheduled() method; add `async scheduled(controller, env, "
                                   "ctx) { ... }`");
      } else {
        handler_.Reset(isolate_, handler.As<v8::Object>());
      }
    }
  }
  Stop stop = DisarmCpu();
  if (stop == Stop::kCpu) {
    return absl::ResourceExhaustedError(
        absl::StrCat(manifest.main, ": the module's top level exceeded the startup CPU limit of ",
                     absl::FormatDuration(limits_.startup_cpu)));
  }
  if (stop == Stop::kMemory) {
    return absl::ResourceExhaustedError(
        absl::StrCat(manifest.main, ": the module's top level exceeded the memory limit of ",
                     limits_.memory_bytes >> 20, " MiB"));
  }
  if (!error.empty()) return absl::FailedPreconditionError(error);
  WriteCodeCache(/*final=*/false);
  size_t used = UsedHeapBytes();
  young_used_ = YoungUsedBytes();
  last_heap_used_.store(used, std::memory_order_relaxed);
  allocator_->set_heap_used_bytes(used);
  heap_known_ = true;
  return absl::OkStatus();
}

absl::StatusOr<v8::Local<v8::Module>> JsInstance::LoadModule(v8::Local<v8::Context> context,
                                                             const std::string& file) {
  for (const LoadedModule& loaded : modules_) {
    if (loaded.file == file) return loaded.module.Get(isolate_);
  }
  EngineCore& core = *core_;
  CodeCache& cache = program_->code_cache();
  auto it = program_->manifest().files.find(file);
  if (it == program_->manifest().files.end()) {
    return absl::FailedPreconditionError(absl::StrCat("cannot find module '", file, "'"));
  }
  if (it->second.size() > static_cast<size_t>(v8::String::kMaxLength)) {
    return absl::FailedPreconditionError(absl::StrCat(file, ": source too large"));
  }
  v8::TryCatch try_catch(isolate_);
  v8::Local<v8::Module> module;
  CacheUse use;
  if (!CompileModuleFromCache(isolate_, cache, file, NewUtf8String(isolate_, it->second), &use)
           .ToLocal(&module)) {
    return absl::FailedPreconditionError(ExceptionText::Located(isolate_, context, try_catch));
  }
  LoadedModule loaded{file, v8::Global<v8::Module>(isolate_, module), {}};
  if (use == CacheUse::kConsumed) {
    core.code_cache_hits.fetch_add(1, std::memory_order_relaxed);
  } else {
    if (use == CacheUse::kRejected) {
      core.code_cache_rejected.fetch_add(1, std::memory_order_relaxed);
      cache.Drop(file);
    }
    core.modules_compiled.fetch_add(1, std::memory_order_relaxed);
    // Kept to write the code cache later: V8 hands out a module's unbound script only before
    // evaluation, but a cache written after the first request also holds the functions that
    // were compiled lazily while serving it (the handler itself, typically).
    loaded.unbound.Reset(isolate_, module->GetUnboundModuleScript());
  }
  modules_.push_back(std::move(loaded));

  v8::Local<v8::FixedArray> requests = module->GetModuleRequests();
  for (int i = 0; i < requests->Length(); ++i) {
    v8::Local<v8::ModuleRequest> request = requests->Get(context, i).As<v8::ModuleRequest>();
    std::string specifier = ExceptionText::ToUtf8(isolate_, request->GetSpecifier());
    COSMO_ASSIGN_OR_RETURN(std::string target, ResolveSpecifier(file, specifier));
    COSMO_RETURN_IF_ERROR(LoadModule(context, target).status());
  }
  return module;
}

void JsInstance::WriteCodeCache(bool final) {
  for (LoadedModule& loaded : modules_) {
    if (loaded.unbound.IsEmpty()) continue;
    StoreCodeCache(loaded.unbound.Get(isolate_), loaded.file, program_->code_cache());
    if (final) loaded.unbound.Reset();
  }
  code_cache_final_ = final;
}

const JsInstance::LoadedModule* JsInstance::FindModule(v8::Local<v8::Module> module) const {
  for (const LoadedModule& loaded : modules_) {
    if (loaded.module.Get(isolate_) == module) return &loaded;
  }
  return nullptr;
}

v8::MaybeLocal<v8::Module> JsInstance::ResolveModule(v8::Local<v8::Context> context,
                                                     v8::Local<v8::String> specifier,
                                                     v8::Local<v8::FixedArray> import_assertions,
                                                     v8::Local<v8::Module> referrer) {
  v8::Isolate* isolate = context->GetIsolate();
  auto* self = static_cast<JsInstance*>(isolate->GetData(kInstanceSlot));
  const LoadedModule* from = self->FindModule(referrer);
  std::string spec = ExceptionText::ToUtf8(isolate, specifier);
  absl::StatusOr<std::string> target = from == nullptr ? absl::NotFoundError("unknown referrer")
                                                       : ResolveSpecifier(from->file, spec);
  if (target.ok()) {
    for (const LoadedModule& loaded : self->modules_) {
      if (loaded.file == *target) return loaded.module.Get(isolate);
    }
  }
  isolate->ThrowException(v8::Exception::Error(
      NewUtf8String(isolate, absl::StrCat("cannot resolve module '", spec, "'"))));
  return {};
}

InvokeResult JsInstance::Invoke(const HttpRequest& request) {
  return Run(request.body.size(), request.body_reader,
             [&](v8::Local<v8::Context> context, EventLoop& loop, InvokeResult& result) {
               RunHandler(context, request, loop, result);
             });
}

InvokeResult JsInstance::RunScheduled(const ScheduledEvent& event) {
  return Run(0, nullptr,
             [&](v8::Local<v8::Context> context, EventLoop& loop, InvokeResult& result) {
               RunScheduledHandler(context, event, loop, result);
             });
}

template <typename Body>
InvokeResult JsInstance::Run(size_t request_bytes, RequestBodyReader* body_reader, Body&& body) {
  InvokeResult result;
  if (!Reusable()) {
    result.outcome = Outcome::kInternal;
    result.error = "this instance hit a limit earlier and must be replaced";
    return result;
  }
  const int64_t wall_start_ns = EventLoop::SteadyNanos();
  const int64_t wall_deadline_ns =
      wall_start_ns + absl::ToInt64Nanoseconds(limits_.wall_per_request);
  result.usage.request_bytes = request_bytes;
  int64_t cpu_used_ns = 0;
  // On the heap: a stream that parks takes it along; else it goes with the isolate's scope.
  std::unique_ptr<EventLoop> loop;
  {
    Entered entered(*this);
    v8::Local<v8::Context> context = entered.context();

    state_.console = &result.console;
    state_.console_bytes = 0;
    state_.console_dropped = 0;
    state_.kv_counters = KvCounters();
    const size_t heap_start = BeginHeapSection();
    loop = std::make_unique<EventLoop>(isolate_, &core_->fetch_options(), wall_deadline_ns,
                                       limits_.subrequests);
    state_.loop = loop.get();
    state_.body_reader = body_reader;
    state_.request_body_bytes = 0;
    cpu_account_ = CpuWatchdog::CpuAccount();
    // Armed from the request's start: what ran since (taking the isolate, the heap section) is the
    // request's CPU too, and one clock read fewer on the warm path.
    ArmCpu(cpu_budget_ns_, wall_start_ns);
    body(context, *loop, result);
    Stop stop = DisarmCpu();
    cpu_used_ns = CpuWatchdog::CpuUsedNanos(cpu_account_);
    result.usage.cpu_us = cpu_used_ns / 1000;
    state_.loop = nullptr;
    state_.console = nullptr;
    state_.body_reader = nullptr;
    result.usage.request_bytes += state_.request_body_bytes;

    if (stop != Stop::kNone) {
      parking_.reset();
      SetLimitOutcome(stop, cpu_used_ns, EventLoop::SteadyNanos() - wall_start_ns, result);
      // Streams parked here earlier cannot go on in a condemned isolate.
      if (!parked_.empty()) {
        CutOffParked(absl::StrCat("cut off: another request on the same instance exceeded its ",
                                  stop == Stop::kCpu ? "CPU" : "memory",
                                  " limit, and the instance was discarded"));
      }
    }
    if (state_.console_dropped > 0 && parking_ == nullptr) {
      result.console.push_back(
          {LogLevel::kWarn, absl::Now(),
           absl::StrCat(state_.console_dropped, " console messages dropped (limit ",
                        kMaxConsoleMessages, " messages or ", kMaxConsoleBytes >> 10,
                        " KiB per request)")});
    }
    // The whole heap is read before what changes it outside any section (the code cache written
    // after the first request, the platform's tasks every kPumpEvery-th), so old-generation
    // growth since the last whole reading is still counted, here.
    const bool pump_due = (invocations_ + 1) % kPumpEvery == 0;
    EndHeapSection(heap_start, result.usage, /*whole=*/pump_due || !code_cache_final_);
    // What follows runs unwatched and can take milliseconds (serialising the code cache, the
    // platform's GC tasks); a late first look at this thread's next section charges at most 5 ms
    // of it (CpuWatchdog::FirstLookCharge).
    if (result.outcome == Outcome::kOk && !code_cache_final_) {
      WriteCodeCache(/*final=*/true);
      heap_known_ = false;
    }
    if (parking_ == nullptr) loop.reset();
    if (++invocations_ % kPumpEvery == 0 || gc_freed_bytes_ != 0) {
      for (int i = 0; i < kMaxPumpedTasks; ++i) {
        if (!v8::platform::PumpMessageLoop(V8Platform::Get(), isolate_)) break;
        heap_known_ = false;
      }
    }
  }
  result.usage.response_bytes =
      result.response.streamed ? state_.body_bytes : result.response.body.size();
  result.usage.wall_us = (EventLoop::SteadyNanos() - wall_start_ns) / 1000;
  result.usage.kv_reads = state_.kv_counters.reads;
  result.usage.kv_writes = state_.kv_counters.writes;
  result.usage.kv_deletes = state_.kv_counters.deletes;
  result.usage.kv_lists = state_.kv_counters.lists;
  result.usage.kv_bytes_read = state_.kv_counters.bytes_read;
  result.usage.kv_bytes_written = state_.kv_counters.bytes_written;
  if (parking_ != nullptr) {
    parking_->cpu_used_ns = cpu_used_ns;
    Park(std::move(loop), wall_start_ns, result);
  }
  return result;
}

size_t JsInstance::BeginHeapSection() {
  // The heap is as the previous section left it unless a GC or a platform task ran since.
  size_t heap_start;
  if (heap_known_) {
    heap_start = last_heap_used_.load(std::memory_order_relaxed);
  } else {
    heap_start = UsedHeapBytes();
    young_used_ = YoungUsedBytes();
  }
  // From here on, a GC (GcEpilogue) clears it: EndHeapSection then reads the whole heap.
  heap_known_ = true;
  gc_freed_bytes_ = 0;
  peak_heap_bytes_ = heap_start;
  return heap_start;
}

void JsInstance::EndHeapSection(size_t heap_start, InvocationUsage& usage, bool whole) {
  // Bytes allocated = growth of the heap in use plus what GCs during the section reclaimed.
  // Without a GC, the heap grows only by allocation: the young generation's growth is what the
  // section's objects took there, counted to the byte, and the estimate of the heap in use
  // follows it. Objects V8 places straight in the old generation (compiled code, pretenured
  // objects, internalized strings) are taken up by the next whole reading (kExactHeapEvery).
  // With a GC, the whole heap is read, exact up to
  // objects that were allocated before the section and freed by that GC and to old-generation
  // growth since the last whole reading (both counted as if the section had allocated them).
  size_t heap_end = 0;
  whole =
      whole || !heap_known_ || young_spaces_.empty() || ++sections_since_whole_ >= kExactHeapEvery;
  if (!whole) {
    const size_t young = YoungUsedBytes();
    if (young >= young_used_) {
      heap_end = heap_start + (young - young_used_);
      young_used_ = young;
    } else {
      whole = true;  // the young generation shrank: a GC that no callback reported
    }
  }
  if (whole) {
    heap_end = UsedHeapBytes();
    young_used_ = YoungUsedBytes();
    sections_since_whole_ = 0;
  }
  const size_t allocated = heap_end + gc_freed_bytes_;
  usage.bytes_allocated += (allocated > heap_start ? allocated - heap_start : 0) + unbilled_bytes_;
  unbilled_bytes_ = 0;
  usage.peak_heap_bytes = std::max({usage.peak_heap_bytes, peak_heap_bytes_, heap_end});
  last_heap_used_.store(heap_end, std::memory_order_relaxed);
  allocator_->set_heap_used_bytes(heap_end);
  heap_known_ = true;
}

void JsInstance::SetLimitOutcome(Stop stop, int64_t cpu_used_ns, int64_t wall_ns,
                                 InvokeResult& result) const {
  // A streamed response's head is already on its way: the caller must know to cut it off.
  const bool streamed = result.response.streamed;
  result.response = HttpResponse();
  result.response.streamed = streamed;
  if (stop == Stop::kCpu) {
    result.outcome = Outcome::kExceededCpu;
    // What was counted, and over how much wall time: CPU close to the wall time is a script (or
    // its garbage) that kept the thread busy; far below it, one that waited in between.
    const absl::Duration tenth = absl::Microseconds(100);
    result.error = absl::StrCat(
        "the script exceeded its CPU limit of ", absl::FormatDuration(limits_.cpu_per_request),
        " (", absl::FormatDuration(absl::Trunc(absl::Nanoseconds(cpu_used_ns), tenth)),
        " of CPU counted in ",
        absl::FormatDuration(absl::Trunc(absl::Nanoseconds(std::max<int64_t>(wall_ns, 0)), tenth)),
        ")");
  } else {
    result.outcome = Outcome::kExceededMemory;
    result.error = absl::StrCat("the script exceeded its memory limit of ",
                                limits_.memory_bytes >> 20, " MiB");
  }
}

void JsInstance::SetUncaught(v8::Local<v8::Context> context, const v8::TryCatch& try_catch,
                             InvokeResult& result) {
  if (try_catch.HasTerminated() || isolate_->IsExecutionTerminating()) return;  // a limit
  result.outcome = Outcome::kException;
  result.error = ExceptionText::Uncaught(isolate_, context, try_catch.Exception());
}

void JsInstance::RunHandler(v8::Local<v8::Context> context, const HttpRequest& request,
                            EventLoop& loop, InvokeResult& result) {
  v8::TryCatch try_catch(isolate_);
  auto fail = [&] { SetUncaught(context, try_catch, result); };
  v8::Local<v8::Value> undefined = v8::Undefined(isolate_);

  absl::InlinedVector<v8::Local<v8::Value>, 32> header_values;
  header_values.reserve(request.headers.size() * 2);
  for (const auto& [name, value] : request.headers) {
    header_values.push_back(NewByteString(isolate_, name));
    header_values.push_back(NewByteString(isolate_, value));
  }
  v8::Local<v8::Value> body = undefined;
  if (!request.body.empty()) {
    if (request.body.size() > 64 && !allocator_->WouldFit(request.body.size())) {
      memory_hit_ = true;  // the request body alone does not fit in the isolate's budget
      return;
    }
    v8::Local<v8::ArrayBuffer> buffer = v8::ArrayBuffer::New(isolate_, request.body.size());
    std::memcpy(buffer->Data(), request.body.data(), request.body.size());
    body = v8::Uint8Array::New(buffer, 0, request.body.size());
  } else if (request.body_reader != nullptr) {
    body = v8::True(isolate_);  // still arriving: request.body reads it (native readBody)
  }
  // A streamed body is sent as it is produced when the caller takes one (never for HEAD, whose
  // body is not sent).
  ResponseBodyWriter* writer = request.method == "HEAD" ? nullptr : request.body_writer;
  v8::Local<v8::Value> args[] = {
      handler_.Get(isolate_),
      env_.Get(isolate_),
      request.method == "GET" ? method_get_.Get(isolate_) : NewUtf8String(isolate_, request.method),
      NewUtf8String(isolate_, request.url),
      v8::Array::New(isolate_, header_values.data(), header_values.size()),
      body,
      v8::Boolean::New(isolate_, writer != nullptr),
  };
  // One call into JavaScript: it builds the Request and the ExecutionContext, runs the handler
  // and, for a synchronous Response or string, returns the response parts (still under the CPU
  // watchdog, so a getter that loops is stopped).
  v8::Local<v8::Value> value;
  state_.response_to = &result;  // a synchronous response arrives through the native respond()
  const bool called =
      invoke_fast_.Get(isolate_)->Call(context, undefined, std::size(args), args).ToLocal(&value);
  const bool responded = state_.response_to == nullptr;
  state_.response_to = nullptr;
  if (!called) return fail();
  // Turns of the event loop: microtasks, then timers and finished fetches, until the handler's
  // promise settles. With nothing left that could wake the loop, it never will.
  isolate_->PerformMicrotaskCheckpoint();
  if (isolate_->IsExecutionTerminating()) return;
  if (responded) {
    if (loop.wait_until_count() > 0) RunWaitUntil(context, loop, result);
    return;
  }
  if (value->IsPromise()) {
    v8::Local<v8::Promise> promise = value.As<v8::Promise>();
    if (writer != nullptr) {
      // The client may leave while the handler works: look every so often, and abort the
      // request's signal once when it did.
      loop.set_max_wait(absl::Milliseconds(200));
      bool aborted = false;
      while (promise->State() == v8::Promise::kPending) {
        if (!aborted && writer->ReceiverGone()) {
          aborted = true;
          if (abort_request_.Get(isolate_)->Call(context, undefined, 0, nullptr).IsEmpty()) {
            return fail();
          }
          isolate_->PerformMicrotaskCheckpoint();
          continue;
        }
        if (!AwaitTurn(context, loop, result)) {
          loop.set_max_wait(absl::ZeroDuration());
          return;
        }
      }
      loop.set_max_wait(absl::ZeroDuration());
    }
    if (!AwaitPromise(context, loop, promise, result)) return;
    value = promise->Result();
  }
  if (writer != nullptr) {
    v8::Local<v8::Value> head;
    if (!stream_head_.Get(isolate_)->Call(context, undefined, 1, &value).ToLocal(&head)) {
      return fail();
    }
    if (head->IsArray()) {
      if (!StreamResponse(context, loop, head.As<v8::Array>(), value, writer, result)) {
        return fail();
      }
      // A parked stream waits for its ctx.waitUntil promises once its body ended.
      if (result.outcome == Outcome::kOk && !result.response.stream_pending &&
          loop.wait_until_count() > 0) {
        RunWaitUntil(context, loop, result);
      }
      return;
    }
  }
  if (!ConvertResponse(context, value, result)) return fail();
  if (loop.wait_until_count() > 0) RunWaitUntil(context, loop, result);
}

void JsInstance::RunScheduledHandler(v8::Local<v8::Context> context, const ScheduledEvent& event,
                                     EventLoop& loop, InvokeResult& result) {
  v8::TryCatch try_catch(isolate_);
  auto fail = [&] { SetUncaught(context, try_catch, result); };
  // controller.noRetry() reaches the host through this function, once.
  struct NoRetry {
    const ScheduledEvent* event;
    InvokeResult* result;
  } no_retry{&event, &result};
  v8::Local<v8::Function> no_retry_fn;
  if (!v8::Function::New(
           context,
           [](const v8::FunctionCallbackInfo<v8::Value>& info) {
             auto* target = static_cast<NoRetry*>(info.Data().As<v8::External>()->Value());
             if (target->result->no_retry) return;
             target->result->no_retry = true;
             if (target->event->on_no_retry) target->event->on_no_retry();
           },
           v8::External::New(isolate_, &no_retry))
           .ToLocal(&no_retry_fn)) {
    return fail();
  }
  v8::Local<v8::Value> handler = handler_.Get(isolate_);
  v8::Local<v8::Value> scheduled;
  if (!handler.As<v8::Object>()
           ->Get(context, NewUtf8String(isolate_, "scheduled"))
           .ToLocal(&scheduled)) {
    return fail();
  }
  if (!scheduled->IsFunction()) {
    result.outcome = Outcome::kException;
    result.error = "the default export has no scheduled() method";
    return;
  }
  v8::Local<v8::Value> args[] = {
      handler,
      env_.Get(isolate_),
      NewUtf8String(isolate_, event.cron),
      v8::Number::New(isolate_, static_cast<double>(absl::ToUnixMillis(event.scheduled_time))),
      no_retry_fn,
  };
  v8::Local<v8::Value> value;
  if (!scheduled_.Get(isolate_)
           ->Call(context, v8::Undefined(isolate_), std::size(args), args)
           .ToLocal(&value)) {
    return fail();
  }
  isolate_->PerformMicrotaskCheckpoint();
  if (isolate_->IsExecutionTerminating()) return;
  if (value->IsPromise() && !AwaitPromise(context, loop, value.As<v8::Promise>(), result)) return;
  result.outcome = Outcome::kOk;
  if (loop.wait_until_count() > 0) RunWaitUntil(context, loop, result);
}

bool JsInstance::AwaitTurn(v8::Local<v8::Context> context, EventLoop& loop, InvokeResult& result) {
  if (!loop.HasPendingWork()) {
    result.outcome = Outcome::kException;
    result.error = "Promise will never complete.";
    return false;
  }
  switch (TurnLoop(context, loop)) {
    case Wake::kStopped:
      return false;
    case Wake::kWallTime:
      result.outcome = Outcome::kExceededWallTime;
      result.error = absl::StrCat("the script exceeded its wall-clock limit of ",
                                  absl::FormatDuration(limits_.wall_per_request));
      // Its async work stopped part-way, like a script stopped by the CPU limit.
      reusable_.store(false, std::memory_order_relaxed);
      return false;
    case Wake::kReady:
      return true;
  }
  return true;
}

bool JsInstance::AwaitPromise(v8::Local<v8::Context> context, EventLoop& loop,
                              v8::Local<v8::Promise> promise, InvokeResult& result) {
  while (promise->State() == v8::Promise::kPending) {
    if (!AwaitTurn(context, loop, result)) return false;
  }
  if (promise->State() == v8::Promise::kRejected) {
    result.outcome = Outcome::kException;
    result.error = ExceptionText::Uncaught(isolate_, context, promise->Result());
    return false;
  }
  return true;
}

bool JsInstance::StreamResponse(v8::Local<v8::Context> context, EventLoop& loop,
                                v8::Local<v8::Array> head, v8::Local<v8::Value> response,
                                ResponseBodyWriter* writer, InvokeResult& result) {
  v8::Local<v8::Value> status, headers;
  if (!head->Get(context, 0).ToLocal(&status) || !head->Get(context, 1).ToLocal(&headers) ||
      !ReadResponseHead(context, status, headers, result)) {
    return false;
  }
  const bool head_valid = result.outcome == Outcome::kOk;
  // A detachable writer lets the stream park once it waits (parked_stream.h); a request body
  // still arriving is the caller's only while Invoke() runs, so such a stream stays here.
  const bool detach = head_valid && writer->Detachable() && state_.body_reader == nullptr;
  auto stream = std::make_unique<ParkedStream>();
  stream->writer = writer;
  stream->body =
      std::make_unique<DeferredHead>(writer, result.response.status, result.response.headers);
  DeferredHead& deferred = *stream->body;
  // The body is pumped even when it cannot be sent, so that its source is cancelled.
  v8::Local<v8::Value> args[] = {response, v8::Boolean::New(isolate_, !head_valid)};
  v8::Local<v8::Value> pumped;
  state_.body_writer = head_valid ? &deferred : nullptr;
  state_.held_piece = detach ? &stream->held : nullptr;
  state_.body_bytes = 0;
  bool called =
      pump_body_.Get(isolate_)->Call(context, v8::Undefined(isolate_), 2, args).ToLocal(&pumped);
  v8::Local<v8::Value> pump_value, cancel_value;
  if (called) {
    called = pumped->IsArray() && pumped.As<v8::Array>()->Get(context, 0).ToLocal(&pump_value) &&
             pumped.As<v8::Array>()->Get(context, 1).ToLocal(&cancel_value) &&
             cancel_value->IsFunction();
  }
  isolate_->PerformMicrotaskCheckpoint();
  auto cancel = [&] {
    return !cancel_value.As<v8::Function>()
                ->Call(context, v8::Undefined(isolate_), 0, nullptr)
                .IsEmpty();
  };
  bool completed = false;
  bool cancelled = false;
  if (called && pump_value->IsPromise()) {
    InvokeResult pump_result;
    // While the stream waits for its next piece, look at the client every so often: a stream
    // nobody will read is cancelled rather than left to run to the wall limit.
    loop.set_max_wait(absl::Milliseconds(200));
    v8::Local<v8::Promise> pump = pump_value.As<v8::Promise>();
    bool settled = true;
    while (pump->State() == v8::Promise::kPending) {
      if (detach && !cancelled && !isolate_->IsExecutionTerminating()) {
        if (deferred.EnsureStarted()) {
          // Park: Run() moves the rest of the invocation into the stream once it unwound.
          loop.set_max_wait(absl::ZeroDuration());
          stream->pump.Reset(isolate_, pump);
          stream->cancel.Reset(isolate_, cancel_value.As<v8::Function>());
          state_.body_writer = nullptr;
          state_.held_piece = nullptr;
          result.response.streamed = true;
          result.response.stream_pending = true;
          parking_ = std::move(stream);
          return true;
        }
        // The head could not be sent: nobody will read the body.
        cancelled = true;
        if (!cancel()) break;
        isolate_->PerformMicrotaskCheckpoint();
        continue;
      }
      if (!cancelled && head_valid && writer->ReceiverGone()) {
        cancelled = true;
        if (!cancel()) break;
        isolate_->PerformMicrotaskCheckpoint();
        continue;
      }
      if (!AwaitTurn(context, loop, pump_result)) {
        settled = false;
        break;
      }
    }
    loop.set_max_wait(absl::ZeroDuration());
    if (settled && pump->State() == v8::Promise::kRejected) {
      pump_result.outcome = Outcome::kException;
      pump_result.error = ExceptionText::Uncaught(isolate_, context, pump->Result());
      settled = false;
    }
    if (settled && pump->State() == v8::Promise::kFulfilled) {
      completed = pump->Result()->IsTrue();
    } else if (head_valid) {
      result.outcome = pump_result.outcome == Outcome::kOk ? Outcome::kException  // stopped
                                                           : pump_result.outcome;
      result.error = pump_result.error;
    }
  }
  state_.body_writer = nullptr;
  state_.held_piece = nullptr;
  if (!called) return false;
  if (completed && head_valid) deferred.Finish();  // the head too, for a body without pieces
  if (absl::IsInvalidArgument(deferred.status())) {
    result.outcome = Outcome::kException;
    result.error = absl::StrCat("invalid response: ", deferred.status().message());
  }
  result.response.streamed = deferred.started();
  if (result.outcome == Outcome::kOk && deferred.started()) {
    if (completed) {
      result.response.stream_complete = true;
    } else {
      result.console.push_back({LogLevel::kInfo, absl::Now(),
                                "the client went away; the response stream was cancelled"});
    }
  }
  return true;
}

void JsInstance::RunWaitUntil(v8::Local<v8::Context> context, EventLoop& loop,
                              InvokeResult& result) {
  auto warn = [&](std::string text) {
    result.console.push_back({LogLevel::kWarn, absl::Now(), std::move(text)});
  };
  while (loop.WaitUntilPending(context)) {
    if (!loop.HasPendingWork()) {
      return warn("ctx.waitUntil: a promise will never complete; the request ended without it");
    }
    switch (TurnLoop(context, loop)) {
      case Wake::kStopped:
        return;
      case Wake::kWallTime:
        return warn(absl::StrCat("ctx.waitUntil: work still pending at the wall-clock limit of ",
                                 absl::FormatDuration(limits_.wall_per_request), " was cancelled"));
      case Wake::kReady:
        break;
    }
  }
}

JsInstance::Wake JsInstance::TurnLoop(v8::Local<v8::Context> context, EventLoop& loop) {
  const Wake wake = WaitForEvents(loop);
  if (wake != Wake::kReady) return wake;
  loop.Dispatch(context);
  if (isolate_->IsExecutionTerminating()) return Wake::kStopped;
  isolate_->PerformMicrotaskCheckpoint();
  return isolate_->IsExecutionTerminating() ? Wake::kStopped : Wake::kReady;
}

JsInstance::Wake JsInstance::WaitForEvents(EventLoop& loop) {
  cpu_armed_ = false;
  if (core_->watchdog().Disarm(watchdog_slot_, &cpu_account_)) {
    cpu_fired_ = true;
    return Wake::kStopped;
  }
  bool in_time = loop.Wait();
  ArmCpu(cpu_budget_ns_);
  return in_time ? Wake::kReady : Wake::kWallTime;
}

bool JsInstance::ConvertResponse(v8::Local<v8::Context> context, v8::Local<v8::Value> value,
                                 InvokeResult& result) {
  v8::Local<v8::Value> parts_value;
  if (!response_parts_.Get(isolate_)
           ->Call(context, v8::Undefined(isolate_), 1, &value)
           .ToLocal(&parts_value)) {
    return false;
  }
  if (!parts_value->IsArray()) {
    result.outcome = Outcome::kException;
    result.error = "invalid response: the runtime returned no response parts";
    return true;
  }
  return ReadResponseParts(context, parts_value.As<v8::Array>(), result);
}

bool JsInstance::ReadResponseHead(v8::Local<v8::Context> context, v8::Local<v8::Value> status,
                                  v8::Local<v8::Value> headers, InvokeResult& result) {
  return ReadResponse(context, status, headers, v8::Local<v8::Value>(), result);
}

bool JsInstance::ReadResponseParts(v8::Local<v8::Context> context, v8::Local<v8::Array> parts,
                                   InvokeResult& result) {
  v8::Local<v8::Value> status, headers, body;
  if (!parts->Get(context, 0).ToLocal(&status) || !parts->Get(context, 1).ToLocal(&headers) ||
      !parts->Get(context, 2).ToLocal(&body)) {
    return false;
  }
  return ReadResponse(context, status, headers, body, result);
}

bool JsInstance::ReadResponse(v8::Local<v8::Context> context, v8::Local<v8::Value> status,
                              v8::Local<v8::Value> headers, v8::Local<v8::Value> body,
                              InvokeResult& result) {
  if (!headers->IsArray()) {
    result.outcome = Outcome::kException;
    result.error = "invalid response: headers are not a list";
    return true;
  }
  HeaderFields fields;
  if (!ReadHeaderList(context, headers.As<v8::Array>(), &fields)) return false;
  if (body.IsEmpty()) {
    SetResponseHead(isolate_, status, fields.data(), fields.size(), result, &text_plain_);
  } else {
    SetResponse(isolate_, status, fields.data(), fields.size(), body, result, &text_plain_);
  }
  return true;
}

void JsInstance::ArmCpu(int64_t budget_ns, int64_t now_ns) {
  armed_budget_ns_ = budget_ns;
  cpu_armed_ = true;
  core_->watchdog().Arm(watchdog_slot_, budget_ns, cpu_account_, now_ns);
}

void JsInstance::Pause() {
  paused_armed_ = cpu_armed_;
  if (!cpu_armed_) return;
  cpu_armed_ = false;
  if (core_->watchdog().Disarm(watchdog_slot_, &cpu_account_)) cpu_fired_ = true;
}

void JsInstance::Resume() {
  if (paused_armed_) ArmCpu(armed_budget_ns_);
  paused_armed_ = false;
}

JsInstance::Stop JsInstance::DisarmCpu() {
  cpu_armed_ = false;
  bool fired = core_->watchdog().Disarm(watchdog_slot_, &cpu_account_) || cpu_fired_;
  cpu_fired_ = false;
  Stop stop = memory_hit_ || state_.memory_exceeded ? Stop::kMemory
              : fired                               ? Stop::kCpu
                                                    : Stop::kNone;
  if (stop == Stop::kNone && isolate_->IsExecutionTerminating()) stop = Stop::kCpu;
  if (stop != Stop::kNone) {
    // Safe now: the watchdog is disarmed, so no termination can arrive after this cancel.
    isolate_->CancelTerminateExecution();
    reusable_.store(false, std::memory_order_relaxed);
  }
  return stop;
}

size_t JsInstance::UsedHeapBytes() {
  v8::HeapStatistics stats;
  isolate_->GetHeapStatistics(&stats);
  return stats.used_heap_size();
}

void JsInstance::FindYoungSpaces() {
  young_spaces_.clear();
  for (size_t i = 0; i < isolate_->NumberOfHeapSpaces(); ++i) {
    v8::HeapSpaceStatistics stats;
    if (!isolate_->GetHeapSpaceStatistics(&stats, i)) continue;
    const std::string_view name = stats.space_name();
    if (name == "new_space" || name == "new_large_object_space") young_spaces_.push_back(i);
  }
  // Without both, growth outside the ones found would go uncounted: read the whole heap always.
  if (young_spaces_.size() != 2) young_spaces_.clear();
}

size_t JsInstance::YoungUsedBytes() {
  size_t used = 0;
  for (size_t index : young_spaces_) {
    v8::HeapSpaceStatistics stats;
    isolate_->GetHeapSpaceStatistics(&stats, index);
    used += stats.space_used_size();
  }
  return used;
}

void JsInstance::ReleaseMemory() {
  Taken taken(*this);
  if (heap_known_) {
    // What V8 placed in the old generation since the last whole reading, which the GC below
    // would hide: the next section counts it.
    const size_t young = YoungUsedBytes();
    const size_t estimate = last_heap_used_.load(std::memory_order_relaxed) +
                            (young > young_used_ ? young - young_used_ : 0);
    const size_t used = UsedHeapBytes();
    if (used > estimate) unbilled_bytes_ += used - estimate;
  }
  isolate_->MemoryPressureNotification(v8::MemoryPressureLevel::kCritical);
  isolate_->MemoryPressureNotification(v8::MemoryPressureLevel::kNone);
  const size_t used = UsedHeapBytes();
  young_used_ = YoungUsedBytes();
  last_heap_used_.store(used, std::memory_order_relaxed);
  allocator_->set_heap_used_bytes(used);
  heap_known_ = true;
}

size_t JsInstance::MemoryBytes() const {
  return last_heap_used_.load(std::memory_order_relaxed) + allocator_->allocated_bytes();
}

size_t JsInstance::NearHeapLimit(void* data, size_t current_heap_limit, size_t initial_heap_limit) {
  auto* self = static_cast<JsInstance*>(data);
  self->memory_hit_ = true;
  self->isolate_->TerminateExecution();
  // Room for the terminated script to unwind; V8 aborts the whole process if this callback
  // does not raise the limit. The instance is condemned, so the raise never serves a request.
  return current_heap_limit + std::max(kMinHeapSlack, initial_heap_limit / 2);
}

void JsInstance::GcPrologue(v8::Isolate* isolate, v8::GCType type, v8::GCCallbackFlags flags,
                            void* data) {
  auto* self = static_cast<JsInstance*>(data);
  self->gc_start_used_ = self->UsedHeapBytes();
  self->peak_heap_bytes_ = std::max(self->peak_heap_bytes_, self->gc_start_used_);
}

void JsInstance::GcEpilogue(v8::Isolate* isolate, v8::GCType type, v8::GCCallbackFlags flags,
                            void* data) {
  auto* self = static_cast<JsInstance*>(data);
  self->heap_known_ = false;
  size_t used = self->UsedHeapBytes();
  if (self->gc_start_used_ > used) self->gc_freed_bytes_ += self->gc_start_used_ - used;
  self->allocator_->set_heap_used_bytes(used);
}

}  // namespace cosmo::v8engine
