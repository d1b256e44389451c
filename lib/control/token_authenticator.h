// Maps bearer tokens to tenants, from a tokens file that never holds a token.
//
// The file has one `TENANT SHA256_HEX_OF_TOKEN` per line; `#` starts a comment, blank lines are
// ignored (docs/security.md, "Control plane"). A caller presents `authorization: Bearer <token>`;
// the token's SHA-256 is looked up. Without a tokens file (Open-less construction) every caller is
// the tenant "local".
//
// Immutable after construction; thread-safe.
#ifndef COSMO_LIB_CONTROL_TOKEN_AUTHENTICATOR_H_
#define COSMO_LIB_CONTROL_TOKEN_AUTHENTICATOR_H_

#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace cosmo::control {

class TokenAuthenticator {
 public:
  // The tenant of every caller when the server has no tokens file.
  static constexpr absl::string_view kLocalTenant = "local";
  // The tenant whose tokens cosmo-gateway presents: with a tokens file, only its tokens may use
  // the gateway services, which read every tenant's code, env and KV data.
  static constexpr absl::string_view kGatewayTenant = "gateway";

  // Accepts every caller as kLocalTenant.
  static std::unique_ptr<TokenAuthenticator> AllowAllLocal();

  // Parses a tokens file's contents. INVALID_ARGUMENT names `source` and the line on a malformed
  // line, a bad tenant name, a hash that is not 64 hex digits, or a hash listed twice.
  static absl::StatusOr<std::unique_ptr<TokenAuthenticator>> FromText(absl::string_view text,
                                                                      absl::string_view source);

  // Reads and parses the tokens file at `path` (NOT_FOUND / INVALID_ARGUMENT naming it).
  static absl::StatusOr<std::unique_ptr<TokenAuthenticator>> FromFile(const std::string& path);

  // The tenant of a caller whose `authorization` metadata is `authorization` (empty when absent).
  // UNAUTHENTICATED when it is missing, not a bearer token, or unknown.
  absl::StatusOr<std::string> Authenticate(absl::string_view authorization) const;

  // OK when the caller may use the gateway services (cosmo.v1.GatewaySync, cosmo.v1.GatewayKv):
  // any caller without a tokens file (loopback only), else a token of kGatewayTenant.
  // UNAUTHENTICATED as Authenticate(); PERMISSION_DENIED for another tenant's token.
  absl::Status AuthenticateGateway(absl::string_view authorization) const;

  // Whether tokens are checked (false for AllowAllLocal()).
  bool requires_tokens() const { return requires_tokens_; }
  size_t tenant_tokens() const { return tenant_by_hash_.size(); }

 private:
  TokenAuthenticator(bool requires_tokens,
                     absl::flat_hash_map<std::string, std::string> tenant_by_hash)
      : requires_tokens_(requires_tokens), tenant_by_hash_(std::move(tenant_by_hash)) {}

  const bool requires_tokens_;
  // Lowercase hex SHA-256 of a token -> tenant.
  const absl::flat_hash_map<std::string, std::string> tenant_by_hash_;
};

}  // namespace cosmo::control

#endif  // COSMO_LIB_CONTROL_TOKEN_AUTHENTICATOR_H_
