// The key material behind a JavaScript CryptoKey, owned by C++ and reachable from JavaScript only
// as an opaque handle.
//
// A handle is a zero-length ArrayBuffer whose backing store owns the KeyData, so V8 frees the key
// when the CryptoKey is collected and, at the latest, when the isolate is disposed. Secret bytes
// are wiped (OPENSSL_cleanse) on free; asymmetric keys are EVP_PKEYs, which OpenSSL wipes itself.
// The handle hides the material: its ArrayBuffer has no bytes, and the runtime keeps it in a
// private slot of the CryptoKey.
//
// Created and used on the thread holding the isolate (IsolateLock); the deleter may run on a V8 GC
// thread and touches only the KeyData.
#ifndef COSMO_ENGINE_V8_CRYPTO_KEY_DATA_H_
#define COSMO_ENGINE_V8_CRYPTO_KEY_DATA_H_

#include <v8.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "engine/v8/crypto/crypto_util.h"

namespace cosmo::v8engine::crypto {

class KeyData {
 public:
  // A secret (HMAC, AES, PBKDF2, HKDF) key holding a copy of `size` bytes at `data`.
  static KeyData* NewSecret(const uint8_t* data, size_t size);
  // An asymmetric key; `is_private` tells whether `pkey` carries the private half.
  static KeyData* NewAsymmetric(PkeyPtr pkey, bool is_private);

  ~KeyData();
  KeyData(const KeyData&) = delete;
  KeyData& operator=(const KeyData&) = delete;

  // Wraps the key in a new handle that owns it.
  static v8::Local<v8::ArrayBuffer> NewHandle(v8::Isolate* isolate, KeyData* key);
  // The key behind `handle`; null, with a TypeError thrown, when it is not a key handle.
  static KeyData* FromHandle(v8::Isolate* isolate, v8::Local<v8::Value> handle);

  bool is_secret() const { return pkey_ == nullptr; }
  bool is_private() const { return is_private_; }
  const std::vector<uint8_t>& secret() const { return secret_; }
  EVP_PKEY* pkey() const { return pkey_.get(); }

  // Key objects alive in the process, for tests that check disposal frees them.
  static size_t Alive();

 private:
  KeyData() = default;
  static void Delete(void* data, size_t length, void* deleter_data);

  uint32_t magic_;
  std::vector<uint8_t> secret_;
  PkeyPtr pkey_;
  bool is_private_ = false;
};

}  // namespace cosmo::v8engine::crypto

#endif  // COSMO_ENGINE_V8_CRYPTO_KEY_DATA_H_
