#include "engine/v8/kv_natives.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "cosmo/kv.h"
#include "engine/v8/isolate_state.h"
#include "engine/v8/v8_util.h"

namespace cosmo::v8engine::kv_natives {
namespace {

void Throw(v8::Isolate* isolate, const absl::Status& status) {
  const std::string message(status.message());
  if (absl::IsInvalidArgument(status)) return ThrowTypeError(isolate, message);
  isolate->ThrowException(v8::Exception::Error(NewUtf8String(isolate, message)));
}

// The running request's state, counting one operation; null with an exception thrown when KV is
// unavailable or the request is out of operations.
IsolateState* BeginOperation(v8::Isolate* isolate) {
  IsolateState* state = IsolateStateOf(isolate);
  if (state == nullptr || state->kv == nullptr || state->loop == nullptr) {
    Throw(isolate,
          absl::FailedPreconditionError("KV is only available while a request is being handled"));
    return nullptr;
  }
  const size_t limit = state->kv->limits().max_operations_per_invocation;
  if (++state->kv_counters.operations > limit) {
    Throw(isolate, absl::ResourceExhaustedError(absl::StrCat(
                       "KV operations: more than ", limit,
                       " in one invocation (the limit of operations per invocation)")));
    return nullptr;
  }
  return state;
}

std::string Utf8Arg(v8::Isolate* isolate, v8::Local<v8::Value> value) {
  std::string out;
  if (value->IsString()) AppendUtf8(isolate, value.As<v8::String>(), &out);
  return out;
}

int64_t IntArg(v8::Local<v8::Value> value) {
  if (!value->IsNumber()) return 0;
  const double number = value.As<v8::Number>()->Value();
  if (!std::isfinite(number) || number <= 0) return 0;
  return number >= 9.2e18 ? INT64_MAX : static_cast<int64_t>(number);
}

v8::Local<v8::Value> MetadataValue(v8::Isolate* isolate,
                                   const std::optional<std::string>& metadata) {
  if (!metadata) return v8::Null(isolate);
  return NewUtf8String(isolate, *metadata);
}

}  // namespace

void Get(const v8::FunctionCallbackInfo<v8::Value>& info) {
  v8::Isolate* isolate = info.GetIsolate();
  IsolateState* state = BeginOperation(isolate);
  if (state == nullptr) return;
  ++state->kv_counters.reads;
  const std::string ns = Utf8Arg(isolate, info[0]);
  const std::string key = Utf8Arg(isolate, info[1]);
  absl::StatusOr<std::optional<KvEntry>> entry;
  {
    BlockingHostCall blocking(state);
    entry = state->kv->Get(ns, key);
  }
  if (!entry.ok()) return Throw(isolate, entry.status());
  if (!*entry) return info.GetReturnValue().SetNull();
  const std::string& value = (*entry)->value;
  state->kv_counters.bytes_read += value.size();
  v8::Local<v8::ArrayBuffer> buffer;
  if (!NewBuffer(isolate, value.size()).ToLocal(&buffer)) return;
  if (!value.empty()) std::memcpy(buffer->Data(), value.data(), value.size());
  v8::Local<v8::Value> parts[] = {
      v8::Uint8Array::New(buffer, 0, value.size()),
      MetadataValue(isolate, (*entry)->metadata),
      v8::Number::New(isolate, static_cast<double>((*entry)->expiration)),
  };
  info.GetReturnValue().Set(v8::Array::New(isolate, parts, 3));
}

void Put(const v8::FunctionCallbackInfo<v8::Value>& info) {
  v8::Isolate* isolate = info.GetIsolate();
  IsolateState* state = BeginOperation(isolate);
  if (state == nullptr) return;
  uint8_t* data = nullptr;
  size_t length = 0;
  if (!BytesOf(info[2], &data, &length)) return ThrowTypeError(isolate, "kvPut: expected bytes");
  KvPutOptions options;
  options.expiration = IntArg(info[3]);
  options.expiration_ttl = IntArg(info[4]);
  if (info[5]->IsString()) options.metadata = Utf8Arg(isolate, info[5]);
  ++state->kv_counters.writes;
  const std::string ns = Utf8Arg(isolate, info[0]);
  const std::string key = Utf8Arg(isolate, info[1]);
  std::string value(reinterpret_cast<const char*>(data), length);
  absl::Status status;
  {
    BlockingHostCall blocking(state);
    status = state->kv->Put(ns, key, std::move(value), options);
  }
  if (!status.ok()) return Throw(isolate, status);
  state->kv_counters.bytes_written += length;
}

void Delete(const v8::FunctionCallbackInfo<v8::Value>& info) {
  v8::Isolate* isolate = info.GetIsolate();
  IsolateState* state = BeginOperation(isolate);
  if (state == nullptr) return;
  ++state->kv_counters.deletes;
  const std::string ns = Utf8Arg(isolate, info[0]);
  const std::string key = Utf8Arg(isolate, info[1]);
  absl::Status status;
  {
    BlockingHostCall blocking(state);
    status = state->kv->Delete(ns, key);
  }
  if (!status.ok()) return Throw(isolate, status);
}

void List(const v8::FunctionCallbackInfo<v8::Value>& info) {
  v8::Isolate* isolate = info.GetIsolate();
  IsolateState* state = BeginOperation(isolate);
  if (state == nullptr) return;
  ++state->kv_counters.lists;
  KvListOptions options;
  options.prefix = Utf8Arg(isolate, info[1]);
  options.limit = static_cast<size_t>(IntArg(info[2]));
  options.cursor = Utf8Arg(isolate, info[3]);
  const std::string ns = Utf8Arg(isolate, info[0]);
  absl::StatusOr<KvListResult> result;
  {
    BlockingHostCall blocking(state);
    result = state->kv->List(ns, options);
  }
  if (!result.ok()) return Throw(isolate, result.status());
  v8::Local<v8::Context> context = isolate->GetCurrentContext();
  v8::Local<v8::Array> keys = v8::Array::New(isolate, static_cast<int>(result->keys.size() * 3));
  uint32_t index = 0;
  for (const KvListKey& key : result->keys) {
    state->kv_counters.bytes_read += key.name.size() + key.metadata.value_or("").size();
    if (keys->Set(context, index++, NewUtf8String(isolate, key.name)).IsNothing() ||
        keys->Set(context, index++, v8::Number::New(isolate, static_cast<double>(key.expiration)))
            .IsNothing() ||
        keys->Set(context, index++, MetadataValue(isolate, key.metadata)).IsNothing()) {
      return;
    }
  }
  v8::Local<v8::Value> parts[] = {keys, v8::Boolean::New(isolate, result->list_complete),
                                  NewUtf8String(isolate, result->cursor)};
  info.GetReturnValue().Set(v8::Array::New(isolate, parts, 3));
}

}  // namespace cosmo::v8engine::kv_natives
