// Generation, import, export and description of asymmetric keys (RSA, EC, and the octet key
// pairs Ed25519, X25519, Ed448, X448) in
// the formats WebCrypto names: spki, pkcs8, raw and the fields of a JWK.
#include "engine/v8/crypto/asymmetric_keys.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "engine/v8/crypto/crypto_natives.h"
#include "engine/v8/crypto/crypto_util.h"
#include "engine/v8/crypto/key_data.h"
#include "engine/v8/v8_util.h"

namespace cosmo::v8engine::crypto {
namespace {

struct ParamBldFree {
  void operator()(OSSL_PARAM_BLD* p) const { OSSL_PARAM_BLD_free(p); }
};
struct ParamFree {
  void operator()(OSSL_PARAM* p) const { OSSL_PARAM_free(p); }
};
struct Pkcs8Free {
  void operator()(PKCS8_PRIV_KEY_INFO* p) const { PKCS8_PRIV_KEY_INFO_free(p); }
};
using Pkcs8Ptr = std::unique_ptr<PKCS8_PRIV_KEY_INFO, Pkcs8Free>;

// The public half of `pkey` as a key of its own.
PkeyPtr PublicOnly(EVP_PKEY* pkey) {
  unsigned char* der = nullptr;
  const int size = i2d_PUBKEY(pkey, &der);
  if (size <= 0) return nullptr;
  const unsigned char* p = der;
  PkeyPtr out(d2i_PUBKEY(nullptr, &p, size));
  OPENSSL_free(der);
  return out;
}

// [key(private), key(public)] or [key, isPrivate] as the natives return them.
v8::Local<v8::Array> Pair(v8::Isolate* isolate, v8::Local<v8::Value> a, v8::Local<v8::Value> b) {
  v8::Local<v8::Value> items[] = {a, b};
  return v8::Array::New(isolate, items, 2);
}

PkeyPtr FromData(const char* type, int selection, OSSL_PARAM* params) {
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* pkey = nullptr;
  if (ctx == nullptr || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &pkey, selection, params) != 1) {
    return nullptr;
  }
  return PkeyPtr(pkey);
}

// An EC key from its uncompressed (or compressed) point and optional private scalar.
PkeyPtr EcFromParts(const char* group, const std::string& point, const BIGNUM* d) {
  std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree> bld(OSSL_PARAM_BLD_new());
  if (bld == nullptr ||
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                       point.size()) != 1 ||
      (d != nullptr && OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, d) != 1)) {
    return nullptr;
  }
  std::unique_ptr<OSSL_PARAM, ParamFree> params(OSSL_PARAM_BLD_to_param(bld.get()));
  if (params == nullptr) return nullptr;
  PkeyPtr pkey =
      FromData("EC", d != nullptr ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, params.get());
  if (pkey == nullptr) return nullptr;
  PkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr));
  if (check == nullptr || EVP_PKEY_public_check(check.get()) != 1) return nullptr;
  if (d != nullptr && EVP_PKEY_pairwise_check(check.get()) != 1) return nullptr;
  return pkey;
}

std::string BnParam(EVP_PKEY* pkey, const char* name, size_t size = 0) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(pkey, name, &bn) != 1) return "";
  std::string out = BnBytes(bn, size);
  BN_clear_free(bn);
  return out;
}

v8::Local<v8::Value> ReturnBytes(v8::Isolate* isolate, const std::string& bytes) {
  v8::Local<v8::ArrayBuffer> buffer;
  if (!NewOutputCopy(isolate, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size())
           .ToLocal(&buffer)) {
    return {};
  }
  return buffer;
}

// The bytes of the field `name` of `fields` (an object of ArrayBuffers); false when absent.
bool Field(v8::Isolate* isolate, v8::Local<v8::Object> fields, const char* name, std::string* out) {
  v8::Local<v8::Value> value;
  if (!fields->Get(isolate->GetCurrentContext(), NewUtf8String(isolate, name)).ToLocal(&value)) {
    return false;
  }
  uint8_t* data;
  size_t size;
  if (!BytesOf(value, &data, &size)) return false;
  out->assign(reinterpret_cast<const char*>(data), size);
  return true;
}

BnPtr ToBn(const std::string& bytes) {
  return BnPtr(BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes.data()),
                         static_cast<int>(bytes.size()), nullptr));
}

void Cleanse(std::string* s) {
  if (!s->empty()) OPENSSL_cleanse(s->data(), s->size());
}

}  // namespace

int OkpType(std::string_view kind) {
  if (kind == "Ed25519") return EVP_PKEY_ED25519;
  if (kind == "X25519") return EVP_PKEY_X25519;
  if (kind == "Ed448") return EVP_PKEY_ED448;
  if (kind == "X448") return EVP_PKEY_X448;
  return 0;
}

const char* OkpKind(int type) {
  switch (type) {
    case EVP_PKEY_ED25519:
      return "Ed25519";
    case EVP_PKEY_X25519:
      return "X25519";
    case EVP_PKEY_ED448:
      return "Ed448";
    case EVP_PKEY_X448:
      return "X448";
  }
  return nullptr;
}

size_t OkpKeyBytes(int type) {
  switch (type) {
    case EVP_PKEY_ED25519:
    case EVP_PKEY_X25519:
      return 32;
    case EVP_PKEY_ED448:
      return 57;
    case EVP_PKEY_X448:
      return 56;
  }
  return 0;
}

const char* GroupForCurve(std::string_view curve) {
  if (curve == "P-256") return "prime256v1";
  if (curve == "P-384") return "secp384r1";
  if (curve == "P-521") return "secp521r1";
  return nullptr;
}

size_t CoordinateBytes(std::string_view curve) {
  if (curve == "P-256") return 32;
  if (curve == "P-384") return 48;
  if (curve == "P-521") return 66;
  return 0;
}

std::string CurveOf(EVP_PKEY* pkey) {
  char name[64];
  size_t size = 0;
  if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_EC ||
      EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof(name), &size) !=
          1) {
    return "";
  }
  const std::string group(name, size);
  if (group == "prime256v1" || group == "P-256") return "P-256";
  if (group == "secp384r1" || group == "P-384") return "P-384";
  if (group == "secp521r1" || group == "P-521") return "P-521";
  return "";
}

bool IsKind(EVP_PKEY* pkey, std::string_view kind, std::string_view curve) {
  const int id = EVP_PKEY_get_base_id(pkey);
  if (kind == "RSA") return id == EVP_PKEY_RSA;
  if (kind == "EC") return id == EVP_PKEY_EC && CurveOf(pkey) == curve;
  return OkpType(kind) != 0 && id == OkpType(kind);
}

void GenerateKeyPair(const Args& info) {
  v8::Isolate* isolate = info.GetIsolate();
  v8::Local<v8::Context> context = isolate->GetCurrentContext();
  const std::string kind = ArgString(isolate, info[0]);
  EVP_PKEY* generated = nullptr;
  if (kind == "RSA") {
    const uint32_t bits = info[1]->Uint32Value(context).FromMaybe(0);
    Bytes exponent;
    if (!ArgBytes(isolate, info[2], "publicExponent", &exponent)) return;
    BnPtr e(BN_bin2bn(exponent.data, static_cast<int>(exponent.size), nullptr));
    PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
    if (e == nullptr || ctx == nullptr || EVP_PKEY_keygen_init(ctx.get()) != 1 ||
        EVP_PKEY_CTX_set_rsa_keygen_bits(ctx.get(), static_cast<int>(bits)) != 1 ||
        EVP_PKEY_CTX_set1_rsa_keygen_pubexp(ctx.get(), e.get()) != 1) {
      return ThrowOperationError(isolate, "The RSA key could not be generated");
    }
    // Large moduli take seconds to minutes of prime search: the progress callback lets the CPU
    // limit stop it.
    EVP_PKEY_CTX_set_app_data(ctx.get(), isolate);
    EVP_PKEY_CTX_set_cb(ctx.get(), [](EVP_PKEY_CTX* cb_ctx) {
      return ScriptMustStop(static_cast<v8::Isolate*>(EVP_PKEY_CTX_get_app_data(cb_ctx))) ? 0 : 1;
    });
    if (EVP_PKEY_keygen(ctx.get(), &generated) != 1) {
      if (isolate->IsExecutionTerminating()) {
        ClearOpenSslErrors();
        return;
      }
      return ThrowOperationError(isolate, "The RSA key could not be generated");
    }
  } else if (kind == "EC") {
    const char* group = GroupForCurve(ArgString(isolate, info[1]));
    if (group == nullptr) return ThrowDomError(isolate, "NotSupportedError", "Unsupported curve");
    generated = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", group);
  } else if (OkpType(kind) != 0) {
    PkeyCtxPtr ctx(EVP_PKEY_CTX_new_id(OkpType(kind), nullptr));
    if (ctx == nullptr || EVP_PKEY_keygen_init(ctx.get()) != 1 ||
        EVP_PKEY_keygen(ctx.get(), &generated) != 1) {
      generated = nullptr;
    }
  } else {
    return ThrowDomError(isolate, "NotSupportedError", "Unsupported key kind");
  }
  if (generated == nullptr) return ThrowOperationError(isolate, "The key could not be generated");
  PkeyPtr private_key(generated);
  PkeyPtr public_key = PublicOnly(private_key.get());
  if (public_key == nullptr) return ThrowOperationError(isolate, "The key could not be generated");
  v8::Local<v8::Value> priv =
      KeyData::NewHandle(isolate, KeyData::NewAsymmetric(std::move(private_key), true));
  v8::Local<v8::Value> pub =
      KeyData::NewHandle(isolate, KeyData::NewAsymmetric(std::move(public_key), false));
  info.GetReturnValue().Set(Pair(isolate, priv, pub));
}

void ImportKey(const Args& info) {
  v8::Isolate* isolate = info.GetIsolate();
  const std::string kind = ArgString(isolate, info[0]);
  const std::string format = ArgString(isolate, info[1]);
  Bytes data;
  if (!ArgBytes(isolate, info[2], "keyData", &data)) return;
  const std::string curve = ArgString(isolate, info[3]);
  PkeyPtr pkey;
  bool is_private = false;
  const unsigned char* p = data.data;
  const long size = static_cast<long>(data.size);
  if (format == "spki") {
    pkey.reset(d2i_PUBKEY(nullptr, &p, size));
    if (pkey != nullptr && p != data.data + data.size) pkey.reset();
  } else if (format == "pkcs8") {
    Pkcs8Ptr pkcs8(d2i_PKCS8_PRIV_KEY_INFO(nullptr, &p, size));
    if (pkcs8 != nullptr && p == data.data + data.size) pkey.reset(EVP_PKCS82PKEY(pkcs8.get()));
    is_private = true;
  } else if (format == "raw") {
    if (kind == "EC") {
      const char* group = GroupForCurve(curve);
      if (group != nullptr && data.size > 0) {
        pkey = EcFromParts(group, std::string(reinterpret_cast<const char*>(data.data), data.size),
                           nullptr);
      }
    } else if (OkpType(kind) != 0 && data.size == OkpKeyBytes(OkpType(kind))) {
      pkey.reset(EVP_PKEY_new_raw_public_key(OkpType(kind), nullptr, data.data, data.size));
    }
  } else {
    return ThrowDomError(isolate, "NotSupportedError", "Unsupported key format");
  }
  if (pkey == nullptr) return ThrowDataError(isolate, "Invalid " + format + " key data");
  if (!IsKind(pkey.get(), kind, curve)) {
    return ThrowDataError(isolate, "The key data is not a " + kind + " key" +
                                       (kind == "EC" ? " on " + curve : std::string()));
  }
  if (format == "pkcs8" && EVP_PKEY_get_base_id(pkey.get()) == EVP_PKEY_EC) {
    PkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr));
    if (check == nullptr || EVP_PKEY_public_check(check.get()) != 1) {
      return ThrowDataError(isolate, "Invalid pkcs8 key data");
    }
  }
  if (EVP_PKEY_get_base_id(pkey.get()) == EVP_PKEY_EC) {
    // A key imported from a compressed point keeps that form; WebCrypto exports uncompressed.
    EVP_PKEY_set_utf8_string_param(pkey.get(), OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
                                   "uncompressed");
  }
  ClearOpenSslErrors();
  v8::Local<v8::Value> handle =
      KeyData::NewHandle(isolate, KeyData::NewAsymmetric(std::move(pkey), is_private));
  info.GetReturnValue().Set(Pair(isolate, handle, v8::Boolean::New(isolate, is_private)));
}

void ImportJwk(const Args& info) {
  v8::Isolate* isolate = info.GetIsolate();
  const std::string kind = ArgString(isolate, info[0]);
  const std::string curve = ArgString(isolate, info[1]);
  if (!info[2]->IsObject()) return ThrowTypeError(isolate, "crypto: expected JWK fields");
  v8::Local<v8::Object> fields = info[2].As<v8::Object>();
  PkeyPtr pkey;
  std::string d;
  const bool is_private = Field(isolate, fields, "d", &d);
  if (kind == "RSA") {
    static const char* const kNames[] = {"n", "e", "d", "p", "q", "dp", "dq", "qi"};
    static const char* const kParams[] = {
        OSSL_PKEY_PARAM_RSA_N,         OSSL_PKEY_PARAM_RSA_E,
        OSSL_PKEY_PARAM_RSA_D,         OSSL_PKEY_PARAM_RSA_FACTOR1,
        OSSL_PKEY_PARAM_RSA_FACTOR2,   OSSL_PKEY_PARAM_RSA_EXPONENT1,
        OSSL_PKEY_PARAM_RSA_EXPONENT2, OSSL_PKEY_PARAM_RSA_COEFFICIENT1};
    std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree> bld(OSSL_PARAM_BLD_new());
    std::vector<BnPtr> bns;
    bool ok = bld != nullptr;
    for (int i = 0; ok && i < (is_private ? 8 : 2); ++i) {
      std::string bytes;
      if (!Field(isolate, fields, kNames[i], &bytes) || bytes.empty()) {
        ok = false;
        break;
      }
      bns.push_back(ToBn(bytes));
      Cleanse(&bytes);
      ok = bns.back() != nullptr &&
           OSSL_PARAM_BLD_push_BN(bld.get(), kParams[i], bns.back().get()) == 1;
    }
    std::unique_ptr<OSSL_PARAM, ParamFree> params(ok ? OSSL_PARAM_BLD_to_param(bld.get())
                                                     : nullptr);
    if (params != nullptr) {
      pkey = FromData("RSA", is_private ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, params.get());
    }
    if (pkey != nullptr && is_private) {
      PkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr));
      if (check == nullptr || EVP_PKEY_pairwise_check(check.get()) != 1) pkey.reset();
    }
  } else if (kind == "EC") {
    const char* group = GroupForCurve(curve);
    const size_t n = CoordinateBytes(curve);
    std::string x, y;
    if (group != nullptr && Field(isolate, fields, "x", &x) && Field(isolate, fields, "y", &y) &&
        x.size() == n && y.size() == n && (!is_private || d.size() == n)) {
      BnPtr scalar = is_private ? ToBn(d) : nullptr;
      pkey = EcFromParts(group, "\x04" + x + y, scalar.get());
    }
  } else if (OkpType(kind) != 0) {
    const size_t n = OkpKeyBytes(OkpType(kind));
    std::string x;
    const bool has_x = Field(isolate, fields, "x", &x);
    if (is_private && d.size() == n) {
      pkey.reset(EVP_PKEY_new_raw_private_key(
          OkpType(kind), nullptr, reinterpret_cast<const unsigned char*>(d.data()), d.size()));
      // The public key given must be the one the private key implies.
      unsigned char pub[kMaxOkpKeyBytes];
      size_t pub_size = sizeof(pub);
      if (pkey != nullptr &&
          (EVP_PKEY_get_raw_public_key(pkey.get(), pub, &pub_size) != 1 || !has_x ||
           x.size() != pub_size || CRYPTO_memcmp(pub, x.data(), pub_size) != 0)) {
        pkey.reset();
      }
    } else if (!is_private && has_x && x.size() == n) {
      pkey.reset(EVP_PKEY_new_raw_public_key(
          OkpType(kind), nullptr, reinterpret_cast<const unsigned char*>(x.data()), x.size()));
    }
  }
  Cleanse(&d);
  if (pkey == nullptr) return ThrowDataError(isolate, "Invalid JWK key data");
  ClearOpenSslErrors();
  v8::Local<v8::Value> handle =
      KeyData::NewHandle(isolate, KeyData::NewAsymmetric(std::move(pkey), is_private));
  info.GetReturnValue().Set(Pair(isolate, handle, v8::Boolean::New(isolate, is_private)));
}

void ExportKey(const Args& info) {
  v8::Isolate* isolate = info.GetIsolate();
  KeyData* key = KeyData::FromHandle(isolate, info[0]);
  if (key == nullptr) return;
  if (key->is_secret()) return ThrowTypeError(isolate, "crypto: not an asymmetric key");
  const std::string format = ArgString(isolate, info[1]);
  EVP_PKEY* pkey = key->pkey();
  std::string out;
  if (format == "spki") {
    unsigned char* der = nullptr;
    const int size = i2d_PUBKEY(pkey, &der);
    if (size > 0) out.assign(reinterpret_cast<char*>(der), static_cast<size_t>(size));
    OPENSSL_free(der);
  } else if (format == "pkcs8") {
    if (!key->is_private())
      return ThrowDomError(isolate, "InvalidAccessError", "Not a private key");
    Pkcs8Ptr pkcs8(EVP_PKEY2PKCS8(pkey));
    unsigned char* der = nullptr;
    const int size = pkcs8 != nullptr ? i2d_PKCS8_PRIV_KEY_INFO(pkcs8.get(), &der) : 0;
    if (size > 0) out.assign(reinterpret_cast<char*>(der), static_cast<size_t>(size));
    if (der != nullptr) OPENSSL_clear_free(der, static_cast<size_t>(size));
  } else if (format == "raw") {
    const int id = EVP_PKEY_get_base_id(pkey);
    if (id == EVP_PKEY_EC) {
      const size_t n = CoordinateBytes(CurveOf(pkey));
      const std::string x = BnParam(pkey, OSSL_PKEY_PARAM_EC_PUB_X, n);
      const std::string y = BnParam(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, n);
      if (n > 0 && !x.empty() && !y.empty()) out = "\x04" + x + y;
    } else if (OkpKind(id) != nullptr) {
      unsigned char pub[kMaxOkpKeyBytes];
      size_t size = sizeof(pub);
      if (EVP_PKEY_get_raw_public_key(pkey, pub, &size) == 1) {
        out.assign(reinterpret_cast<char*>(pub), size);
      }
    }
  }
  if (out.empty()) return ThrowOperationError(isolate, "The key could not be exported");
  v8::Local<v8::Value> result = ReturnBytes(isolate, out);
  Cleanse(&out);
  if (!result.IsEmpty()) info.GetReturnValue().Set(result);
}

void ExportJwk(const Args& info) {
  v8::Isolate* isolate = info.GetIsolate();
  v8::Local<v8::Context> context = isolate->GetCurrentContext();
  KeyData* key = KeyData::FromHandle(isolate, info[0]);
  if (key == nullptr) return;
  if (key->is_secret()) return ThrowTypeError(isolate, "crypto: not an asymmetric key");
  EVP_PKEY* pkey = key->pkey();
  std::vector<std::pair<const char*, std::string>> fields;
  const int id = EVP_PKEY_get_base_id(pkey);
  if (id == EVP_PKEY_RSA) {
    fields.emplace_back("n", BnParam(pkey, OSSL_PKEY_PARAM_RSA_N));
    fields.emplace_back("e", BnParam(pkey, OSSL_PKEY_PARAM_RSA_E));
    if (key->is_private()) {
      fields.emplace_back("d", BnParam(pkey, OSSL_PKEY_PARAM_RSA_D));
      fields.emplace_back("p", BnParam(pkey, OSSL_PKEY_PARAM_RSA_FACTOR1));
      fields.emplace_back("q", BnParam(pkey, OSSL_PKEY_PARAM_RSA_FACTOR2));
      fields.emplace_back("dp", BnParam(pkey, OSSL_PKEY_PARAM_RSA_EXPONENT1));
      fields.emplace_back("dq", BnParam(pkey, OSSL_PKEY_PARAM_RSA_EXPONENT2));
      fields.emplace_back("qi", BnParam(pkey, OSSL_PKEY_PARAM_RSA_COEFFICIENT1));
    }
  } else if (id == EVP_PKEY_EC) {
    const size_t n = CoordinateBytes(CurveOf(pkey));
    fields.emplace_back("x", BnParam(pkey, OSSL_PKEY_PARAM_EC_PUB_X, n));
    fields.emplace_back("y", BnParam(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, n));
    if (key->is_private()) fields.emplace_back("d", BnParam(pkey, OSSL_PKEY_PARAM_PRIV_KEY, n));
  } else {
    unsigned char raw[kMaxOkpKeyBytes];
    size_t size = sizeof(raw);
    if (EVP_PKEY_get_raw_public_key(pkey, raw, &size) == 1) {
      fields.emplace_back("x", std::string(reinterpret_cast<char*>(raw), size));
    }
    size = sizeof(raw);
    if (key->is_private() && EVP_PKEY_get_raw_private_key(pkey, raw, &size) == 1) {
      fields.emplace_back("d", std::string(reinterpret_cast<char*>(raw), size));
    }
    OPENSSL_cleanse(raw, sizeof(raw));
  }
  v8::Local<v8::Object> out = v8::Object::New(isolate);
  bool ok = !fields.empty();
  for (auto& [name, bytes] : fields) {
    if (bytes.empty()) ok = false;
    v8::Local<v8::Value> value = ok ? ReturnBytes(isolate, bytes) : v8::Local<v8::Value>();
    Cleanse(&bytes);
    if (value.IsEmpty()) {
      ok = false;
      continue;
    }
    out->Set(context, NewUtf8String(isolate, name), value).Check();
  }
  if (!ok) {
    if (!isolate->IsExecutionTerminating()) {
      ThrowOperationError(isolate, "The key could not be exported");
    }
    return;
  }
  info.GetReturnValue().Set(out);
}

void KeyDetails(const Args& info) {
  v8::Isolate* isolate = info.GetIsolate();
  v8::Local<v8::Context> context = isolate->GetCurrentContext();
  KeyData* key = KeyData::FromHandle(isolate, info[0]);
  if (key == nullptr) return;
  v8::Local<v8::Object> out = v8::Object::New(isolate);
  auto set = [&](const char* name, v8::Local<v8::Value> value) {
    out->Set(context, NewUtf8String(isolate, name), value).Check();
  };
  set("isPrivate", v8::Boolean::New(isolate, key->is_private()));
  if (key->is_secret()) {
    set("kind", NewUtf8String(isolate, "secret"));
    set("length", v8::Number::New(isolate, static_cast<double>(key->secret().size())));
  } else {
    EVP_PKEY* pkey = key->pkey();
    const int id = EVP_PKEY_get_base_id(pkey);
    if (id == EVP_PKEY_RSA) {
      set("kind", NewUtf8String(isolate, "RSA"));
      set("modulusLength", v8::Number::New(isolate, EVP_PKEY_get_bits(pkey)));
      v8::Local<v8::Value> e = ReturnBytes(isolate, BnParam(pkey, OSSL_PKEY_PARAM_RSA_E));
      if (e.IsEmpty()) return;
      set("publicExponent", e);
    } else if (id == EVP_PKEY_EC) {
      set("kind", NewUtf8String(isolate, "EC"));
      set("curve", NewUtf8String(isolate, CurveOf(pkey)));
    } else {
      const char* kind = OkpKind(id);
      set("kind", NewUtf8String(isolate, kind != nullptr ? kind : ""));
    }
  }
  info.GetReturnValue().Set(out);
}

}  // namespace cosmo::v8engine::crypto
