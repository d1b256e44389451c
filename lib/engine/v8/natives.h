// The native functions the web-API runtime is built on, installed as globalThis.__cosmo_native.
//
//   log(level, text)                 console output (0 debug, 1 info, 2 log, 3 warn, 4 error)
//   randomFill(u8)                   fills a Uint8Array from OpenSSL's CSPRNG
//   utf8Encode(str) -> Uint8Array    lone surrogates become U+FFFD
//   utf8EncodeInto(str, u8) -> [read, written]
//   utf8Decode(bytes, fatal, ignoreBOM) -> string   TypeError on invalid input when fatal
//   serialize(value, writeHost) -> ArrayBuffer   v8::ValueSerializer (structuredClone);
//                                    DataCloneError; a host object is written as writeHost(it)
//   deserialize(ArrayBuffer) -> [value, placeholder, written, ...]   each host object comes back
//                                    as a placeholder, with what writeHost returned for it
//   HostObject                       constructor of host objects (one internal field), the base
//                                    of runtime classes structuredClone copies (Blob, File);
//                                    new HostObject(placeholder) takes a placeholder over
//   setTimer(callback, delayMs, repeat) -> id, clearTimer(id)     timers of the running request
//   fetch(method, url, [name, value, ...], body) -> Promise of [status, statusText, headers, u8]
//                                    one HTTP exchange of the running request (event_loop.h)
//   waitUntil(promise)               ctx.waitUntil of the running request
//   writeBody(u8) -> bool            a piece of the streamed response body, to the host's writer
//   zlibNew, zlibWrite, zlibFlush    CompressionStream/DecompressionStream's zlib (zlib_stream.h)
//   crypto*                          crypto.subtle over OpenSSL (crypto/crypto_natives.h)
//   defineLazy(name, loader, enumerable)   a global that looks like a data property but whose
//                                    value loader() makes on first read
//
// The runtime script captures the object and deletes the global before user code runs. Every
// callback is listed in ExternalReferences() so the functions survive the startup snapshot.
// Stateless; callbacks find per-isolate state through IsolateState.
#ifndef COSMO_ENGINE_V8_NATIVES_H_
#define COSMO_ENGINE_V8_NATIVES_H_

#include <v8.h>

#include <cstdint>

namespace cosmo::v8engine {

class Natives {
 public:
  // Creates the __cosmo_native object on `context`'s global. Call inside the context's scope.
  static void Install(v8::Isolate* isolate, v8::Local<v8::Context> context);

  // Null-terminated list of every callback address, for SnapshotCreator and Isolate::New.
  static const intptr_t* ExternalReferences();
};

}  // namespace cosmo::v8engine

#endif  // COSMO_ENGINE_V8_NATIVES_H_
