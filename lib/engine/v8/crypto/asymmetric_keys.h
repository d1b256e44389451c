// What the asymmetric-key natives share: WebCrypto's key kinds and curves mapped to OpenSSL, and
// the sizes their encodings use.
#ifndef COSMO_ENGINE_V8_CRYPTO_ASYMMETRIC_KEYS_H_
#define COSMO_ENGINE_V8_CRYPTO_ASYMMETRIC_KEYS_H_

#include <openssl/evp.h>

#include <cstddef>
#include <string>
#include <string_view>

namespace cosmo::v8engine::crypto {

// OpenSSL's group name for a WebCrypto named curve ("P-256" -> "prime256v1"); null if unknown.
const char* GroupForCurve(std::string_view curve);
// The WebCrypto curve name of an EC key ("" when it is on another curve).
std::string CurveOf(EVP_PKEY* pkey);
// Bytes of one coordinate (and of the private scalar) on `curve`: 32, 48 or 66; 0 if unknown.
size_t CoordinateBytes(std::string_view curve);

// The EVP_PKEY type of an octet-key-pair kind ("Ed25519", "X25519", "Ed448", "X448"); 0 if not.
int OkpType(std::string_view kind);
// The WebCrypto kind name of an octet-key-pair EVP_PKEY type; null if not one.
const char* OkpKind(int type);
// Bytes of a raw public or private key of an octet-key-pair type: 32, 56 or 57.
size_t OkpKeyBytes(int type);
// The largest of those.
inline constexpr size_t kMaxOkpKeyBytes = 57;

// Whether `pkey` is of WebCrypto kind `kind` ("RSA", "EC", or an octet-key-pair kind) and, for
// "EC", on `curve`.
bool IsKind(EVP_PKEY* pkey, std::string_view kind, std::string_view curve);

}  // namespace cosmo::v8engine::crypto

#endif  // COSMO_ENGINE_V8_CRYPTO_ASYMMETRIC_KEYS_H_
