// The cosmo.v1.Kv service of a real cosmo-server with a tokens file: every RPC checks the tenant
// (PERMISSION_DENIED across tenants, UNAUTHENTICATED without a token), binding another tenant's
// namespace at deploy is refused, and malformed or oversized input gets INVALID_ARGUMENT naming
// the limit, with nothing written.
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "cosmo/manifest.h"
#include "cosmo/v1/control.grpc.pb.h"
#include "cosmo/v1/kv.grpc.pb.h"
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

class KvControlTest : public ::cosmo::testing::TenantServerTest {
 protected:
  void SetUp() override {
    ns_ = absl::StrCat("ns-", ++counter_);
    ASSERT_TRUE(Put(ns_, "k", "v").ok());  // alice owns ns_
  }

  grpc::Status Put(const std::string& ns, const std::string& key, const std::string& value,
                   const char* token = kAliceToken,
                   std::function<void(pb::PutKvValueRequest&)> edit = nullptr) {
    pb::PutKvValueRequest request;
    request.set_kv_namespace(ns);
    request.set_key(key);
    request.set_value(value);
    if (edit) edit(request);
    grpc::ClientContext context;
    Auth(&context, token);
    pb::PutKvValueResponse response;
    return pb::Kv::NewStub(*channel_)->PutValue(&context, request, &response);
  }

  grpc::Status Get(const std::string& ns, const std::string& key, pb::GetKvValueResponse* out,
                   const char* token = kAliceToken) {
    pb::GetKvValueRequest request;
    request.set_kv_namespace(ns);
    request.set_key(key);
    grpc::ClientContext context;
    Auth(&context, token);
    return pb::Kv::NewStub(*channel_)->GetValue(&context, request, out);
  }

  // Every RPC on ns_ as `token`; their codes in order.
  std::vector<grpc::StatusCode> EveryRpc(const char* token) {
    std::vector<grpc::StatusCode> codes;
    auto stub = pb::Kv::NewStub(*channel_);
    {
      grpc::ClientContext context;
      Auth(&context, token);
      pb::ListKvKeysRequest request;
      request.set_kv_namespace(ns_);
      pb::ListKvKeysResponse response;
      codes.push_back(stub->ListKeys(&context, request, &response).error_code());
    }
    pb::GetKvValueResponse got;
    codes.push_back(Get(ns_, "k", &got, token).error_code());
    codes.push_back(Put(ns_, "k", "theirs", token).error_code());
    {
      grpc::ClientContext context;
      Auth(&context, token);
      pb::DeleteKvValueRequest request;
      request.set_kv_namespace(ns_);
      request.set_key("k");
      pb::DeleteKvValueResponse response;
      codes.push_back(stub->DeleteValue(&context, request, &response).error_code());
    }
    {
      grpc::ClientContext context;
      Auth(&context, token);
      pb::DeleteKvNamespaceRequest request;
      request.set_kv_namespace(ns_);
      pb::DeleteKvNamespaceResponse response;
      codes.push_back(stub->DeleteNamespace(&context, request, &response).error_code());
    }
    return codes;
  }

  static int counter_;
  std::string ns_;
};

int KvControlTest::counter_ = 0;

TEST_F(KvControlTest, AnotherTenantGetsPermissionDeniedOnEveryRpc) {
  using C = grpc::StatusCode;
  EXPECT_THAT(
      EveryRpc(kBobToken),
      ::testing::ElementsAre(C::PERMISSION_DENIED, C::PERMISSION_DENIED, C::PERMISSION_DENIED,
                             C::PERMISSION_DENIED, C::PERMISSION_DENIED));
  EXPECT_THAT(EveryRpc(nullptr), ::testing::Each(grpc::StatusCode::UNAUTHENTICATED));
  // Nothing bob tried changed alice's data, and bob does not see her namespace.
  pb::GetKvValueResponse got;
  ASSERT_TRUE(Get(ns_, "k", &got).ok());
  EXPECT_EQ(got.value(), "v");
  grpc::ClientContext context;
  Auth(&context, kBobToken);
  pb::ListKvNamespacesResponse listed;
  ASSERT_TRUE(pb::Kv::NewStub(*channel_)->ListNamespaces(&context, {}, &listed).ok());
  for (const auto& ns : listed.namespaces()) EXPECT_NE(ns.name(), ns_);
}

TEST_F(KvControlTest, BindingAnotherTenantsNamespaceAtDeployIsPermissionDenied) {
  pb::DeployRequest request;
  request.set_family(absl::StrCat("bob-", ns_));
  request.set_engine("javascript");
  request.set_main("index.js");
  (*request.mutable_files())["index.js"] = "export default { fetch() { return 'x'; } };";
  (*request.mutable_kv())["DATA"] = ns_;
  grpc::ClientContext context;
  Auth(&context, kBobToken);
  pb::DeployResponse response;
  grpc::Status status = pb::Control::NewStub(*channel_)->Deploy(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(status.error_message(), HasSubstr(ns_));
  // Alice binds her own.
  grpc::ClientContext alice;
  Auth(&alice, kAliceToken);
  request.set_family(absl::StrCat("alice-", ns_));
  EXPECT_TRUE(pb::Control::NewStub(*channel_)->Deploy(&alice, request, &response).ok());
}

TEST_F(KvControlTest, BadInputIsRefusedNamingTheLimitAndWritesNothing) {
  struct Case {
    std::string ns, key;
    size_t value_bytes;
    std::function<void(pb::PutKvValueRequest&)> edit;
    std::string names;
  };
  const std::vector<Case> cases = {
      {"Bad_Name", "k", 1, nullptr, "not a valid namespace name"},
      {"", "k", 1, nullptr, "not a valid namespace name"},
      {"ok", "", 1, nullptr, "must not be empty"},
      {"ok", std::string(513, 'k'), 1, nullptr, "key size limit of 512"},
      {"ok", "..", 1, nullptr, "are not allowed as keys"},
      {"ok", "k", (size_t{25} << 20) + 1, nullptr, "value size limit of 26214400"},
      {"ok", "k", 1, [](pb::PutKvValueRequest& r) { r.set_metadata("{not json"); },
       "not valid JSON"},
      {"ok", "k", 1,
       [](pb::PutKvValueRequest& r) { r.set_metadata("\"" + std::string(1100, 'x') + "\""); },
       "metadata limit of 1024"},
      {"ok", "k", 1, [](pb::PutKvValueRequest& r) { r.set_expiration_ttl(30); },
       "minimum expirationTtl of 60"},
      {"ok", "k", 1, [](pb::PutKvValueRequest& r) { r.set_expiration(-5); }, "negative"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.names);
    grpc::Status status =
        Put(c.ns == "ok" ? ns_ : c.ns, c.key, std::string(c.value_bytes, 'v'), kAliceToken, c.edit);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
    EXPECT_THAT(status.error_message(), HasSubstr(c.names));
  }
  // A message over the transport's cap is refused before any handler runs.
  EXPECT_EQ(Put(ns_, "huge", std::string(size_t{27} << 20, 'v')).error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
  pb::GetKvValueResponse got;
  ASSERT_TRUE(Get(ns_, "k", &got).ok());
  EXPECT_EQ(got.value(), "v");
  EXPECT_EQ(Get(ns_, "huge", &got).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(KvControlTest, PutGetListDeleteRoundTrip) {
  ASSERT_TRUE(Put(ns_, "b", std::string("\0\xff", 2), kAliceToken, [](pb::PutKvValueRequest& r) {
                r.set_metadata(R"({"n":1})");
                r.set_expiration_ttl(600);
              }).ok());
  pb::GetKvValueResponse got;
  ASSERT_TRUE(Get(ns_, "b", &got).ok());
  EXPECT_EQ(got.value(), std::string("\0\xff", 2));
  EXPECT_EQ(got.metadata(), R"({"n":1})");
  EXPECT_GT(got.expiration(), 0);
  grpc::ClientContext context;
  Auth(&context, kAliceToken);
  pb::ListKvKeysRequest request;
  request.set_kv_namespace(ns_);
  request.set_limit(1);
  pb::ListKvKeysResponse listed;
  ASSERT_TRUE(pb::Kv::NewStub(*channel_)->ListKeys(&context, request, &listed).ok());
  ASSERT_EQ(listed.keys_size(), 1);
  EXPECT_EQ(listed.keys(0).name(), "b");
  EXPECT_FALSE(listed.list_complete());
  EXPECT_FALSE(listed.cursor().empty());
}

}  // namespace
}  // namespace cosmo
