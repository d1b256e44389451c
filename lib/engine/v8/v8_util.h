// Small V8 helpers shared by the engine's C++ (the natives, the event loop and JsInstance), so
// each has one spelling: strings in and out of JavaScript, the errors native callbacks throw, and
// the way to the isolate's IsolateState.
//
// Two kinds of JavaScript string cross into C++: UTF-8 text (URLs, bodies, messages) and byte
// strings, one char per byte, which is how HTTP methods, header names and values and status
// texts travel in both directions (the Fetch standard's ByteString).
//
// Call with the isolate entered and a HandleScope open, on the thread holding it (IsolateLock).
#ifndef COSMO_ENGINE_V8_V8_UTIL_H_
#define COSMO_ENGINE_V8_V8_UTIL_H_

#include <v8.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/v8/isolate_state.h"

namespace cosmo::v8engine {

// The IsolateState its owner put in the isolate's data slot; null when it put none.
inline IsolateState* IsolateStateOf(v8::Isolate* isolate) {
  return static_cast<IsolateState*>(isolate->GetData(kIsolateStateSlot));
}

// `text` (UTF-8; ill-formed sequences become U+FFFD) as a JavaScript string.
v8::Local<v8::String> NewUtf8String(v8::Isolate* isolate, std::string_view text);
// `bytes` as a byte string: char i is byte i.
v8::Local<v8::String> NewByteString(v8::Isolate* isolate, std::string_view bytes);

// Appends the low byte of each char of `str` (the inverse of NewByteString) to *out.
void AppendByteString(v8::Isolate* isolate, v8::Local<v8::String> str, std::string* out);
// Appends `str` as UTF-8 to *out, unpaired surrogates replaced by U+FFFD.
void AppendUtf8(v8::Isolate* isolate, v8::Local<v8::String> str, std::string* out);

// The bytes of an ArrayBuffer or ArrayBufferView `value`; false when it is neither.
bool BytesOf(v8::Local<v8::Value> value, uint8_t** data, size_t* length);

// A new ArrayBuffer of `length` bytes, or an empty handle with a RangeError thrown when the
// isolate's budget does not allow it. V8's own ArrayBuffer::New aborts the process when the
// allocator refuses, so the budget is checked first.
v8::MaybeLocal<v8::ArrayBuffer> NewBuffer(v8::Isolate* isolate, size_t length);

// Throw a TypeError / RangeError with `message` (UTF-8) from a native callback; the callback
// then returns without a value.
void ThrowTypeError(v8::Isolate* isolate, std::string_view message);
void ThrowRangeError(v8::Isolate* isolate, std::string_view message);

}  // namespace cosmo::v8engine

#endif  // COSMO_ENGINE_V8_V8_UTIL_H_
