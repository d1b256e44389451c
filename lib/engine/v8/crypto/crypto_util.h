// Helpers shared by the Web Crypto natives: OpenSSL ownership types, the errors the natives throw,
// the hash names WebCrypto uses, and buffers charged to the isolate's memory budget.
//
// A native fails by throwing an Error whose `name` is one of WebCrypto's DOMException names
// ("OperationError", "DataError", "NotSupportedError", "InvalidAccessError"); the JavaScript layer
// turns it into that DOMException. Messages name the operation and never carry key material or
// OpenSSL's error strings (which can quote input).
//
// Call on the thread holding the isolate (IsolateLock), with a HandleScope open.
#ifndef COSMO_ENGINE_V8_CRYPTO_CRYPTO_UTIL_H_
#define COSMO_ENGINE_V8_CRYPTO_CRYPTO_UTIL_H_

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <v8.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace cosmo::v8engine::crypto {

struct EvpPkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct EvpPkeyCtxFree {
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
struct EvpMdCtxFree {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
struct EvpCipherCtxFree {
  void operator()(EVP_CIPHER_CTX* p) const { EVP_CIPHER_CTX_free(p); }
};
struct BnFree {
  void operator()(BIGNUM* p) const { BN_clear_free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, EvpPkeyFree>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, EvpPkeyCtxFree>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, EvpMdCtxFree>;
using CipherCtxPtr = std::unique_ptr<EVP_CIPHER_CTX, EvpCipherCtxFree>;
using BnPtr = std::unique_ptr<BIGNUM, BnFree>;

// A read-only view of the bytes of an ArrayBuffer or ArrayBufferView argument.
struct Bytes {
  const uint8_t* data = nullptr;
  size_t size = 0;
};

// The bytes of `value`; false, with a TypeError thrown naming `what`, when it is not a buffer.
bool ArgBytes(v8::Isolate* isolate, v8::Local<v8::Value> value, const char* what, Bytes* out);
// The UTF-8 text of a string argument ("" when it is not a string).
std::string ArgString(v8::Isolate* isolate, v8::Local<v8::Value> value);

// Throws an Error named `name` (a DOMException name the JavaScript layer maps) with `message`.
void ThrowDomError(v8::Isolate* isolate, const char* name, std::string_view message);
inline void ThrowOperationError(v8::Isolate* isolate, std::string_view message) {
  ThrowDomError(isolate, "OperationError", message);
}
inline void ThrowDataError(v8::Isolate* isolate, std::string_view message) {
  ThrowDomError(isolate, "DataError", message);
}
// Drops OpenSSL's error queue so no failure leaks into a later, unrelated operation.
void ClearOpenSslErrors();

// "SHA-1", "SHA-256", "SHA-384", "SHA-512" -> the digest; null (with NotSupportedError thrown)
// for any other name.
const EVP_MD* DigestByName(v8::Isolate* isolate, std::string_view name);

// A new ArrayBuffer of `size` bytes charged to the isolate's budget. When the budget cannot take
// it, the script is stopped with the memory-limit outcome (or, outside an instance, a RangeError)
// and the result is empty.
v8::MaybeLocal<v8::ArrayBuffer> NewOutput(v8::Isolate* isolate, size_t size);
// NewOutput holding a copy of `data`.
v8::MaybeLocal<v8::ArrayBuffer> NewOutputCopy(v8::Isolate* isolate, const uint8_t* data,
                                              size_t size);

// Whether the running script has been told to stop (the CPU watchdog calls TerminateExecution
// from its own thread). V8 acts on that only where JavaScript runs, so a native in a long OpenSSL
// computation asks here from OpenSSL's progress callback: at most every few milliseconds this runs
// a trivial script, which lets a pending termination take effect. True once it has; the native
// then abandons its work and returns without throwing (the termination unwinds the script).
bool ScriptMustStop(v8::Isolate* isolate);

// Opaque handles: a zero-length ArrayBuffer whose backing store owns `data` and frees it with
// `deleter` when the buffer is collected or the isolate disposed. HandleData is `data` again, or
// null when `value` is not such a buffer (the caller checks its own magic number).
v8::Local<v8::ArrayBuffer> NewHandleOwning(v8::Isolate* isolate, void* data,
                                           v8::BackingStore::DeleterCallback deleter);
void* HandleData(v8::Local<v8::Value> value);

// `bn` big-endian, left-padded with zeros to `size` bytes (unpadded when `size` is 0).
std::string BnBytes(const BIGNUM* bn, size_t size = 0);

}  // namespace cosmo::v8engine::crypto

#endif  // COSMO_ENGINE_V8_CRYPTO_CRYPTO_UTIL_H_
