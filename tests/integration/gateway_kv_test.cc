// The cosmo.v1.GatewayKv service of a real cosmo-server with a tokens file, called as a
// cosmo-gateway calls it: every RPC needs a token of the tenant `gateway` (gateways are trusted
// like the server's own runtime, tenants are not); values round-trip byte for byte with their
// metadata; the data-plane rules hold (no namespace is created, a missing one refuses writes); and
// malformed, oversized or hostile input gets INVALID_ARGUMENT naming the limit, with nothing
// written.
#include <grpcpp/grpcpp.h>

#include <functional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cosmo/v1/gateway_kv.grpc.pb.h"
#include "cosmo/v1/kv.grpc.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "support/tenant_server_test.h"

namespace cosmo {
namespace {

namespace pb = ::cosmo::v1;
using ::testing::HasSubstr;

class GatewayKvTest : public ::cosmo::testing::TenantServerTest {
 protected:
  void SetUp() override {
    ns_ = absl::StrCat("gw-", ++counter_);
    // Alice creates the namespace through the control plane, as a deploy binding it would.
    pb::PutKvValueRequest request;
    request.set_kv_namespace(ns_);
    request.set_key("seed");
    request.set_value("s");
    grpc::ClientContext context;
    Auth(&context, kAliceToken);
    pb::PutKvValueResponse response;
    ASSERT_TRUE(pb::Kv::NewStub(*channel_)->PutValue(&context, request, &response).ok());
  }

  std::unique_ptr<pb::GatewayKv::Stub> Stub() { return pb::GatewayKv::NewStub(*channel_); }

  grpc::Status Put(const std::string& key, const std::string& value,
                   std::function<void(pb::PutKvValueRequest&)> edit = nullptr,
                   const char* token = kGatewayToken) {
    pb::PutKvValueRequest request;
    request.set_kv_namespace(ns_);
    request.set_key(key);
    request.set_value(value);
    if (edit) edit(request);
    grpc::ClientContext context;
    Auth(&context, token);
    pb::PutKvValueResponse response;
    return Stub()->Put(&context, request, &response);
  }

  grpc::Status Get(const std::string& key, pb::GetKvValueResponse* out,
                   const char* token = kGatewayToken, const std::string& ns = "") {
    pb::GetKvValueRequest request;
    request.set_kv_namespace(ns.empty() ? ns_ : ns);
    request.set_key(key);
    grpc::ClientContext context;
    Auth(&context, token);
    return Stub()->Get(&context, request, out);
  }

  grpc::Status List(pb::ListKvKeysResponse* out,
                    std::function<void(pb::ListKvKeysRequest&)> edit = nullptr) {
    pb::ListKvKeysRequest request;
    request.set_kv_namespace(ns_);
    if (edit) edit(request);
    grpc::ClientContext context;
    Auth(&context, kGatewayToken);
    return Stub()->List(&context, request, out);
  }

  // The keys of ns_, in order.
  std::vector<std::string> Keys() {
    pb::ListKvKeysResponse listed;
    EXPECT_TRUE(List(&listed).ok());
    std::vector<std::string> keys;
    for (const auto& key : listed.keys()) keys.push_back(key.name());
    return keys;
  }

  static int counter_;
  std::string ns_;
};

int GatewayKvTest::counter_ = 0;

TEST_F(GatewayKvTest, EveryRpcNeedsAValidToken) {
  for (const char* token : {static_cast<const char*>(nullptr), "not-a-token"}) {
    pb::GetKvValueResponse got;
    EXPECT_EQ(Get("seed", &got, token).error_code(), grpc::StatusCode::UNAUTHENTICATED);
    EXPECT_EQ(Put("k", "v", nullptr, token).error_code(), grpc::StatusCode::UNAUTHENTICATED);
    grpc::ClientContext context;
    Auth(&context, token);
    pb::DeleteKvValueRequest del;
    del.set_kv_namespace(ns_);
    del.set_key("seed");
    pb::DeleteKvValueResponse deleted;
    EXPECT_EQ(Stub()->Delete(&context, del, &deleted).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
    grpc::ClientContext list_context;
    Auth(&list_context, token);
    pb::ListKvKeysRequest list;
    list.set_kv_namespace(ns_);
    pb::ListKvKeysResponse listed;
    EXPECT_EQ(Stub()->List(&list_context, list, &listed).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
  }
  EXPECT_THAT(Keys(), ::testing::ElementsAre("seed"));
}

TEST_F(GatewayKvTest, ATenantsTokenIsRefusedEvenForItsOwnNamespace) {
  // Alice owns ns_, but the gateway service reads and writes every tenant's namespaces.
  for (const char* token : {kAliceToken, kBobToken}) {
    pb::GetKvValueResponse got;
    grpc::Status get = Get("seed", &got, token);
    EXPECT_EQ(get.error_code(), grpc::StatusCode::PERMISSION_DENIED);
    EXPECT_THAT(get.error_message(), HasSubstr("cosmoctl token new gateway"));
    EXPECT_EQ(Put("k", "v", nullptr, token).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  }
  EXPECT_THAT(Keys(), ::testing::ElementsAre("seed"));
}

TEST_F(GatewayKvTest, ValuesRoundTripWithMetadataAndExpiration) {
  const std::string bytes("\0\xff\x80 binary", 10);
  ASSERT_TRUE(Put("b", bytes, [](pb::PutKvValueRequest& r) {
                r.set_metadata(R"({"owner":"ada"})");
                r.set_expiration_ttl(3600);
              }).ok());
  pb::GetKvValueResponse got;
  ASSERT_TRUE(Get("b", &got).ok());
  EXPECT_EQ(got.value(), bytes);
  EXPECT_EQ(got.metadata(), R"({"owner":"ada"})");
  EXPECT_GT(got.expiration(), 0);
  // The control plane sees the same entry.
  pb::GetKvValueRequest request;
  request.set_kv_namespace(ns_);
  request.set_key("b");
  grpc::ClientContext context;
  Auth(&context, kAliceToken);
  pb::GetKvValueResponse control;
  ASSERT_TRUE(pb::Kv::NewStub(*channel_)->GetValue(&context, request, &control).ok());
  EXPECT_EQ(control.value(), bytes);

  pb::ListKvKeysResponse listed;
  ASSERT_TRUE(List(&listed, [](pb::ListKvKeysRequest& r) { r.set_limit(1); }).ok());
  ASSERT_EQ(listed.keys_size(), 1);
  EXPECT_EQ(listed.keys(0).name(), "b");
  EXPECT_EQ(listed.keys(0).metadata(), R"({"owner":"ada"})");
  EXPECT_FALSE(listed.list_complete());
  pb::ListKvKeysResponse next;
  ASSERT_TRUE(List(&next, [&](pb::ListKvKeysRequest& r) { r.set_cursor(listed.cursor()); }).ok());
  ASSERT_EQ(next.keys_size(), 1);
  EXPECT_EQ(next.keys(0).name(), "seed");
  EXPECT_TRUE(next.list_complete());

  grpc::ClientContext del_context;
  Auth(&del_context, kGatewayToken);
  pb::DeleteKvValueRequest del;
  del.set_kv_namespace(ns_);
  del.set_key("b");
  pb::DeleteKvValueResponse deleted;
  ASSERT_TRUE(Stub()->Delete(&del_context, del, &deleted).ok());
  pb::GetKvValueResponse gone;
  EXPECT_EQ(Get("b", &gone).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(GatewayKvTest, TheDataPlaneCreatesNoNamespace) {
  pb::GetKvValueResponse got;
  EXPECT_EQ(Get("k", &got, kGatewayToken, "never-bound").error_code(), grpc::StatusCode::NOT_FOUND);
  pb::PutKvValueRequest request;
  request.set_kv_namespace("never-bound");
  request.set_key("k");
  request.set_value("v");
  grpc::ClientContext context;
  Auth(&context, kGatewayToken);
  pb::PutKvValueResponse response;
  grpc::Status status = Stub()->Put(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(status.error_message(), HasSubstr("never-bound"));
}

TEST_F(GatewayKvTest, MalformedAndOversizedInputNamesTheLimitAndWritesNothing) {
  struct Case {
    std::string what;
    std::function<void(pb::PutKvValueRequest&)> edit;
    std::string message;
  };
  const Case cases[] = {
      {"bad namespace", [](auto& r) { r.set_kv_namespace("Bad_NS"); }, "namespace"},
      {"empty key", [](auto& r) { r.set_key(""); }, "key"},
      {"long key", [](auto& r) { r.set_key(std::string(513, 'k')); }, "key size limit"},
      {"dot key", [](auto& r) { r.set_key(".."); }, "not allowed"},
      {"huge value", [](auto& r) { r.set_value(std::string((25 << 20) + 1, 'v')); },
       "value size limit"},
      {"negative expiration", [](auto& r) { r.set_expiration(-5); }, "must not be negative"},
      {"short ttl", [](auto& r) { r.set_expiration_ttl(10); }, "minimum expirationTtl"},
      {"past expiration", [](auto& r) { r.set_expiration(1); }, "expiration"},
      {"metadata not JSON", [](auto& r) { r.set_metadata("{nope"); }, "not valid JSON"},
      {"metadata too big",
       [](auto& r) { r.set_metadata(absl::StrCat("\"", std::string(1100, 'm'), "\"")); },
       "metadata limit"},
  };
  for (const Case& c : cases) {
    grpc::Status status = Put("fresh", "v", c.edit);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.what;
    EXPECT_THAT(status.error_message(), HasSubstr(c.message)) << c.what;
  }
  pb::GetKvValueResponse got;
  EXPECT_EQ(Get("", &got).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  pb::ListKvKeysResponse listed;
  EXPECT_EQ(List(&listed, [](auto& r) { r.set_limit(5000); }).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(List(&listed, [](auto& r) { r.set_cursor("%%%not-a-cursor"); }).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(Keys(), ::testing::ElementsAre("seed"));
}

}  // namespace
}  // namespace cosmo
