// The natives behind crypto.subtle (lib/engine/v8/js/src/subtle_crypto.js), over OpenSSL 3.
//
// The JavaScript layer normalizes algorithms and checks usages; these natives do the cryptography
// on validated arguments. Keys travel as handles (key_data.h). Failures throw an Error named after
// a WebCrypto DOMException (crypto_util.h) or a TypeError for a malformed call.
//
//   cryptoDigest(hash, bytes) -> ArrayBuffer
//   cryptoDigestNew(hash) -> handle; cryptoDigestUpdate(handle, bytes); cryptoDigestFinal(handle)
//                                  -> ArrayBuffer   (incremental: large inputs and DigestStream)
//   cryptoTimingSafeEqual(a, b) -> bool   equal-length buffers, compared in constant time
//   cryptoSecretKey(bytes) -> key;  cryptoSecretExport(key) -> ArrayBuffer
//   cryptoHmac(hash, key, data) -> ArrayBuffer
//   cryptoAes(mode, encrypt, key, data, iv, param, aad) -> ArrayBuffer
//                                  mode "AES-CBC" | "AES-CTR" (param: counter bits) | "AES-GCM"
//                                  (param: tag bits) | "AES-KW"
//   cryptoHkdf(hash, key, salt, info, bytes) -> ArrayBuffer
//   cryptoPbkdf2New(hash, key, salt, iterations, bytes) -> job;
//   cryptoPbkdf2Run(job, max_iterations) -> ArrayBuffer when done, else undefined
//                                  (the caller loops, so the CPU watchdog can stop a long run)
//   cryptoGenerateKeyPair(kind, a, b) -> [private, public]
//                                  kind "RSA" (a: modulus bits, b: exponent bytes), "EC" (a:
//                                  curve), "Ed25519", "X25519"
//   cryptoImportKey(kind, format, bytes, curve) -> [key, isPrivate]   format spki | pkcs8 | raw
//   cryptoImportJwk(kind, curve, {n, e, d, p, q, dp, dq, qi, x, y}) -> [key, isPrivate]
//   cryptoExportKey(key, format) -> ArrayBuffer;  cryptoExportJwk(key) -> {field: ArrayBuffer}
//   cryptoKeyDetails(key) -> {kind, curve, modulusLength, publicExponent, isPrivate}
//   cryptoSign(kind, key, hash, data, param) -> ArrayBuffer
//   cryptoVerify(kind, key, hash, signature, data, param) -> bool
//                                  kind "ECDSA" | "Ed25519" | "RSASSA-PKCS1-v1_5" | "RSA-PSS"
//                                  (param: salt length); ECDSA signatures are r || s
//   cryptoRsaOaep(encrypt, key, hash, label, data) -> ArrayBuffer
//   cryptoDeriveShared(privateKey, publicKey) -> ArrayBuffer   ECDH and X25519
#ifndef COSMO_ENGINE_V8_CRYPTO_CRYPTO_NATIVES_H_
#define COSMO_ENGINE_V8_CRYPTO_CRYPTO_NATIVES_H_

#include <cstddef>

// Declared, not included, so that tests can read CryptoKeysAlive() without V8's headers.
namespace v8 {
class Value;
template <typename T>
class FunctionCallbackInfo;
}  // namespace v8

namespace cosmo::v8engine::crypto {

using Args = v8::FunctionCallbackInfo<v8::Value>;

// Key objects created and not yet freed, in all isolates: lets tests see that disposing an isolate
// frees the keys its scripts kept.
size_t CryptoKeysAlive();

void Digest(const Args& info);
void DigestNew(const Args& info);
void DigestUpdate(const Args& info);
void DigestFinal(const Args& info);
void TimingSafeEqual(const Args& info);
void SecretKey(const Args& info);
void SecretExport(const Args& info);
void Hmac(const Args& info);
void Aes(const Args& info);
void Hkdf(const Args& info);
void Pbkdf2New(const Args& info);
void Pbkdf2Run(const Args& info);
void GenerateKeyPair(const Args& info);
void ImportKey(const Args& info);
void ImportJwk(const Args& info);
void ExportKey(const Args& info);
void ExportJwk(const Args& info);
void KeyDetails(const Args& info);
void Sign(const Args& info);
void Verify(const Args& info);
void RsaOaep(const Args& info);
void DeriveShared(const Args& info);

}  // namespace cosmo::v8engine::crypto

#endif  // COSMO_ENGINE_V8_CRYPTO_CRYPTO_NATIVES_H_
