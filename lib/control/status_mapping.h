// The one mapping between absl::Status and grpc::Status: codes are mapped once, here
// (docs/contributing.md, "Errors and status codes").
//
// Abseil's and gRPC's canonical codes name the same conditions, so the mapping is one-to-one; it
// is still written out as a table so that a code added on either side is a compile-time decision
// rather than a numeric coincidence. Messages pass through unchanged.
//
// Pure functions; thread-safe.
#ifndef COSMO_LIB_CONTROL_STATUS_MAPPING_H_
#define COSMO_LIB_CONTROL_STATUS_MAPPING_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace cosmo::control {

grpc::StatusCode ToGrpcCode(absl::StatusCode code);
absl::StatusCode FromGrpcCode(grpc::StatusCode code);

// `status` as a gRPC status with the same code and message.
grpc::Status ToGrpcStatus(const absl::Status& status);
// `status` as an absl::Status with the same code and message.
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace cosmo::control

#endif  // COSMO_LIB_CONTROL_STATUS_MAPPING_H_
