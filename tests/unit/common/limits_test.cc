#include "cosmo/limits.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cosmo {
namespace {

using ::testing::HasSubstr;

TEST(LimitsTest, DefaultsMatchTheDesign) {
  ScriptLimits limits;
  EXPECT_EQ(limits.cpu_per_request, absl::Milliseconds(50));
  EXPECT_EQ(limits.memory_bytes, size_t{128} << 20);
  EXPECT_EQ(limits.wall_per_request, absl::Seconds(30));
  EXPECT_EQ(limits.subrequests, 50u);
  EXPECT_EQ(limits.startup_cpu, absl::Seconds(1));
  EXPECT_TRUE(limits.Validate().ok());
}

TEST(LimitsTest, RequestedLimitsLowerTheCaps) {
  ScriptLimits resolved = ResolveLimits(
      {{"cpu_ms", 10}, {"memory_mb", 32}, {"wall_ms", 500}, {"subrequests", 3}}, ScriptLimits());
  EXPECT_EQ(resolved.cpu_per_request, absl::Milliseconds(10));
  EXPECT_EQ(resolved.memory_bytes, size_t{32} << 20);
  EXPECT_EQ(resolved.wall_per_request, absl::Milliseconds(500));
  EXPECT_EQ(resolved.subrequests, 3u);
}

TEST(LimitsTest, ResolveClampsValuesAboveTheCap) {
  ScriptLimits resolved = ResolveLimits({{"cpu_ms", 999999}}, ScriptLimits());
  EXPECT_EQ(resolved.cpu_per_request, absl::Milliseconds(50));
}

TEST(LimitsTest, ValidateRejectsUnknownZeroAndOverCapNamingTheKey) {
  absl::Status unknown = ValidateRequestedLimits({{"cpu_seconds", 1}}, ScriptLimits());
  EXPECT_EQ(unknown.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(unknown.message(), HasSubstr("cpu_seconds"));

  absl::Status zero = ValidateRequestedLimits({{"memory_mb", 0}}, ScriptLimits());
  EXPECT_EQ(zero.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(zero.message(), HasSubstr("memory_mb"));

  absl::Status over = ValidateRequestedLimits({{"cpu_ms", 51}}, ScriptLimits());
  EXPECT_EQ(over.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(over.message(), HasSubstr("cap of 50"));

  EXPECT_TRUE(ValidateRequestedLimits({{"cpu_ms", 50}, {"subrequests", 1}}, ScriptLimits()).ok());
}

TEST(LimitsTest, ValidateNamesTheBadField) {
  ScriptLimits limits;
  limits.memory_bytes = 1;
  EXPECT_THAT(limits.Validate().message(), HasSubstr("memory_bytes"));
}

}  // namespace
}  // namespace cosmo
