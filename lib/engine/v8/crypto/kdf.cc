// HKDF (RFC 5869) and PBKDF2 (RFC 8018), both on HMAC.
//
// PBKDF2 runs as a job the JavaScript layer advances a bounded number of iterations at a time:
// between steps control returns to JavaScript, where the CPU watchdog's termination takes effect,
// so a huge iteration count ends at the request's CPU limit instead of running to completion.
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

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

struct MacFree {
  void operator()(EVP_MAC* p) const { EVP_MAC_free(p); }
};
struct MacCtxFree {
  void operator()(EVP_MAC_CTX* p) const { EVP_MAC_CTX_free(p); }
};
using MacCtxPtr = std::unique_ptr<EVP_MAC_CTX, MacCtxFree>;

// An HMAC context keyed with `key` (which may be empty); null on failure.
MacCtxPtr NewHmac(const EVP_MD* md, const uint8_t* key, size_t key_size) {
  std::unique_ptr<EVP_MAC, MacFree> mac(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
  if (mac == nullptr) return nullptr;
  MacCtxPtr ctx(EVP_MAC_CTX_new(mac.get()));
  if (ctx == nullptr) return nullptr;
  static const unsigned char kEmpty = 0;
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(
                             OSSL_MAC_PARAM_DIGEST, const_cast<char*>(EVP_MD_get0_name(md)), 0),
                         OSSL_PARAM_construct_end()};
  if (EVP_MAC_init(ctx.get(), key_size == 0 ? &kEmpty : key, key_size, params) != 1) {
    return nullptr;
  }
  return ctx;
}

// One MAC over `a` then `b` with the context's key; re-initialising keeps the key.
bool Mac(EVP_MAC_CTX* ctx, const uint8_t* a, size_t a_size, const uint8_t* b, size_t b_size,
         uint8_t* out, size_t out_size) {
  size_t written = 0;
  return EVP_MAC_init(ctx, nullptr, 0, nullptr) == 1 &&
         (a_size == 0 || EVP_MAC_update(ctx, a, a_size) == 1) &&
         (b_size == 0 || EVP_MAC_update(ctx, b, b_size) == 1) &&
         EVP_MAC_final(ctx, out, &written, out_size) == 1 && written == out_size;
}

constexpr uint32_t kPbkdf2Magic = 0x70626b64;  // "pbkd"

struct Pbkdf2Job {
  uint32_t magic = kPbkdf2Magic;
  MacCtxPtr hmac;
  size_t hash_size = 0;
  std::vector<uint8_t> salt;
  uint64_t iterations = 0;
  size_t length = 0;  // bytes wanted
  std::vector<uint8_t> out;
  // Progress: the block being computed (1-based), its iterations done, U_j and T.
  uint32_t block = 0;
  uint64_t done = 0;
  std::vector<uint8_t> u, t;

  ~Pbkdf2Job() {
    OPENSSL_cleanse(out.data(), out.size());
    OPENSSL_cleanse(u.data(), u.size());
    OPENSSL_cleanse(t.data(), t.size());
    magic = 0;
  }
};

void DeleteJob(void* /*data*/, size_t /*length*/, void* deleter_data) {
  delete static_cast<Pbkdf2Job*>(deleter_data);
}

Pbkdf2Job* JobOf(v8::Isolate* isolate, v8::Local<v8::Value> handle) {
  auto* job = static_cast<Pbkdf2Job*>(HandleData(handle));
  if (job != nullptr && job->magic == kPbkdf2Magic) return job;
  ThrowTypeError(isolate, "crypto: not a PBKDF2 job");
  return nullptr;
}

// Advances `job` by at most `budget` iterations; true when it made progress without failing.
bool Advance(Pbkdf2Job* job, uint64_t budget) {
  const size_t h = job->hash_size;
  while (budget > 0 && job->out.size() < job->length) {
    if (job->done == 0) {
      ++job->block;
      const uint8_t index[4] = {
          static_cast<uint8_t>(job->block >> 24), static_cast<uint8_t>(job->block >> 16),
          static_cast<uint8_t>(job->block >> 8), static_cast<uint8_t>(job->block)};
      job->u.assign(h, 0);
      if (!Mac(job->hmac.get(), job->salt.data(), job->salt.size(), index, 4, job->u.data(), h)) {
        return false;
      }
      job->t = job->u;
      job->done = 1;
      --budget;
    }
    while (budget > 0 && job->done < job->iterations) {
      if (!Mac(job->hmac.get(), job->u.data(), h, nullptr, 0, job->u.data(), h)) return false;
      for (size_t i = 0; i < h; ++i) job->t[i] ^= job->u[i];
      ++job->done;
      --budget;
    }
    if (job->done == job->iterations) {
      const size_t take = std::min(h, job->length - job->out.size());
      job->out.insert(job->out.end(), job->t.begin(), job->t.begin() + take);
      job->done = 0;
    }
  }
  return true;
}

}  // namespace

void Hkdf(const Args& info) {
  v8::Isolate* isolate = info.GetIsolate();
  const EVP_MD* md = DigestByName(isolate, ArgString(isolate, info[0]));
  if (md == nullptr) return;
  KeyData* key = KeyData::FromHandle(isolate, info[1]);
  Bytes salt, data_info;
  if (key == nullptr || !ArgBytes(isolate, info[2], "salt", &salt) ||
      !ArgBytes(isolate, info[3], "info", &data_info)) {
    return;
  }
  if (!key->is_secret()) return ThrowTypeError(isolate, "crypto: not a secret key");
  const double wanted = info[4]->NumberValue(isolate->GetCurrentContext()).FromMaybe(-1);
  const size_t h = static_cast<size_t>(EVP_MD_get_size(md));
  if (wanted < 0 || wanted > 255.0 * static_cast<double>(h)) {
    return ThrowOperationError(isolate, "The requested HKDF length is too long for the hash");
  }
  const size_t length = static_cast<size_t>(wanted);
  // Extract: PRK = HMAC(salt, IKM). Expand: T(i) = HMAC(PRK, T(i-1) || info || i).
  std::vector<uint8_t> prk(h), out, block(h);
  MacCtxPtr extract = NewHmac(md, salt.data, salt.size);
  const std::vector<uint8_t>& ikm = key->secret();
  if (extract == nullptr ||
      !Mac(extract.get(), ikm.data(), ikm.size(), nullptr, 0, prk.data(), h)) {
    return ThrowOperationError(isolate, "HKDF failed");
  }
  MacCtxPtr expand = NewHmac(md, prk.data(), h);
  OPENSSL_cleanse(prk.data(), prk.size());
  if (expand == nullptr) return ThrowOperationError(isolate, "HKDF failed");
  std::vector<uint8_t> input;
  for (uint32_t i = 1; out.size() < length; ++i) {
    input.clear();
    if (i > 1) input.insert(input.end(), block.begin(), block.end());
    input.insert(input.end(), data_info.data, data_info.data + data_info.size);
    input.push_back(static_cast<uint8_t>(i));
    if (!Mac(expand.get(), input.data(), input.size(), nullptr, 0, block.data(), h)) {
      return ThrowOperationError(isolate, "HKDF failed");
    }
    out.insert(out.end(), block.begin(), block.begin() + std::min(h, length - out.size()));
  }
  v8::Local<v8::ArrayBuffer> result;
  if (NewOutputCopy(isolate, out.data(), out.size()).ToLocal(&result)) {
    info.GetReturnValue().Set(result);
  }
  OPENSSL_cleanse(out.data(), out.size());
  OPENSSL_cleanse(block.data(), block.size());
}

void Pbkdf2New(const Args& info) {
  v8::Isolate* isolate = info.GetIsolate();
  v8::Local<v8::Context> context = isolate->GetCurrentContext();
  const EVP_MD* md = DigestByName(isolate, ArgString(isolate, info[0]));
  if (md == nullptr) return;
  KeyData* key = KeyData::FromHandle(isolate, info[1]);
  Bytes salt;
  if (key == nullptr || !ArgBytes(isolate, info[2], "salt", &salt)) return;
  if (!key->is_secret()) return ThrowTypeError(isolate, "crypto: not a secret key");
  const double iterations = info[3]->NumberValue(context).FromMaybe(0);
  const double length = info[4]->NumberValue(context).FromMaybe(-1);
  if (!(iterations >= 1) || iterations > 9007199254740991.0) {
    return ThrowOperationError(isolate, "PBKDF2 iterations must be at least 1");
  }
  if (!(length >= 0) || length > 4294967295.0) {
    return ThrowOperationError(isolate, "The requested PBKDF2 length is out of range");
  }
  auto job = std::make_unique<Pbkdf2Job>();
  job->hash_size = static_cast<size_t>(EVP_MD_get_size(md));
  job->hmac = NewHmac(md, key->secret().data(), key->secret().size());
  if (job->hmac == nullptr) return ThrowOperationError(isolate, "PBKDF2 failed");
  job->salt.assign(salt.data, salt.data + salt.size);
  job->iterations = static_cast<uint64_t>(iterations);
  job->length = static_cast<size_t>(length);
  job->out.reserve(job->length);
  Pbkdf2Job* raw = job.release();
  info.GetReturnValue().Set(NewHandleOwning(isolate, raw, DeleteJob));
}

void Pbkdf2Run(const Args& info) {
  v8::Isolate* isolate = info.GetIsolate();
  Pbkdf2Job* job = JobOf(isolate, info[0]);
  if (job == nullptr) return;
  const double budget = info[1]->NumberValue(isolate->GetCurrentContext()).FromMaybe(0);
  if (!Advance(job, budget < 1 ? 1 : static_cast<uint64_t>(budget))) {
    return ThrowOperationError(isolate, "PBKDF2 failed");
  }
  if (job->out.size() < job->length) return;
  v8::Local<v8::ArrayBuffer> result;
  if (NewOutputCopy(isolate, job->out.data(), job->out.size()).ToLocal(&result)) {
    info.GetReturnValue().Set(result);
  }
}

}  // namespace cosmo::v8engine::crypto
