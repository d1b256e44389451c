#include "engine/v8/crypto/key_data.h"

#include <openssl/crypto.h>

#include <atomic>
#include <memory>
#include <utility>

#include "engine/v8/crypto/crypto_natives.h"
#include "engine/v8/v8_util.h"

namespace cosmo::v8engine::crypto {
namespace {

constexpr uint32_t kMagic = 0x6b657931;  // "key1": a handle made by KeyData::NewHandle
std::atomic<size_t> keys_alive{0};

}  // namespace

KeyData* KeyData::NewSecret(const uint8_t* data, size_t size) {
  auto* key = new KeyData();
  key->magic_ = kMagic;
  key->secret_.assign(data, data + size);
  keys_alive.fetch_add(1, std::memory_order_relaxed);
  return key;
}

KeyData* KeyData::NewAsymmetric(PkeyPtr pkey, bool is_private) {
  auto* key = new KeyData();
  key->magic_ = kMagic;
  key->pkey_ = std::move(pkey);
  key->is_private_ = is_private;
  keys_alive.fetch_add(1, std::memory_order_relaxed);
  return key;
}

KeyData::~KeyData() {
  if (!secret_.empty()) OPENSSL_cleanse(secret_.data(), secret_.size());
  magic_ = 0;
  keys_alive.fetch_sub(1, std::memory_order_relaxed);
}

void KeyData::Delete(void* /*data*/, size_t /*length*/, void* deleter_data) {
  delete static_cast<KeyData*>(deleter_data);
}

v8::Local<v8::ArrayBuffer> KeyData::NewHandle(v8::Isolate* isolate, KeyData* key) {
  return NewHandleOwning(isolate, key, &KeyData::Delete);
}

KeyData* KeyData::FromHandle(v8::Isolate* isolate, v8::Local<v8::Value> handle) {
  auto* key = static_cast<KeyData*>(HandleData(handle));
  if (key != nullptr && key->magic_ == kMagic) return key;
  ThrowTypeError(isolate, "crypto: not a key handle");
  return nullptr;
}

size_t KeyData::Alive() { return keys_alive.load(std::memory_order_relaxed); }

size_t CryptoKeysAlive() { return KeyData::Alive(); }

}  // namespace cosmo::v8engine::crypto
