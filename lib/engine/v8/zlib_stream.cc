#include "engine/v8/zlib_stream.h"

#include <v8.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "engine/v8/isolate_state.h"
#include "engine/v8/limited_allocator.h"
#include "engine/v8/v8_util.h"

namespace cosmo::v8engine {
namespace {

constexpr uint32_t kMagic = 0x7a6c6962;  // "zlib": a handle made by ZlibNew

// zlib's window size: 2^15 bytes, the largest, so every conforming stream decodes.
constexpr int kWindowBits = 15;

std::atomic<size_t> streams_alive{0};

struct ZlibState {
  uint32_t magic = kMagic;
  z_stream z{};
  bool decompress = false;
  bool live = false;   // between *Init and *End
  bool ended = false;  // the compressed stream is complete (or failed): nothing more is accepted
  LimitedAllocator* allocator = nullptr;  // null outside an instance: plain malloc, not charged
  uint8_t* piece = nullptr;               // kZlibPieceBytes of output space, from ZAlloc
};

// zlib's allocations go through the isolate's budget. Each block starts with its charged size,
// since zfree is not told it.
constexpr size_t kHeader = alignof(std::max_align_t);

void* ZAlloc(void* opaque, unsigned items, unsigned size) {
  auto* state = static_cast<ZlibState*>(opaque);
  const size_t total = kHeader + size_t{items} * size;
  void* block = state->allocator != nullptr ? state->allocator->AllocateUninitialized(total)
                                            : std::malloc(total);
  if (block == nullptr) return Z_NULL;
  std::memcpy(block, &total, sizeof(total));
  return static_cast<char*>(block) + kHeader;
}

void ZFree(void* opaque, void* address) {
  if (address == nullptr) return;
  auto* state = static_cast<ZlibState*>(opaque);
  void* block = static_cast<char*>(address) - kHeader;
  size_t total;
  std::memcpy(&total, block, sizeof(total));
  if (state->allocator != nullptr) {
    state->allocator->Free(block, total);
  } else {
    std::free(block);
  }
}

// Releases zlib's memory as soon as the stream is finished rather than when the handle dies.
void EndStream(ZlibState* state) {
  state->ended = true;
  if (!state->live) return;
  state->live = false;
  if (state->decompress) {
    inflateEnd(&state->z);
  } else {
    deflateEnd(&state->z);
  }
  ZFree(state, state->piece);
  state->piece = nullptr;
}

void DeleteState(void* /*data*/, size_t /*length*/, void* deleter_data) {
  auto* state = static_cast<ZlibState*>(deleter_data);
  EndStream(state);
  delete state;
  streams_alive.fetch_sub(1, std::memory_order_relaxed);
}

// The isolate's budget cannot take `bytes` more: the script is stopped with the memory-limit
// outcome (JsInstance reads memory_exceeded), or, without an instance, gets a RangeError.
void ExceedMemory(v8::Isolate* isolate) {
  IsolateState* state = IsolateStateOf(isolate);
  if (state == nullptr) return ThrowRangeError(isolate, "Array buffer allocation failed");
  state->memory_exceeded = true;
  isolate->TerminateExecution();
}

ZlibState* StateOf(v8::Isolate* isolate, v8::Local<v8::Value> handle) {
  if (handle->IsArrayBuffer()) {
    std::shared_ptr<v8::BackingStore> store = handle.As<v8::ArrayBuffer>()->GetBackingStore();
    auto* state = static_cast<ZlibState*>(store->Data());
    if (store->ByteLength() == 0 && state != nullptr && state->magic == kMagic) return state;
  }
  ThrowTypeError(isolate, "zlib: not a compression stream handle");
  return nullptr;
}

// Runs deflate or inflate over `input` with `flush` and appends each output piece to `out`.
// False with an exception (TypeError or termination) pending on failure.
bool Run(v8::Isolate* isolate, ZlibState* state, const uint8_t* input, size_t length, int flush,
         v8::Local<v8::Array> out) {
  v8::Local<v8::Context> context = isolate->GetCurrentContext();
  IsolateState* isolate_state = IsolateStateOf(isolate);
  LimitedAllocator* budget = isolate_state != nullptr ? isolate_state->allocator : nullptr;
  z_stream& z = state->z;
  z.next_in = const_cast<Bytef*>(input);
  uint32_t count = out->Length();
  // zlib counts input in uInt; feed larger chunks in slices.
  size_t remaining = length;
  for (;;) {
    const uInt slice = static_cast<uInt>(std::min<size_t>(remaining, UINT32_MAX));
    z.avail_in = slice;
    z.next_out = state->piece;
    z.avail_out = kZlibPieceBytes;
    const int rc = state->decompress ? inflate(&z, flush) : deflate(&z, flush);
    remaining -= slice - z.avail_in;
    const size_t produced = kZlibPieceBytes - z.avail_out;
    if (produced > 0) {
      if (budget != nullptr && !budget->WouldFit(produced)) {
        ExceedMemory(isolate);
        return false;
      }
      v8::Local<v8::ArrayBuffer> buffer = v8::ArrayBuffer::New(isolate, produced);
      std::memcpy(buffer->Data(), state->piece, produced);
      if (out->Set(context, count++, v8::Uint8Array::New(buffer, 0, produced)).IsNothing()) {
        return false;
      }
    }
    if (rc == Z_MEM_ERROR) {
      EndStream(state);
      ExceedMemory(isolate);
      return false;
    }
    if (state->decompress) {
      if (rc == Z_STREAM_END) {
        const bool trailing = z.avail_in > 0 || remaining > 0;
        EndStream(state);
        if (trailing) {
          ThrowTypeError(isolate,
                         "DecompressionStream: data after the end of the compressed stream");
          return false;
        }
        return true;
      }
      if (rc != Z_OK && rc != Z_BUF_ERROR) {
        const std::string why = z.msg != nullptr ? z.msg : "invalid data";
        EndStream(state);
        ThrowTypeError(isolate, "DecompressionStream: corrupt input (" + why + ")");
        return false;
      }
      // Output space left over means inflate has consumed all it was given.
      if (z.avail_out != 0 && remaining == 0) return true;
    } else {
      if (rc == Z_STREAM_END) {
        EndStream(state);
        return true;
      }
      if (rc != Z_OK && rc != Z_BUF_ERROR) {
        EndStream(state);
        ThrowTypeError(isolate, "CompressionStream: compression failed");
        return false;
      }
      if (flush != Z_FINISH && z.avail_out != 0 && remaining == 0) return true;
    }
  }
}

}  // namespace

size_t ZlibStreamsAlive() { return streams_alive.load(std::memory_order_relaxed); }

void ZlibNew(const v8::FunctionCallbackInfo<v8::Value>& info) {
  v8::Isolate* isolate = info.GetIsolate();
  v8::String::Utf8Value format_utf8(isolate, info[0]);
  const std::string_view format(*format_utf8 != nullptr ? *format_utf8 : "",
                                static_cast<size_t>(format_utf8.length()));
  int window_bits;
  if (format == "deflate") {
    window_bits = kWindowBits;
  } else if (format == "deflate-raw") {
    window_bits = -kWindowBits;
  } else if (format == "gzip") {
    window_bits = kWindowBits + 16;
  } else {
    return ThrowTypeError(isolate, "zlib: unsupported format");
  }
  auto state = std::make_unique<ZlibState>();
  state->decompress = info[1]->BooleanValue(isolate);
  IsolateState* isolate_state = IsolateStateOf(isolate);
  if (isolate_state != nullptr) state->allocator = isolate_state->allocator;
  state->z.zalloc = ZAlloc;
  state->z.zfree = ZFree;
  state->z.opaque = state.get();
  state->piece = static_cast<uint8_t*>(ZAlloc(state.get(), 1, kZlibPieceBytes));
  if (state->piece == nullptr) return ExceedMemory(isolate);
  const int rc = state->decompress
                     ? inflateInit2(&state->z, window_bits)
                     : deflateInit2(&state->z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, window_bits,
                                    /*memLevel=*/8, Z_DEFAULT_STRATEGY);
  if (rc != Z_OK) {
    ZFree(state.get(), state->piece);
    if (rc == Z_MEM_ERROR) return ExceedMemory(isolate);
    return ThrowTypeError(isolate, "zlib: could not initialise the stream");
  }
  state->live = true;
  streams_alive.fetch_add(1, std::memory_order_relaxed);
  ZlibState* raw = state.release();
  std::shared_ptr<v8::BackingStore> store =
      v8::ArrayBuffer::NewBackingStore(raw, 0, DeleteState, raw);
  info.GetReturnValue().Set(v8::ArrayBuffer::New(isolate, std::move(store)));
}

void ZlibWrite(const v8::FunctionCallbackInfo<v8::Value>& info) {
  v8::Isolate* isolate = info.GetIsolate();
  ZlibState* state = StateOf(isolate, info[0]);
  if (state == nullptr) return;
  uint8_t* data;
  size_t length;
  if (!BytesOf(info[1], &data, &length)) {
    return ThrowTypeError(isolate, "zlib: expected an ArrayBuffer or a view of one");
  }
  if (state->ended) {
    if (length == 0) return info.GetReturnValue().Set(v8::Array::New(isolate));
    return ThrowTypeError(isolate,
                          state->decompress
                              ? "DecompressionStream: data after the end of the compressed stream"
                              : "CompressionStream: the stream has ended");
  }
  v8::Local<v8::Array> out = v8::Array::New(isolate);
  if (length == 0) return info.GetReturnValue().Set(out);
  if (Run(isolate, state, data, length, Z_NO_FLUSH, out)) info.GetReturnValue().Set(out);
}

void ZlibFlush(const v8::FunctionCallbackInfo<v8::Value>& info) {
  v8::Isolate* isolate = info.GetIsolate();
  ZlibState* state = StateOf(isolate, info[0]);
  if (state == nullptr) return;
  v8::Local<v8::Array> out = v8::Array::New(isolate);
  if (state->decompress) {
    // Everything inflate could produce has been returned by the writes; the stream must be
    // complete by now.
    if (!state->ended) {
      EndStream(state);
      return ThrowTypeError(isolate, "DecompressionStream: the compressed input ended early");
    }
    return info.GetReturnValue().Set(out);
  }
  if (state->ended) return info.GetReturnValue().Set(out);
  if (Run(isolate, state, nullptr, 0, Z_FINISH, out)) info.GetReturnValue().Set(out);
}

}  // namespace cosmo::v8engine
