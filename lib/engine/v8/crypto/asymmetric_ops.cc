// Signatures (ECDSA, Ed25519, Ed448, RSASSA-PKCS1-v1_5, RSA-PSS), RSA-OAEP, and the shared
// secrets of ECDH, X25519 and X448.
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/rsa.h>

#include <cstring>
#include <string>
#include <vector>

#include "engine/v8/crypto/asymmetric_keys.h"
#include "engine/v8/crypto/crypto_natives.h"
#include "engine/v8/crypto/crypto_util.h"
#include "engine/v8/crypto/key_data.h"
#include "engine/v8/v8_util.h"

namespace cosmo::v8engine::crypto {
namespace {

struct EcdsaSigFree {
  void operator()(ECDSA_SIG* p) const { ECDSA_SIG_free(p); }
};
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, EcdsaSigFree>;

// The message digest a signature kind uses (EdDSA hashes internally: null).
bool DigestFor(v8::Isolate* isolate, const std::string& kind, v8::Local<v8::Value> hash,
               const EVP_MD** md) {
  *md = nullptr;
  if (kind == "Ed25519" || kind == "Ed448") return true;
  *md = DigestByName(isolate, ArgString(isolate, hash));
  return *md != nullptr;
}

// Sets the padding of an RSA signature context.
bool ConfigureRsa(EVP_PKEY_CTX* pctx, const std::string& kind, int salt_length) {
  if (kind == "RSASSA-PKCS1-v1_5")
    return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1;
  if (kind == "RSA-PSS") {
    return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
           EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, salt_length) == 1;
  }
  return true;
}

// Whether a 32-byte Ed25519 point encoding is one of the points of small order (or a
// non-canonical spelling of one), compared without the sign bit. A signature under such a public
// key, or with such an R, proves nothing, so verification refuses them as libsodium does.
bool IsSmallOrderEd25519(const uint8_t* point) {
  static const uint8_t kBlocked[][32] = {
      // 0 (order 4)
      {0},
      // 1 (order 1)
      {1},
      // order 8
      {0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4,
       0x89, 0xf2, 0xef, 0x98, 0xf0, 0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6,
       0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x05},
      // order 8
      {0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b,
       0x76, 0x0d, 0x10, 0x67, 0x0f, 0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39,
       0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac, 0x03, 0x7a},
      // p - 1 (order 2)
      {0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
       0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
       0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
      // p, a non-canonical 0 (order 4)
      {0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
       0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
       0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
      // p + 1, a non-canonical 1 (order 1)
      {0xee, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
       0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
       0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
  };
  for (const uint8_t* blocked : kBlocked) {
    if (std::memcmp(point, blocked, 31) == 0 && (point[31] & 0x7f) == blocked[31]) return true;
  }
  return false;
}

bool KindMatches(EVP_PKEY* pkey, const std::string& kind) {
  const int id = EVP_PKEY_get_base_id(pkey);
  if (kind == "ECDSA") return id == EVP_PKEY_EC;
  if (kind == "Ed25519") return id == EVP_PKEY_ED25519;
  if (kind == "Ed448") return id == EVP_PKEY_ED448;
  if (kind == "RSASSA-PKCS1-v1_5" || kind == "RSA-PSS") return id == EVP_PKEY_RSA;
  return false;
}

}  // namespace

void Sign(const Args& info) {
  v8::Isolate* isolate = info.GetIsolate();
  const std::string kind = ArgString(isolate, info[0]);
  KeyData* key = KeyData::FromHandle(isolate, info[1]);
  if (key == nullptr) return;
  const EVP_MD* md;
  Bytes data;
  if (!DigestFor(isolate, kind, info[2], &md) || !ArgBytes(isolate, info[3], "data", &data)) {
    return;
  }
  if (key->is_secret() || !key->is_private() || !KindMatches(key->pkey(), kind)) {
    return ThrowDomError(isolate, "InvalidAccessError", "The key cannot be used to sign");
  }
  const int salt_length = info[4]->Int32Value(isolate->GetCurrentContext()).FromMaybe(0);
  MdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  size_t size = 0;
  std::vector<uint8_t> signature;
  if (ctx == nullptr ||
      EVP_DigestSignInit_ex(ctx.get(), &pctx, md != nullptr ? EVP_MD_get0_name(md) : nullptr,
                            nullptr, nullptr, key->pkey(), nullptr) != 1 ||
      !ConfigureRsa(pctx, kind, salt_length) ||
      EVP_DigestSign(ctx.get(), nullptr, &size, data.data, data.size) != 1) {
    return ThrowOperationError(isolate, "The data could not be signed");
  }
  signature.resize(size);
  if (EVP_DigestSign(ctx.get(), signature.data(), &size, data.data, data.size) != 1) {
    return ThrowOperationError(isolate, "The data could not be signed");
  }
  signature.resize(size);
  if (kind == "ECDSA") {
    // DER to the fixed-width r || s WebCrypto specifies.
    const size_t n = CoordinateBytes(CurveOf(key->pkey()));
    const unsigned char* p = signature.data();
    EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(signature.size())));
    if (sig == nullptr || n == 0)
      return ThrowOperationError(isolate, "The data could not be signed");
    std::vector<uint8_t> raw(2 * n);
    if (BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), raw.data(), static_cast<int>(n)) < 0 ||
        BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), raw.data() + n, static_cast<int>(n)) < 0) {
      return ThrowOperationError(isolate, "The data could not be signed");
    }
    signature = std::move(raw);
  }
  v8::Local<v8::ArrayBuffer> result;
  if (NewOutputCopy(isolate, signature.data(), signature.size()).ToLocal(&result)) {
    info.GetReturnValue().Set(result);
  }
}

void Verify(const Args& info) {
  v8::Isolate* isolate = info.GetIsolate();
  const std::string kind = ArgString(isolate, info[0]);
  KeyData* key = KeyData::FromHandle(isolate, info[1]);
  if (key == nullptr) return;
  const EVP_MD* md;
  Bytes signature, data;
  if (!DigestFor(isolate, kind, info[2], &md) ||
      !ArgBytes(isolate, info[3], "signature", &signature) ||
      !ArgBytes(isolate, info[4], "data", &data)) {
    return;
  }
  if (key->is_secret() || !KindMatches(key->pkey(), kind)) {
    return ThrowDomError(isolate, "InvalidAccessError", "The key cannot be used to verify");
  }
  const int salt_length = info[5]->Int32Value(isolate->GetCurrentContext()).FromMaybe(0);
  std::vector<uint8_t> der;
  const uint8_t* sig_data = signature.data;
  size_t sig_size = signature.size;
  if (kind == "ECDSA") {
    const size_t n = CoordinateBytes(CurveOf(key->pkey()));
    if (n == 0 || signature.size != 2 * n) {
      ClearOpenSslErrors();
      return info.GetReturnValue().Set(false);
    }
    EcdsaSigPtr sig(ECDSA_SIG_new());
    BIGNUM* r = BN_bin2bn(signature.data, static_cast<int>(n), nullptr);
    BIGNUM* s = BN_bin2bn(signature.data + n, static_cast<int>(n), nullptr);
    if (sig == nullptr || r == nullptr || s == nullptr || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
      BN_free(r);
      BN_free(s);
      return ThrowOperationError(isolate, "The signature could not be checked");
    }
    unsigned char* out = nullptr;
    const int size = i2d_ECDSA_SIG(sig.get(), &out);
    if (size <= 0) return ThrowOperationError(isolate, "The signature could not be checked");
    der.assign(out, out + size);
    OPENSSL_free(out);
    sig_data = der.data();
    sig_size = der.size();
  }
  if (kind == "Ed25519") {
    uint8_t pub[32];
    size_t pub_size = sizeof(pub);
    if (signature.size != 64 || EVP_PKEY_get_raw_public_key(key->pkey(), pub, &pub_size) != 1 ||
        IsSmallOrderEd25519(pub) || IsSmallOrderEd25519(signature.data)) {
      ClearOpenSslErrors();
      return info.GetReturnValue().Set(false);
    }
  }
  MdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  if (ctx == nullptr ||
      EVP_DigestVerifyInit_ex(ctx.get(), &pctx, md != nullptr ? EVP_MD_get0_name(md) : nullptr,
                              nullptr, nullptr, key->pkey(), nullptr) != 1 ||
      !ConfigureRsa(pctx, kind, salt_length)) {
    return ThrowOperationError(isolate, "The signature could not be checked");
  }
  const int ok = EVP_DigestVerify(ctx.get(), sig_data, sig_size, data.data, data.size);
  ClearOpenSslErrors();
  info.GetReturnValue().Set(ok == 1);
}

void RsaOaep(const Args& info) {
  v8::Isolate* isolate = info.GetIsolate();
  const bool encrypt = info[0]->IsTrue();
  KeyData* key = KeyData::FromHandle(isolate, info[1]);
  if (key == nullptr) return;
  const EVP_MD* md = DigestByName(isolate, ArgString(isolate, info[2]));
  Bytes label, data;
  if (md == nullptr || (!info[3]->IsUndefined() && !ArgBytes(isolate, info[3], "label", &label)) ||
      !ArgBytes(isolate, info[4], "data", &data)) {
    return;
  }
  if (key->is_secret() || EVP_PKEY_get_base_id(key->pkey()) != EVP_PKEY_RSA ||
      (!encrypt && !key->is_private())) {
    return ThrowDomError(isolate, "InvalidAccessError", "The key cannot be used for RSA-OAEP");
  }
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key->pkey(), nullptr));
  bool ok = ctx != nullptr &&
            (encrypt ? EVP_PKEY_encrypt_init(ctx.get()) : EVP_PKEY_decrypt_init(ctx.get())) == 1 &&
            EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_OAEP_PADDING) == 1 &&
            EVP_PKEY_CTX_set_rsa_oaep_md(ctx.get(), md) == 1 &&
            EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), md) == 1;
  if (ok && label.size > 0) {
    void* copy = OPENSSL_memdup(label.data, label.size);
    ok = copy != nullptr &&
         EVP_PKEY_CTX_set0_rsa_oaep_label(ctx.get(), copy, static_cast<int>(label.size)) == 1;
    if (!ok) OPENSSL_free(copy);
  }
  size_t size = 0;
  ok = ok && (encrypt ? EVP_PKEY_encrypt(ctx.get(), nullptr, &size, data.data, data.size)
                      : EVP_PKEY_decrypt(ctx.get(), nullptr, &size, data.data, data.size)) == 1;
  std::vector<uint8_t> out(size);
  ok = ok && (encrypt ? EVP_PKEY_encrypt(ctx.get(), out.data(), &size, data.data, data.size)
                      : EVP_PKEY_decrypt(ctx.get(), out.data(), &size, data.data, data.size)) == 1;
  if (!ok) {
    return ThrowOperationError(
        isolate, encrypt ? "The data could not be encrypted" : "The data could not be decrypted");
  }
  out.resize(size);
  v8::Local<v8::ArrayBuffer> result;
  if (NewOutputCopy(isolate, out.data(), out.size()).ToLocal(&result)) {
    info.GetReturnValue().Set(result);
  }
  if (!out.empty()) OPENSSL_cleanse(out.data(), out.size());
}

void DeriveShared(const Args& info) {
  v8::Isolate* isolate = info.GetIsolate();
  KeyData* mine = KeyData::FromHandle(isolate, info[0]);
  if (mine == nullptr) return;
  KeyData* theirs = KeyData::FromHandle(isolate, info[1]);
  if (theirs == nullptr) return;
  if (mine->is_secret() || theirs->is_secret() || !mine->is_private() ||
      EVP_PKEY_get_base_id(mine->pkey()) != EVP_PKEY_get_base_id(theirs->pkey())) {
    return ThrowDomError(isolate, "InvalidAccessError", "The keys cannot be used together");
  }
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, mine->pkey(), nullptr));
  size_t size = 0;
  bool ok = ctx != nullptr && EVP_PKEY_derive_init(ctx.get()) == 1 &&
            EVP_PKEY_derive_set_peer(ctx.get(), theirs->pkey()) == 1 &&
            EVP_PKEY_derive(ctx.get(), nullptr, &size) == 1;
  std::vector<uint8_t> secret(size);
  ok = ok && EVP_PKEY_derive(ctx.get(), secret.data(), &size) == 1;
  const int type = EVP_PKEY_get_base_id(mine->pkey());
  if (ok && (type == EVP_PKEY_X25519 || type == EVP_PKEY_X448)) {
    // A small-order public key gives the all-zero secret (RFC 7748 §6).
    unsigned char zero = 0;
    for (size_t i = 0; i < size; ++i) zero |= secret[i];
    ok = zero != 0;
  }
  if (!ok) return ThrowOperationError(isolate, "The shared secret could not be derived");
  secret.resize(size);
  v8::Local<v8::ArrayBuffer> result;
  if (NewOutputCopy(isolate, secret.data(), secret.size()).ToLocal(&result)) {
    info.GetReturnValue().Set(result);
  }
  OPENSSL_cleanse(secret.data(), secret.size());
}

}  // namespace cosmo::v8engine::crypto
