#include "engine/v8/crypto/crypto_util.h"

#include <openssl/err.h>

#include <cstring>

#include "absl/time/clock.h"
#include "engine/v8/isolate_state.h"
#include "engine/v8/limited_allocator.h"
#include "engine/v8/v8_util.h"

namespace cosmo::v8engine::crypto {

bool ArgBytes(v8::Isolate* isolate, v8::Local<v8::Value> value, const char* what, Bytes* out) {
  uint8_t* data;
  size_t size;
  if (!BytesOf(value, &data, &size)) {
    ThrowTypeError(isolate, std::string(what) + " must be an ArrayBuffer or a view of one");
    return false;
  }
  out->data = data;
  out->size = size;
  return true;
}

std::string ArgString(v8::Isolate* isolate, v8::Local<v8::Value> value) {
  if (!value->IsString()) return "";
  std::string out;
  AppendUtf8(isolate, value.As<v8::String>(), &out);
  return out;
}

void ThrowDomError(v8::Isolate* isolate, const char* name, std::string_view message) {
  ClearOpenSslErrors();
  v8::Local<v8::Value> error = v8::Exception::Error(NewUtf8String(isolate, message));
  v8::Local<v8::Context> context = isolate->GetCurrentContext();
  if (error->IsObject()) {
    error.As<v8::Object>()
        ->Set(context, v8::String::NewFromUtf8Literal(isolate, "name"),
              NewUtf8String(isolate, name))
        .Check();
  }
  isolate->ThrowException(error);
}

void ClearOpenSslErrors() { ERR_clear_error(); }

const EVP_MD* DigestByName(v8::Isolate* isolate, std::string_view name) {
  if (name == "SHA-1") return EVP_sha1();
  if (name == "SHA-256") return EVP_sha256();
  if (name == "SHA-384") return EVP_sha384();
  if (name == "SHA-512") return EVP_sha512();
  ThrowDomError(isolate, "NotSupportedError", "Unrecognized hash algorithm");
  return nullptr;
}

v8::MaybeLocal<v8::ArrayBuffer> NewOutput(v8::Isolate* isolate, size_t size) {
  IsolateState* state = IsolateStateOf(isolate);
  if (state != nullptr && state->allocator != nullptr && !state->allocator->WouldFit(size)) {
    state->memory_exceeded = true;
    isolate->TerminateExecution();
    return {};
  }
  return v8::ArrayBuffer::New(isolate, size);
}

v8::MaybeLocal<v8::ArrayBuffer> NewOutputCopy(v8::Isolate* isolate, const uint8_t* data,
                                              size_t size) {
  v8::Local<v8::ArrayBuffer> buffer;
  if (!NewOutput(isolate, size).ToLocal(&buffer)) return {};
  if (size > 0) std::memcpy(buffer->Data(), data, size);
  return buffer;
}

bool ScriptMustStop(v8::Isolate* isolate) {
  if (isolate->IsExecutionTerminating()) return true;
  static thread_local int64_t last_check_ns = 0;
  const int64_t now = absl::GetCurrentTimeNanos();
  if (now - last_check_ns < 2'000'000) return false;
  last_check_ns = now;
  v8::HandleScope scope(isolate);
  v8::Local<v8::Context> context = isolate->GetCurrentContext();
  v8::Local<v8::Script> script;
  if (!v8::Script::Compile(context, v8::String::NewFromUtf8Literal(isolate, "0"))
           .ToLocal(&script)) {
    return isolate->IsExecutionTerminating();
  }
  return script->Run(context).IsEmpty() && isolate->IsExecutionTerminating();
}

v8::Local<v8::ArrayBuffer> NewHandleOwning(v8::Isolate* isolate, void* data,
                                           v8::BackingStore::DeleterCallback deleter) {
  std::shared_ptr<v8::BackingStore> store =
      v8::ArrayBuffer::NewBackingStore(data, 0, deleter, data);
  return v8::ArrayBuffer::New(isolate, std::move(store));
}

void* HandleData(v8::Local<v8::Value> value) {
  if (!value->IsArrayBuffer()) return nullptr;
  // The backing store, not the buffer: V8 gives zero-length buffers no data pointer of their own.
  std::shared_ptr<v8::BackingStore> store = value.As<v8::ArrayBuffer>()->GetBackingStore();
  return store->ByteLength() == 0 ? store->Data() : nullptr;
}

std::string BnBytes(const BIGNUM* bn, size_t size) {
  if (size == 0) size = static_cast<size_t>(BN_num_bytes(bn));
  std::string out(size, '\0');
  if (size > 0 &&
      BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(size)) < 0) {
    return "";
  }
  return out;
}

}  // namespace cosmo::v8engine::crypto
