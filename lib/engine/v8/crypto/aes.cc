// AES-CBC, AES-CTR, AES-GCM and AES-KW (WebCrypto §§ 26-29) over OpenSSL's EVP ciphers.
#include <openssl/evp.h>

#include <cstring>
#include <string>
#include <vector>

#include "engine/v8/crypto/crypto_natives.h"
#include "engine/v8/crypto/crypto_util.h"
#include "engine/v8/crypto/key_data.h"
#include "engine/v8/v8_util.h"

namespace cosmo::v8engine::crypto {
namespace {

const EVP_CIPHER* CipherFor(const std::string& mode, size_t key_bytes) {
  const int bits = static_cast<int>(key_bytes * 8);
  if (mode == "AES-CBC") {
    return bits == 128   ? EVP_aes_128_cbc()
           : bits == 192 ? EVP_aes_192_cbc()
           : bits == 256 ? EVP_aes_256_cbc()
                         : nullptr;
  }
  if (mode == "AES-CTR") {
    return bits == 128   ? EVP_aes_128_ctr()
           : bits == 192 ? EVP_aes_192_ctr()
           : bits == 256 ? EVP_aes_256_ctr()
                         : nullptr;
  }
  if (mode == "AES-GCM") {
    return bits == 128   ? EVP_aes_128_gcm()
           : bits == 192 ? EVP_aes_192_gcm()
           : bits == 256 ? EVP_aes_256_gcm()
                         : nullptr;
  }
  if (mode == "AES-KW") {
    return bits == 128   ? EVP_aes_128_wrap()
           : bits == 192 ? EVP_aes_192_wrap()
           : bits == 256 ? EVP_aes_256_wrap()
                         : nullptr;
  }
  return nullptr;
}

// Runs `ctx` (initialised) over `in`, appending to *out. False on failure.
bool Update(EVP_CIPHER_CTX* ctx, const uint8_t* in, size_t size, std::vector<uint8_t>* out) {
  constexpr size_t kChunk = size_t{1} << 30;  // EVP counts in int
  size_t done = 0;
  do {
    const int n = static_cast<int>(std::min(size - done, kChunk));
    const size_t at = out->size();
    out->resize(at + static_cast<size_t>(n) + EVP_MAX_BLOCK_LENGTH);
    int written = 0;
    if (EVP_CipherUpdate(ctx, out->data() + at, &written, in + done, n) != 1) return false;
    out->resize(at + static_cast<size_t>(written));
    done += static_cast<size_t>(n);
  } while (done < size);
  return true;
}

bool Final(EVP_CIPHER_CTX* ctx, std::vector<uint8_t>* out) {
  const size_t at = out->size();
  out->resize(at + EVP_MAX_BLOCK_LENGTH);
  int written = 0;
  if (EVP_CipherFinal_ex(ctx, out->data() + at, &written) != 1) return false;
  out->resize(at + static_cast<size_t>(written));
  return true;
}

bool Init(EVP_CIPHER_CTX* ctx, const EVP_CIPHER* cipher, const std::vector<uint8_t>& key,
          const uint8_t* iv, bool encrypt) {
  return EVP_CipherInit_ex(ctx, cipher, nullptr, key.data(), iv, encrypt ? 1 : 0) == 1;
}

// AES-CTR whose counter is the low `counter_bits` of the block: OpenSSL increments all 128 bits,
// so the input is split where those bits wrap back to zero.
bool Ctr(const EVP_CIPHER* cipher, const std::vector<uint8_t>& key, const uint8_t* counter_block,
         int counter_bits, bool encrypt, const Bytes& data, std::vector<uint8_t>* out,
         std::string* error) {
  uint8_t block[16];
  std::memcpy(block, counter_block, 16);
  const size_t blocks = (data.size + 15) / 16;
  // Blocks left before the counter wraps: 2^bits - counter.
  unsigned __int128 counter = 0;
  for (int i = 0; i < 16; ++i) counter = (counter << 8) | block[i];
  const unsigned __int128 mask = counter_bits >= 128
                                     ? ~static_cast<unsigned __int128>(0)
                                     : ((static_cast<unsigned __int128>(1) << counter_bits) - 1);
  const unsigned __int128 low = counter & mask;
  const unsigned __int128 space = mask - low + 1;  // 0 means 2^128 (no limit)
  if (counter_bits < 128 && static_cast<unsigned __int128>(blocks) > mask + 1) {
    *error = "The counter would repeat for input of this length";
    return false;
  }
  size_t first_bytes = data.size;
  if (space != 0 && static_cast<unsigned __int128>(blocks) > space) {
    first_bytes = static_cast<size_t>(space) * 16;
  }
  CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  if (ctx == nullptr || !Init(ctx.get(), cipher, key, block, encrypt) ||
      !Update(ctx.get(), data.data, first_bytes, out) || !Final(ctx.get(), out)) {
    return false;
  }
  if (first_bytes < data.size) {
    const unsigned __int128 wrapped = counter & ~mask;
    for (int i = 15; i >= 0; --i) block[15 - i] = static_cast<uint8_t>(wrapped >> (8 * i));
    ctx.reset(EVP_CIPHER_CTX_new());
    if (ctx == nullptr || !Init(ctx.get(), cipher, key, block, encrypt) ||
        !Update(ctx.get(), data.data + first_bytes, data.size - first_bytes, out) ||
        !Final(ctx.get(), out)) {
      return false;
    }
  }
  return true;
}

bool Gcm(const EVP_CIPHER* cipher, const std::vector<uint8_t>& key, const Bytes& iv, int tag_bits,
         const Bytes& aad, bool encrypt, const Bytes& data, std::vector<uint8_t>* out,
         std::string* error) {
  const size_t tag_bytes = static_cast<size_t>(tag_bits) / 8;
  Bytes text = data;
  if (!encrypt) {
    if (data.size < tag_bytes) {
      *error = "The ciphertext is shorter than the authentication tag";
      return false;
    }
    text.size -= tag_bytes;
  }
  CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  if (ctx == nullptr || iv.size == 0 ||
      EVP_CipherInit_ex(ctx.get(), cipher, nullptr, nullptr, nullptr, encrypt ? 1 : 0) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(iv.size), nullptr) !=
          1 ||
      EVP_CipherInit_ex(ctx.get(), nullptr, nullptr, key.data(), iv.data, -1) != 1) {
    return false;
  }
  if (aad.size > 0) {
    int ignored = 0;
    size_t done = 0;
    while (done < aad.size) {
      const int n = static_cast<int>(std::min<size_t>(aad.size - done, size_t{1} << 30));
      if (EVP_CipherUpdate(ctx.get(), nullptr, &ignored, aad.data + done, n) != 1) return false;
      done += static_cast<size_t>(n);
    }
  }
  if (text.size > 0 && !Update(ctx.get(), text.data, text.size, out)) return false;
  if (!encrypt) {
    std::vector<uint8_t> tag(text.data + text.size, text.data + text.size + tag_bytes);
    if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(tag_bytes),
                            tag.data()) != 1) {
      return false;
    }
    if (!Final(ctx.get(), out)) {
      *error = "The authentication tag does not match";
      return false;
    }
    return true;
  }
  if (!Final(ctx.get(), out)) return false;
  const size_t at = out->size();
  out->resize(at + tag_bytes);
  return EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(tag_bytes),
                             out->data() + at) == 1;
}

}  // namespace

void Aes(const Args& info) {
  v8::Isolate* isolate = info.GetIsolate();
  v8::Local<v8::Context> context = isolate->GetCurrentContext();
  const std::string mode = ArgString(isolate, info[0]);
  const bool encrypt = info[1]->IsTrue();
  KeyData* key = KeyData::FromHandle(isolate, info[2]);
  if (key == nullptr) return;
  if (!key->is_secret()) return ThrowTypeError(isolate, "crypto: not a secret key");
  Bytes data, iv, aad;
  if (!ArgBytes(isolate, info[3], "data", &data)) return;
  if (!info[4]->IsUndefined() && !ArgBytes(isolate, info[4], "iv", &iv)) return;
  const int param = info[5]->Int32Value(context).FromMaybe(0);
  if (!info[6]->IsUndefined() && !ArgBytes(isolate, info[6], "additionalData", &aad)) return;
  const EVP_CIPHER* cipher = CipherFor(mode, key->secret().size());
  if (cipher == nullptr) return ThrowOperationError(isolate, "Unsupported AES key length or mode");

  std::vector<uint8_t> out;
  std::string error;
  bool ok = false;
  if (mode == "AES-CBC") {
    if (iv.size != 16) return ThrowOperationError(isolate, "The iv must be 16 bytes");
    CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
    ok = ctx != nullptr && Init(ctx.get(), cipher, key->secret(), iv.data, encrypt) &&
         Update(ctx.get(), data.data, data.size, &out) && Final(ctx.get(), &out);
    if (!ok && !encrypt) error = "The data could not be decrypted (bad padding or length)";
  } else if (mode == "AES-CTR") {
    if (iv.size != 16) return ThrowOperationError(isolate, "The counter must be 16 bytes");
    if (param < 1 || param > 128) {
      return ThrowOperationError(isolate, "The counter length must be 1 to 128 bits");
    }
    ok = Ctr(cipher, key->secret(), iv.data, param, encrypt, data, &out, &error);
  } else if (mode == "AES-GCM") {
    ok = Gcm(cipher, key->secret(), iv, param, aad, encrypt, data, &out, &error);
  } else {  // AES-KW
    if (data.size % 8 != 0 || data.size < (encrypt ? 16u : 24u)) {
      return ThrowOperationError(isolate,
                                 "AES-KW data must be a multiple of 8 bytes and at least 16");
    }
    CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
    if (ctx != nullptr) EVP_CIPHER_CTX_set_flags(ctx.get(), EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
    ok = ctx != nullptr && Init(ctx.get(), cipher, key->secret(), nullptr, encrypt) &&
         Update(ctx.get(), data.data, data.size, &out) && Final(ctx.get(), &out);
    if (!ok && !encrypt) error = "The wrapped key could not be unwrapped (integrity check failed)";
  }
  if (!ok) {
    return ThrowOperationError(isolate,
                               error.empty() ? "The cipher operation failed" : error.c_str());
  }
  v8::Local<v8::ArrayBuffer> result;
  if (NewOutputCopy(isolate, out.data(), out.size()).ToLocal(&result)) {
    info.GetReturnValue().Set(result);
  }
}

}  // namespace cosmo::v8engine::crypto
