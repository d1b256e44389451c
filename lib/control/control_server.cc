#include "control/control_server.h"

#include <arpa/inet.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>

#include <chrono>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "control/parse_error_interceptor.h"

namespace cosmo::control {
namespace {

// Splits "host:port" / "[v6]:port"; returns false when there is no port.
bool SplitHostPort(absl::string_view host_port, absl::string_view* host, absl::string_view* port) {
  size_t colon = host_port.rfind(':');
  if (colon == absl::string_view::npos) return false;
  *host = host_port.substr(0, colon);
  *port = host_port.substr(colon + 1);
  if (absl::ConsumePrefix(host, "[") && !absl::ConsumeSuffix(host, "]")) return false;
  return !port->empty();
}

}  // namespace

bool IsLoopbackAddress(absl::string_view host_port) {
  if (absl::StartsWith(host_port, "unix:")) return true;
  absl::string_view host, port;
  if (!SplitHostPort(host_port, &host, &port)) return false;
  if (host == "localhost") return true;
  std::string h(host);
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
  if (!authenticator->requires_tokens() && !IsLoopbackAddress(options.listen_address)) {
    return absl::FailedPreconditionError(
        absl::StrCat("refusing to serve the control plane on ", options.listen_address,
                     " without authentication: pass --auth-tokens-file, or listen on loopback "
                     "(--grpc-listen=127.0.0.1:50051)"));
  }
  absl::string_view host, port_text;
  if (!absl::StartsWith(options.listen_address, "unix:") &&
      !SplitHostPort(options.listen_address, &host, &port_text)) {
    return absl::InvalidArgumentError(absl::StrCat("--grpc-listen: '", options.listen_address,
                                                   "' is not HOST:PORT (e.g. 127.0.0.1:50051)"));
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
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(NewParseErrorInterceptorFactory());
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  builder.SetMaxReceiveMessageSize(
      static_cast<int>(options.service.max_script_bytes + (size_t{64} << 10)));
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", options.listen_address,
                                               " (--grpc-listen): address in use or not local"));
  }
  std::string address = options.listen_address;
  if (!absl::StartsWith(address, "unix:")) {
    address = absl::StrCat(absl::string_view(options.listen_address)
                               .substr(0, options.listen_address.size() - port_text.size()),
                           port);
  }
  return std::unique_ptr<ControlServer>(new ControlServer(
      std::move(service), std::move(gateway_sync), std::move(server), std::move(address)));
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
