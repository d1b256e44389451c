// Deploy-time checks of a family's crons, through a Runtime with the real JavaScript and Liquid
// engines: the expressions parse, there are at most ten, and the module exports scheduled().
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cosmo/runtime.h"
#include "cosmo/store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cosmo {
namespace {

using ::testing::HasSubstr;

constexpr char kWithScheduled[] =
    "export default {\n"
    "  fetch() { return 'ok'; },\n"
    "  async scheduled(controller, env, ctx) {},\n"
    "};\n";
constexpr char kFetchOnly[] = "export default { fetch() { return 'ok'; } };\n";

class CronDeployTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RuntimeOptions options;
    options.background_maintenance = false;
    auto runtime = NewRuntime(options, NewInMemoryStore());
    ASSERT_TRUE(runtime.ok()) << runtime.status();
    runtime_ = *std::move(runtime);
  }

  absl::StatusOr<DeployResult> Deploy(const std::string& source, std::vector<std::string> crons,
                                      const std::string& engine = "javascript") {
    Manifest m;
    m.engine = engine;
    m.main = engine == "liquid" ? "page.liquid" : "index.js";
    m.files[m.main] = source;
    m.crons = std::move(crons);
    return runtime_->registry().Deploy({.tenant = "local", .family = "jobs", .manifest = m});
  }

  std::unique_ptr<Runtime> runtime_;
};

TEST_F(CronDeployTest, AcceptsAModuleWithScheduledAndStoresTheCronsInOrder) {
  absl::StatusOr<DeployResult> deployed = Deploy(kWithScheduled, {"*/5 * * * *", "0 0 L * *"});
  ASSERT_TRUE(deployed.ok()) << deployed.status();
  absl::StatusOr<Manifest> stored = runtime_->registry().LoadManifest(deployed->version);
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_EQ(stored->crons, (std::vector<std::string>{"*/5 * * * *", "0 0 L * *"}));
}

TEST_F(CronDeployTest, TheSameCodeWithoutCronsKeepsItsVersion) {
  absl::StatusOr<DeployResult> plain = Deploy(kFetchOnly, {});
  ASSERT_TRUE(plain.ok()) << plain.status();
  Manifest m;
  m.engine = "javascript";
  m.main = "index.js";
  m.files["index.js"] = kFetchOnly;
  EXPECT_EQ(plain->version, *ComputeVersion(m));
}

TEST_F(CronDeployTest, RejectsAModuleWithoutScheduled) {
  absl::StatusOr<DeployResult> deployed = Deploy(kFetchOnly, {"* * * * *"});
  EXPECT_EQ(deployed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(deployed.status().message(),
              HasSubstr("index.js: the family has crons but the default export has no "
                        "scheduled() method"));
  // Without crons the same module deploys.
  EXPECT_TRUE(Deploy(kFetchOnly, {}).ok());
}

TEST_F(CronDeployTest, RejectsAScheduledThatIsNotAFunction) {
  absl::StatusOr<DeployResult> deployed =
      Deploy("export default { fetch() { return 'ok'; }, scheduled: 5 };\n", {"* * * * *"});
  EXPECT_THAT(deployed.status().message(), HasSubstr("no scheduled() method"));
}

TEST_F(CronDeployTest, RejectsAnInvalidExpressionNamingTheEntryAndField) {
  absl::StatusOr<DeployResult> deployed = Deploy(kWithScheduled, {"* * * * *", "0 25 * * *"});
  EXPECT_EQ(deployed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(deployed.status().message(),
              HasSubstr("crons[1]: cron expression \"0 25 * * *\": hour field: '25' is out of "
                        "range 0-23"));
}

TEST_F(CronDeployTest, RejectsMoreThanTenAndRepeats) {
  std::vector<std::string> eleven;
  for (int i = 0; i < 11; ++i) eleven.push_back(absl::StrCat(i, " * * * *"));
  EXPECT_THAT(Deploy(kWithScheduled, eleven).status().message(),
              HasSubstr("crons: 11 expressions exceed the limit of 10 per family"));
  eleven.pop_back();
  EXPECT_TRUE(Deploy(kWithScheduled, eleven).ok());
  EXPECT_THAT(Deploy(kWithScheduled, {"0 * * * *", "0 * * * *"}).status().message(),
              HasSubstr("crons[1]: \"0 * * * *\" is listed twice"));
}

TEST_F(CronDeployTest, RejectsHostileExpressions) {
  EXPECT_THAT(Deploy(kWithScheduled, {std::string(10000, '*')}).status().message(),
              HasSubstr("longer than the limit of 256"));
  EXPECT_THAT(Deploy(kWithScheduled, {"\xff\xfe * * * *"}).status().message(),
              HasSubstr("crons[0]"));
  EXPECT_THAT(Deploy(kWithScheduled, {std::string("0\0 * * * *", 10)}).status().message(),
              HasSubstr("minute field: '0\\x00' is not a number"));
}

TEST_F(CronDeployTest, RejectsCronsOnALiquidTemplate) {
  absl::StatusOr<DeployResult> deployed = Deploy("<p>hi</p>", {"* * * * *"}, "liquid");
  EXPECT_EQ(deployed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(deployed.status().message(),
              HasSubstr("crons: a Liquid template has no scheduled()"));
}

}  // namespace
}  // namespace cosmo
