// ControlService in process, over a real Runtime (in-memory store, the scripted engine standing in
// for JavaScript), through a real gRPC channel on loopback. Covers what needs invocations — usage
// and logs — which the integration tests cannot produce without a data plane.
#include "control/control_service.h"

#include <grpcpp/grpcpp.h>

#include <memory>
#include <thread>

#include "absl/strings/str_cat.h"
#include "control/control_server.h"
#include "control/token_authenticator.h"
#include "cosmo/manifest.h"
#include "cosmo/runtime.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "support/scripted_engine.h"

namespace cosmo::control {
namespace {

namespace pb = ::cosmo::v1;
using ::cosmo::testing::ScriptedEngine;

class ControlServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auth_ = *TokenAuthenticator::FromText(
        absl::StrCat("alice ", Sha256Hex("a"), "\nbob ", Sha256Hex("b"), "\n"), "tokens");
    RuntimeOptions options;
    options.background_maintenance = false;
    std::vector<std::unique_ptr<Engine>> engines;
    engines.push_back(std::make_unique<ScriptedEngine>("javascript"));
    auto runtime = NewRuntime(options, NewInMemoryStore(), std::move(engines));
    ASSERT_TRUE(runtime.ok()) << runtime.status();
    runtime_ = *std::move(runtime);
    ControlServerOptions server_options;
    server_options.listen_address = "127.0.0.1:0";
    server_options.service.log_poll_interval = absl::Milliseconds(20);
    auto server =
        ControlServer::Start(server_options, &runtime_->registry(), runtime_.get(), auth_.get());
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    stub_ = pb::Control::NewStub(
        grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials()));
  }

  void Context(grpc::ClientContext* context, const char* token = "a") {
    context->AddMetadata("authorization", absl::StrCat("Bearer ", token));
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  }

  std::string Deploy(const std::string& family, const std::string& source) {
    pb::DeployRequest request;
    request.set_family(family);
    request.set_engine("javascript");
    request.set_main("index.js");
    (*request.mutable_files())["index.js"] = source;
    grpc::ClientContext context;
    Context(&context);
    pb::DeployResponse response;
    grpc::Status status = stub_->Deploy(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.version();
  }

  void Invoke(const std::string& family, int times) {
    for (int i = 0; i < times; ++i) {
      runtime_->Invoke(family, {.method = "GET", .url = "http://x/" + family + "/"});
    }
  }

  std::unique_ptr<TokenAuthenticator> auth_;
  std::unique_ptr<Runtime> runtime_;
  std::unique_ptr<ControlServer> server_;
  std::unique_ptr<pb::Control::Stub> stub_;
};

TEST_F(ControlServiceTest, SecretNamesMaskGetFamilyAndLogsAndMustBeEnvKeys) {
  pb::DeployRequest request;
  request.set_family("keys");
  request.set_engine("javascript");
  request.set_main("index.js");
  (*request.mutable_files())["index.js"] = "log using k-secret-9 now";
  (*request.mutable_env())["API_KEY"] = "k-secret-9";
  (*request.mutable_env())["MODE"] = "plain";
  request.add_secret_names("NOPE");
  {
    grpc::ClientContext context;
    Context(&context);
    pb::DeployResponse response;
    grpc::Status status = stub_->Deploy(&context, request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(status.error_message(), ::testing::HasSubstr("secret_names: 'NOPE'"));
  }
  request.clear_secret_names();
  request.add_secret_names("API_KEY");
  {
    grpc::ClientContext context;
    Context(&context);
    pb::DeployResponse response;
    grpc::Status status = stub_->Deploy(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  pb::Family family;
  {
    pb::GetFamilyRequest get;
    get.set_family("keys");
    grpc::ClientContext context;
    Context(&context);
    ASSERT_TRUE(stub_->GetFamily(&context, get, &family).ok());
  }
  ASSERT_EQ(family.secret_names_size(), 1);
  EXPECT_EQ(family.secret_names(0), "API_KEY");
  EXPECT_EQ(family.env().at("API_KEY"), "***");
  EXPECT_EQ(family.env().at("MODE"), "plain");
  EXPECT_EQ(family.SerializeAsString().find("k-secret-9"), std::string::npos);

  Invoke("keys", 1);
  pb::TailLogsRequest tail;
  tail.set_family("keys");
  grpc::ClientContext context;
  Context(&context);
  auto reader = stub_->TailLogs(&context, tail);
  pb::TailLogsResponse batch;
  ASSERT_TRUE(reader->Read(&batch));
  ASSERT_EQ(batch.records_size(), 1);
  EXPECT_EQ(batch.records(0).text(), "using *** now");
  EXPECT_TRUE(reader->Finish().ok());
}

// SplitTraffic and Promote refuse malformed and hostile requests with a clear code and message,
// and another tenant's family with PERMISSION_DENIED.
TEST_F(ControlServiceTest, SplitAndPromoteRefuseBadRequests) {
  const std::string v1 = Deploy("shop", "respond 200 one");
  const std::string v2 = Deploy("shop", "respond 200 two");
  auto split = [&](std::vector<std::pair<std::string, uint32_t>> shares, const char* token = "a") {
    pb::SplitTrafficRequest request;
    request.set_family("shop");
    for (const auto& [version, percent] : shares) {
      pb::VersionPercent* share = request.add_versions();
      share->set_version(version);
      share->set_percent(percent);
    }
    grpc::ClientContext context;
    Context(&context, token);
    pb::SplitTrafficResponse response;
    return stub_->SplitTraffic(&context, request, &response);
  };
  grpc::Status none = split({});
  EXPECT_EQ(none.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(none.error_message(), ::testing::HasSubstr("exactly two versions"));
  EXPECT_EQ(split({{v1, 30}, {v2, 30}, {v1, 40}}).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(split({{v1, 4000000000u}, {v2, 294967396u}}).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(split({{std::string(100000, 'a'), 50}, {v2, 50}}).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(split({{"../../fam/x", 50}, {v2, 50}}).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(split({{v1, 50}, {v2, 50}}, "b").error_code(), grpc::StatusCode::PERMISSION_DENIED);

  pb::PromoteRequest promote;
  promote.set_family("shop");
  pb::PromoteResponse promoted;
  grpc::ClientContext unsplit;
  Context(&unsplit);
  EXPECT_EQ(stub_->Promote(&unsplit, promote, &promoted).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);

  ASSERT_TRUE(split({{v1.substr(0, 8), 75}, {v2.substr(0, 8), 25}}).ok());
  grpc::ClientContext get_context;
  Context(&get_context);
  pb::GetFamilyRequest get;
  get.set_family("shop");
  pb::Family family;
  ASSERT_TRUE(stub_->GetFamily(&get_context, get, &family).ok());
  EXPECT_EQ(family.split().base_version(), v2);  // the active version stays the base
  EXPECT_EQ(family.split().canary_version(), v1);
  EXPECT_EQ(family.split().canary_percent(), 75u);
  grpc::ClientContext promote_context;
  Context(&promote_context);
  ASSERT_TRUE(stub_->Promote(&promote_context, promote, &promoted).ok());
  EXPECT_EQ(promoted.entry().action(), pb::HistoryEntry::PROMOTE);
  EXPECT_EQ(promoted.entry().version(), v1);
}

TEST_F(ControlServiceTest, UsageIsReportedPerFamilyAndPerVersionWithOutcomes) {
  const std::string v1 = Deploy("metered", "respond 200 fine");
  Invoke("metered", 3);
  const std::string v2 = Deploy("metered", "throw boom");
  Invoke("metered", 2);

  grpc::ClientContext context;
  Context(&context);
  pb::GetUsageRequest request;
  request.set_family("metered");
  pb::GetUsageResponse response;
  ASSERT_TRUE(stub_->GetUsage(&context, request, &response).ok());
  ASSERT_EQ(response.families_size(), 1);
  const pb::FamilyUsage& usage = response.families(0);
  EXPECT_EQ(usage.total().invocations(), 5u);
  EXPECT_EQ(usage.total().errors(), 2u);
  EXPECT_EQ(usage.total().outcomes().at("ok"), 3u);
  EXPECT_EQ(usage.total().outcomes().at("exception"), 2u);
  EXPECT_EQ(usage.total().outcomes().count("exceeded_cpu"), 0u);
  EXPECT_EQ(usage.total().cpu_us(), 5u * ScriptedEngine::kCpuUs);
  EXPECT_EQ(usage.total().wall_us(), 5u * ScriptedEngine::kWallUs);
  std::map<std::string, uint64_t> per_version;
  for (const auto& v : usage.versions()) per_version[v.version()] = v.totals().invocations();
  EXPECT_EQ(per_version, (std::map<std::string, uint64_t>{{v1, 3}, {v2, 2}}));

  // All of alice's families; bob sees none of them.
  Deploy("idle", "respond 200 idle");
  grpc::ClientContext all;
  Context(&all);
  ASSERT_TRUE(stub_->GetUsage(&all, {}, &response).ok());
  ASSERT_EQ(response.families_size(), 2);
  EXPECT_EQ(response.families(0).family(), "idle");
  EXPECT_EQ(response.families(0).total().invocations(), 0u);
  EXPECT_EQ(response.families(1).family(), "metered");
  grpc::ClientContext bobs;
  Context(&bobs, "b");
  ASSERT_TRUE(stub_->GetUsage(&bobs, {}, &response).ok());
  EXPECT_EQ(response.families_size(), 0);
}

TEST_F(ControlServiceTest, TailLogsSendsConsoleOutputAndFailedOutcomes) {
  const std::string v1 = Deploy("chatty", "log hello there");
  Invoke("chatty", 2);
  Deploy("chatty", "throw kaboom");
  Invoke("chatty", 1);

  grpc::ClientContext context;
  Context(&context);
  pb::TailLogsRequest request;
  request.set_family("chatty");
  auto reader = stub_->TailLogs(&context, request);
  std::vector<pb::LogRecord> records;
  pb::TailLogsResponse batch;
  while (reader->Read(&batch)) {
    EXPECT_EQ(batch.dropped(), 0u);
    records.insert(records.end(), batch.records().begin(), batch.records().end());
  }
  ASSERT_TRUE(reader->Finish().ok());
  ASSERT_GE(records.size(), 3u);
  EXPECT_EQ(records[0].sequence(), 1u);
  EXPECT_EQ(records[0].text(), "hello there");
  EXPECT_EQ(records[0].level(), "log");
  EXPECT_EQ(records[0].version(), v1);
  EXPECT_EQ(records[0].family(), "chatty");
  EXPECT_FALSE(records[0].is_outcome());
  EXPECT_GT(records[0].time().seconds(), 0);
  const pb::LogRecord& last = records.back();
  EXPECT_TRUE(last.is_outcome());
  EXPECT_EQ(last.outcome(), "exception");
  EXPECT_THAT(last.text(), ::testing::HasSubstr("kaboom"));
  for (size_t i = 1; i < records.size(); ++i) {
    EXPECT_EQ(records[i].sequence(), records[i - 1].sequence() + 1);
  }

  // Resuming after a sequence skips what was seen.
  grpc::ClientContext resumed;
  Context(&resumed);
  request.set_after_sequence(records.size() - 1);
  reader = stub_->TailLogs(&resumed, request);
  std::vector<pb::LogRecord> rest;
  while (reader->Read(&batch))
    rest.insert(rest.end(), batch.records().begin(), batch.records().end());
  ASSERT_TRUE(reader->Finish().ok());
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(rest[0].sequence(), records.back().sequence());
}

TEST_F(ControlServiceTest, FollowingTailLogsDeliversNewRecordsAsTheyCome) {
  Deploy("followed", "log tick");
  grpc::ClientContext context;
  Context(&context);
  pb::TailLogsRequest request;
  request.set_family("followed");
  request.set_follow(true);
  auto reader = stub_->TailLogs(&context, request);
  std::thread invoker([&] { Invoke("followed", 1); });
  pb::TailLogsResponse batch;
  ASSERT_TRUE(reader->Read(&batch));  // blocks until the invocation logs
  ASSERT_EQ(batch.records_size(), 1);
  EXPECT_EQ(batch.records(0).text(), "tick");
  invoker.join();
  Invoke("followed", 1);
  ASSERT_TRUE(reader->Read(&batch));
  EXPECT_EQ(batch.records(0).sequence(), 2u);
  context.TryCancel();
  while (reader->Read(&batch)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
}

TEST_F(ControlServiceTest, ShutdownEndsFollowingStreamsPromptly) {
  Deploy("forever", "log x");
  grpc::ClientContext context;
  Context(&context);
  pb::TailLogsRequest request;
  request.set_family("forever");
  request.set_follow(true);
  auto reader = stub_->TailLogs(&context, request);
  // The stream is open once the server has the call; an empty stream sends nothing, so wait for
  // the call to be in flight by issuing another call on the same channel first.
  grpc::ClientContext probe;
  Context(&probe);
  pb::ListFamiliesResponse families;
  ASSERT_TRUE(stub_->ListFamilies(&probe, {}, &families).ok());
  const absl::Time start = absl::Now();
  server_->Shutdown(absl::Seconds(20));
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  pb::TailLogsResponse batch;
  while (reader->Read(&batch)) {
  }
  reader->Finish();
}

TEST_F(ControlServiceTest, UsageHistoryIsPerVersionAndBucketForTheOwnerOnly) {
  const std::string v1 = Deploy("charted", "respond 200 fine");
  Invoke("charted", 3);
  ASSERT_TRUE(runtime_->FlushUsage().ok());
  const std::string v2 = Deploy("charted", "throw boom");
  Invoke("charted", 2);  // not flushed yet: counted in the current minute

  auto history = [&](const char* token, uint32_t bucket, int64_t since,
                     pb::GetUsageHistoryResponse* response) {
    grpc::ClientContext context;
    Context(&context, token);
    pb::GetUsageHistoryRequest request;
    request.set_family("charted");
    request.set_bucket_seconds(bucket);
    request.set_since_unix_seconds(since);
    return stub_->GetUsageHistory(&context, request, response);
  };
  const int64_t hour_ago = absl::ToUnixSeconds(absl::Now() - absl::Hours(1));
  pb::GetUsageHistoryResponse response;
  grpc::Status status = history("a", 0, hour_ago, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  std::map<std::string, uint64_t> per_version;
  for (const auto& b : response.buckets()) {
    EXPECT_EQ(b.width_seconds(), 60u);
    EXPECT_EQ(b.start_unix_seconds() % 60, 0);
    per_version[b.version()] += b.totals().invocations();
    if (b.version() == v2) {
      EXPECT_EQ(b.totals().errors(), b.totals().invocations());
    }
  }
  EXPECT_EQ(per_version, (std::map<std::string, uint64_t>{{v1, 3}, {v2, 2}}));

  pb::GetUsageHistoryResponse hours;
  ASSERT_TRUE(history("a", 3600, 0, &hours).ok());
  for (const auto& b : hours.buckets()) EXPECT_EQ(b.width_seconds(), 3600u);

  pb::GetUsageHistoryResponse refused;
  EXPECT_EQ(history("b", 60, hour_ago, &refused).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(history("a", 61, hour_ago, &refused).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(history("a", 60, -5, &refused).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(history("nobody", 60, hour_ago, &refused).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  {
    grpc::ClientContext context;
    Context(&context);
    pb::GetUsageHistoryRequest request;
    request.set_family("charted");
    request.set_since_unix_seconds(hour_ago);
    request.set_until_unix_seconds(hour_ago - 1);
    EXPECT_EQ(stub_->GetUsageHistory(&context, request, &refused).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
  }
}

TEST_F(ControlServiceTest, ANameDeletedAndRedeployedDoesNotInheritUsageOrLogs) {
  Deploy("reused", "log alice's secret");
  Invoke("reused", 2);
  {
    grpc::ClientContext context;
    Context(&context);
    pb::DeleteFamilyRequest request;
    request.set_family("reused");
    pb::DeleteFamilyResponse response;
    ASSERT_TRUE(stub_->DeleteFamily(&context, request, &response).ok());
  }
  // bob takes the name.
  pb::DeployRequest request;
  request.set_family("reused");
  request.set_engine("javascript");
  request.set_main("index.js");
  (*request.mutable_files())["index.js"] = "respond 200 bob";
  {
    grpc::ClientContext context;
    Context(&context, "b");
    pb::DeployResponse response;
    ASSERT_TRUE(stub_->Deploy(&context, request, &response).ok());
  }
  grpc::ClientContext usage_context;
  Context(&usage_context, "b");
  pb::GetUsageRequest usage_request;
  usage_request.set_family("reused");
  pb::GetUsageResponse usage;
  ASSERT_TRUE(stub_->GetUsage(&usage_context, usage_request, &usage).ok());
  ASSERT_EQ(usage.families_size(), 1);
  EXPECT_EQ(usage.families(0).total().invocations(), 0u);
  EXPECT_EQ(usage.families(0).versions_size(), 0);
  {
    grpc::ClientContext context;
    Context(&context, "b");
    pb::GetUsageHistoryRequest request;
    request.set_family("reused");
    pb::GetUsageHistoryResponse history;
    ASSERT_TRUE(stub_->GetUsageHistory(&context, request, &history).ok());
    EXPECT_EQ(history.buckets_size(), 0);
  }

  grpc::ClientContext logs_context;
  Context(&logs_context, "b");
  pb::TailLogsRequest logs_request;
  logs_request.set_family("reused");
  auto reader = stub_->TailLogs(&logs_context, logs_request);
  pb::TailLogsResponse batch;
  while (reader->Read(&batch)) {
    for (const auto& record : batch.records()) ADD_FAILURE() << "leaked: " << record.text();
  }
  EXPECT_TRUE(reader->Finish().ok());

  // bob's own traffic is counted and logged as usual.
  Invoke("reused", 1);
  grpc::ClientContext again;
  Context(&again, "b");
  ASSERT_TRUE(stub_->GetUsage(&again, usage_request, &usage).ok());
  EXPECT_EQ(usage.families(0).total().invocations(), 1u);
}

}  // namespace
}  // namespace cosmo::control
