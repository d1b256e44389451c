// Turns gRPC's answer to an unparsable request into INVALID_ARGUMENT.
//
// When a request does not parse as its protobuf message (truncated or garbage bytes, or a string
// field that is not valid UTF-8, which proto3 rejects), gRPC itself answers INTERNAL with an empty
// message before any handler runs. That blames the server for the client's input, so this
// interceptor notices the failed parse (the received message is null) and rewrites the status to
// INVALID_ARGUMENT naming the method and the likely causes. Other statuses pass untouched.
//
// The factory and its interceptors are thread-safe; one interceptor serves one call.
#ifndef COSMO_LIB_CONTROL_PARSE_ERROR_INTERCEPTOR_H_
#define COSMO_LIB_CONTROL_PARSE_ERROR_INTERCEPTOR_H_

#include <grpcpp/support/server_interceptor.h>

#include <memory>

namespace cosmo::control {

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
NewParseErrorInterceptorFactory();

}  // namespace cosmo::control

#endif  // COSMO_LIB_CONTROL_PARSE_ERROR_INTERCEPTOR_H_
