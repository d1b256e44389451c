// cosmo-gateway's dashboard (docs/dashboard.md, "On cosmo-gateway"): a real cosmo-server with a
// tokens file and a real cosmo-gateway fed by it, spoken to over HTTP on loopback. The gateway
// answers the API's read calls with the server's data for the caller's own tenant (the server
// judges the forwarded token), refuses state changes pointing at cosmo-server, keeps the Host rule,
// and shows its own requests' logs. The server's cosmo.v1.DashboardApi is also called directly
// with hostile input.
#include <httplib.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "cosmo/v1/control.grpc.pb.h"
#include "cosmo/v1/dashboard.grpc.pb.h"
#include "gtest/gtest.h"
#include "integration/subprocess.h"
#include "support/host_addresses.h"
#include "support/temp_dir.h"
#include "support/tenant_server_test.h"

namespace cosmo {
namespace {

using json = nlohmann::json;
namespace pb = ::cosmo::v1;

class GatewayDashboardTest : public testing::TenantServerTest {
 protected:
  static void SetUpTestSuite() {
    TenantServerTest::SetUpTestSuite();
    Deploy(kAliceToken, "gd-shop",
           "console.log('shop ' + new URL(req.url).pathname); return 'one';");
    Deploy(kAliceToken, "gd-shop",
           "console.log('shop ' + new URL(req.url).pathname); return 'two';");
    Deploy(kBobToken, "gd-blog", "return 'blog';");
    auto gateway =
        testing::StartCosmoGateway(address_, &port_, {absl::StrCat("--token=", kGatewayToken)});
    ASSERT_TRUE(gateway.ok()) << gateway.status();
    gateway_ = gateway->release();
  }
  static void TearDownTestSuite() {
    if (gateway_ != nullptr) {
      EXPECT_EQ(gateway_->Stop(), 0) << gateway_->output();
    }
    delete gateway_;
    gateway_ = nullptr;
    TenantServerTest::TearDownTestSuite();
  }

  static void Deploy(const char* token, const std::string& family, const std::string& body) {
    pb::DeployRequest request;
    request.set_family(family);
    request.set_engine("javascript");
    request.set_main("index.js");
    (*request.mutable_files())["index.js"] =
        absl::StrCat("export default { fetch(req) { ", body, " } };");
    pb::DeployResponse response;
    grpc::ClientContext context;
    Auth(&context, token);
    grpc::Status status = pb::Control::NewStub(*channel_)->Deploy(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  static httplib::Client Client() {
    httplib::Client client("127.0.0.1", port_);
    client.set_read_timeout(20, 0);
    return client;
  }
  static httplib::Headers As(const char* token) {
    return {{"Authorization", absl::StrCat("Bearer ", token)}};
  }

  static int port_;
  static testing::Subprocess* gateway_;
};

int GatewayDashboardTest::port_ = 0;
testing::Subprocess* GatewayDashboardTest::gateway_ = nullptr;

TEST_F(GatewayDashboardTest, ReadsAnswerWithTheServersDataForTheCallersTenant) {
  auto who = Client().Get("/_cosmo/api/whoami", As(kAliceToken));
  ASSERT_TRUE(who);
  ASSERT_EQ(who->status, 200) << who->body;
  EXPECT_EQ(json::parse(who->body)["tenant"], "alice");
  EXPECT_EQ(json::parse(who->body)["read_only"], true);

  // The gateway has loaded none of these families; the list is the server's.
  auto alice = Client().Get("/_cosmo/api/families", As(kAliceToken));
  ASSERT_TRUE(alice);
  ASSERT_EQ(alice->status, 200) << alice->body;
  json a = json::parse(alice->body);
  ASSERT_EQ(a["total"], 1);
  EXPECT_EQ(a["families"][0]["name"], "gd-shop");
  auto bob = Client().Get("/_cosmo/api/families", As(kBobToken));
  ASSERT_TRUE(bob);
  ASSERT_EQ(bob->status, 200) << bob->body;
  EXPECT_EQ(json::parse(bob->body)["families"][0]["name"], "gd-blog");

  auto family = Client().Get("/_cosmo/api/families/gd-shop", As(kAliceToken));
  ASSERT_TRUE(family);
  ASSERT_EQ(family->status, 200) << family->body;
  EXPECT_EQ(json::parse(family->body)["owner"], "alice");
  EXPECT_EQ(json::parse(family->body)["history_length"], 2);
  auto history = Client().Get("/_cosmo/api/families/gd-shop/history?limit=1", As(kAliceToken));
  ASSERT_TRUE(history);
  ASSERT_EQ(history->status, 200) << history->body;
  EXPECT_EQ(json::parse(history->body)["entries"][0]["sequence"], 2);
  for (const char* path : {"/_cosmo/api/families/gd-shop/usage?since=3600",
                           "/_cosmo/api/families/gd-shop/crons", "/_cosmo/api/kv/namespaces"}) {
    auto r = Client().Get(path, As(kAliceToken));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << path << ": " << r->body;
  }
  // Parameter errors are the server's, named as on its own dashboard.
  auto bad = Client().Get("/_cosmo/api/families?sort=size", As(kAliceToken));
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_NE(bad->body.find("sort"), std::string::npos) << bad->body;
}

TEST_F(GatewayDashboardTest, WithoutATokenIs401AndAnotherTenantsFamilyIs403) {
  for (const char* path :
       {"/_cosmo/api/whoami", "/_cosmo/api/families", "/_cosmo/api/families/gd-shop/logs"}) {
    auto none = Client().Get(path);
    ASSERT_TRUE(none);
    EXPECT_EQ(none->status, 401) << path;
    EXPECT_NE(none->get_header_value("WWW-Authenticate"), "") << path;
    auto wrong = Client().Get(path, As("not-a-token"));
    ASSERT_TRUE(wrong);
    EXPECT_EQ(wrong->status, 401) << path;
  }
  // The gateway's own token is no key to the dashboard: tenant `gateway` owns nothing.
  auto as_gateway = Client().Get("/_cosmo/api/families", As(kGatewayToken));
  ASSERT_TRUE(as_gateway);
  ASSERT_EQ(as_gateway->status, 200);
  EXPECT_EQ(json::parse(as_gateway->body)["total"], 0);
  for (const char* what : {"", "/history", "/usage", "/logs", "/crons"}) {
    auto r = Client().Get(absl::StrCat("/_cosmo/api/families/gd-blog", what), As(kAliceToken));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 403) << what << ": " << r->body;
  }
}

TEST_F(GatewayDashboardTest, StateChangesAreRefusedPointingAtTheServer) {
  httplib::Headers headers = As(kAliceToken);
  headers.emplace("Origin", absl::StrCat("http://127.0.0.1:", port_));
  auto r =
      Client().Post("/_cosmo/api/families/gd-shop/rollback", headers, "{}", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 405);
  EXPECT_NE(r->body.find("cosmo-server"), std::string::npos) << r->body;
  auto family = Client().Get("/_cosmo/api/families/gd-shop", As(kAliceToken));
  ASSERT_TRUE(family);
  EXPECT_EQ(json::parse(family->body)["history_length"], 2);  // nothing changed
}

TEST_F(GatewayDashboardTest, AHostThatIsNotTheGatewaysIsRefused) {
  httplib::Headers headers = As(kAliceToken);
  headers.emplace("Host", "evil.example");
  auto r = Client().Get("/_cosmo/api/whoami", headers);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 403);
  auto page = Client().Get("/_cosmo/ui", {{"Host", "evil.example"}});
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 403);
  auto ok = Client().Get("/_cosmo/ui");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  EXPECT_NE(ok->body.find("/_cosmo/ui/app.js"), std::string::npos);
}

TEST_F(GatewayDashboardTest, TheLiveLogHoldsTheRequestsThisGatewayRan) {
  auto served = Client().Get("/gd-shop/through-the-gateway");
  ASSERT_TRUE(served);
  ASSERT_EQ(served->status, 200) << served->body;
  auto r = Client().Get("/_cosmo/api/families/gd-shop/logs?wait_ms=5000", As(kAliceToken));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  json batch = json::parse(r->body);
  ASSERT_FALSE(batch["records"].empty()) << r->body;
  EXPECT_EQ(batch["records"].back()["text"], "shop /gd-shop/through-the-gateway");
  auto other = Client().Get("/_cosmo/api/families/gd-shop/logs", As(kBobToken));
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 403);
}

TEST_F(GatewayDashboardTest, TheServersReadServiceRefusesHostileInput) {
  auto stub = pb::DashboardApi::NewStub(*channel_);
  auto read = [&](const char* token, const pb::DashboardReadRequest& request,
                  pb::DashboardReadResponse* response) {
    grpc::ClientContext context;
    Auth(&context, token);
    return stub->Read(&context, request, response);
  };
  pb::DashboardReadRequest request;
  pb::DashboardReadResponse response;
  request.set_path("whoami");
  EXPECT_EQ(read(nullptr, request, &response).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  ASSERT_TRUE(read(kAliceToken, request, &response).ok());
  EXPECT_EQ(json::parse(response.json())["tenant"], "alice");
  EXPECT_TRUE(response.tokens_required());

  // A state change is no read: the rollback path takes POST, which this service cannot send.
  request.set_path("families/gd-shop/rollback");
  grpc::Status rollback = read(kAliceToken, request, &response);
  EXPECT_EQ(rollback.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(rollback.error_message().find("POST"), std::string::npos);
  request.set_path(std::string(2000, 'a'));
  EXPECT_EQ(read(kAliceToken, request, &response).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  request.set_path("../../etc/passwd");
  EXPECT_EQ(read(kAliceToken, request, &response).error_code(), grpc::StatusCode::NOT_FOUND);
  request.set_path("families");
  for (int i = 0; i < 40; ++i) {
    pb::DashboardParam* param = request.add_params();
    param->set_name("filter");
    param->set_value("x");
  }
  EXPECT_EQ(read(kAliceToken, request, &response).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  request.clear_params();
  pb::DashboardParam* big = request.add_params();
  big->set_name("filter");
  big->set_value(std::string(5000, 'x'));
  EXPECT_EQ(read(kAliceToken, request, &response).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST(GatewayDashboardNoTokensTest, WithoutTokensOnTheServerOnlyLoopbackClientsAreServed) {
  const std::string ip = testing::NonLoopbackIPv4Address();
  if (ip.empty()) GTEST_SKIP() << "this machine has no non-loopback IPv4 address";
  testing::TempDir dir;
  std::string address;
  auto server = testing::StartCosmoServer({"--data-dir=" + dir.Sub("data")}, &address);
  ASSERT_TRUE(server.ok()) << server.status();
  auto gateway = testing::Subprocess::Start(
      {testing::CosmoGatewayPath(), "--control=" + address, "--http-listen=0.0.0.0:0"});
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  auto line = (*gateway)->WaitForLine("data plane (HTTP) listening on", absl::Seconds(30));
  ASSERT_TRUE(line.ok()) << line.status();
  // "... listening on 0.0.0.0:PORT (control plane ...)"
  const std::string bound = line->substr(line->find("0.0.0.0:") + 8);
  int port = 0;
  ASSERT_TRUE(absl::SimpleAtoi(bound.substr(0, bound.find(' ')), &port)) << *line;

  httplib::Client remote(ip, port);
  auto refused = remote.Get("/_cosmo/api/whoami");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 403);
  EXPECT_NE(refused->body.find("loopback"), std::string::npos) << refused->body;
  auto family = remote.Get("/_cosmo/api/families/anything");
  ASSERT_TRUE(family);
  EXPECT_EQ(family->status, 403);
  httplib::Client local("127.0.0.1", port);
  auto ok = local.Get("/_cosmo/api/whoami");
  ASSERT_TRUE(ok);
  ASSERT_EQ(ok->status, 200) << ok->body;
  EXPECT_EQ(json::parse(ok->body)["tenant"], "local");
  EXPECT_EQ((*gateway)->Stop(), 0) << (*gateway)->output();
  EXPECT_EQ((*server)->Stop(), 0) << (*server)->output();
}

}  // namespace
}  // namespace cosmo
