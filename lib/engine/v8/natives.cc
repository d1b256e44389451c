#include "engine/v8/natives.h"

#include <openssl/rand.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/utf8.h"
#include "engine/v8/crypto/crypto_natives.h"
#include "engine/v8/event_loop.h"
#include "engine/v8/isolate_state.h"
#include "engine/v8/kv_natives.h"
#include "engine/v8/limited_allocator.h"
#include "engine/v8/parked_stream.h"
#include "engine/v8/response_fields.h"
#include "engine/v8/v8_util.h"
#include "engine/v8/zlib_stream.h"

namespace cosmo::v8engine {
namespace {

void Log(const v8::FunctionCallbackInfo<v8::Value>& info) {
  v8::Isolate* isolate = info.GetIsolate();
  IsolateState* state = IsolateStateOf(isolate);
  if (state == nullptr || state->console == nullptr) return;
  if (state->console->size() >= kMaxConsoleMessages || state->console_bytes >= kMaxConsoleBytes) {
    ++state->console_dropped;
    return;
  }
  int level = info[0]->Int32Value(isolate->GetCurrentContext()).FromMaybe(2);
  if (level < 0 || level > 4) level = 2;
  v8::String::Utf8Value text(isolate, info[1]);
  ConsoleMessage message;
  message.level = static_cast<LogLevel>(level);
  message.time = absl::Now();
  if (*text != nullptr) {
    const absl::string_view utf8(*text, static_cast<size_t>(text.length()));
    message.text.assign(utf8.data(),
                        Utf8PrefixLength(utf8, kMaxConsoleBytes - state->console_bytes));
  }
  state->console_bytes += message.text.size();
  state->console->push_back(std::move(message));
}

void RandomFill(const v8::FunctionCallbackInfo<v8::Value>& info) {
  uint8_t* data;
  size_t length;
  if (!BytesOf(info[0], &data, &length)) {
    return ThrowTypeError(info.GetIsolate(), "randomFill: expected a Uint8Array");
  }
  if (length > 0 && RAND_bytes(data, static_cast<int>(length)) != 1) {
    return ThrowTypeError(info.GetIsolate(), "randomFill: the system random source failed");
  }
}

// transferArrayBuffer(buffer) -> a new ArrayBuffer owning buffer's memory; buffer is detached.
// ECMAScript's ArrayBuffer.prototype.transfer, which V8 10.2 lacks and which byte streams use to
// hand a chunk's memory over without copying it (and so that the giver cannot change it later).
void TransferArrayBuffer(const v8::FunctionCallbackInfo<v8::Value>& info) {
  v8::Isolate* isolate = info.GetIsolate();
  if (!info[0]->IsArrayBuffer()) {
    return ThrowTypeError(isolate, "transferArrayBuffer: expected an ArrayBuffer");
  }
  v8::Local<v8::ArrayBuffer> buffer = info[0].As<v8::ArrayBuffer>();
  if (buffer->WasDetached() || !buffer->IsDetachable()) {
    return ThrowTypeError(isolate, "Cannot transfer a detached or non-detachable ArrayBuffer");
  }
  std::shared_ptr<v8::BackingStore> store = buffer->GetBackingStore();
  buffer->Detach();
  info.GetReturnValue().Set(v8::ArrayBuffer::New(isolate, std::move(store)));
}

void Utf8Encode(const v8::FunctionCallbackInfo<v8::Value>& info) {
  v8::Isolate* isolate = info.GetIsolate();
  v8::Local<v8::String> str;
  if (!info[0]->ToString(isolate->GetCurrentContext()).ToLocal(&str)) return;
  int length = str->Utf8Length(isolate);
  v8::Local<v8::ArrayBuffer> buffer;
  if (!NewBuffer(isolate, length).ToLocal(&buffer)) return;
  str->WriteUtf8(isolate, static_cast<char*>(buffer->Data()), length, nullptr,
                 v8::String::NO_NULL_TERMINATION | v8::String::REPLACE_INVALID_UTF8);
  info.GetReturnValue().Set(v8::Uint8Array::New(buffer, 0, length));
}

void Utf8EncodeInto(const v8::FunctionCallbackInfo<v8::Value>& info) {
  v8::Isolate* isolate = info.GetIsolate();
  v8::Local<v8::Context> context = isolate->GetCurrentContext();
  v8::Local<v8::String> str;
  if (!info[0]->ToString(context).ToLocal(&str)) return;
  uint8_t* data;
  size_t length;
  if (!BytesOf(info[1], &data, &length)) {
    return ThrowTypeError(isolate, "utf8EncodeInto: expected a Uint8Array");
  }
  int read = 0;
  int capacity = static_cast<int>(std::min<size_t>(length, INT32_MAX));
  int written =
      capacity == 0
          ? 0
          : str->WriteUtf8(isolate, reinterpret_cast<char*>(data), capacity, &read,
                           v8::String::NO_NULL_TERMINATION | v8::String::REPLACE_INVALID_UTF8);
  v8::Local<v8::Value> pair[] = {v8::Integer::New(isolate, read),
                                 v8::Integer::New(isolate, written)};
  info.GetReturnValue().Set(v8::Array::New(isolate, pair, 2));
}

// Strict UTF-8 validation per the WHATWG Encoding standard (no overlongs, no surrogates, nothing
// above U+10FFFF).
bool IsValidUtf8(const uint8_t* s, size_t n) {
  size_t i = 0;
  while (i < n) {
    uint8_t c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    int extra;
    uint8_t lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      extra = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
      extra = 2;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      extra = 3;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      return false;
    }
    if (n - i <= static_cast<size_t>(extra)) return false;
    if (s[i + 1] < lo || s[i + 1] > hi) return false;
    for (int k = 2; k <= extra; ++k) {
      if ((s[i + k] & 0xC0) != 0x80) return false;
    }
    i += extra + 1;
  }
  return true;
}

void Utf8Decode(const v8::FunctionCallbackInfo<v8::Value>& info) {
  v8::Isolate* isolate = info.GetIsolate();
  uint8_t* data;
  size_t length;
  if (!BytesOf(info[0], &data, &length)) {
    return ThrowTypeError(isolate, "utf8Decode: expected an ArrayBuffer or a view of one");
  }
  bool fatal = info[1]->BooleanValue(isolate);
  bool ignore_bom = info[2]->BooleanValue(isolate);
  if (!ignore_bom && length >= 3 && data[0] == 0xEF && data[1] == 0xBB && data[2] == 0xBF) {
    data += 3;
    length -= 3;
  }
  if (fatal && !IsValidUtf8(data, length)) {
    return ThrowTypeError(isolate, "The encoded data was not valid for encoding utf-8");
  }
  if (length > static_cast<size_t>(v8::String::kMaxLength)) {
    return ThrowRangeError(isolate, "Invalid string length");
  }
  // V8's decoder replaces each maximal invalid subsequence with one U+FFFD, as the Encoding
  // standard requires for non-fatal decoding.
  v8::Local<v8::String> result;
  if (!v8::String::NewFromUtf8(isolate, reinterpret_cast<const char*>(data),
                               v8::NewStringType::kNormal, static_cast<int>(length))
           .ToLocal(&result)) {
    return ThrowRangeError(isolate, "Invalid string length");
  }
  info.GetReturnValue().Set(result);
}

// Throws failures as an Error named DataCloneError, which the runtime maps to a DOMException.
// A host object (an instance of a class deriving from HostObject) is written as whatever the
// runtime's `write_host` function returns for it.
class CloneDelegate final : public v8::ValueSerializer::Delegate {
 public:
  CloneDelegate(v8::Isolate* isolate, v8::Local<v8::Value> write_host)
      : isolate_(isolate), write_host_(write_host) {}
  void set_serializer(v8::ValueSerializer* serializer) { serializer_ = serializer; }

  v8::Maybe<bool> WriteHostObject(v8::Isolate* isolate, v8::Local<v8::Object> object) override {
    if (!write_host_->IsFunction())
      return v8::ValueSerializer::Delegate::WriteHostObject(isolate, object);
    v8::Local<v8::Context> context = isolate->GetCurrentContext();
    v8::Local<v8::Value> argv[] = {object};
    v8::Local<v8::Value> description;
    if (!write_host_.As<v8::Function>()
             ->Call(context, v8::Undefined(isolate), 1, argv)
             .ToLocal(&description)) {
      return v8::Nothing<bool>();
    }
    return serializer_->WriteValue(context, description);
  }

  void ThrowDataCloneError(v8::Local<v8::String> message) override {
    v8::Local<v8::Value> error = v8::Exception::Error(message);
    v8::Local<v8::Context> context = isolate_->GetCurrentContext();
    if (error->IsObject()) {
      error.As<v8::Object>()
          ->Set(context, v8::String::NewFromUtf8Literal(isolate_, "name"),
                v8::String::NewFromUtf8Literal(isolate_, "DataCloneError"))
          .Check();
    }
    isolate_->ThrowException(error);
  }

 private:
  v8::Isolate* isolate_;
  v8::Local<v8::Value> write_host_;
  v8::ValueSerializer* serializer_ = nullptr;
};

// The private key that marks a host object made by ReadDelegate until the runtime takes it over.
v8::Local<v8::Private> PlaceholderKey(v8::Isolate* isolate) {
  return v8::Private::ForApi(isolate, v8::String::NewFromUtf8Literal(isolate, "cosmo:clone"));
}

// Reads back what CloneDelegate wrote for a host object. No JavaScript may run while V8
// deserialises, so the object is a placeholder: a bare host object, marked, that the runtime turns
// into the real thing afterwards (HostObjectConstructor), with what was written for it.
class ReadDelegate final : public v8::ValueDeserializer::Delegate {
 public:
  void set_deserializer(v8::ValueDeserializer* deserializer) { deserializer_ = deserializer; }
  // Each placeholder followed by what was written for it. Globals: V8 closes the handle scope it
  // calls ReadHostObject in.
  std::vector<v8::Global<v8::Value>>& placeholders() { return placeholders_; }

  v8::MaybeLocal<v8::Object> ReadHostObject(v8::Isolate* isolate) override {
    v8::Local<v8::Context> context = isolate->GetCurrentContext();
    v8::Local<v8::Value> description;
    if (!deserializer_->ReadValue(context).ToLocal(&description)) return {};
    v8::Local<v8::ObjectTemplate> shape = v8::ObjectTemplate::New(isolate);
    shape->SetInternalFieldCount(1);
    v8::Local<v8::Object> placeholder;
    if (!shape->NewInstance(context).ToLocal(&placeholder) ||
        !placeholder->SetPrivate(context, PlaceholderKey(isolate), v8::True(isolate))
             .FromMaybe(false)) {
      return {};
    }
    placeholders_.emplace_back(isolate, placeholder);
    placeholders_.emplace_back(isolate, description);
    return placeholder;
  }

 private:
  v8::ValueDeserializer* deserializer_ = nullptr;
  std::vector<v8::Global<v8::Value>> placeholders_;
};

// serialize(value, writeHost)
void Serialize(const v8::FunctionCallbackInfo<v8::Value>& info) {
  v8::Isolate* isolate = info.GetIsolate();
  CloneDelegate delegate(isolate, info[1]);
  v8::ValueSerializer serializer(isolate, &delegate);
  delegate.set_serializer(&serializer);
  serializer.WriteHeader();
  if (!serializer.WriteValue(isolate->GetCurrentContext(), info[0]).FromMaybe(false)) return;
  std::pair<uint8_t*, size_t> bytes = serializer.Release();
  v8::Local<v8::ArrayBuffer> buffer;
  if (NewBuffer(isolate, bytes.second).ToLocal(&buffer)) {
    std::memcpy(buffer->Data(), bytes.first, bytes.second);
    info.GetReturnValue().Set(buffer);
  }
  std::free(bytes.first);
}

// deserialize(buffer) -> [value, placeholder, written, placeholder, written, ...]
void Deserialize(const v8::FunctionCallbackInfo<v8::Value>& info) {
  v8::Isolate* isolate = info.GetIsolate();
  uint8_t* data;
  size_t length;
  if (!BytesOf(info[0], &data, &length)) {
    return ThrowTypeError(isolate, "deserialize: expected an ArrayBuffer");
  }
  v8::Local<v8::Context> context = isolate->GetCurrentContext();
  ReadDelegate delegate;
  v8::ValueDeserializer deserializer(isolate, data, length, &delegate);
  delegate.set_deserializer(&deserializer);
  if (!deserializer.ReadHeader(context).FromMaybe(false)) return;
  v8::Local<v8::Value> value;
  if (!deserializer.ReadValue(context).ToLocal(&value)) return;
  std::vector<v8::Local<v8::Value>> out{value};
  for (const v8::Global<v8::Value>& held : delegate.placeholders()) {
    out.push_back(held.Get(isolate));
  }
  info.GetReturnValue().Set(v8::Array::New(isolate, out.data(), out.size()));
}

// The running request's event loop, or null with a TypeError thrown: like Workers, timers and I/O
// exist only while a request is being handled (not at a module's top level).
EventLoop* LoopOf(v8::Isolate* isolate, const char* what) {
  IsolateState* state = IsolateStateOf(isolate);
  if (state == nullptr || state->loop == nullptr) {
    ThrowTypeError(isolate, std::string(what) +
                                " can only be used while handling a request, not at the top level"
                                " of a module");
    return nullptr;
  }
  return state->loop;
}

// setTimer(callback, delayMs, repeat) -> id
void SetTimer(const v8::FunctionCallbackInfo<v8::Value>& info) {
  v8::Isolate* isolate = info.GetIsolate();
  EventLoop* loop = LoopOf(isolate, info[2]->IsTrue() ? "setInterval()" : "setTimeout()");
  if (loop == nullptr) return;
  if (!info[0]->IsFunction()) return ThrowTypeError(isolate, "setTimer: expected a function");
  double delay = info[1]->NumberValue(isolate->GetCurrentContext()).FromMaybe(0);
  int64_t id = loop->SetTimer(info[0].As<v8::Function>(), delay, info[2]->IsTrue());
  if (id > 0) info.GetReturnValue().Set(static_cast<double>(id));
}

// clearTimer(id)
void ClearTimer(const v8::FunctionCallbackInfo<v8::Value>& info) {
  IsolateState* state = IsolateStateOf(info.GetIsolate());
  if (state == nullptr || state->loop == nullptr || !info[0]->IsNumber()) return;
  state->loop->ClearTimer(static_cast<int64_t>(info[0].As<v8::Number>()->Value()));
}

// fetch(method, url, [name, value, ...], body: string | Uint8Array | null) -> Promise of
// [status, statusText, [name, value, ...], Uint8Array]
void Fetch(const v8::FunctionCallbackInfo<v8::Value>& info) {
  v8::Isolate* isolate = info.GetIsolate();
  EventLoop* loop = LoopOf(isolate, "fetch()");
  if (loop == nullptr) return;
  v8::Local<v8::Context> context = isolate->GetCurrentContext();
  if (!info[0]->IsString() || !info[1]->IsString() || !info[2]->IsArray()) {
    return ThrowTypeError(isolate, "fetch: bad arguments");
  }
  OutboundRequest request;
  auto bytes_of = [isolate](v8::Local<v8::String> s) {
    std::string out;
    AppendByteString(isolate, s, &out);
    return out;
  };
  request.method = bytes_of(info[0].As<v8::String>());
  v8::String::Utf8Value url(isolate, info[1]);
  request.url.assign(*url, url.length());
  v8::Local<v8::Array> headers = info[2].As<v8::Array>();
  for (uint32_t i = 0; i + 1 < headers->Length(); i += 2) {
    v8::Local<v8::Value> name, value;
    if (!headers->Get(context, i).ToLocal(&name) || !headers->Get(context, i + 1).ToLocal(&value)) {
      return;
    }
    if (!name->IsString() || !value->IsString()) {
      return ThrowTypeError(isolate, "fetch: headers must be strings");
    }
    request.headers.emplace_back(bytes_of(name.As<v8::String>()), bytes_of(value.As<v8::String>()));
  }
  uint8_t* data;
  size_t length;
  if (info[3]->IsString()) {
    v8::String::Utf8Value body(isolate, info[3]);
    request.body.assign(*body, body.length());
    request.has_body = true;
  } else if (BytesOf(info[3], &data, &length)) {
    request.body.assign(reinterpret_cast<const char*>(data), length);
    request.has_body = true;
  }
  v8::Local<v8::Promise> promise;
  if (loop->Fetch(context, std::move(request)).ToLocal(&promise)) {
    info.GetReturnValue().Set(promise);
  }
}

// cancelFetch(promise): abandons the transfer behind a promise fetch() returned (an aborted
// fetch); the promise never settles. Outside its request, or once settled, it does nothing.
void CancelFetch(const v8::FunctionCallbackInfo<v8::Value>& info) {
  IsolateState* state = IsolateStateOf(info.GetIsolate());
  if (state == nullptr || state->loop == nullptr || !info[0]->IsPromise()) return;
  state->loop->CancelFetch(info[0].As<v8::Promise>());
}

// The time origin of performance.now(): when the engine first installed its natives (building
// the startup snapshot, before any script runs), on the steady clock and as wall time.
struct TimeOrigin {
  int64_t steady_ns = EventLoop::SteadyNanos();
  double unix_ms = absl::ToUnixMicros(absl::Now()) / 1000.0;
};
const TimeOrigin& Origin() {
  static const TimeOrigin origin;
  return origin;
}

// Where defineLazy keeps its loaders: a null-prototype object, name -> loader, under a private key
// of the global object. The accessor itself carries no data: V8 puts accessor infos in the
// isolate's part of the startup snapshot, and a loader (a closure over the runtime's state) there
// would drag the context's objects along and break the snapshot.
v8::Local<v8::Private> LazyLoadersKey(v8::Isolate* isolate) {
  return v8::Private::ForApi(isolate, v8::String::NewFromUtf8Literal(isolate, "cosmo::lazy"));
}

// The getter behind defineLazy: the property's loader gives the value, which V8 then stores as an
// ordinary data property. An exception from the loader propagates to the access.
void LazyValue(v8::Local<v8::Name> property, const v8::PropertyCallbackInfo<v8::Value>& info) {
  v8::Isolate* isolate = info.GetIsolate();
  v8::Local<v8::Context> context = isolate->GetCurrentContext();
  v8::Local<v8::Value> loaders;
  v8::Local<v8::Value> loader;
  v8::Local<v8::Value> value;
  if (!context->Global()->GetPrivate(context, LazyLoadersKey(isolate)).ToLocal(&loaders) ||
      !loaders->IsObject() || !loaders.As<v8::Object>()->Get(context, property).ToLocal(&loader) ||
      !loader->IsFunction() ||
      !loader.As<v8::Function>()
           ->Call(context, v8::Undefined(isolate), 0, nullptr)
           .ToLocal(&value)) {
    return;
  }
  info.GetReturnValue().Set(value);
}

// defineLazy(name, loader, enumerable): a writable, configurable property of the global object
// that behaves as a data property (Object.getOwnPropertyDescriptor, `in`, enumeration, assignment,
// delete) but whose value loader() makes the first time it is read; until then nothing the loader
// would build exists. The runtime defines its rarely used globals this way (docs/performance.md,
// "Where a warm family's memory goes").
void DefineLazy(const v8::FunctionCallbackInfo<v8::Value>& info) {
  v8::Isolate* isolate = info.GetIsolate();
  v8::Local<v8::Context> context = isolate->GetCurrentContext();
  if (!info[0]->IsString() || !info[1]->IsFunction()) {
    return ThrowTypeError(isolate, "defineLazy: expected (name, loader, enumerable)");
  }
  v8::Local<v8::Object> global = context->Global();
  v8::Local<v8::Value> loaders;
  if (!global->GetPrivate(context, LazyLoadersKey(isolate)).ToLocal(&loaders)) return;
  if (!loaders->IsObject()) {
    loaders = v8::Object::New(isolate, v8::Null(isolate), nullptr, nullptr, 0);
    if (global->SetPrivate(context, LazyLoadersKey(isolate), loaders).IsNothing()) return;
  }
  if (loaders.As<v8::Object>()->Set(context, info[0], info[1]).IsNothing()) return;
  const auto attributes = info[2]->BooleanValue(isolate) ? v8::None : v8::DontEnum;
  bool defined = false;
  if (!global->SetLazyDataProperty(context, info[0].As<v8::Name>(), LazyValue, {}, attributes)
           .To(&defined)) {
    return;
  }
  if (!defined) ThrowTypeError(isolate, "defineLazy: the property cannot be defined");
}

// monotonicNow() -> milliseconds since the time origin, in steps of 100 µs: the resolution
// browsers give documents that are not cross-origin isolated, since tenants share this process
// and a finer clock would sharpen timing side channels between them.
void MonotonicNow(const v8::FunctionCallbackInfo<v8::Value>& info) {
  constexpr int64_t kStepNs = 100'000;
  const int64_t elapsed = EventLoop::SteadyNanos() - Origin().steady_ns;
  info.GetReturnValue().Set(static_cast<double>(elapsed / kStepNs * kStepNs) / 1e6);
}

// timeOrigin() -> the time origin in milliseconds since the Unix epoch.
void TimeOriginMs(const v8::FunctionCallbackInfo<v8::Value>& info) {
  info.GetReturnValue().Set(Origin().unix_ms);
}

// waitUntil(promise): outside a request (a ctx kept from an earlier one) it is ignored.
void WaitUntil(const v8::FunctionCallbackInfo<v8::Value>& info) {
  IsolateState* state = IsolateStateOf(info.GetIsolate());
  if (state == nullptr || state->loop == nullptr || !info[0]->IsPromise()) return;
  state->loop->WaitUntil(info[0].As<v8::Promise>());
}

// respond(status, body, name0, value0, ...) or respond(status, body, flatHeaders): invokeFast's
// synchronous response, read from the arguments (an array's elements cost an API call each).
// Outside invokeFast, and a second time, it does nothing.
void Respond(const v8::FunctionCallbackInfo<v8::Value>& info) {
  IsolateState* state = IsolateStateOf(info.GetIsolate());
  if (state == nullptr || state->response_to == nullptr || info.Length() < 2) return;
  InvokeResult& result = *state->response_to;
  state->response_to = nullptr;
  HeaderFields fields;
  if (info.Length() == 3 && info[2]->IsArray()) {
    // Threw: invokeFast fails with the exception.
    if (!ReadHeaderList(info.GetIsolate()->GetCurrentContext(), info[2].As<v8::Array>(), &fields)) {
      return;
    }
  } else {
    fields.reserve(info.Length() - 2);
    for (int i = 2; i < info.Length(); ++i) fields.push_back(info[i]);
  }
  SetResponse(info.GetIsolate(), info[0], fields.data(), fields.size(), info[1], result,
              state->text_plain);
}

// Each streamed piece is a new ArrayBuffer that is garbage once written or read; V8 collects
// such buffers only when their bytes since the last GC pass its external-memory allowance
// (64 MiB), so a long stream would hold that much dead memory. Every 16 MiB streamed the isolate
// is told memory is short, which collects at once (a few milliseconds on a small heap).
void CollectStreamedGarbage(v8::Isolate* isolate, IsolateState* state, size_t bytes) {
  constexpr uint64_t kCollectEvery = uint64_t{16} << 20;
  state->streamed_since_gc += bytes;
  if (state->streamed_since_gc < kCollectEvery) return;
  state->streamed_since_gc = 0;
  isolate->MemoryPressureNotification(v8::MemoryPressureLevel::kCritical);
  isolate->MemoryPressureNotification(v8::MemoryPressureLevel::kNone);
}

// A piece of a detached body (IsolateState::held_piece): true when the writer took it, false when
// its receiver is gone, else a promise, the piece being held until the writer wakes.
v8::Local<v8::Value> OfferBody(v8::Isolate* isolate, IsolateState* state, std::string bytes) {
  HeldPiece* held = state->held_piece;
  if (held->held) return v8::False(isolate);  // one piece at a time: the pump waits for it
  const size_t size = bytes.size();
  switch (state->body_writer->TryWrite(bytes)) {
    case ResponseBodyWriter::Offered::kTaken:
      state->body_bytes += size;
      return v8::True(isolate);
    case ResponseBodyWriter::Offered::kGone:
      return v8::False(isolate);
    case ResponseBodyWriter::Offered::kFull:
      break;
  }
  v8::Local<v8::Promise::Resolver> resolver;
  if (!v8::Promise::Resolver::New(isolate->GetCurrentContext()).ToLocal(&resolver)) {
    return v8::False(isolate);
  }
  held->held = true;
  held->bytes = std::move(bytes);
  held->resolver.Reset(isolate, resolver);
  return resolver->GetPromise();
}

// writeBody(u8) -> boolean | Promise<boolean>: a piece of the streamed response body to the host's
// writer, which may wait for a slow client (a detached one returns a promise instead). False
// outside a streamed response and when the client is gone.
void WriteBody(const v8::FunctionCallbackInfo<v8::Value>& info) {
  IsolateState* state = IsolateStateOf(info.GetIsolate());
  bool written = false;
  if (state != nullptr && state->body_writer != nullptr && info[0]->IsUint8Array()) {
    v8::Local<v8::Uint8Array> view = info[0].As<v8::Uint8Array>();
    std::string bytes(view->ByteLength(), '\0');
    view->CopyContents(bytes.data(), bytes.size());
    if (state->held_piece != nullptr) {
      CollectStreamedGarbage(info.GetIsolate(), state, bytes.size());
      info.GetReturnValue().Set(OfferBody(info.GetIsolate(), state, std::move(bytes)));
      return;
    }
    {
      BlockingHostCall blocking(state);
      written = state->body_writer->Write(bytes);
    }
    if (written) state->body_bytes += bytes.size();
    CollectStreamedGarbage(info.GetIsolate(), state, bytes.size());
  }
  info.GetReturnValue().Set(written);
}

// readBody(max) -> Uint8Array of the next bytes of the running request's body as they arrive
// (waiting for them, within the wall limit), or null at its end. Throws a TypeError when the body
// cannot be read (the client went away, malformed framing, larger than the body limit, nothing
// arrived before the wall limit) and outside a request whose body is still arriving.
void ReadBody(const v8::FunctionCallbackInfo<v8::Value>& info) {
  v8::Isolate* isolate = info.GetIsolate();
  IsolateState* state = IsolateStateOf(isolate);
  if (state == nullptr || state->body_reader == nullptr || state->loop == nullptr) {
    return ThrowTypeError(isolate, "the request body is not available here");
  }
  const double requested = info[0]->IsNumber() ? info[0].As<v8::Number>()->Value() : 0;
  const size_t max = requested >= 1 ? static_cast<size_t>(std::min(requested, 1048576.0)) : 65536;
  const int64_t left_ns = state->loop->wall_deadline_ns() - EventLoop::SteadyNanos();
  absl::StatusOr<std::string> piece;
  {
    BlockingHostCall blocking(state);
    piece = state->body_reader->Read(max, absl::Nanoseconds(std::max<int64_t>(left_ns, 1'000'000)));
  }
  if (!piece.ok()) {
    return ThrowTypeError(
        isolate, absl::StrCat("reading the request body failed: ", piece.status().message()));
  }
  if (piece->empty()) return info.GetReturnValue().SetNull();
  if (state->allocator != nullptr && !state->allocator->WouldFit(piece->size())) {
    state->memory_exceeded = true;
    isolate->TerminateExecution();
    return;
  }
  state->request_body_bytes += piece->size();
  CollectStreamedGarbage(isolate, state, piece->size());
  v8::Local<v8::ArrayBuffer> buffer = v8::ArrayBuffer::New(isolate, piece->size());
  std::memcpy(buffer->Data(), piece->data(), piece->size());
  info.GetReturnValue().Set(v8::Uint8Array::New(buffer, 0, piece->size()));
}

// new HostObject(placeholder?): the base of the runtime's classes whose instances structuredClone
// can copy. Its instances have an internal field, which is what makes V8's serializer hand them
// to CloneDelegate::WriteHostObject instead of copying their (absent) own properties. Given a
// placeholder that deserialize() made, it returns that instead, with new.target's prototype, so
// the derived class's constructor makes the placeholder its instance; the mark is removed, so that
// happens once.
void HostObjectConstructor(const v8::FunctionCallbackInfo<v8::Value>& info) {
  v8::Isolate* isolate = info.GetIsolate();
  if (!info.IsConstructCall()) return ThrowTypeError(isolate, "Illegal constructor");
  if (!info[0]->IsObject()) return;
  v8::Local<v8::Context> context = isolate->GetCurrentContext();
  v8::Local<v8::Object> placeholder = info[0].As<v8::Object>();
  v8::Local<v8::Private> key = PlaceholderKey(isolate);
  if (!placeholder->HasPrivate(context, key).FromMaybe(false) || !info.NewTarget()->IsObject()) {
    return;
  }
  v8::Local<v8::Value> prototype;
  if (!info.NewTarget()
           .As<v8::Object>()
           ->Get(context, v8::String::NewFromUtf8Literal(isolate, "prototype"))
           .ToLocal(&prototype) ||
      !placeholder->DeletePrivate(context, key).FromMaybe(false) ||
      !placeholder->SetPrototype(context, prototype).FromMaybe(false)) {
    return;
  }
  info.GetReturnValue().Set(placeholder);
}

struct NativeFunction {
  const char* name;
  v8::FunctionCallback callback;
};

constexpr NativeFunction kNatives[] = {
    {"log", Log},
    {"randomFill", RandomFill},
    {"transferArrayBuffer", TransferArrayBuffer},
    {"utf8Encode", Utf8Encode},
    {"utf8EncodeInto", Utf8EncodeInto},
    {"utf8Decode", Utf8Decode},
    {"serialize", Serialize},
    {"deserialize", Deserialize},
    {"setTimer", SetTimer},
    {"clearTimer", ClearTimer},
    {"fetch", Fetch},
    {"waitUntil", WaitUntil},
    {"respond", Respond},
    {"writeBody", WriteBody},
    {"readBody", ReadBody},
    {"cancelFetch", CancelFetch},
    {"kvGet", kv_natives::Get},
    {"kvPut", kv_natives::Put},
    {"kvDelete", kv_natives::Delete},
    {"kvList", kv_natives::List},
    {"monotonicNow", MonotonicNow},
    {"defineLazy", DefineLazy},
    {"timeOrigin", TimeOriginMs},
    {"zlibNew", ZlibNew},
    {"zlibWrite", ZlibWrite},
    {"zlibFlush", ZlibFlush},
    {"cryptoDigest", crypto::Digest},
    {"cryptoDigestNew", crypto::DigestNew},
    {"cryptoDigestUpdate", crypto::DigestUpdate},
    {"cryptoDigestFinal", crypto::DigestFinal},
    {"cryptoTimingSafeEqual", crypto::TimingSafeEqual},
    {"cryptoSecretKey", crypto::SecretKey},
    {"cryptoSecretExport", crypto::SecretExport},
    {"cryptoHmac", crypto::Hmac},
    {"cryptoAes", crypto::Aes},
    {"cryptoHkdf", crypto::Hkdf},
    {"cryptoPbkdf2New", crypto::Pbkdf2New},
    {"cryptoPbkdf2Run", crypto::Pbkdf2Run},
    {"cryptoGenerateKeyPair", crypto::GenerateKeyPair},
    {"cryptoImportKey", crypto::ImportKey},
    {"cryptoImportJwk", crypto::ImportJwk},
    {"cryptoExportKey", crypto::ExportKey},
    {"cryptoExportJwk", crypto::ExportJwk},
    {"cryptoKeyDetails", crypto::KeyDetails},
    {"cryptoSign", crypto::Sign},
    {"cryptoVerify", crypto::Verify},
    {"cryptoRsaOaep", crypto::RsaOaep},
    {"cryptoDeriveShared", crypto::DeriveShared},
};

}  // namespace

void Natives::Install(v8::Isolate* isolate, v8::Local<v8::Context> context) {
  Origin();  // fixes the time origin before any script can read the clock
  v8::Local<v8::Object> natives = v8::Object::New(isolate);
  for (const NativeFunction& native : kNatives) {
    v8::Local<v8::String> name = v8::String::NewFromUtf8(isolate, native.name).ToLocalChecked();
    v8::Local<v8::Function> function = v8::FunctionTemplate::New(isolate, native.callback, {}, {},
                                                                 0, v8::ConstructorBehavior::kThrow)
                                           ->GetFunction(context)
                                           .ToLocalChecked();
    function->SetName(name);
    natives->Set(context, name, function).Check();
  }
  v8::Local<v8::FunctionTemplate> host_object =
      v8::FunctionTemplate::New(isolate, HostObjectConstructor);
  host_object->InstanceTemplate()->SetInternalFieldCount(1);
  natives
      ->Set(context, v8::String::NewFromUtf8Literal(isolate, "HostObject"),
            host_object->GetFunction(context).ToLocalChecked())
      .Check();
  context->Global()
      ->Set(context, v8::String::NewFromUtf8Literal(isolate, "__cosmo_native"), natives)
      .Check();
}

const intptr_t* Natives::ExternalReferences() {
  static const intptr_t* references = [] {
    constexpr size_t n = sizeof(kNatives) / sizeof(kNatives[0]);
    auto* list = new intptr_t[n + 3];
    for (size_t i = 0; i < n; ++i) list[i] = reinterpret_cast<intptr_t>(kNatives[i].callback);
    list[n] = reinterpret_cast<intptr_t>(HostObjectConstructor);
    list[n + 1] = reinterpret_cast<intptr_t>(LazyValue);
    list[n + 2] = 0;
    return list;
  }();
  return references;
}

}  // namespace cosmo::v8engine
