// The certificate authorities https fetches trust, parsed once per engine.
//
// libcurl, left to itself, reads and parses the CA bundle for every new TLS context: the system
// bundle's 144 certificates cost about 16 ms of CPU, on the requesting thread, so against the
// script's CPU limit (50 ms by default) on every request that fetches over https. A TrustStore
// parses the bundle once; each connection's TLS context takes a reference to it instead
// (HttpClient, through CURLOPT_SSL_CTX_FUNCTION).
//
// Thread-safe: the store is not changed after Load(), and OpenSSL's X509_STORE locks its own
// lookups, so TLS contexts on any thread may share it.
#ifndef COSMO_ENGINE_V8_FETCH_TRUST_STORE_H_
#define COSMO_ENGINE_V8_FETCH_TRUST_STORE_H_

#include <openssl/types.h>

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace cosmo::v8engine {

class TrustStore {
 public:
  // Parses the PEM bundle at `ca_file`, or when empty OpenSSL's default locations (the system
  // store, /etc/ssl/certs; SSL_CERT_FILE and SSL_CERT_DIR override them). INVALID_ARGUMENT names
  // a `ca_file` that cannot be read or holds no certificate.
  static absl::StatusOr<std::shared_ptr<const TrustStore>> Load(const std::string& ca_file);

  ~TrustStore();
  TrustStore(const TrustStore&) = delete;
  TrustStore& operator=(const TrustStore&) = delete;

  // The parsed store; valid for the TrustStore's lifetime. Callers take their own reference
  // (SSL_CTX_set1_cert_store) rather than modify it.
  X509_STORE* get() const { return store_; }

  // How many stores were loaded, process-wide since start (for tests).
  static uint64_t loads();

 private:
  explicit TrustStore(X509_STORE* store) : store_(store) {}
  X509_STORE* const store_;
};

}  // namespace cosmo::v8engine

#endif  // COSMO_ENGINE_V8_FETCH_TRUST_STORE_H_
