#include "cosmo/registry.h"

#include <map>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "support/scripted_engine.h"
#include "support/temp_dir.h"

namespace cosmo {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;

using ::cosmo::testing::ScriptManifest;

class RegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = NewInMemoryStore();
    auto registry = NewRegistry(store_.get(), {&js_, &liquid_}, &clock_);
    ASSERT_TRUE(registry.ok()) << registry.status();
    registry_ = std::move(registry).value();
  }

  DeployResult MustDeploy(absl::string_view family, const Manifest& manifest,
                          std::string tenant = "acme") {
    auto result =
        registry_->Deploy({.tenant = tenant, .family = std::string(family), .manifest = manifest});
    EXPECT_TRUE(result.ok()) << result.status();
    clock_.Advance(absl::Seconds(1));
    return result.value_or(DeployResult{});
  }

  absl::Status DeployStatus(absl::string_view family, const Manifest& manifest,
                            std::string tenant = "acme") {
    return registry_
        ->Deploy({.tenant = tenant, .family = std::string(family), .manifest = manifest})
        .status();
  }

  std::vector<std::string> HistoryVersions(absl::string_view family) {
    auto page = registry_->History("acme", family, {.page_size = 1000});
    EXPECT_TRUE(page.ok()) << page.status();
    std::vector<std::string> versions;
    for (const HistoryEntry& e : page->items) versions.push_back(e.version);
    return versions;
  }

  ManualClock clock_;
  testing::ScriptedEngine js_{"javascript"};
  testing::ScriptedEngine liquid_{"liquid"};
  std::unique_ptr<Store> store_;
  std::unique_ptr<Registry> registry_;
};

TEST_F(RegistryTest, DeployReturnsTheManifestHashAndActivatesIt) {
  const Manifest manifest = ScriptManifest("respond 200 hi");
  DeployResult result = MustDeploy("shop", manifest);
  EXPECT_EQ(result.version, *ComputeVersion(manifest));
  EXPECT_TRUE(result.created);
  EXPECT_EQ(result.previous_version, "");

  auto active = registry_->GetActiveVersion("shop");
  ASSERT_TRUE(active.ok());
  EXPECT_EQ(active->version, result.version);
  EXPECT_EQ(active->engine, "javascript");
  auto loaded = registry_->LoadManifest(result.version);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(*loaded, manifest);
}

TEST_F(RegistryTest, RedeployOfActiveContentCreatesNothing) {
  DeployResult first = MustDeploy("shop", ScriptManifest("v1"));
  DeployResult again = MustDeploy("shop", ScriptManifest("v1"));
  EXPECT_EQ(again.version, first.version);
  EXPECT_FALSE(again.created);
  EXPECT_THAT(HistoryVersions("shop"), SizeIs(1));
}

TEST_F(RegistryTest, HistoryIsNewestFirstWithTimeSizeAndPrevious) {
  const absl::Time t0 = clock_.Now();
  DeployResult v1 = MustDeploy("shop", ScriptManifest("v1"));
  DeployResult v2 = MustDeploy("shop", ScriptManifest("v2 longer"));
  auto page = registry_->History("acme", "shop", {});
  ASSERT_TRUE(page.ok());
  ASSERT_THAT(page->items, SizeIs(2));
  EXPECT_EQ(page->items[0].version, v2.version);
  EXPECT_EQ(page->items[0].sequence, 2u);
  EXPECT_EQ(page->items[0].previous_version, v1.version);
  EXPECT_EQ(page->items[0].time, t0 + absl::Seconds(1));
  EXPECT_EQ(page->items[0].size_bytes, EncodeManifest(ScriptManifest("v2 longer"))->size());
  EXPECT_EQ(page->items[0].action, HistoryAction::kDeploy);
  EXPECT_EQ(page->items[1].version, v1.version);
  EXPECT_EQ(page->items[1].time, t0);
  EXPECT_TRUE(page->next_page_token.empty());
}

TEST_F(RegistryTest, HistoryPagesWithoutGapsOrRepeats) {
  for (int i = 0; i < 25; ++i) MustDeploy("shop", ScriptManifest(absl::StrCat("v", i)));
  std::vector<uint64_t> sequences;
  PageRequest request{.page_size = 10};
  do {
    auto page = registry_->History("acme", "shop", request);
    ASSERT_TRUE(page.ok()) << page.status();
    for (const HistoryEntry& e : page->items) sequences.push_back(e.sequence);
    request.page_token = page->next_page_token;
  } while (!request.page_token.empty());
  ASSERT_THAT(sequences, SizeIs(25));
  for (size_t i = 0; i < sequences.size(); ++i) EXPECT_EQ(sequences[i], 25 - i);
  EXPECT_EQ(registry_->History("acme", "shop", {.page_token = "garbage"}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(RegistryTest, RollbackWithoutVersionReturnsToThePreviousAndIsRecorded) {
  DeployResult v1 = MustDeploy("shop", ScriptManifest("v1"));
  DeployResult v2 = MustDeploy("shop", ScriptManifest("v2"));
  auto entry = registry_->Rollback("acme", "shop", std::nullopt);
  ASSERT_TRUE(entry.ok()) << entry.status();
  EXPECT_EQ(entry->version, v1.version);
  EXPECT_EQ(entry->action, HistoryAction::kRollback);
  EXPECT_EQ(entry->previous_version, v2.version);
  EXPECT_EQ(registry_->GetActiveVersion("shop")->version, v1.version);
  EXPECT_THAT(HistoryVersions("shop"), ElementsAre(v1.version, v2.version, v1.version));
  // A second rollback undoes the first.
  ASSERT_TRUE(registry_->Rollback("acme", "shop", std::nullopt).ok());
  EXPECT_EQ(registry_->GetActiveVersion("shop")->version, v2.version);
}

TEST_F(RegistryTest, RollbackToANamedVersionByUniquePrefix) {
  DeployResult v1 = MustDeploy("shop", ScriptManifest("v1"));
  MustDeploy("shop", ScriptManifest("v2"));
  MustDeploy("shop", ScriptManifest("v3"));
  auto entry = registry_->Rollback("acme", "shop", v1.version.substr(0, 8));
  ASSERT_TRUE(entry.ok()) << entry.status();
  EXPECT_EQ(entry->version, v1.version);
  EXPECT_EQ(registry_->GetActiveVersion("shop")->version, v1.version);
  // Rolling back to the active version changes nothing.
  auto same = registry_->Rollback("acme", "shop", v1.version);
  ASSERT_TRUE(same.ok());
  EXPECT_THAT(HistoryVersions("shop"), SizeIs(4));
}

TEST_F(RegistryTest, RollbackErrors) {
  EXPECT_EQ(registry_->Rollback("acme", "nope", std::nullopt).status().code(),
            absl::StatusCode::kNotFound);
  MustDeploy("shop", ScriptManifest("v1"));
  absl::Status only_one = registry_->Rollback("acme", "shop", std::nullopt).status();
  EXPECT_EQ(only_one.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(only_one.message(), HasSubstr("no earlier version"));
  EXPECT_EQ(registry_->Rollback("acme", "shop", "0123456789abcdef").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(registry_->Rollback("acme", "shop", "xyz").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(registry_->Rollback("acme", "shop", "abc").status().code(),
            absl::StatusCode::kInvalidArgument);  // under 8 digits
}

TEST_F(RegistryTest, ResolveVersionByPrefix) {
  DeployResult v1 = MustDeploy("shop", ScriptManifest("v1"));
  EXPECT_EQ(*registry_->ResolveVersion("acme", "shop", v1.version.substr(0, 10)), v1.version);
  EXPECT_EQ(*registry_->ResolveVersion("acme", "shop", v1.version), v1.version);
  EXPECT_EQ(registry_->ResolveVersion("acme", "shop", "ffffffffffff").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(registry_->ResolveVersion("acme", "shop", "ABCDEF12").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(RegistryTest, AmbiguousPrefixIsRejected) {
  // Two real versions sharing 8 hex digits would take ~2^32 deploys to find, so record a second
  // version under the family's version index directly: the index is what prefixes resolve in.
  DeployResult a = MustDeploy("shop", ScriptManifest("a"));
  const std::string twin =
      a.version.substr(0, 8) + std::string(56, a.version[8] == 'f' ? 'e' : 'f');
  auto record = store_->Get("fver/shop/" + a.version);
  ASSERT_TRUE(record.ok());
  ASSERT_TRUE(store_->Put("fver/shop/" + twin, *record).ok());
  absl::Status s = registry_->ResolveVersion("acme", "shop", a.version.substr(0, 8)).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("several versions"));
  EXPECT_EQ(*registry_->ResolveVersion("acme", "shop", a.version.substr(0, 9)), a.version);
}

TEST_F(RegistryTest, ExpectedVersionGuardsTheDeploy) {
  DeployResult v1 = MustDeploy("shop", ScriptManifest("v1"));
  auto stale = registry_->Deploy({.tenant = "acme",
                                  .family = "shop",
                                  .manifest = ScriptManifest("v2"),
                                  .expected_version = std::string(64, 'a')});
  EXPECT_EQ(stale.status().code(), absl::StatusCode::kAborted);
  auto fresh = registry_->Deploy({.tenant = "acme",
                                  .family = "shop",
                                  .manifest = ScriptManifest("v2"),
                                  .expected_version = v1.version.substr(0, 12)});
  EXPECT_TRUE(fresh.ok()) << fresh.status();
  auto must_be_new = registry_->Deploy({.tenant = "acme",
                                        .family = "shop",
                                        .manifest = ScriptManifest("v3"),
                                        .expected_version = ""});
  EXPECT_EQ(must_be_new.status().code(), absl::StatusCode::kAborted);
  auto created = registry_->Deploy({.tenant = "acme",
                                    .family = "new",
                                    .manifest = ScriptManifest("v3"),
                                    .expected_version = ""});
  EXPECT_TRUE(created.ok()) << created.status();
}

TEST_F(RegistryTest, FamilyBelongsToItsFirstDeployer) {
  MustDeploy("shop", ScriptManifest("v1"), "acme");
  absl::Status other = DeployStatus("shop", ScriptManifest("evil"), "mallory");
  EXPECT_EQ(other.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(registry_->GetFamily("mallory", "shop").status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(registry_->History("mallory", "shop", {}).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(registry_->Rollback("mallory", "shop", std::nullopt).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(registry_->DeleteFamily("mallory", "shop").code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(registry_->GetFamily("acme", "shop")->owner_tenant, "acme");
}

TEST_F(RegistryTest, ListShowsOnlyTheTenantsFamiliesInPages) {
  for (const char* family : {"c", "a", "b", "d", "e"})
    MustDeploy(family, ScriptManifest(family), "acme");
  MustDeploy("zzz", ScriptManifest("other"), "globex");
  std::vector<std::string> names;
  PageRequest request{.page_size = 2};
  do {
    auto page = registry_->ListFamilies("acme", request);
    ASSERT_TRUE(page.ok()) << page.status();
    EXPECT_LE(page->items.size(), 2u);
    for (const FamilyInfo& info : page->items) names.push_back(info.family);
    request.page_token = page->next_page_token;
  } while (!request.page_token.empty());
  EXPECT_THAT(names, ElementsAre("a", "b", "c", "d", "e"));
  auto globex = registry_->ListFamilies("globex", {});
  ASSERT_TRUE(globex.ok());
  ASSERT_THAT(globex->items, SizeIs(1));
  EXPECT_EQ(globex->items[0].family, "zzz");
}

TEST_F(RegistryTest, GetFamilyDescribesIt) {
  const absl::Time t0 = clock_.Now();
  MustDeploy("shop", ScriptManifest("v1"));
  DeployResult v2 = MustDeploy("shop", ScriptManifest("v2"));
  auto info = registry_->GetFamily("acme", "shop");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->family, "shop");
  EXPECT_EQ(info->active_version, v2.version);
  EXPECT_EQ(info->engine, "javascript");
  EXPECT_EQ(info->created, t0);
  EXPECT_EQ(info->updated, t0 + absl::Seconds(1));
  EXPECT_EQ(info->history_length, 2u);
  EXPECT_EQ(registry_->GetFamily("acme", "none").status().code(), absl::StatusCode::kNotFound);
}

Manifest WithEnv(Manifest manifest, std::map<std::string, std::string> env) {
  manifest.env = std::move(env);
  return manifest;
}

TEST_F(RegistryTest, SecretNamesAreRecordedPerVersionOutsideTheHash) {
  const Manifest manifest =
      WithEnv(ScriptManifest("v1"), {{"API_KEY", "k-123456"}, {"MODE", "prod"}});
  auto deployed = registry_->Deploy({.tenant = "acme",
                                     .family = "shop",
                                     .manifest = manifest,
                                     .secret_names = {"API_KEY", "API_KEY"}});
  ASSERT_TRUE(deployed.ok()) << deployed.status();
  EXPECT_EQ(deployed->version, *ComputeVersion(manifest));
  EXPECT_THAT(registry_->GetActiveVersion("shop")->secret_names, ElementsAre("API_KEY"));
  EXPECT_THAT(registry_->GetFamily("acme", "shop")->secret_names, ElementsAre("API_KEY"));
  // Listings do not read version records.
  EXPECT_THAT(registry_->ListFamilies("acme", {})->items[0].secret_names, SizeIs(0));

  // The next version has its own names; rolling back restores the old version's names.
  clock_.Advance(absl::Seconds(1));
  const Manifest next = WithEnv(ScriptManifest("v2"), {{"API_KEY", "k-123456"}, {"MODE", "prod"}});
  ASSERT_TRUE(registry_
                  ->Deploy({.tenant = "acme",
                            .family = "shop",
                            .manifest = next,
                            .secret_names = {"MODE", "API_KEY"}})
                  .ok());
  EXPECT_THAT(registry_->GetActiveVersion("shop")->secret_names, ElementsAre("API_KEY", "MODE"));
  ASSERT_TRUE(registry_->Rollback("acme", "shop", std::nullopt).ok());
  EXPECT_THAT(registry_->GetActiveVersion("shop")->secret_names, ElementsAre("API_KEY"));
}

TEST_F(RegistryTest, RedeployWithOtherSecretNamesUpdatesThemWithoutANewVersion) {
  const Manifest manifest = WithEnv(ScriptManifest("v1"), {{"API_KEY", "k-123456"}});
  int changes = 0;
  registry_->AddChangeListener([&](absl::string_view) { ++changes; });
  DeployResult first = MustDeploy("shop", manifest);
  EXPECT_THAT(registry_->GetActiveVersion("shop")->secret_names, SizeIs(0));
  auto again = registry_->Deploy(
      {.tenant = "acme", .family = "shop", .manifest = manifest, .secret_names = {"API_KEY"}});
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->version, first.version);
  EXPECT_FALSE(again->created);
  EXPECT_THAT(registry_->GetActiveVersion("shop")->secret_names, ElementsAre("API_KEY"));
  EXPECT_THAT(HistoryVersions("shop"), SizeIs(1));
  // The runtime is told to look again, so its log masking follows.
  EXPECT_GE(changes, 2);
  auto same = registry_->Deploy(
      {.tenant = "acme", .family = "shop", .manifest = manifest, .secret_names = {"API_KEY"}});
  ASSERT_TRUE(same.ok()) << same.status();
  EXPECT_FALSE(same->created);
  EXPECT_THAT(HistoryVersions("shop"), SizeIs(1));
}

TEST_F(RegistryTest, SecretNamesMustBeEnvVariables) {
  absl::Status status = registry_
                            ->Deploy({.tenant = "acme",
                                      .family = "shop",
                                      .manifest = WithEnv(ScriptManifest("v1"), {{"MODE", "prod"}}),
                                      .secret_names = {"API_KEY"}})
                            .status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("secret_names: 'API_KEY'"));
  EXPECT_EQ(registry_->GetFamily("acme", "shop").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(RegistryTest, DeleteRemovesEverythingAndFreesTheName) {
  DeployResult v1 = MustDeploy("shop", ScriptManifest("v1"));
  MustDeploy("shop", ScriptManifest("v2"));
  ASSERT_TRUE(registry_->DeleteFamily("acme", "shop").ok());
  EXPECT_EQ(registry_->GetFamily("acme", "shop").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(registry_->GetActiveVersion("shop").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(registry_->LoadManifest(v1.version).status().code(), absl::StatusCode::kNotFound);
  auto rest = store_->Scan("", {});
  ASSERT_TRUE(rest.ok());
  EXPECT_THAT(*rest, SizeIs(0)) << "delete left keys behind";
  EXPECT_EQ(registry_->DeleteFamily("acme", "shop").code(), absl::StatusCode::kNotFound);
  // Anyone may now claim the name.
  EXPECT_TRUE(DeployStatus("shop", ScriptManifest("mine"), "globex").ok());
}

TEST_F(RegistryTest, SharedContentIsStoredOnceAndOutlivesOneFamily) {
  DeployResult a = MustDeploy("one", ScriptManifest("same"));
  DeployResult b = MustDeploy("two", ScriptManifest("same"));
  EXPECT_EQ(a.version, b.version);
  auto blobs = store_->Scan("blob/", {});
  ASSERT_TRUE(blobs.ok());
  EXPECT_THAT(*blobs, SizeIs(1));
  ASSERT_TRUE(registry_->DeleteFamily("acme", "one").ok());
  EXPECT_TRUE(registry_->LoadManifest(a.version).ok()) << "blob still used by family 'two'";
  ASSERT_TRUE(registry_->DeleteFamily("acme", "two").ok());
  EXPECT_EQ(registry_->LoadManifest(a.version).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(RegistryTest, RejectsInvalidFamilyNamesNamingTheField) {
  for (const std::string& bad : std::vector<std::string>{
           "", "Shop", "-shop", "_cosmo", "a/b", "../x", std::string("a\0b", 3),
           std::string(64, 'a'), "caf\xC3\xA9", "\xff"}) {
    absl::Status s = DeployStatus(bad, ScriptManifest("v1"));
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(s.message(), HasSubstr("family")) << bad;
  }
  EXPECT_TRUE(DeployStatus(std::string(63, 'a'), ScriptManifest("v1")).ok());
  EXPECT_TRUE(DeployStatus("0-a-9", ScriptManifest("v1")).ok());
}

TEST_F(RegistryTest, RejectsBadManifestsNamingTheField) {
  struct Case {
    std::string name;
    Manifest manifest;
    std::string field;
  };
  Manifest no_files = ScriptManifest("x");
  no_files.files.clear();
  Manifest wrong_main = ScriptManifest("x");
  wrong_main.main = "other.js";
  Manifest bad_engine = ScriptManifest("x");
  bad_engine.engine = "python";
  Manifest bad_file = ScriptManifest("x");
  bad_file.files["../etc/passwd"] = "x";
  Manifest bad_env = ScriptManifest("x");
  bad_env.env["1BAD"] = "x";
  Manifest bad_utf8 = ScriptManifest("x");
  bad_utf8.files["index.js"] = "\xC3";
  Manifest bad_limit = ScriptManifest("x");
  bad_limit.limits["cpu_ms"] = 1000000;
  Manifest syntax = ScriptManifest("syntax-error");
  const Case cases[] = {
      {"no files", no_files, "files"},      {"wrong main", wrong_main, "main"},
      {"bad engine", bad_engine, "engine"}, {"bad file", bad_file, "files"},
      {"bad env", bad_env, "env"},          {"bad utf8", bad_utf8, "files[index.js]"},
      {"bad limit", bad_limit, "cpu_ms"},   {"syntax", syntax, "index.js:1:1"},
  };
  for (const Case& c : cases) {
    absl::Status s = DeployStatus("shop", c.manifest);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.name;
    EXPECT_THAT(s.message(), HasSubstr(c.field)) << c.name;
    EXPECT_EQ(registry_->Validate(c.manifest).code(), absl::StatusCode::kInvalidArgument) << c.name;
  }
  EXPECT_EQ(registry_->GetActiveVersion("shop").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(RegistryTest, FailedValidationKeepsThePreviousVersionActive) {
  DeployResult v1 = MustDeploy("shop", ScriptManifest("v1"));
  EXPECT_EQ(DeployStatus("shop", ScriptManifest("syntax-error")).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(registry_->GetActiveVersion("shop")->version, v1.version);
}

TEST_F(RegistryTest, ScriptSizeLimitIsEnforcedNamingTheLimit) {
  EXPECT_EQ(RegistryOptions().max_script_bytes, size_t{5} << 20);
  auto small = NewRegistry(store_.get(), {&js_}, &clock_, {.max_script_bytes = 1000});
  ASSERT_TRUE(small.ok());
  absl::Status s = (*small)
                       ->Deploy({.tenant = "acme",
                                 .family = "big",
                                 .manifest = ScriptManifest(std::string(1000, 'x'))})
                       .status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("limit of 1000 bytes"));
}

TEST_F(RegistryTest, EngineValidatesEveryDeployOnce) {
  const int before = js_.validate_calls();
  MustDeploy("shop", ScriptManifest("v1"));
  EXPECT_EQ(js_.validate_calls(), before + 1);
  MustDeploy("page", [] {
    Manifest m;
    m.engine = "liquid";
    m.main = "page.liquid";
    m.files["page.liquid"] = "hi";
    return m;
  }());
  EXPECT_EQ(js_.validate_calls(), before + 1);
  EXPECT_EQ(liquid_.validate_calls(), 1);
  EXPECT_EQ(registry_->GetActiveVersion("page")->engine, "liquid");
}

TEST_F(RegistryTest, StoredContentIsNotProbedAgainButStillChecked) {
  const int before = js_.validate_calls();
  DeployResult first = MustDeploy("shop", ScriptManifest("same code"));
  EXPECT_EQ(js_.validate_calls(), before + 1);
  // The same content for another family (and another tenant) is the same version: already
  // probed when it was first stored.
  DeployResult second = MustDeploy("store", ScriptManifest("same code"), "globex");
  EXPECT_EQ(second.version, first.version);
  EXPECT_EQ(js_.validate_calls(), before + 1);
  // The registry's own rules still apply to it: a cap this registry has is enforced.
  auto capped = NewRegistry(store_.get(), {&js_}, &clock_, {.max_script_bytes = 4});
  ASSERT_TRUE(capped.ok());
  absl::Status refused =
      (*capped)
          ->Deploy({.tenant = "acme", .family = "third", .manifest = ScriptManifest("same code")})
          .status();
  EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument);
  // New content is probed, and refused when the engine refuses it.
  EXPECT_EQ(
      registry_
          ->Deploy({.tenant = "acme", .family = "shop", .manifest = ScriptManifest("syntax-error")})
          .status()
          .code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(js_.validate_calls(), before + 2);
}

TEST_F(RegistryTest, TamperedBlobIsDetected) {
  DeployResult v1 = MustDeploy("shop", ScriptManifest("v1"));
  Manifest other = ScriptManifest("tampered");
  ASSERT_TRUE(store_->Put("blob/" + v1.version, *EncodeManifest(other)).ok());
  EXPECT_EQ(registry_->LoadManifest(v1.version).status().code(), absl::StatusCode::kDataLoss);
}

TEST_F(RegistryTest, InvalidTenantIsRejected) {
  EXPECT_EQ(DeployStatus("shop", ScriptManifest("v1"), "").code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(DeployStatus("shop", ScriptManifest("v1"), "a/b").code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(RegistryTest, CreateRejectsDuplicateEngineNames) {
  testing::ScriptedEngine again("javascript");
  EXPECT_EQ(NewRegistry(store_.get(), {&js_, &again}, &clock_).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(RegistryTest, WorksOnLevelDbAcrossReopen) {
  testing::TempDir dir;
  std::string version;
  {
    auto store = OpenLevelDbStore({.path = dir.Sub("db")});
    ASSERT_TRUE(store.ok());
    auto registry = NewRegistry(store->get(), {&js_}, &clock_);
    ASSERT_TRUE(registry.ok());
    auto v =
        (*registry)->Deploy({.tenant = "acme", .family = "shop", .manifest = ScriptManifest("v1")});
    ASSERT_TRUE(v.ok()) << v.status();
    version = v->version;
  }
  auto store = OpenLevelDbStore({.path = dir.Sub("db")});
  ASSERT_TRUE(store.ok());
  auto registry = NewRegistry(store->get(), {&js_}, &clock_);
  ASSERT_TRUE(registry.ok());
  EXPECT_EQ((*registry)->GetActiveVersion("shop")->version, version);
  EXPECT_EQ(*(*registry)->LoadManifest(version), ScriptManifest("v1"));
}

}  // namespace
}  // namespace cosmo
