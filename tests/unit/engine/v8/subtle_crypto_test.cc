// crypto.subtle in the real engine: known-answer vectors from the RFCs and NIST, hostile input,
// and the CPU and memory limits applied to long crypto operations. The vectors and assertions
// live in tests/testdata/js/subtle_crypto_tests.js (one group per request); the limits are checked
// here on the request's outcome.
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "engine/v8/crypto/crypto_natives.h"
#include "engine_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "support/files.h"

namespace cosmo::v8engine {
namespace {

using ::cosmo::v8engine::testing::Get;
using ::cosmo::v8engine::testing::JsManifest;
using ::cosmo::v8engine::testing::SharedEngine;
using ::cosmo::v8engine::testing::Start;
using ::testing::HasSubstr;

void RunGroup(const std::string& group) {
  testing::RunJsTestGroup("subtle_crypto_tests.js", group);
}

TEST(SubtleCryptoTest, DigestsMatchFips180AndDigestStream) { RunGroup("Digest"); }
TEST(SubtleCryptoTest, HmacMatchesRfc4231) { RunGroup("Hmac"); }
TEST(SubtleCryptoTest, HkdfMatchesRfc5869) { RunGroup("Hkdf"); }
TEST(SubtleCryptoTest, Pbkdf2MatchesRfc6070AndRfc7914) { RunGroup("Pbkdf2"); }
TEST(SubtleCryptoTest, Ed25519MatchesRfc8032) { RunGroup("Ed25519"); }
TEST(SubtleCryptoTest, X25519MatchesRfc7748) { RunGroup("X25519"); }
TEST(SubtleCryptoTest, AesGcmMatchesTheGcmSpecificationVectors) { RunGroup("AesGcm"); }
TEST(SubtleCryptoTest, KeysRoundTripThroughEveryFormat) { RunGroup("RoundTrips"); }
TEST(SubtleCryptoTest, HostileInputGivesClearErrors) { RunGroup("Hostile"); }

// One group of the test file run under `limits`, its outcome returned as it is.
::cosmo::testing::TimedInvocation RunLimited(const std::string& group, const ScriptLimits& limits) {
  const std::string dir = COSMO_SOURCE_DIR "/tests/testdata/js/";
  auto source = ::cosmo::testing::ReadFile(dir + "subtle_crypto_tests.js");
  auto harness = ::cosmo::testing::ReadFile(dir + "test_groups.js");
  EXPECT_TRUE(source.ok() && harness.ok());
  if (!source.ok() || !harness.ok()) return {};
  Manifest manifest = JsManifest(*source);
  manifest.files["test_groups.js"] = *harness;
  auto instance = Start(SharedEngine(), manifest, limits);
  EXPECT_TRUE(instance.ok()) << instance.status();
  if (!instance.ok()) return {};
  return ::cosmo::testing::InvokeTimed(**instance,
                                       Get(absl::StrCat("http://example.com/t?group=", group)));
}

// PBKDF2 runs in bounded steps, so a huge iteration count ends at the CPU limit, not after it.
TEST(SubtleCryptoTest, HugePbkdf2EndsAtTheCpuLimit) {
  constexpr auto kCpuLimit = absl::Milliseconds(50);
  ScriptLimits limits;
  limits.cpu_per_request = kCpuLimit;
  const auto run = RunLimited("Pbkdf2Huge", limits);
  EXPECT_EQ(run.result.outcome, Outcome::kExceededCpu) << run.result.error;
  EXPECT_GE(run.result.usage.cpu_us, absl::ToInt64Microseconds(kCpuLimit));
  // A step is a few milliseconds of work; the watchdog stops the loop between steps.
  EXPECT_LT(run.result.usage.cpu_us, absl::ToInt64Microseconds(kCpuLimit) + 50'000);
  EXPECT_LT(run.wall_ms, 2000);
}

// Generating a 16384-bit RSA key is minutes of prime search in one OpenSSL call; its progress
// callback lets the watchdog stop it soon after the limit. OpenSSL calls back between primality
// tests, and one test of an 8192-bit candidate is tens of milliseconds, hence the wider margin.
TEST(SubtleCryptoTest, HugeRsaKeyGenerationEndsAtTheCpuLimit) {
  constexpr auto kCpuLimit = absl::Milliseconds(50);
  ScriptLimits limits;
  limits.cpu_per_request = kCpuLimit;
  const auto run = RunLimited("RsaHuge", limits);
  EXPECT_EQ(run.result.outcome, Outcome::kExceededCpu) << run.result.error;
  EXPECT_LT(run.result.usage.cpu_us, absl::ToInt64Microseconds(kCpuLimit) + 500'000);
  EXPECT_LT(run.wall_ms, 5000);
}

// The input is a buffer charged to the isolate's budget: a 1 GiB one cannot be allocated under a
// 128 MiB limit, and digest() hashes what fits without copying it.
TEST(SubtleCryptoTest, DigestInputIsBoundedByTheMemoryBudget) {
  ScriptLimits limits;
  limits.cpu_per_request = absl::Seconds(5);
  limits.memory_bytes = size_t{128} << 20;
  const auto run = RunLimited("DigestHuge", limits);
  EXPECT_EQ(run.result.outcome, Outcome::kOk) << run.result.error;
  EXPECT_THAT(run.result.response.body, HasSubstr("ok a 1 GiB input is refused"));
  EXPECT_THAT(run.result.response.body, HasSubstr("ok a 96 MiB input is hashed in place"));
}

// Keys a script keeps past its request live in C++ until the isolate goes, and go with it.
TEST(SubtleCryptoTest, KeysKeptByAScriptAreFreedWithTheIsolate) {
  const size_t before = crypto::CryptoKeysAlive();
  ScriptLimits limits;
  limits.cpu_per_request = absl::Seconds(10);
  {
    auto instance = Start(SharedEngine(), JsManifest(R"(
        const kept = [];
        export default { async fetch() {
          for (let i = 0; i < 20; i++) {
            kept.push(await crypto.subtle.generateKey({name: 'AES-GCM', length: 256}, true,
                                                      ['encrypt']));
            kept.push(await crypto.subtle.generateKey('Ed25519', true, ['sign', 'verify']));
          }
          return 'kept ' + kept.length;
        } };)"),
                          limits);
    ASSERT_TRUE(instance.ok()) << instance.status();
    InvokeResult result = (*instance)->Invoke(Get());
    EXPECT_EQ(result.outcome, Outcome::kOk) << result.error;
    EXPECT_EQ(result.response.body, "kept 40");
    EXPECT_GE(crypto::CryptoKeysAlive(), before + 60);  // 20 secret keys, 20 pairs
  }
  EXPECT_EQ(crypto::CryptoKeysAlive(), before);
}

}  // namespace
}  // namespace cosmo::v8engine
