#include "control/status_mapping.h"

#include "control/control_server.h"
#include "gtest/gtest.h"

namespace cosmo::control {
namespace {

TEST(StatusMappingTest, EveryCanonicalCodeMapsToTheSameNamedGrpcCodeAndBack) {
  for (int code = 0; code <= 16; ++code) {
    const auto absl_code = static_cast<absl::StatusCode>(code);
    const grpc::StatusCode grpc_code = ToGrpcCode(absl_code);
    // The two enums name the same conditions with the same numbers.
    EXPECT_EQ(static_cast<int>(grpc_code), code);
    EXPECT_EQ(FromGrpcCode(grpc_code), absl_code);
  }
}

TEST(StatusMappingTest, MessagesPassThroughUnchanged) {
  grpc::Status g = ToGrpcStatus(absl::FailedPreconditionError("family 'a' has no earlier version"));
  EXPECT_EQ(g.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(g.error_message(), "family 'a' has no earlier version");
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
  absl::Status a = FromGrpcStatus(grpc::Status(grpc::StatusCode::ABORTED, "stale"));
  EXPECT_EQ(a, absl::AbortedError("stale"));
}

TEST(StatusMappingTest, UnknownCodesBecomeUnknown) {
  EXPECT_EQ(ToGrpcCode(static_cast<absl::StatusCode>(99)), grpc::StatusCode::UNKNOWN);
  EXPECT_EQ(FromGrpcCode(static_cast<grpc::StatusCode>(99)), absl::StatusCode::kUnknown);
}

TEST(IsLoopbackAddressTest, AcceptsOnlyAddressesThisMachineAloneCanReach) {
  for (const char* address :
       {"127.0.0.1:50051", "127.1.2.3:1", "localhost:80", "[::1]:50051", "unix:/tmp/cosmo.sock"}) {
    EXPECT_TRUE(IsLoopbackAddress(address)) << address;
  }
  for (const char* address : {"0.0.0.0:50051", "[::]:50051", "10.0.0.1:1", "192.168.1.1:50051",
                              "example.com:50051", "127.0.0.1", "[::1:50051", ":50051"}) {
    EXPECT_FALSE(IsLoopbackAddress(address)) << address;
  }
}

}  // namespace
}  // namespace cosmo::control
