// examples/jwt-auth/index.js in the real engine: HS256 and ES256 tokens made offline with keys the
// test gives the family's env, checked for acceptance and for each way a token must be refused.
#include <map>
#include <memory>
#include <string>

#include "engine_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "support/files.h"

namespace cosmo::v8engine {
namespace {

using ::cosmo::v8engine::testing::Get;
using ::cosmo::v8engine::testing::MustStart;
using ::testing::HasSubstr;

constexpr char kSecret[] = "test-secret-for-jwt-auth";
// The public half of the P-256 key the ES256 token below was signed with.
constexpr char kEs256Jwk[] =
    R"({"kty":"EC","crv":"P-256","x":"Rxw-dYxJBChbun5TEY7Q9SSt6wdX0lvS-Oew1236cUw",)"
    R"("y":"3VIPesqKi5F6zDf1HejwybvjrYWDgucC3CWhLQn3qFg"})";
// {"sub":"alice","exp":4102444800} with HS256 under kSecret.
constexpr char kHs256Token[] =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0."
    "Az_Ubc0TKBfNIfwPoaAwo-HR3aDuBW0DOM0kyz2dPqg";
// {"sub":"bob","exp":4102444800} with ES256.
constexpr char kEs256Token[] =
    "eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJib2IiLCJleHAiOjQxMDI0NDQ4MDB9."
    "fgY2nbIL2mQ_zIZrl2TFe3wii8bXpA3FhjXbQzgCp-T2mGqdcBDFSGZ-DZIlm9DNRBg5u77wHgCznDOym0HB-g";
// {"sub":"alice","exp":1000000000} (2001) with HS256 under kSecret.
constexpr char kExpiredToken[] =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6MTAwMDAwMDAwMH0."
    "ZavxTy-U0PCRRep-qEoBtGjiS2gyHlXUHn1tg0Aiqq4";

class JwtAuthExampleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto source = ::cosmo::testing::ReadFile(COSMO_SOURCE_DIR "/examples/jwt-auth/index.js");
    ASSERT_TRUE(source.ok()) << source.status();
    instance_ = MustStart(*source, {},
                          {{"JWT_HS256_SECRET", kSecret}, {"JWT_ES256_PUBLIC_JWK", kEs256Jwk}});
    ASSERT_NE(instance_, nullptr);
  }

  InvokeResult Me(const std::string& authorization) {
    HttpRequest request = Get("http://127.0.0.1:8080/jwt-auth/me");
    if (!authorization.empty()) request.headers.emplace_back("Authorization", authorization);
    return instance_->Invoke(request);
  }

  std::unique_ptr<Instance> instance_;
};

TEST_F(JwtAuthExampleTest, AcceptsValidHs256AndEs256Tokens) {
  InvokeResult hs = Me(std::string("Bearer ") + kHs256Token);
  EXPECT_EQ(hs.response.status, 200) << hs.response.body << hs.error;
  EXPECT_EQ(hs.response.body, R"({"alg":"HS256","claims":{"sub":"alice","exp":4102444800}})");
  InvokeResult es = Me(std::string("Bearer ") + kEs256Token);
  EXPECT_EQ(es.response.status, 200) << es.response.body << es.error;
  EXPECT_EQ(es.response.body, R"({"alg":"ES256","claims":{"sub":"bob","exp":4102444800}})");
}

TEST_F(JwtAuthExampleTest, RefusesBadTokensWith401) {
  std::string tampered = kHs256Token;
  tampered[tampered.size() - 2] = tampered[tampered.size() - 2] == 'A' ? 'B' : 'A';
  std::string es_tampered = kEs256Token;
  es_tampered[es_tampered.size() - 3] = es_tampered[es_tampered.size() - 3] == 'A' ? 'B' : 'A';
  // An unsigned token ({"alg":"none"}) carrying the HS256 token's claims.
  const std::string none = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.";
  // The ES256 header on the HS256 token's claims and MAC: the key type must follow the header.
  const std::string confused =
      std::string("eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9.") +
      std::string(kHs256Token).substr(std::string(kHs256Token).find('.') + 1);
  const std::map<std::string, std::string> cases = {
      {"", "missing bearer token"},
      {"Basic dXNlcjpwYXNz", "missing bearer token"},
      {"Bearer " + tampered, "bad signature"},
      {"Bearer " + es_tampered, "bad signature"},
      {"Bearer " + std::string(kExpiredToken), "token expired"},
      {"Bearer " + none, "is not accepted"},
      {"Bearer " + confused, "bad signature"},
      {"Bearer not.a.jwt!", ""},
      {"Bearer onlyonepart", "three parts"},
  };
  for (const auto& [authorization, reason] : cases) {
    SCOPED_TRACE(authorization);
    InvokeResult result = Me(authorization);
    EXPECT_EQ(result.outcome, Outcome::kOk) << result.error;
    EXPECT_EQ(result.response.status, 401) << result.response.body;
    EXPECT_THAT(result.response.body, HasSubstr(reason));
  }
}

TEST_F(JwtAuthExampleTest, RootDescribesTheExampleWithoutAToken) {
  InvokeResult result = instance_->Invoke(Get("http://127.0.0.1:8080/jwt-auth/"));
  EXPECT_EQ(result.response.status, 200);
  EXPECT_THAT(result.response.body, HasSubstr(R"("hs256":true,"es256":true)"));
}

}  // namespace
}  // namespace cosmo::v8engine
