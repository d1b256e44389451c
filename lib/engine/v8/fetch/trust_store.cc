#include "engine/v8/fetch/trust_store.h"

#include <openssl/err.h>
#include <openssl/x509_vfy.h>

#include <atomic>

#include "absl/strings/str_cat.h"

namespace cosmo::v8engine {
namespace {

std::atomic<uint64_t> g_loads{0};

// OpenSSL's oldest queued error as text, and the queue cleared.
std::string OpenSslError() {
  const unsigned long code = ERR_get_error();  // NOLINT(runtime/int): OpenSSL's type
  ERR_clear_error();
  if (code == 0) return "no certificate found";
  char text[256];
  ERR_error_string_n(code, text, sizeof(text));
  return text;
}

}  // namespace

absl::StatusOr<std::shared_ptr<const TrustStore>> TrustStore::Load(const std::string& ca_file) {
  X509_STORE* store = X509_STORE_new();
  if (store == nullptr)
    return absl::ResourceExhaustedError("fetch: out of memory for the CA store");
  const int loaded = ca_file.empty() ? X509_STORE_set_default_paths(store)
                                     : X509_STORE_load_file(store, ca_file.c_str());
  if (loaded != 1) {
    const std::string why = OpenSslError();
    X509_STORE_free(store);
    return absl::InvalidArgumentError(
        ca_file.empty() ? absl::StrCat("fetch: cannot load the system CA store: ", why)
                        : absl::StrCat("fetch_ca_file: cannot load CA certificates from '", ca_file,
                                       "': ", why, " (expected a PEM file of certificates)"));
  }
  g_loads.fetch_add(1, std::memory_order_relaxed);
  return std::shared_ptr<const TrustStore>(new TrustStore(store));
}

TrustStore::~TrustStore() { X509_STORE_free(store_); }

uint64_t TrustStore::loads() { return g_loads.load(std::memory_order_relaxed); }

}  // namespace cosmo::v8engine
