// What the hosts' runtime flags turn into: the runtime's report of a churning memory budget
// reaches stderr as a line that names the program, the figures and the flag to change.
#include "runtime_flags.h"

#include <string>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cosmo::host {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(RuntimeFlagsTest, BudgetChurnMessageNamesTheFiguresAndTheFlag) {
  const std::string message =
      BudgetChurnMessage("cosmo-server", {.window = absl::Seconds(60),
                                          .unloads = 2412,
                                          .returns = 2210,
                                          .memory_bytes = size_t{1021} << 20,
                                          .budget_bytes = size_t{1024} << 20});
  EXPECT_THAT(message, StartsWith("cosmo-server: memory budget: in the last 1m, families it had "
                                  "unloaded while in use were requested again 2210 times"));
  EXPECT_THAT(message, HasSubstr("2412 unloads in all"));
  EXPECT_THAT(message, HasSubstr("instances hold 1021 of 1024 MiB"));
  EXPECT_THAT(message, HasSubstr("raise --memory-budget-mb"));
  EXPECT_THAT(message, HasSubstr("cosmo_budget_returns_total"));
}

TEST(RuntimeFlagsTest, TheHostsRuntimeReportsBudgetChurn) {
  RuntimeFlags flags;
  flags.memory_budget_mb = 64;
  absl::StatusOr<RuntimeOptions> options = ToRuntimeOptions(flags, "cosmo-gateway");
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->memory_budget_bytes, size_t{64} << 20);
  ASSERT_TRUE(options->on_budget_churn) << "a churning budget would go unreported";
  ::testing::internal::CaptureStderr();
  options->on_budget_churn({.window = absl::Seconds(60),
                            .unloads = 30,
                            .returns = 12,
                            .memory_bytes = size_t{63} << 20,
                            .budget_bytes = size_t{64} << 20});
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_THAT(err, StartsWith("cosmo-gateway: memory budget: in the last 1m,"));
  EXPECT_THAT(err, HasSubstr(" again 12 times"));
  EXPECT_THAT(err, HasSubstr("--memory-budget-mb"));
}

}  // namespace
}  // namespace cosmo::host
