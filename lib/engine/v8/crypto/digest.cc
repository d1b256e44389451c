// Digests (one-shot and incremental), HMAC, timingSafeEqual and secret keys.
#include <openssl/crypto.h>
#include <openssl/hmac.h>

#include <atomic>
#include <memory>

#include "engine/v8/crypto/crypto_natives.h"
#include "engine/v8/crypto/crypto_util.h"
#include "engine/v8/crypto/key_data.h"
#include "engine/v8/v8_util.h"

namespace cosmo::v8engine::crypto {
namespace {

constexpr uint32_t kDigestMagic = 0x64677374;  // "dgst"

struct DigestState {
  uint32_t magic = kDigestMagic;
  MdCtxPtr ctx;
};

void DeleteDigest(void* /*data*/, size_t /*length*/, void* deleter_data) {
  auto* state = static_cast<DigestState*>(deleter_data);
  state->magic = 0;
  delete state;
}

DigestState* DigestOf(v8::Isolate* isolate, v8::Local<v8::Value> handle) {
  auto* state = static_cast<DigestState*>(HandleData(handle));
  if (state != nullptr && state->magic == kDigestMagic) return state;
  ThrowTypeError(isolate, "crypto: not a digest handle");
  return nullptr;
}

}  // namespace

void Digest(const Args& info) {
  v8::Isolate* isolate = info.GetIsolate();
  const EVP_MD* md = DigestByName(isolate, ArgString(isolate, info[0]));
  Bytes data;
  if (md == nullptr || !ArgBytes(isolate, info[1], "data", &data)) return;
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(data.data, data.size, out, &size, md, nullptr) != 1) {
    return ThrowOperationError(isolate, "The digest could not be computed");
  }
  v8::Local<v8::ArrayBuffer> result;
  if (NewOutputCopy(isolate, out, size).ToLocal(&result)) info.GetReturnValue().Set(result);
}

void DigestNew(const Args& info) {
  v8::Isolate* isolate = info.GetIsolate();
  const EVP_MD* md = DigestByName(isolate, ArgString(isolate, info[0]));
  if (md == nullptr) return;
  auto state = std::make_unique<DigestState>();
  state->ctx.reset(EVP_MD_CTX_new());
  if (state->ctx == nullptr || EVP_DigestInit_ex(state->ctx.get(), md, nullptr) != 1) {
    return ThrowOperationError(isolate, "The digest could not be started");
  }
  DigestState* raw = state.release();
  info.GetReturnValue().Set(NewHandleOwning(isolate, raw, DeleteDigest));
}

void DigestUpdate(const Args& info) {
  v8::Isolate* isolate = info.GetIsolate();
  DigestState* state = DigestOf(isolate, info[0]);
  Bytes data;
  if (state == nullptr || !ArgBytes(isolate, info[1], "data", &data)) return;
  if (state->ctx == nullptr) return ThrowTypeError(isolate, "The digest has already finished");
  if (EVP_DigestUpdate(state->ctx.get(), data.data, data.size) != 1) {
    return ThrowOperationError(isolate, "The digest could not be computed");
  }
}

void DigestFinal(const Args& info) {
  v8::Isolate* isolate = info.GetIsolate();
  DigestState* state = DigestOf(isolate, info[0]);
  if (state == nullptr) return;
  if (state->ctx == nullptr) return ThrowTypeError(isolate, "The digest has already finished");
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  const int ok = EVP_DigestFinal_ex(state->ctx.get(), out, &size);
  state->ctx.reset();
  if (ok != 1) return ThrowOperationError(isolate, "The digest could not be computed");
  v8::Local<v8::ArrayBuffer> result;
  if (NewOutputCopy(isolate, out, size).ToLocal(&result)) info.GetReturnValue().Set(result);
}

void TimingSafeEqual(const Args& info) {
  v8::Isolate* isolate = info.GetIsolate();
  Bytes a, b;
  if (!ArgBytes(isolate, info[0], "a", &a) || !ArgBytes(isolate, info[1], "b", &b)) return;
  if (a.size != b.size) {
    return ThrowRangeError(isolate, "Input buffers must have the same byte length");
  }
  info.GetReturnValue().Set(a.size == 0 || CRYPTO_memcmp(a.data, b.data, a.size) == 0);
}

void SecretKey(const Args& info) {
  v8::Isolate* isolate = info.GetIsolate();
  Bytes data;
  if (!ArgBytes(isolate, info[0], "keyData", &data)) return;
  info.GetReturnValue().Set(KeyData::NewHandle(isolate, KeyData::NewSecret(data.data, data.size)));
}

void SecretExport(const Args& info) {
  v8::Isolate* isolate = info.GetIsolate();
  KeyData* key = KeyData::FromHandle(isolate, info[0]);
  if (key == nullptr) return;
  if (!key->is_secret()) return ThrowTypeError(isolate, "crypto: not a secret key");
  v8::Local<v8::ArrayBuffer> result;
  if (NewOutputCopy(isolate, key->secret().data(), key->secret().size()).ToLocal(&result)) {
    info.GetReturnValue().Set(result);
  }
}

void Hmac(const Args& info) {
  v8::Isolate* isolate = info.GetIsolate();
  const EVP_MD* md = DigestByName(isolate, ArgString(isolate, info[0]));
  if (md == nullptr) return;
  KeyData* key = KeyData::FromHandle(isolate, info[1]);
  Bytes data;
  if (key == nullptr || !ArgBytes(isolate, info[2], "data", &data)) return;
  if (!key->is_secret()) return ThrowTypeError(isolate, "crypto: not a secret key");
  static const unsigned char kEmpty = 0;
  const std::vector<uint8_t>& secret = key->secret();
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (HMAC(md, secret.empty() ? &kEmpty : secret.data(), static_cast<int>(secret.size()), data.data,
           data.size, out, &size) == nullptr) {
    return ThrowOperationError(isolate, "The HMAC could not be computed");
  }
  v8::Local<v8::ArrayBuffer> result;
  if (NewOutputCopy(isolate, out, size).ToLocal(&result)) info.GetReturnValue().Set(result);
}

}  // namespace cosmo::v8engine::crypto
