// Binding KV namespaces at deploy: the registry validates bindings, claims namespaces for the
// deploying tenant in the deploy's own commit, and refuses another tenant's.
#include <map>
#include <memory>
#include <string>

#include "cosmo/kv.h"
#include "cosmo/registry.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "support/scripted_engine.h"

namespace cosmo {
namespace {

using ::cosmo::testing::ScriptManifest;
using ::testing::HasSubstr;

class KvBindingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = NewInMemoryStore();
    auto registry = NewRegistry(store_.get(), {&js_}, &clock_);
    ASSERT_TRUE(registry.ok()) << registry.status();
    registry_ = *std::move(registry);
    auto kv = NewKvStore(store_.get(), &clock_, {.sweep_interval = absl::ZeroDuration()});
    ASSERT_TRUE(kv.ok()) << kv.status();
    kv_ = *std::move(kv);
  }

  absl::StatusOr<DeployResult> Deploy(std::string tenant, std::string family,
                                      std::map<std::string, std::string> kv) {
    Manifest manifest = ScriptManifest("respond 200 hi");
    manifest.kv = std::move(kv);
    return registry_->Deploy({.tenant = tenant, .family = family, .manifest = manifest});
  }

  ManualClock clock_;
  testing::ScriptedEngine js_{"javascript"};
  std::unique_ptr<Store> store_;
  std::unique_ptr<Registry> registry_;
  std::unique_ptr<KvStore> kv_;
};

TEST_F(KvBindingTest, DeployClaimsTheNamespaceForTheTenant) {
  auto deployed = Deploy("acme", "shop", {{"COUNTS", "counts"}});
  ASSERT_TRUE(deployed.ok()) << deployed.status();
  auto info = kv_->GetNamespace("acme", "counts");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->owner_tenant, "acme");
  EXPECT_EQ(info->stored_bytes, 0u);
  // The family's data-plane writes now work; the binding is part of the version.
  EXPECT_TRUE(kv_->Put("counts", "k", "v", {}).ok());
  EXPECT_EQ(registry_->LoadManifest(deployed->version)->kv.at("COUNTS"), "counts");
  // Another family of the same tenant may bind it too.
  EXPECT_TRUE(Deploy("acme", "blog", {{"C", "counts"}}).ok());
}

TEST_F(KvBindingTest, BindingAnotherTenantsNamespaceIsPermissionDenied) {
  ASSERT_TRUE(Deploy("acme", "shop", {{"COUNTS", "counts"}}).ok());
  auto theirs = Deploy("other", "spy", {{"COUNTS", "counts"}});
  EXPECT_EQ(theirs.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(theirs.status().message(), HasSubstr("'counts'"));
  // Nothing of the refused deploy was written.
  EXPECT_EQ(registry_->GetActiveVersion("spy").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(KvBindingTest, BadBindingsNameTheProblem) {
  struct Case {
    std::map<std::string, std::string> kv;
    std::string message;
  };
  const Case cases[] = {
      {{{"1BAD", "counts"}}, "not a valid variable name"},
      {{{"COUNTS", "Bad_Name"}}, "not a valid namespace name"},
      {{{"COUNTS", ""}}, "not a valid namespace name"},
  };
  for (const Case& c : cases) {
    auto result = Deploy("acme", "shop", c.kv);
    EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(result.status().message(), HasSubstr(c.message));
  }
  Manifest manifest = ScriptManifest("respond 200 hi");
  manifest.env["COUNTS"] = "x";
  manifest.kv["COUNTS"] = "counts";
  absl::Status clash = registry_->Validate(manifest);
  EXPECT_EQ(clash.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(clash.message(), HasSubstr("also an env variable"));
  std::map<std::string, std::string> many;
  for (int i = 0; i < 65; ++i) many["B" + std::to_string(i)] = "ns";
  EXPECT_THAT(Deploy("acme", "shop", many).status().message(), HasSubstr("limit of 64"));
}

TEST_F(KvBindingTest, RedeployRecreatesADeletedNamespaceWithoutANewVersion) {
  auto first = Deploy("acme", "shop", {{"COUNTS", "counts"}});
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(kv_->DeleteNamespace("acme", "counts").ok());
  EXPECT_EQ(kv_->Put("counts", "k", "v", {}).code(), absl::StatusCode::kFailedPrecondition);
  auto again = Deploy("acme", "shop", {{"COUNTS", "counts"}});
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_FALSE(again->created);
  EXPECT_EQ(again->version, first->version);
  EXPECT_TRUE(kv_->Put("counts", "k", "v", {}).ok());
}

}  // namespace
}  // namespace cosmo
