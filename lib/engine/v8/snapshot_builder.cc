#include "engine/v8/snapshot_builder.h"

#include <v8.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "engine/v8/exception_text.h"
#include "engine/v8/natives.h"
#include "engine/v8/v8_platform.h"

namespace cosmo::v8engine {

absl::StatusOr<std::string> SnapshotBuilder::Build(std::string_view runtime_source) {
  V8Platform::EnsureInitialized();
  v8::StartupData blob{nullptr, 0};
  std::string error;
  {
    v8::SnapshotCreator creator(Natives::ExternalReferences());
    v8::Isolate* isolate = creator.GetIsolate();
    {
      v8::Locker locker(isolate);
      v8::Isolate::Scope isolate_scope(isolate);
      v8::HandleScope handle_scope(isolate);
      v8::Local<v8::Context> context = v8::Context::New(isolate);
      v8::Context::Scope context_scope(context);
      Natives::Install(isolate, context);

      v8::TryCatch try_catch(isolate);
      v8::Local<v8::String> source;
      v8::Local<v8::Script> script;
      v8::ScriptOrigin origin(isolate, v8::String::NewFromUtf8Literal(isolate, "cosmo:runtime.js"));
      if (!v8::String::NewFromUtf8(isolate, runtime_source.data(), v8::NewStringType::kNormal,
                                   static_cast<int>(runtime_source.size()))
               .ToLocal(&source) ||
          !v8::Script::Compile(context, source, &origin).ToLocal(&script) ||
          script->Run(context).IsEmpty()) {
        error = ExceptionText::Located(isolate, context, try_catch);
      }
      creator.SetDefaultContext(context);
    }
    // kKeep keeps the runtime's compiled functions in the blob, so the first request of a fresh
    // isolate does not lazily compile Request/Response again.
    blob = creator.CreateBlob(error.empty() ? v8::SnapshotCreator::FunctionCodeHandling::kKeep
                                            : v8::SnapshotCreator::FunctionCodeHandling::kClear);
  }
  std::string bytes(blob.data == nullptr ? "" : std::string(blob.data, blob.raw_size));
  delete[] blob.data;
  if (!error.empty()) return absl::InternalError(absl::StrCat("web-API runtime failed: ", error));
  if (bytes.empty()) return absl::InternalError("V8 could not create the startup snapshot");
  return bytes;
}

}  // namespace cosmo::v8engine
