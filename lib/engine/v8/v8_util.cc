#include "engine/v8/v8_util.h"

#include <cstdint>
#include <cstring>

#include "engine/v8/limited_allocator.h"

namespace cosmo::v8engine {

v8::MaybeLocal<v8::ArrayBuffer> NewBuffer(v8::Isolate* isolate, size_t length) {
  IsolateState* state = IsolateStateOf(isolate);
  if (state != nullptr && state->allocator != nullptr && length > 64 &&
      !state->allocator->WouldFit(length)) {
    ThrowRangeError(isolate, "Array buffer allocation failed");
    return {};
  }
  return v8::ArrayBuffer::New(isolate, length);
}

namespace {

// Whether every byte of `text` is below 0x80, eight bytes at a time.
bool IsAscii(std::string_view text) {
  const char* p = text.data();
  const char* const end = p + text.size();
  uint64_t bits = 0;
  for (; end - p >= 8; p += 8) {
    uint64_t word;
    std::memcpy(&word, p, 8);
    bits |= word;
  }
  for (; p < end; ++p) bits |= static_cast<unsigned char>(*p);
  return (bits & 0x8080808080808080ull) == 0;
}

}  // namespace

v8::Local<v8::String> NewUtf8String(v8::Isolate* isolate, std::string_view text) {
  // ASCII is its own UTF-8 and Latin-1: the one-byte constructor makes the same string without
  // V8's UTF-8 decoder (a URL or a method on every request).
  if (IsAscii(text)) return NewByteString(isolate, text);
  return v8::String::NewFromUtf8(isolate, text.data(), v8::NewStringType::kNormal,
                                 static_cast<int>(text.size()))
      .ToLocalChecked();
}

v8::Local<v8::String> NewByteString(v8::Isolate* isolate, std::string_view bytes) {
  return v8::String::NewFromOneByte(isolate, reinterpret_cast<const uint8_t*>(bytes.data()),
                                    v8::NewStringType::kNormal, static_cast<int>(bytes.size()))
      .ToLocalChecked();
}

void AppendByteString(v8::Isolate* isolate, v8::Local<v8::String> str, std::string* out) {
  const int length = str->Length();
  const size_t at = out->size();
  out->resize(at + length);
  str->WriteOneByte(isolate, reinterpret_cast<uint8_t*>(out->data() + at), 0, length,
                    v8::String::NO_NULL_TERMINATION);
}

void AppendUtf8(v8::Isolate* isolate, v8::Local<v8::String> str, std::string* out) {
  // A one-byte string that is all ASCII is its own UTF-8: one copy and a scan, where
  // Utf8Length and WriteUtf8 walk it twice through V8's UTF-8 encoder (half of the conversion
  // of a warm hello's response). A Latin-1 string with a byte above 0x7F takes the encoder.
  if (str->IsOneByte()) {
    const int length = str->Length();
    const size_t at = out->size();
    out->resize(at + length);
    auto* bytes = reinterpret_cast<uint8_t*>(out->data() + at);
    str->WriteOneByte(isolate, bytes, 0, length, v8::String::NO_NULL_TERMINATION);
    uint8_t high = 0;
    for (int i = 0; i < length; ++i) high |= bytes[i];
    if (high < 0x80) return;
    out->resize(at);
  }
  const size_t length = str->Utf8Length(isolate);
  const size_t at = out->size();
  out->resize(at + length);
  str->WriteUtf8(isolate, out->data() + at, static_cast<int>(length), nullptr,
                 v8::String::NO_NULL_TERMINATION | v8::String::REPLACE_INVALID_UTF8);
}

bool BytesOf(v8::Local<v8::Value> value, uint8_t** data, size_t* length) {
  if (value->IsArrayBufferView()) {
    auto view = value.As<v8::ArrayBufferView>();
    *data = static_cast<uint8_t*>(view->Buffer()->Data()) + view->ByteOffset();
    *length = view->ByteLength();
    return true;
  }
  if (value->IsArrayBuffer()) {
    auto buffer = value.As<v8::ArrayBuffer>();
    *data = static_cast<uint8_t*>(buffer->Data());
    *length = buffer->ByteLength();
    return true;
  }
  return false;
}

void ThrowTypeError(v8::Isolate* isolate, std::string_view message) {
  isolate->ThrowException(v8::Exception::TypeError(NewUtf8String(isolate, message)));
}

void ThrowRangeError(v8::Isolate* isolate, std::string_view message) {
  isolate->ThrowException(v8::Exception::RangeError(NewUtf8String(isolate, message)));
}

}  // namespace cosmo::v8engine
