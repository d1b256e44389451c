// The control plane end to end: a real cosmo-server process on a loopback port (LevelDB store in
// a temporary directory, the real JavaScript engine), driven through a real gRPC client.
// Every rpc's success path and error codes (docs/control-plane.md, "Errors"): validation, size
// limits, idempotent and concurrent deploys, deadlines, malformed input and garbage on the port,
// plus authentication, ownership and paging.
#include <arpa/inet.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cosmo/manifest.h"
#include "cosmo/v1/control.grpc.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "integration/subprocess.h"
#include "support/temp_dir.h"
#include "support/tenant_server_test.h"

namespace cosmo {
namespace {

namespace pb = ::cosmo::v1;
using ::cosmo::testing::StartCosmoServer;
using ::cosmo::testing::Subprocess;
using ::cosmo::testing::TempDir;
using ::testing::HasSubstr;

constexpr const char* kAliceToken = ::cosmo::testing::TenantServerTest::kAliceToken;
constexpr const char* kBobToken = ::cosmo::testing::TenantServerTest::kBobToken;

std::string Script(absl::string_view body) {
  return absl::StrCat("export default { fetch(request, env) { return new Response(\"", body,
                      "\"); } };\n");
}

pb::DeployRequest JsDeploy(absl::string_view family, absl::string_view body) {
  pb::DeployRequest r;
  r.set_family(std::string(family));
  r.set_engine("javascript");
  r.set_main("index.js");
  (*r.mutable_files())["index.js"] = Script(body);
  return r;
}

Manifest ManifestOf(const pb::DeployRequest& r) {
  Manifest m;
  m.engine = r.engine();
  m.main = r.main();
  m.files.insert(r.files().begin(), r.files().end());
  m.env.insert(r.env().begin(), r.env().end());
  m.limits.insert(r.limits().begin(), r.limits().end());
  return m;
}

// One server for the whole suite (families are named per test, so tests are independent of
// order), with tokens for tenants alice and bob.
class GrpcControlTest : public ::cosmo::testing::TenantServerTest {
 protected:
  std::unique_ptr<pb::Control::Stub> Stub() { return pb::Control::NewStub(*channel_); }

  grpc::Status Deploy(const pb::DeployRequest& request, pb::DeployResponse* response,
                      const char* token = kAliceToken) {
    grpc::ClientContext context;
    Auth(&context, token);
    return Stub()->Deploy(&context, request, response);
  }

  grpc::Status History(absl::string_view family, pb::HistoryResponse* response,
                       const char* token = kAliceToken, uint32_t page_size = 0,
                       std::string page_token = "") {
    grpc::ClientContext context;
    Auth(&context, token);
    pb::HistoryRequest request;
    request.set_family(std::string(family));
    request.set_page_size(page_size);
    request.set_page_token(page_token);
    return Stub()->History(&context, request, response);
  }

  grpc::Status GetFamily(absl::string_view family, pb::Family* response,
                         const char* token = kAliceToken) {
    grpc::ClientContext context;
    Auth(&context, token);
    pb::GetFamilyRequest request;
    request.set_family(std::string(family));
    return Stub()->GetFamily(&context, request, response);
  }

  grpc::Status Rollback(absl::string_view family, absl::string_view version,
                        pb::RollbackResponse* response, const char* token = kAliceToken) {
    grpc::ClientContext context;
    Auth(&context, token);
    pb::RollbackRequest request;
    request.set_family(std::string(family));
    request.set_version(std::string(version));
    return Stub()->Rollback(&context, request, response);
  }

  std::string MustDeploy(absl::string_view family, absl::string_view body,
                         const char* token = kAliceToken) {
    pb::DeployResponse response;
    grpc::Status status = Deploy(JsDeploy(family, body), &response, token);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.version();
  }
};

TEST_F(GrpcControlTest, DeployReturnsTheCanonicalHashAndRedeployIsIdempotent) {
  pb::DeployRequest request = JsDeploy("idem", "one");
  (*request.mutable_env())["GREETING"] = "hi";
  (*request.mutable_limits())["cpu_ms"] = 20;
  pb::DeployResponse first, second;
  ASSERT_TRUE(Deploy(request, &first).ok());
  EXPECT_TRUE(first.created());
  EXPECT_EQ(first.previous_version(), "");
  EXPECT_EQ(first.version(), *ComputeVersion(ManifestOf(request)));

  ASSERT_TRUE(Deploy(request, &second).ok());
  EXPECT_FALSE(second.created());
  EXPECT_EQ(second.version(), first.version());
  pb::HistoryResponse history;
  ASSERT_TRUE(History("idem", &history).ok());
  ASSERT_EQ(history.entries_size(), 1);
  EXPECT_EQ(history.entries(0).version(), first.version());
  EXPECT_EQ(history.entries(0).action(), pb::HistoryEntry::DEPLOY);
  EXPECT_EQ(history.entries(0).tenant(), "alice");
  EXPECT_GT(history.entries(0).time().seconds(), 0);
}

TEST_F(GrpcControlTest, InvalidFamilyNamesAreInvalidArgumentNamingTheField) {
  for (std::string family :
       {std::string(""), std::string("../x"), std::string("a\0b", 3), std::string(128, 'a'),
        std::string("Shop"), std::string("-x"), std::string("a/b")}) {
    pb::DeployResponse response;
    grpc::Status status = Deploy(JsDeploy(family, "x"), &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << family;
    EXPECT_THAT(status.error_message(), HasSubstr("family")) << family;
  }
}

TEST_F(GrpcControlTest, BadBundlesAreInvalidArgument) {
  struct Case {
    std::string what;
    pb::DeployRequest request;
    std::string message;
  };
  std::vector<Case> cases;
  {
    pb::DeployRequest r = JsDeploy("badbundle", "x");
    (*r.mutable_files())["index.js"] = "export default { fetch( {\n";
    cases.push_back({"syntax error", r, "index.js:"});
  }
  {
    pb::DeployRequest r = JsDeploy("badbundle", "x");
    r.mutable_files()->clear();
    cases.push_back({"no files", r, "files"});
  }
  {
    pb::DeployRequest r = JsDeploy("badbundle", "x");
    (*r.mutable_files())["index.js"] = "";
    cases.push_back({"empty script", r, ""});
  }
  {
    pb::DeployRequest r = JsDeploy("badbundle", "x");
    r.set_engine("cobol");
    cases.push_back({"unknown engine", r, "engine"});
  }
  {
    pb::DeployRequest r = JsDeploy("badbundle", "x");
    r.set_main("missing.js");
    cases.push_back({"main not a file", r, "main"});
  }
  {
    pb::DeployRequest r = JsDeploy("badbundle", "x");
    (*r.mutable_limits())["cpu_ms"] = 1000000;
    cases.push_back({"limit over cap", r, "cpu_ms"});
  }
  {
    pb::DeployRequest r = JsDeploy("badbundle", "x");
    (*r.mutable_limits())["bogus"] = 1;
    cases.push_back({"unknown limit", r, "bogus"});
  }
  {
    pb::DeployRequest r = JsDeploy("badbundle", "x");
    (*r.mutable_files())["index.js"] = "export default {};\n";
    cases.push_back({"no fetch", r, "fetch"});
  }
  for (const Case& c : cases) {
    pb::DeployResponse response;
    grpc::Status status = Deploy(c.request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << c.what << ": " << status.error_message();
    EXPECT_THAT(status.error_message(), HasSubstr(c.message)) << c.what;
  }
  pb::Family family;
  EXPECT_EQ(GetFamily("badbundle", &family).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(GrpcControlTest, InvalidUtf8IsRejectedAndNothingIsStored) {
  pb::DeployRequest r = JsDeploy("badutf", "x");
  (*r.mutable_files())["index.js"] = "export default {}; // \xff\xfe\n";
  pb::DeployResponse response;
  grpc::Status status = Deploy(r, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  EXPECT_THAT(status.error_message(), HasSubstr("UTF-8"));
  // A family name that is not UTF-8 is caught the same way.
  pb::DeployRequest bad_name = JsDeploy("x", "x");
  bad_name.set_family("caf\xe9");
  status = Deploy(bad_name, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  pb::Family family;
  EXPECT_EQ(GetFamily("badutf", &family).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(GrpcControlTest, ScriptOverOurLimitIsInvalidArgumentNamingTheLimit) {
  pb::DeployRequest r = JsDeploy("toobig", "x");
  (*r.mutable_files())["index.js"] = Script("x") + "//" + std::string((5 << 20) + 100, 'a');
  pb::DeployResponse response;
  grpc::Status status = Deploy(r, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  EXPECT_THAT(status.error_message(), HasSubstr("5242880"));
  EXPECT_THAT(status.error_message(), HasSubstr("--max-script-bytes"));
}

TEST_F(GrpcControlTest, MessageOverTheTransportCapIsResourceExhausted) {
  // The cap is the larger of the script limit and the 25 MiB KV value limit, plus 64 KiB.
  pb::DeployRequest r = JsDeploy("waytoobig", "x");
  (*r.mutable_files())["index.js"] = Script("x") + "//" + std::string(26 << 20, 'a');
  pb::DeployResponse response;
  grpc::Status status = Deploy(r, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << status.error_message();
  // The server is fine afterwards.
  EXPECT_FALSE(MustDeploy("waytoobig", "small").empty());
}

TEST_F(GrpcControlTest, ValidateChecksWithoutStoringAndPredictsTheVersion) {
  pb::DeployRequest deploy = JsDeploy("validated", "v");
  pb::ValidateRequest request;
  request.set_engine(deploy.engine());
  request.set_main(deploy.main());
  *request.mutable_files() = deploy.files();
  grpc::ClientContext context;
  Auth(&context, kAliceToken);
  pb::ValidateResponse response;
  ASSERT_TRUE(Stub()->Validate(&context, request, &response).ok());
  EXPECT_EQ(response.version(), *ComputeVersion(ManifestOf(deploy)));
  pb::Family family;
  EXPECT_EQ(GetFamily("validated", &family).error_code(), grpc::StatusCode::NOT_FOUND);

  (*request.mutable_files())["index.js"] = "export default {\n  fetch() {\n";
  grpc::ClientContext bad_context;
  Auth(&bad_context, kAliceToken);
  grpc::Status status = Stub()->Validate(&bad_context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("index.js:"));
}

TEST_F(GrpcControlTest, GetFamilyDescribesTheActiveVersion) {
  std::string v1 = MustDeploy("described", "one");
  std::string v2 = MustDeploy("described", "two");
  pb::Family family;
  ASSERT_TRUE(GetFamily("described", &family).ok());
  EXPECT_EQ(family.family(), "described");
  EXPECT_EQ(family.owner_tenant(), "alice");
  EXPECT_EQ(family.active_version(), v2);
  EXPECT_EQ(family.engine(), "javascript");
  EXPECT_EQ(family.history_length(), 2u);
  EXPECT_LE(family.create_time().seconds(), family.update_time().seconds());
  EXPECT_EQ(GetFamily("never-deployed", &family).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(GetFamily("Not Valid", &family).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(GrpcControlTest, HistoryIsNewestFirstAndPaged) {
  std::vector<std::string> versions;
  for (int i = 0; i < 5; ++i) versions.push_back(MustDeploy("paged-history", absl::StrCat(i)));
  std::vector<std::string> seen;
  std::string token;
  int pages = 0;
  do {
    pb::HistoryResponse page;
    ASSERT_TRUE(History("paged-history", &page, kAliceToken, 2, token).ok());
    for (const auto& e : page.entries()) seen.push_back(e.version());
    token = page.next_page_token();
    ++pages;
  } while (!token.empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  std::reverse(versions.begin(), versions.end());
  EXPECT_EQ(seen, versions);
  pb::HistoryResponse page;
  EXPECT_EQ(History("paged-history", &page, kAliceToken, 2, "garbage").error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(History("no-such-family", &page).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(GrpcControlTest, ListFamiliesShowsOnlyTheCallersFamiliesPaged) {
  // bob owns a distinct set; alice's families never appear in it.
  std::set<std::string> mine;
  for (int i = 0; i < 5; ++i) {
    std::string family = absl::StrCat("bob-list-", i);
    MustDeploy(family, "b", kBobToken);
    mine.insert(family);
  }
  MustDeploy("alice-list", "a");
  std::set<std::string> seen;
  std::string token;
  int pages = 0;
  do {
    grpc::ClientContext context;
    Auth(&context, kBobToken);
    pb::ListFamiliesRequest request;
    request.set_page_size(2);
    request.set_page_token(token);
    pb::ListFamiliesResponse response;
    ASSERT_TRUE(Stub()->ListFamilies(&context, request, &response).ok());
    EXPECT_LE(response.families_size(), 2);
    for (const auto& f : response.families()) {
      EXPECT_EQ(f.owner_tenant(), "bob");
      seen.insert(f.family());
    }
    token = response.next_page_token();
    ++pages;
  } while (!token.empty() && pages < 100);
  for (const auto& family : mine) EXPECT_TRUE(seen.count(family)) << family;
  EXPECT_FALSE(seen.count("alice-list"));
  EXPECT_GE(pages, 3);
}

TEST_F(GrpcControlTest, RollbackRestoresThePreviousOrANamedVersion) {
  std::string v1 = MustDeploy("rolling", "one");
  std::string v2 = MustDeploy("rolling", "two");
  std::string v3 = MustDeploy("rolling", "three");
  pb::RollbackResponse response;
  ASSERT_TRUE(Rollback("rolling", "", &response).ok());
  EXPECT_EQ(response.entry().version(), v2);
  EXPECT_EQ(response.entry().action(), pb::HistoryEntry::ROLLBACK);
  EXPECT_EQ(response.entry().previous_version(), v3);
  ASSERT_TRUE(Rollback("rolling", v1.substr(0, 8), &response).ok());
  EXPECT_EQ(response.entry().version(), v1);
  pb::Family family;
  ASSERT_TRUE(GetFamily("rolling", &family).ok());
  EXPECT_EQ(family.active_version(), v1);
  EXPECT_EQ(family.history_length(), 5u);

  EXPECT_EQ(Rollback("rolling", "0000000000", &response).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Rollback("rolling", "xyz", &response).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Rollback("no-such-family", "", &response).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(GrpcControlTest, RollbackWithoutHistoryIsFailedPrecondition) {
  MustDeploy("single", "only");
  pb::RollbackResponse response;
  grpc::Status status = Rollback("single", "", &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << status.error_message();
}

TEST_F(GrpcControlTest, StaleExpectedVersionIsAborted) {
  std::string v1 = MustDeploy("guarded", "one");
  std::string v2 = MustDeploy("guarded", "two");
  pb::DeployRequest request = JsDeploy("guarded", "three");
  request.set_expected_version(v1);
  pb::DeployResponse response;
  EXPECT_EQ(Deploy(request, &response).error_code(), grpc::StatusCode::ABORTED);
  request.set_expected_version("");  // "only if new"
  EXPECT_EQ(Deploy(request, &response).error_code(), grpc::StatusCode::ABORTED);
  request.set_expected_version(v2.substr(0, 8));
  ASSERT_TRUE(Deploy(request, &response).ok());
  EXPECT_EQ(response.previous_version(), v2);

  pb::DeployRequest fresh = JsDeploy("guarded-new", "one");
  fresh.set_expected_version("");
  EXPECT_TRUE(Deploy(fresh, &response).ok());
}

TEST_F(GrpcControlTest, DeleteFreesTheName) {
  MustDeploy("deleted", "alice's");
  grpc::ClientContext context;
  Auth(&context, kAliceToken);
  pb::DeleteFamilyRequest request;
  request.set_family("deleted");
  pb::DeleteFamilyResponse response;
  ASSERT_TRUE(Stub()->DeleteFamily(&context, request, &response).ok());
  pb::Family family;
  EXPECT_EQ(GetFamily("deleted", &family).error_code(), grpc::StatusCode::NOT_FOUND);
  grpc::ClientContext again;
  Auth(&again, kAliceToken);
  EXPECT_EQ(Stub()->DeleteFamily(&again, request, &response).error_code(),
            grpc::StatusCode::NOT_FOUND);
  // Now bob may take it.
  MustDeploy("deleted", "bob's", kBobToken);
  ASSERT_TRUE(GetFamily("deleted", &family, kBobToken).ok());
  EXPECT_EQ(family.owner_tenant(), "bob");
}

TEST_F(GrpcControlTest, AnotherTenantsFamilyIsPermissionDeniedEverywhere) {
  std::string v1 = MustDeploy("alices", "one");
  MustDeploy("alices", "two");
  auto expect_denied = [](const grpc::Status& status, const char* rpc) {
    EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED)
        << rpc << ": " << status.error_message();
  };
  pb::DeployResponse deployed;
  expect_denied(Deploy(JsDeploy("alices", "bob"), &deployed, kBobToken), "Deploy");
  pb::Family family;
  expect_denied(GetFamily("alices", &family, kBobToken), "GetFamily");
  pb::HistoryResponse history;
  expect_denied(History("alices", &history, kBobToken), "History");
  pb::RollbackResponse rolled;
  expect_denied(Rollback("alices", v1, &rolled, kBobToken), "Rollback");
  {
    grpc::ClientContext context;
    Auth(&context, kBobToken);
    pb::DeleteFamilyRequest request;
    request.set_family("alices");
    pb::DeleteFamilyResponse response;
    expect_denied(Stub()->DeleteFamily(&context, request, &response), "DeleteFamily");
  }
  {
    grpc::ClientContext context;
    Auth(&context, kBobToken);
    pb::GetUsageRequest request;
    request.set_family("alices");
    pb::GetUsageResponse response;
    expect_denied(Stub()->GetUsage(&context, request, &response), "GetUsage");
  }
  {
    grpc::ClientContext context;
    Auth(&context, kBobToken);
    pb::TailLogsRequest request;
    request.set_family("alices");
    auto reader = Stub()->TailLogs(&context, request);
    pb::TailLogsResponse batch;
    EXPECT_FALSE(reader->Read(&batch));
    expect_denied(reader->Finish(), "TailLogs");
  }
  // Nothing changed.
  ASSERT_TRUE(GetFamily("alices", &family).ok());
  EXPECT_EQ(family.history_length(), 2u);
}

TEST_F(GrpcControlTest, MissingOrUnknownTokenIsUnauthenticatedOnEveryRpc) {
  for (const char* token : {static_cast<const char*>(nullptr), "not-a-known-token"}) {
    SCOPED_TRACE(token == nullptr ? "no token" : token);
    auto unauth = [](const grpc::Status& status) {
      EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED) << status.error_message();
    };
    pb::DeployResponse deployed;
    unauth(Deploy(JsDeploy("anon", "x"), &deployed, token));
    pb::Family family;
    unauth(GetFamily("anon", &family, token));
    pb::HistoryResponse history;
    unauth(History("anon", &history, token));
    pb::RollbackResponse rolled;
    unauth(Rollback("anon", "", &rolled, token));
    {
      grpc::ClientContext context;
      Auth(&context, token);
      pb::ValidateRequest request;
      pb::ValidateResponse response;
      unauth(Stub()->Validate(&context, request, &response));
    }
    {
      grpc::ClientContext context;
      Auth(&context, token);
      pb::ListFamiliesResponse response;
      unauth(Stub()->ListFamilies(&context, {}, &response));
    }
    {
      grpc::ClientContext context;
      Auth(&context, token);
      pb::DeleteFamilyResponse response;
      unauth(Stub()->DeleteFamily(&context, {}, &response));
    }
    {
      grpc::ClientContext context;
      Auth(&context, token);
      pb::GetUsageResponse response;
      unauth(Stub()->GetUsage(&context, {}, &response));
    }
    {
      grpc::ClientContext context;
      Auth(&context, token);
      auto reader = Stub()->TailLogs(&context, {});
      pb::TailLogsResponse batch;
      EXPECT_FALSE(reader->Read(&batch));
      unauth(reader->Finish());
    }
  }
  // Not a bearer token at all.
  grpc::ClientContext context;
  context.AddMetadata("authorization", std::string("Basic ") + kAliceToken);
  pb::ListFamiliesResponse response;
  EXPECT_EQ(Stub()->ListFamilies(&context, {}, &response).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(GrpcControlTest, UsageCoversOneOrAllOfTheCallersFamilies) {
  MustDeploy("usage-bob", "x", kBobToken);
  {
    grpc::ClientContext context;
    Auth(&context, kBobToken);
    pb::GetUsageRequest request;
    request.set_family("usage-bob");
    pb::GetUsageResponse response;
    ASSERT_TRUE(Stub()->GetUsage(&context, request, &response).ok());
    ASSERT_EQ(response.families_size(), 1);
    EXPECT_EQ(response.families(0).family(), "usage-bob");
    // Nothing serves HTTP in this server, so nothing was invoked.
    EXPECT_EQ(response.families(0).total().invocations(), 0u);
  }
  {
    grpc::ClientContext context;
    Auth(&context, kBobToken);
    pb::GetUsageResponse response;
    ASSERT_TRUE(Stub()->GetUsage(&context, {}, &response).ok());
    std::set<std::string> families;
    for (const auto& f : response.families()) families.insert(f.family());
    EXPECT_TRUE(families.count("usage-bob"));
    EXPECT_FALSE(families.count("idem"));  // alice's
  }
  grpc::ClientContext context;
  Auth(&context, kBobToken);
  pb::GetUsageRequest request;
  request.set_family("no-such-family");
  pb::GetUsageResponse response;
  EXPECT_EQ(Stub()->GetUsage(&context, request, &response).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(GrpcControlTest, TailLogsEndsWithoutFollowAndFollowingStopsOnCancel) {
  MustDeploy("tailed", "x");
  {
    grpc::ClientContext context;
    Auth(&context, kAliceToken);
    pb::TailLogsRequest request;
    request.set_family("tailed");
    auto reader = Stub()->TailLogs(&context, request);
    pb::TailLogsResponse batch;
    while (reader->Read(&batch)) {
    }
    EXPECT_TRUE(reader->Finish().ok());
  }
  grpc::ClientContext context;
  Auth(&context, kAliceToken);
  pb::TailLogsRequest request;
  request.set_family("tailed");
  request.set_follow(true);
  auto reader = Stub()->TailLogs(&context, request);
  std::thread cancel([&] {
    absl::SleepFor(absl::Milliseconds(300));  // the stream must still be open then
    context.TryCancel();
  });
  const absl::Time start = absl::Now();
  pb::TailLogsResponse batch;
  while (reader->Read(&batch)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(250));
  cancel.join();
}

TEST_F(GrpcControlTest, FiftyConcurrentDeploysLeaveAGapFreeHistory) {
  constexpr int kDeploys = 50;
  std::vector<std::thread> threads;
  std::atomic<int> ok{0}, aborted{0}, other{0};
  std::vector<std::string> acknowledged(kDeploys);
  for (int i = 0; i < kDeploys; ++i) {
    threads.emplace_back([&, i] {
      pb::DeployResponse response;
      grpc::Status status = Deploy(JsDeploy("contended", absl::StrCat("deploy ", i)), &response);
      if (status.ok()) {
        ++ok;
        acknowledged[i] = response.version();
      } else if (status.error_code() == grpc::StatusCode::ABORTED) {
        ++aborted;
      } else {
        ++other;
        ADD_FAILURE() << status.error_message();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok + aborted, kDeploys);
  EXPECT_EQ(other, 0);
  std::vector<pb::HistoryEntry> entries;
  pb::HistoryResponse history;
  ASSERT_TRUE(History("contended", &history, kAliceToken, 1000).ok());
  entries.assign(history.entries().begin(), history.entries().end());
  ASSERT_EQ(entries.size(), static_cast<size_t>(ok.load()));
  for (size_t i = 0; i < entries.size(); ++i) {
    EXPECT_EQ(entries[i].sequence(), entries.size() - i);  // newest first, 1..N, no gaps
    if (i + 1 < entries.size()) {
      EXPECT_EQ(entries[i].previous_version(), entries[i + 1].version());
    }
  }
  std::set<std::string> in_history;
  for (const auto& e : entries) in_history.insert(e.version());
  for (const auto& v : acknowledged) {
    if (!v.empty()) {
      EXPECT_TRUE(in_history.count(v)) << v;
    }
  }
  pb::Family family;
  ASSERT_TRUE(GetFamily("contended", &family).ok());
  EXPECT_EQ(family.active_version(), entries.front().version());
}

TEST_F(GrpcControlTest, OneMillisecondDeadlineLeavesOldOrNew) {
  std::string old_version = MustDeploy("deadline", "old");
  pb::DeployRequest request = JsDeploy("deadline", "new");
  grpc::ClientContext context;
  context.AddMetadata("authorization", absl::StrCat("Bearer ", kAliceToken));
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(1));
  pb::DeployResponse response;
  grpc::Status status = Stub()->Deploy(&context, request, &response);
  EXPECT_TRUE(status.ok() || status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED)
      << status.error_message();
  const std::string new_version = *ComputeVersion(ManifestOf(request));
  // The server may still be finishing the deploy the client gave up on, so the family and its
  // history are read until they agree (a torn store never would); each read is old-or-new.
  pb::Family family;
  pb::HistoryResponse history;
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  do {
    ASSERT_TRUE(GetFamily("deadline", &family).ok());
    EXPECT_TRUE(family.active_version() == old_version || family.active_version() == new_version);
    ASSERT_TRUE(History("deadline", &history).ok());
    ASSERT_GT(history.entries_size(), 0);
    if (history.entries(0).version() == family.active_version()) break;
    absl::SleepFor(absl::Milliseconds(10));
  } while (absl::Now() < deadline);
  EXPECT_EQ(history.entries(0).version(), family.active_version());
}

TEST_F(GrpcControlTest, MalformedProtobufIsRejectedAndTheServerStaysHealthy) {
  grpc::GenericStub generic(*channel_);
  grpc::ClientContext context;
  Auth(&context, kAliceToken);
  const std::string garbage = "\xff\xff\xff\xff\x0f\x0a\x05zz";
  grpc::Slice slice(garbage);
  grpc::ByteBuffer request(&slice, 1), response;
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  grpc::Status status;
  generic.UnaryCall(&context, "/cosmo.v1.Control/Deploy", grpc::StubOptions(), &request, &response,
                    [&](grpc::Status s) {
                      std::lock_guard<std::mutex> lock(mu);
                      status = s;
                      done = true;
                      cv.notify_one();
                    });
  std::unique_lock<std::mutex> lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(30), [&] { return done; }));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  EXPECT_THAT(status.error_message(), HasSubstr("/cosmo.v1.Control/Deploy"));
  EXPECT_FALSE(MustDeploy("after-garbage", "ok").empty());
}

TEST_F(GrpcControlTest, GarbageBytesOnThePortDoNotHurtTheServer) {
  std::vector<std::string> parts = absl::StrSplit(address_, ':');
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(std::stoi(parts.back())));
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  const std::string junk = "GET / HTTP/1.1\r\nHost: x\r\n\r\n\x00\x01\x02garbage garbage";
  ASSERT_GT(send(fd, junk.data(), junk.size(), MSG_NOSIGNAL), 0);
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char buf[4096];
  while (recv(fd, buf, sizeof buf, 0) > 0) {
  }  // until the server closes the connection
  close(fd);
  EXPECT_FALSE(MustDeploy("after-junk", "ok").empty());
}

TEST_F(GrpcControlTest, ServerReflectionListsTheControlService) {
  // Debian ships no generated reflection stubs, so the request is encoded by hand:
  // ServerReflectionRequest{list_services: ""} is field 7, length 0.
  grpc::GenericStub generic(*channel_);
  grpc::CompletionQueue cq;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  auto call = generic.PrepareCall(
      &context, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &cq);
  auto step = [&](auto&& start_op) {
    start_op();
    void* tag = nullptr;
    bool ok = false;
    EXPECT_TRUE(cq.Next(&tag, &ok));
    return ok;
  };
  ASSERT_TRUE(step([&] { call->StartCall(reinterpret_cast<void*>(1)); }));
  grpc::Slice slice(std::string("\x3a\x00", 2));
  grpc::ByteBuffer request(&slice, 1), response;
  ASSERT_TRUE(step([&] { call->Write(request, reinterpret_cast<void*>(2)); }));
  ASSERT_TRUE(step([&] { call->WritesDone(reinterpret_cast<void*>(3)); }));
  ASSERT_TRUE(step([&] { call->Read(&response, reinterpret_cast<void*>(4)); }));
  grpc::Status status;
  step([&] { call->Finish(&status, reinterpret_cast<void*>(5)); });
  EXPECT_TRUE(status.ok()) << status.error_message();
  std::vector<grpc::Slice> slices;
  ASSERT_TRUE(response.Dump(&slices).ok());
  std::string bytes;
  for (const auto& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  EXPECT_THAT(bytes, HasSubstr("cosmo.v1.Control"));
  cq.Shutdown();
  void* tag;
  bool ok;
  while (cq.Next(&tag, &ok)) {
  }
}

}  // namespace
}  // namespace cosmo
