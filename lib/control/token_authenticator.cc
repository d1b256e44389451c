#include "control/token_authenticator.h"

#include <fstream>
#include <sstream>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "cosmo/manifest.h"
#include "cosmo/registry.h"

namespace cosmo::control {
namespace {

bool IsHexDigest(absl::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

}  // namespace

std::unique_ptr<TokenAuthenticator> TokenAuthenticator::AllowAllLocal() {
  return std::unique_ptr<TokenAuthenticator>(new TokenAuthenticator(false, {}));
}

absl::StatusOr<std::unique_ptr<TokenAuthenticator>> TokenAuthenticator::FromText(
    absl::string_view text, absl::string_view source) {
  absl::flat_hash_map<std::string, std::string> tenant_by_hash;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    if (size_t hash_pos = line.find('#'); hash_pos != absl::string_view::npos) {
      line = line.substr(0, hash_pos);
    }
    std::vector<absl::string_view> fields =
        absl::StrSplit(line, absl::ByAnyChar(" \t\r"), absl::SkipEmpty());
    if (fields.empty()) continue;
    const std::string where = absl::StrCat(source, ":", line_number, ": ");
    if (fields.size() != 2) {
      return absl::InvalidArgumentError(absl::StrCat(
          where,
          "expected `TENANT SHA256_HEX_OF_TOKEN` (make one with `cosmoctl token new TENANT`)"));
    }
    if (!IsValidTenantName(fields[0])) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, "tenant \"", fields[0], "\" must match ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"));
    }
    if (!IsHexDigest(fields[1])) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, "the second field must be the 64-hex-digit SHA-256 of the token, not the token"));
    }
    std::string hash = absl::AsciiStrToLower(fields[1]);
    if (!tenant_by_hash.emplace(std::move(hash), std::string(fields[0])).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, "this token hash is already listed on an earlier line"));
    }
  }
  return std::unique_ptr<TokenAuthenticator>(
      new TokenAuthenticator(true, std::move(tenant_by_hash)));
}

absl::StatusOr<std::unique_ptr<TokenAuthenticator>> TokenAuthenticator::FromFile(
    const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat("cannot read tokens file ", path, " (--auth-tokens-file)"));
  }
  std::stringstream contents;
  contents << in.rdbuf();
  return FromText(contents.str(), path);
}

absl::StatusOr<std::string> TokenAuthenticator::Authenticate(
    absl::string_view authorization) const {
  if (!requires_tokens_) return std::string(kLocalTenant);
  if (authorization.empty()) {
    return absl::UnauthenticatedError(
        "missing `authorization: Bearer TOKEN` metadata (cosmoctl: --token or COSMO_TOKEN)");
  }
  constexpr absl::string_view kBearer = "Bearer ";
  if (authorization.size() <= kBearer.size() ||
      !absl::EqualsIgnoreCase(authorization.substr(0, kBearer.size()), kBearer)) {
    return absl::UnauthenticatedError("authorization metadata must be `Bearer TOKEN`");
  }
  absl::string_view token = absl::StripAsciiWhitespace(authorization.substr(kBearer.size()));
  auto it = tenant_by_hash_.find(Sha256Hex(token));
  if (it == tenant_by_hash_.end()) {
    return absl::UnauthenticatedError(
        "unknown token; ask the operator to add its tokens-file line");
  }
  return it->second;
}

absl::Status TokenAuthenticator::AuthenticateGateway(absl::string_view authorization) const {
  absl::StatusOr<std::string> tenant = Authenticate(authorization);
  if (!tenant.ok()) return tenant.status();
  if (!requires_tokens_ || *tenant == kGatewayTenant) return absl::OkStatus();
  return absl::PermissionDeniedError(
      absl::StrCat("the gateway services need a token of tenant '", kGatewayTenant,
                   "' (cosmoctl token new ", kGatewayTenant,
                   ", then cosmo-gateway --token); "
                   "tenant '",
                   *tenant, "' may use cosmo.v1.Control and cosmo.v1.Kv"));
}

}  // namespace cosmo::control
