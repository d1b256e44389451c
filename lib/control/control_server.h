// A running gRPC server for the control plane: ControlService plus server reflection, listening on
// one address.
//
// Refuses (FAILED_PRECONDITION) to listen beyond loopback without a tokens file, because every
// caller would then be the tenant "local". Accepts messages up to max_script_bytes + 64 KiB, so a
// bundle just over the script limit reaches the service and gets its INVALID_ARGUMENT naming the
// limit, while anything larger is refused by gRPC with RESOURCE_EXHAUSTED before it is buffered.
//
// Borrows the Registry, Runtime (may be null) and TokenAuthenticator, which must outlive it.
// Thread-safe.
#ifndef COSMO_LIB_CONTROL_CONTROL_SERVER_H_
#define COSMO_LIB_CONTROL_CONTROL_SERVER_H_

#include <grpcpp/server.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "control/control_service.h"
#include "control/gateway_kv_service.h"
#include "control/gateway_sync_service.h"
#include "control/kv_service.h"
#include "control/token_authenticator.h"
#include "cosmo/registry.h"
#include "cosmo/runtime.h"

namespace cosmo::control {

struct ControlServerOptions {
  // HOST:PORT (port 0 picks a free one; see ControlServer::address()), e.g. "127.0.0.1:50051".
  std::string listen_address = "127.0.0.1:50051";
  ControlServiceOptions service;
  // More services on the same port and authentication (e.g. the dashboard's, which depends on
  // this library). Borrowed; they must outlive the server.
  std::vector<grpc::Service*> extra_services;
};

// True for addresses only this machine can reach: 127.0.0.0/8, ::1, localhost, unix: sockets.
bool IsLoopbackAddress(absl::string_view host_port);

class ControlServer {
 public:
  // Binds and starts serving. FAILED_PRECONDITION for a non-loopback address without tokens,
  // UNAVAILABLE when the address cannot be bound (naming it and --grpc-listen).
  static absl::StatusOr<std::unique_ptr<ControlServer>> Start(
      const ControlServerOptions& options, Registry* registry, Runtime* runtime,
      const TokenAuthenticator* authenticator);

  // Shuts down (with no grace) if Shutdown() was not called.
  ~ControlServer();

  // The address actually bound, with the chosen port, e.g. "127.0.0.1:43121".
  const std::string& address() const { return address_; }

  // Stops accepting calls, ends following log streams, and waits up to `grace` for in-flight calls;
  // calls still running then are cancelled. Idempotent.
  void Shutdown(absl::Duration grace);

 private:
  ControlServer(std::unique_ptr<ControlService> service,
                std::unique_ptr<GatewaySyncService> gateway_sync,
                std::unique_ptr<KvService> kv_service, std::unique_ptr<GatewayKvService> gateway_kv,
                std::unique_ptr<grpc::Server> server, std::string address)
      : service_(std::move(service)),
        gateway_sync_(std::move(gateway_sync)),
        kv_service_(std::move(kv_service)),
        gateway_kv_(std::move(gateway_kv)),
        server_(std::move(server)),
        address_(std::move(address)) {}

  std::unique_ptr<ControlService> service_;
  // cosmo.v1.GatewaySync, for cosmo-gateway; served when there is a Runtime (its Store).
  std::unique_ptr<GatewaySyncService> gateway_sync_;
  // cosmo.v1.Kv, for `cosmoctl kv`; served when there is a Runtime (its KvStore).
  std::unique_ptr<KvService> kv_service_;
  // cosmo.v1.GatewayKv, the KV bindings of families cosmo-gateways serve; with a Runtime.
  std::unique_ptr<GatewayKvService> gateway_kv_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
  bool shut_down_ = false;
};

}  // namespace cosmo::control

#endif  // COSMO_LIB_CONTROL_CONTROL_SERVER_H_
