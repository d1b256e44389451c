// The gRPC service cosmo.v1.Control over a Registry (and, for usage and logs, a Runtime).
//
// Every call is authenticated first (TokenAuthenticator; UNAUTHENTICATED before anything else
// runs), then handed to the Registry with the caller's tenant, which enforces ownership
// (PERMISSION_DENIED on another tenant's family). Usage and logs come from the Runtime after the
// Registry confirmed the caller owns the family. Errors are mapped to gRPC once
// (status_mapping.h).
//
// Borrows the Registry, Runtime and TokenAuthenticator, which must outlive it. `runtime` may be
// null (a registry-only server): GetUsage then reports zero totals and TailLogs no records.
// Thread-safe: gRPC calls handlers from many threads at once.
#ifndef COSMO_LIB_CONTROL_CONTROL_SERVICE_H_
#define COSMO_LIB_CONTROL_CONTROL_SERVICE_H_

#include <atomic>
#include <cstddef>

#include "absl/time/time.h"
#include "control/token_authenticator.h"
#include "cosmo/registry.h"
#include "cosmo/runtime.h"
#include "cosmo/v1/control.grpc.pb.h"

namespace cosmo::control {

struct ControlServiceOptions {
  // Largest total source of one deploy; also named in the error for a bundle over it. Should equal
  // the Registry's RegistryOptions::max_script_bytes.
  size_t max_script_bytes = size_t{5} << 20;
  // How long a following TailLogs waits for new records before it checks for cancellation.
  absl::Duration log_poll_interval = absl::Milliseconds(200);
  // Records per TailLogs message.
  size_t log_batch_records = 256;
};

class ControlService final : public cosmo::v1::Control::Service {
 public:
  ControlService(Registry* registry, Runtime* runtime, const TokenAuthenticator* authenticator,
                 ControlServiceOptions options = {});

  // Ends following TailLogs streams within log_poll_interval; new ones return at once. Call before
  // grpc::Server::Shutdown() so that shutdown does not wait for streams that never end.
  void BeginShutdown() { shutting_down_.store(true); }

  grpc::Status Deploy(grpc::ServerContext* context, const cosmo::v1::DeployRequest* request,
                      cosmo::v1::DeployResponse* response) override;
  grpc::Status Validate(grpc::ServerContext* context, const cosmo::v1::ValidateRequest* request,
                        cosmo::v1::ValidateResponse* response) override;
  grpc::Status GetFamily(grpc::ServerContext* context, const cosmo::v1::GetFamilyRequest* request,
                         cosmo::v1::Family* response) override;
  grpc::Status ListFamilies(grpc::ServerContext* context,
                            const cosmo::v1::ListFamiliesRequest* request,
                            cosmo::v1::ListFamiliesResponse* response) override;
  grpc::Status History(grpc::ServerContext* context, const cosmo::v1::HistoryRequest* request,
                       cosmo::v1::HistoryResponse* response) override;
  grpc::Status Rollback(grpc::ServerContext* context, const cosmo::v1::RollbackRequest* request,
                        cosmo::v1::RollbackResponse* response) override;
  grpc::Status SplitTraffic(grpc::ServerContext* context,
                            const cosmo::v1::SplitTrafficRequest* request,
                            cosmo::v1::SplitTrafficResponse* response) override;
  grpc::Status Promote(grpc::ServerContext* context, const cosmo::v1::PromoteRequest* request,
                       cosmo::v1::PromoteResponse* response) override;
  grpc::Status DeleteFamily(grpc::ServerContext* context,
                            const cosmo::v1::DeleteFamilyRequest* request,
                            cosmo::v1::DeleteFamilyResponse* response) override;
  grpc::Status GetUsage(grpc::ServerContext* context, const cosmo::v1::GetUsageRequest* request,
                        cosmo::v1::GetUsageResponse* response) override;
  grpc::Status GetUsageHistory(grpc::ServerContext* context,
                               const cosmo::v1::GetUsageHistoryRequest* request,
                               cosmo::v1::GetUsageHistoryResponse* response) override;
  grpc::Status TailLogs(grpc::ServerContext* context, const cosmo::v1::TailLogsRequest* request,
                        grpc::ServerWriter<cosmo::v1::TailLogsResponse>* writer) override;
  grpc::Status ListCrons(grpc::ServerContext* context, const cosmo::v1::ListCronsRequest* request,
                         cosmo::v1::ListCronsResponse* response) override;
  grpc::Status TriggerCron(grpc::ServerContext* context,
                           const cosmo::v1::TriggerCronRequest* request,
                           cosmo::v1::TriggerCronResponse* response) override;

 private:
  // The caller's tenant, from its metadata.
  absl::StatusOr<std::string> Tenant(const grpc::ServerContext& context) const;
  // Checks a bundle's size before anything parses it, naming the limit.
  absl::Status CheckScriptSize(const google::protobuf::Map<std::string, std::string>& files) const;
  // Usage of `family` as `tenant` sees it: only versions this incarnation of the family has had.
  absl::Status FillUsage(absl::string_view tenant, const FamilyInfo& family,
                         cosmo::v1::FamilyUsage* out);

  Registry* const registry_;
  Runtime* const runtime_;
  const TokenAuthenticator* const authenticator_;
  const ControlServiceOptions options_;
  std::atomic<bool> shutting_down_{false};
};

}  // namespace cosmo::control

#endif  // COSMO_LIB_CONTROL_CONTROL_SERVICE_H_
