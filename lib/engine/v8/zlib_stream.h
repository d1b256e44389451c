// The natives behind CompressionStream and DecompressionStream (the Compression standard): zlib
// deflate/inflate for the formats "gzip", "deflate" and "deflate-raw".
//
//   zlibNew(format, decompress) -> handle   a stream's zlib state, freed when the handle is
//                                           collected or the isolate is disposed
//   zlibWrite(handle, bytes) -> Uint8Array[]   the output `bytes` produce now
//   zlibFlush(handle) -> Uint8Array[]          the rest of the output; ends the stream
//
// The handle is a zero-length ArrayBuffer whose backing store owns the zlib state, so V8 frees
// that state with the buffer, including at isolate teardown. zlib's own memory and every output
// piece (at most kZlibPieceBytes) are charged to the isolate's LimitedAllocator; when the budget
// is spent the natives set IsolateState::memory_exceeded and terminate the script, so a
// decompression bomb ends with the memory-limit outcome. Corrupt input, data after the end of a
// compressed stream and input that ends early throw TypeError.
//
// Callbacks run on the thread holding the isolate (IsolateLock); the backing store's deleter may
// run on a V8 GC thread and touches only zlib and the (thread-safe) allocator.
#ifndef COSMO_ENGINE_V8_ZLIB_STREAM_H_
#define COSMO_ENGINE_V8_ZLIB_STREAM_H_

#include <cstddef>

// Declared, not included, so that tests can read ZlibStreamsAlive() without V8's headers.
namespace v8 {
class Value;
template <typename T>
class FunctionCallbackInfo;
}  // namespace v8

namespace cosmo::v8engine {

// The largest Uint8Array a write or flush returns; more output comes as more pieces.
inline constexpr size_t kZlibPieceBytes = size_t{64} << 10;

// zlib streams created and not yet freed, in all isolates: lets tests see that disposing an isolate
// frees the streams its scripts abandoned.
size_t ZlibStreamsAlive();

void ZlibNew(const v8::FunctionCallbackInfo<v8::Value>& info);
void ZlibWrite(const v8::FunctionCallbackInfo<v8::Value>& info);
void ZlibFlush(const v8::FunctionCallbackInfo<v8::Value>& info);

}  // namespace cosmo::v8engine

#endif  // COSMO_ENGINE_V8_ZLIB_STREAM_H_
