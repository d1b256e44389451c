#include "control/token_authenticator.h"

#include "absl/strings/str_cat.h"
#include "cosmo/manifest.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cosmo::control {
namespace {

using ::testing::HasSubstr;

TEST(TokenAuthenticatorTest, MapsBearerTokensToTenantsByTheirHash) {
  const std::string text = absl::StrCat("# tenants\n\n", "alice ", Sha256Hex("a-token"),
                                        "   # first\n", "bob\t", Sha256Hex("b-token"), "\r\n");
  auto auth = TokenAuthenticator::FromText(text, "tokens");
  ASSERT_TRUE(auth.ok()) << auth.status();
  EXPECT_TRUE((*auth)->requires_tokens());
  EXPECT_EQ((*auth)->tenant_tokens(), 2u);
  EXPECT_EQ(*(*auth)->Authenticate("Bearer a-token"), "alice");
  EXPECT_EQ(*(*auth)->Authenticate("bearer b-token"), "bob");
  EXPECT_EQ((*auth)->Authenticate("").status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ((*auth)->Authenticate("Bearer c-token").status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ((*auth)->Authenticate("Basic a-token").status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ((*auth)->Authenticate("Bearer ").status().code(), absl::StatusCode::kUnauthenticated);
  // The hash itself is not a token.
  EXPECT_EQ((*auth)->Authenticate("Bearer " + Sha256Hex("a-token")).status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST(TokenAuthenticatorTest, UppercaseHashesAreAccepted) {
  std::string hash = Sha256Hex("t");
  for (char& c : hash) c = static_cast<char>(std::toupper(c));
  auto auth = TokenAuthenticator::FromText("ops " + hash + "\n", "tokens");
  ASSERT_TRUE(auth.ok()) << auth.status();
  EXPECT_EQ(*(*auth)->Authenticate("Bearer t"), "ops");
}

TEST(TokenAuthenticatorTest, MalformedLinesAreRejectedNamingFileAndLine) {
  const std::string good = "alice " + Sha256Hex("x") + "\n";
  struct Case {
    std::string text;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {good + "bob\n", "tokens:2: expected `TENANT SHA256_HEX_OF_TOKEN`"},
           {good + "bob a b\n", "tokens:2:"},
           {"bob my-secret-token\n", "tokens:1: the second field must be the 64-hex-digit"},
           {"-bad " + Sha256Hex("y") + "\n", "tokens:1: tenant \"-bad\""},
           {good + "bob " + Sha256Hex("x") + "\n", "tokens:2: this token hash is already listed"},
       }) {
    auto auth = TokenAuthenticator::FromText(c.text, "tokens");
    EXPECT_EQ(auth.status().code(), absl::StatusCode::kInvalidArgument) << c.text;
    EXPECT_THAT(auth.status().message(), HasSubstr(c.message)) << c.text;
  }
}

TEST(TokenAuthenticatorTest, AnEmptyFileAcceptsNobody) {
  auto auth = TokenAuthenticator::FromText("# nobody yet\n", "tokens");
  ASSERT_TRUE(auth.ok());
  EXPECT_EQ((*auth)->Authenticate("Bearer anything").status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST(TokenAuthenticatorTest, WithoutATokensFileEveryCallerIsLocal) {
  auto auth = TokenAuthenticator::AllowAllLocal();
  EXPECT_FALSE(auth->requires_tokens());
  EXPECT_EQ(*auth->Authenticate(""), "local");
  EXPECT_EQ(*auth->Authenticate("Bearer whatever"), "local");
}

TEST(TokenAuthenticatorTest, OnlyGatewayTokensMayUseTheGatewayServices) {
  const std::string text =
      absl::StrCat("alice ", Sha256Hex("a-token"), "\n", "gateway ", Sha256Hex("g-token"), "\n");
  auto auth = TokenAuthenticator::FromText(text, "tokens");
  ASSERT_TRUE(auth.ok()) << auth.status();
  EXPECT_TRUE((*auth)->AuthenticateGateway("Bearer g-token").ok());
  absl::Status tenant = (*auth)->AuthenticateGateway("Bearer a-token");
  EXPECT_EQ(tenant.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(tenant.message(), HasSubstr("cosmoctl token new gateway"));
  EXPECT_THAT(tenant.message(), HasSubstr("'alice'"));
  EXPECT_EQ((*auth)->AuthenticateGateway("Bearer x-token").code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ((*auth)->AuthenticateGateway("").code(), absl::StatusCode::kUnauthenticated);
  // Without a tokens file (loopback only) every caller may.
  EXPECT_TRUE(TokenAuthenticator::AllowAllLocal()->AuthenticateGateway("").ok());
}

TEST(TokenAuthenticatorTest, AMissingFileIsNotFoundNamingTheFlag) {
  auto auth = TokenAuthenticator::FromFile("/nonexistent/cosmo-tokens");
  EXPECT_EQ(auth.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(auth.status().message(), HasSubstr("--auth-tokens-file"));
}

}  // namespace
}  // namespace cosmo::control
