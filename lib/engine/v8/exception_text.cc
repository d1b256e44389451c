#include "engine/v8/exception_text.h"

#include "absl/strings/str_cat.h"

namespace cosmo::v8engine {
namespace {

std::string Describe(v8::Isolate* isolate, v8::Local<v8::Context> context,
                     v8::Local<v8::Value> exception) {
  if (exception.IsEmpty()) return "unknown error";
  v8::TryCatch nested(isolate);
  v8::Local<v8::String> text;
  if (!exception->ToString(context).ToLocal(&text)) return "exception (could not be described)";
  return ExceptionText::ToUtf8(isolate, text);
}

}  // namespace

std::string ExceptionText::ToUtf8(v8::Isolate* isolate, v8::Local<v8::Value> value) {
  if (value.IsEmpty()) return "";
  v8::String::Utf8Value utf8(isolate, value);
  return *utf8 == nullptr ? std::string() : std::string(*utf8, utf8.length());
}

std::string ExceptionText::Located(v8::Isolate* isolate, v8::Local<v8::Context> context,
                                   const v8::TryCatch& try_catch) {
  return WithLocation(isolate, context, try_catch.Exception(), try_catch.Message());
}

std::string ExceptionText::Located(v8::Isolate* isolate, v8::Local<v8::Context> context,
                                   v8::Local<v8::Value> exception) {
  if (exception.IsEmpty()) return "unknown error";
  return WithLocation(isolate, context, exception,
                      v8::Exception::CreateMessage(isolate, exception));
}

std::string ExceptionText::WithLocation(v8::Isolate* isolate, v8::Local<v8::Context> context,
                                        v8::Local<v8::Value> exception,
                                        v8::Local<v8::Message> message) {
  std::string what = Describe(isolate, context, exception);
  if (message.IsEmpty()) return what;
  std::string file = ToUtf8(isolate, message->GetScriptResourceName());
  int line = message->GetLineNumber(context).FromMaybe(0);
  int column = message->GetStartColumn(context).FromMaybe(-1) + 1;
  return absl::StrCat(file, ":", line, ":", column, ": ", what);
}

std::string ExceptionText::Uncaught(v8::Isolate* isolate, v8::Local<v8::Context> context,
                                    v8::Local<v8::Value> exception) {
  if (!exception.IsEmpty() && exception->IsNativeError()) {
    v8::TryCatch nested(isolate);
    v8::Local<v8::Value> stack;
    if (exception.As<v8::Object>()
            ->Get(context, v8::String::NewFromUtf8Literal(isolate, "stack"))
            .ToLocal(&stack) &&
        stack->IsString()) {
      return absl::StrCat("Uncaught ", ToUtf8(isolate, stack));
    }
  }
  return absl::StrCat("Uncaught ", Describe(isolate, context, exception));
}

}  // namespace cosmo::v8engine
