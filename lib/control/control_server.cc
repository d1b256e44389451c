#include "control/control_server.h"

#include <arpa/inet.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>

#include <algorithm>
#include <chrono>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/host_port.h"
#include "control/parse_error_interceptor.h"

namespace cosmo::control {

bool IsLoopbackAddress(absl::string_view host_port) {
  if (absl::StartsWith(host_port, "unix:")) return true;
  absl::StatusOr<HostPort> parsed = ParseHostPort(host_port, {.allow_ephemeral_port = true});
  if (!parsed.ok()) return false;
  const std::string& h = parsed->host;
  if (h == "localhost") return true;
  in_addr v4;
  if (inet_pton(AF_INET, h.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  in6_addr v6;
  if (inet_pton(AF_INET6, h.c_str(), &v6) == 1) {
    return IN6_IS_ADDR_LOOPBACK(&v6);
  }
  return false;
}

absl::StatusOr<std::unique_ptr<ControlServer>> ControlServer::Start(
    const ControlServerOptions& options, Registry* registry, Runtime* runtime,
    const TokenAuthenticator* authenticator) {
  const bool unix_socket = absl::StartsWith(options.listen_address, "unix:");
  absl::StatusOr<HostPort> listen = HostPort{};
  if (!unix_socket) {
    listen = ParseHostPort(options.listen_address, {.allow_ephemeral_port = true});
    if (!listen.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--grpc-listen: ", listen.status().message(), "; e.g. 127.0.0.1:50051"));
    }
  }
  if (!authenticator->requires_tokens() && !IsLoopbackAddress(options.listen_address)) {
    return absl::FailedPreconditionError(
        absl::StrCat("refusing to serve the control plane on ", options.listen_address,
                     " without authentication: pass --auth-tokens-file, or listen on loopback "
                     "(--grpc-listen=127.0.0.1:50051)"));
  }
  auto service =
      std::make_unique<ControlService>(registry, runtime, authenticator, options.service);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(options.listen_address, grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(service.get());
  std::unique_ptr<GatewaySyncService> gateway_sync;
  if (runtime != nullptr) {
    gateway_sync = std::make_unique<GatewaySyncService>(registry, &runtime->store(), authenticator);
    builder.RegisterService(gateway_sync.get());
  }
  std::unique_ptr<KvService> kv_service;
  if (runtime != nullptr) {
    kv_service = std::make_unique<KvService>(&runtime->kv(), authenticator);
    builder.RegisterService(kv_service.get());
  }
  std::unique_ptr<GatewayKvService> gateway_kv;
  if (runtime != nullptr) {
    gateway_kv = std::make_unique<GatewayKvService>(&runtime->kv(), authenticator);
    builder.RegisterService(gateway_kv.get());
  }
  for (grpc::Service* extra : options.extra_services) builder.RegisterService(extra);
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(NewParseErrorInterceptorFactory());
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  // The largest message is a deploy's source or a KV value (cosmoctl kv put), plus framing.
  const size_t max_kv_value_bytes =
      runtime != nullptr ? runtime->kv().limits().max_value_bytes : size_t{0};
  builder.SetMaxReceiveMessageSize(static_cast<int>(
      std::max(options.service.max_script_bytes, max_kv_value_bytes) + (size_t{64} << 10)));
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", options.listen_address,
                                               " (--grpc-listen): address in use or not local"));
  }
  std::string address = options.listen_address;
  if (!unix_socket) address = HostPort{listen->host, port}.ToString();
  return std::unique_ptr<ControlServer>(
      new ControlServer(std::move(service), std::move(gateway_sync), std::move(kv_service),
                        std::move(gateway_kv), std::move(server), std::move(address)));
}

ControlServer::~ControlServer() { Shutdown(absl::ZeroDuration()); }

void ControlServer::Shutdown(absl::Duration grace) {
  if (shut_down_) return;
  shut_down_ = true;
  service_->BeginShutdown();
  if (gateway_sync_ != nullptr) gateway_sync_->BeginShutdown();
  server_->Shutdown(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(grace));
  server_->Wait();
}

}  // namespace cosmo::control
