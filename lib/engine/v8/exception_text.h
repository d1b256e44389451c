// Renders JavaScript exceptions as the one-line or stack-trace text users see.
//
// Stateless helpers. Call on the thread holding the isolate (IsolateLock), inside `context`.
// Reading an exception can run script code (a toString or a stack getter), so callers keep the CPU
// watchdog armed around them.
#ifndef COSMO_ENGINE_V8_EXCEPTION_TEXT_H_
#define COSMO_ENGINE_V8_EXCEPTION_TEXT_H_

#include <v8.h>

#include <string>

namespace cosmo::v8engine {

class ExceptionText {
 public:
  // "index.js:3:14: SyntaxError: Unexpected token '}'": the caught exception with the location
  // of its message (file, 1-based line and column). Used for deploy-time errors.
  static std::string Located(v8::Isolate* isolate, v8::Local<v8::Context> context,
                             const v8::TryCatch& try_catch);
  // The same for an exception value without a TryCatch (a rejected module evaluation); the
  // location comes from the exception's own stack.
  static std::string Located(v8::Isolate* isolate, v8::Local<v8::Context> context,
                             v8::Local<v8::Value> exception);

  // "Uncaught TypeError: x is not a function\n    at fetch (index.js:3:5)": an uncaught
  // exception value (thrown or a promise rejection) with its stack when it has one.
  static std::string Uncaught(v8::Isolate* isolate, v8::Local<v8::Context> context,
                              v8::Local<v8::Value> exception);

  // The UTF-8 text of `value` (String conversion; "" when conversion throws).
  static std::string ToUtf8(v8::Isolate* isolate, v8::Local<v8::Value> value);

 private:
  static std::string WithLocation(v8::Isolate* isolate, v8::Local<v8::Context> context,
                                  v8::Local<v8::Value> exception, v8::Local<v8::Message> message);
};

}  // namespace cosmo::v8engine

#endif  // COSMO_ENGINE_V8_EXCEPTION_TEXT_H_
