// The fixture of the control-plane integration tests: one real cosmo-server for the whole suite
// (a subprocess with its own data directory), with a tokens file for the tenants alice, bob and
// gateway, and a gRPC channel to it without a send limit (so oversized requests reach the server
// and get its answer). Tests name their families and namespaces per test, so they stay independent
// of order.
//
// Derive a fixture from it; SetUpTestSuite/TearDownTestSuite start and stop the server (a
// non-zero exit of the server fails the suite).
#ifndef COSMO_TESTS_SUPPORT_TENANT_SERVER_TEST_H_
#define COSMO_TESTS_SUPPORT_TENANT_SERVER_TEST_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "integration/subprocess.h"
#include "support/temp_dir.h"

namespace cosmo::testing {

class TenantServerTest : public ::testing::Test {
 public:
  static constexpr char kAliceToken[] = "alice-token-0123456789";
  static constexpr char kBobToken[] = "bob-token-9876543210";
  // A token of the tenant `gateway`, the one cosmo-gateway presents.
  static constexpr char kGatewayToken[] = "gateway-token-5555555555";

  static void SetUpTestSuite();
  static void TearDownTestSuite();

  // Adds `token` (none when null) as a bearer token and a 30 s deadline.
  static void Auth(grpc::ClientContext* context, const char* token);

 protected:
  static TempDir* dir_;
  static Subprocess* server_;
  static std::string address_;
  static std::shared_ptr<grpc::Channel>* channel_;
};

}  // namespace cosmo::testing

#endif  // COSMO_TESTS_SUPPORT_TENANT_SERVER_TEST_H_
