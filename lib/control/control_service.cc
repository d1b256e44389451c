#include "control/control_service.h"

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "control/status_mapping.h"
#include "control/tenant_usage.h"
#include "cosmo/manifest.h"
#include "cosmo/outcome.h"
#include "cosmo/status_macros.h"
#include "metering/usage_proto.h"

namespace cosmo::control {
namespace {

namespace pb = ::cosmo::v1;

// What GetFamily shows instead of a secret's value.
constexpr absl::string_view kMaskedValue = "***";

void SetTime(absl::Time time, google::protobuf::Timestamp* out) {
  const int64_t micros = absl::ToUnixMicros(time);
  int64_t seconds = micros / 1000000;
  int64_t rem = micros % 1000000;
  if (rem < 0) {
    rem += 1000000;
    --seconds;
  }
  out->set_seconds(seconds);
  out->set_nanos(static_cast<int32_t>(rem * 1000));
}

Manifest ToManifest(const std::string& engine, const std::string& main,
                    const google::protobuf::Map<std::string, std::string>& files,
                    const google::protobuf::Map<std::string, std::string>& env,
                    const google::protobuf::Map<std::string, uint64_t>& limits,
                    const google::protobuf::Map<std::string, std::string>& kv) {
  Manifest m;
  m.engine = engine;
  m.main = main;
  m.files.insert(files.begin(), files.end());
  m.env.insert(env.begin(), env.end());
  m.limits.insert(limits.begin(), limits.end());
  m.kv.insert(kv.begin(), kv.end());
  return m;
}

void ToProto(const std::optional<TrafficSplit>& split, pb::TrafficSplit* out) {
  out->set_base_version(split->base);
  out->set_canary_version(split->canary);
  out->set_canary_percent(split->canary_percent);
}

pb::HistoryEntry::Action ToProto(HistoryAction action) {
  switch (action) {
    case HistoryAction::kRollback:
      return pb::HistoryEntry::ROLLBACK;
    case HistoryAction::kSplit:
      return pb::HistoryEntry::SPLIT;
    case HistoryAction::kPromote:
      return pb::HistoryEntry::PROMOTE;
    case HistoryAction::kDeploy:
      break;
  }
  return pb::HistoryEntry::DEPLOY;
}

void ToProto(const FamilyInfo& info, pb::Family* out) {
  out->set_family(info.family);
  out->set_owner_tenant(info.owner_tenant);
  out->set_active_version(info.active_version);
  out->set_engine(info.engine);
  SetTime(info.created, out->mutable_create_time());
  SetTime(info.updated, out->mutable_update_time());
  out->set_history_length(info.history_length);
  for (const std::string& name : info.secret_names) out->add_secret_names(name);
  if (info.split) ToProto(info.split, out->mutable_split());
}

void ToProto(const HistoryEntry& entry, pb::HistoryEntry* out) {
  out->set_sequence(entry.sequence);
  out->set_version(entry.version);
  out->set_action(ToProto(entry.action));
  SetTime(entry.time, out->mutable_time());
  out->set_size_bytes(entry.size_bytes);
  out->set_tenant(entry.tenant);
  out->set_previous_version(entry.previous_version);
  if (entry.split) ToProto(entry.split, out->mutable_split());
}

void ToProto(const UsageTotals& totals, pb::UsageTotals* out) {
  CopyCountersToProto(totals, out);
  out->set_errors(totals.errors());
  out->set_cpu_p50_us(totals.cpu_histogram.p50());
  out->set_cpu_p99_us(totals.cpu_histogram.p99());
  for (int i = 0; i < kOutcomeCount; ++i) {
    if (totals.outcomes[i] == 0) continue;
    (*out->mutable_outcomes())[std::string(OutcomeName(static_cast<Outcome>(i)))] =
        totals.outcomes[i];
  }
}

void ToProto(const LogRecord& record, pb::LogRecord* out) {
  out->set_sequence(record.sequence);
  SetTime(record.time, out->mutable_time());
  out->set_family(record.family);
  out->set_version(record.version);
  out->set_request_id(record.request_id);
  out->set_level(std::string(LogLevelName(record.level)));
  out->set_text(record.text);
  out->set_is_outcome(record.is_outcome);
  if (record.is_outcome) out->set_outcome(std::string(OutcomeName(record.outcome)));
}

// The records of `batch` written since `since` (the current family's creation: the log ring is
// kept by name and outlives a deleted family). False when nothing is left to send.
bool ToProto(const LogBatch& batch, absl::Time since, pb::TailLogsResponse* out) {
  for (const LogRecord& record : batch.records) {
    if (record.time >= since) ToProto(record, out->add_records());
  }
  if (out->records_size() == 0) return false;
  out->set_dropped(batch.dropped);
  return true;
}

PageRequest ToPage(uint32_t page_size, const std::string& token) {
  PageRequest page;
  page.page_size = page_size;
  page.page_token = token;
  return page;
}

}  // namespace

ControlService::ControlService(Registry* registry, Runtime* runtime,
                               const TokenAuthenticator* authenticator,
                               ControlServiceOptions options)
    : registry_(registry), runtime_(runtime), authenticator_(authenticator), options_(options) {}

absl::StatusOr<std::string> ControlService::Tenant(const grpc::ServerContext& context) const {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find("authorization");
  absl::string_view authorization;
  if (it != metadata.end()) authorization = absl::string_view(it->second.data(), it->second.size());
  return authenticator_->Authenticate(authorization);
}

absl::Status ControlService::CheckScriptSize(
    const google::protobuf::Map<std::string, std::string>& files) const {
  size_t total = 0;
  for (const auto& [name, source] : files) total += name.size() + source.size();
  if (total > options_.max_script_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("files: ", total, " bytes of source exceed the script limit of ",
                     options_.max_script_bytes, " bytes (server flag --max-script-bytes)"));
  }
  return absl::OkStatus();
}

grpc::Status ControlService::Deploy(grpc::ServerContext* context, const pb::DeployRequest* request,
                                    pb::DeployResponse* response) {
  auto tenant = Tenant(*context);
  if (!tenant.ok()) return ToGrpcStatus(tenant.status());
  if (auto s = CheckScriptSize(request->files()); !s.ok()) return ToGrpcStatus(s);
  DeployRequest deploy;
  deploy.tenant = *std::move(tenant);
  deploy.family = request->family();
  deploy.manifest = ToManifest(request->engine(), request->main(), request->files(), request->env(),
                               request->limits(), request->kv());
  deploy.manifest.crons.assign(request->crons().begin(), request->crons().end());
  if (request->has_expected_version()) deploy.expected_version = request->expected_version();
  deploy.secret_names.assign(request->secret_names().begin(), request->secret_names().end());
  if (request->has_percent()) deploy.percent = request->percent();
  auto result = registry_->Deploy(deploy);
  if (!result.ok()) return ToGrpcStatus(result.status());
  response->set_version(result->version);
  response->set_created(result->created);
  response->set_previous_version(result->previous_version);
  return grpc::Status::OK;
}

grpc::Status ControlService::Validate(grpc::ServerContext* context,
                                      const pb::ValidateRequest* request,
                                      pb::ValidateResponse* response) {
  auto tenant = Tenant(*context);
  if (!tenant.ok()) return ToGrpcStatus(tenant.status());
  if (auto s = CheckScriptSize(request->files()); !s.ok()) return ToGrpcStatus(s);
  Manifest manifest = ToManifest(request->engine(), request->main(), request->files(),
                                 request->env(), request->limits(), request->kv());
  manifest.crons.assign(request->crons().begin(), request->crons().end());
  if (auto s = registry_->Validate(manifest); !s.ok()) return ToGrpcStatus(s);
  auto version = ComputeVersion(manifest);
  if (!version.ok()) return ToGrpcStatus(version.status());
  response->set_version(*version);
  return grpc::Status::OK;
}

grpc::Status ControlService::GetFamily(grpc::ServerContext* context,
                                       const pb::GetFamilyRequest* request, pb::Family* response) {
  auto tenant = Tenant(*context);
  if (!tenant.ok()) return ToGrpcStatus(tenant.status());
  auto info = registry_->GetFamily(*tenant, request->family());
  if (!info.ok()) return ToGrpcStatus(info.status());
  ToProto(*info, response);
  auto manifest = registry_->LoadManifest(info->active_version);
  if (!manifest.ok()) return ToGrpcStatus(manifest.status());
  auto& env = *response->mutable_env();
  for (const auto& [name, value] : manifest->env) {
    const bool secret =
        std::binary_search(info->secret_names.begin(), info->secret_names.end(), name);
    env[name] = secret ? std::string(kMaskedValue) : value;
  }
  return grpc::Status::OK;
}

grpc::Status ControlService::ListFamilies(grpc::ServerContext* context,
                                          const pb::ListFamiliesRequest* request,
                                          pb::ListFamiliesResponse* response) {
  auto tenant = Tenant(*context);
  if (!tenant.ok()) return ToGrpcStatus(tenant.status());
  auto page = registry_->ListFamilies(*tenant, ToPage(request->page_size(), request->page_token()));
  if (!page.ok()) return ToGrpcStatus(page.status());
  for (const FamilyInfo& info : page->items) ToProto(info, response->add_families());
  response->set_next_page_token(page->next_page_token);
  return grpc::Status::OK;
}

grpc::Status ControlService::History(grpc::ServerContext* context,
                                     const pb::HistoryRequest* request,
                                     pb::HistoryResponse* response) {
  auto tenant = Tenant(*context);
  if (!tenant.ok()) return ToGrpcStatus(tenant.status());
  auto page = registry_->History(*tenant, request->family(),
                                 ToPage(request->page_size(), request->page_token()));
  if (!page.ok()) return ToGrpcStatus(page.status());
  for (const HistoryEntry& entry : page->items) ToProto(entry, response->add_entries());
  response->set_next_page_token(page->next_page_token);
  return grpc::Status::OK;
}

grpc::Status ControlService::Rollback(grpc::ServerContext* context,
                                      const pb::RollbackRequest* request,
                                      pb::RollbackResponse* response) {
  auto tenant = Tenant(*context);
  if (!tenant.ok()) return ToGrpcStatus(tenant.status());
  std::optional<absl::string_view> version;
  if (!request->version().empty()) version = request->version();
  auto entry = registry_->Rollback(*tenant, request->family(), version);
  if (!entry.ok()) return ToGrpcStatus(entry.status());
  ToProto(*entry, response->mutable_entry());
  return grpc::Status::OK;
}

grpc::Status ControlService::SplitTraffic(grpc::ServerContext* context,
                                          const pb::SplitTrafficRequest* request,
                                          pb::SplitTrafficResponse* response) {
  auto tenant = Tenant(*context);
  if (!tenant.ok()) return ToGrpcStatus(tenant.status());
  if (request->versions_size() != 2) {
    return ToGrpcStatus(absl::InvalidArgumentError(
        absl::StrCat("versions: a split needs exactly two versions with percentages (got ",
                     request->versions_size(), "), e.g. `cosmoctl split FAMILY V1=90 V2=10`")));
  }
  SplitRequest split;
  split.tenant = *std::move(tenant);
  split.family = request->family();
  split.first = {request->versions(0).version(), request->versions(0).percent()};
  split.second = {request->versions(1).version(), request->versions(1).percent()};
  auto entry = registry_->Split(split);
  if (!entry.ok()) return ToGrpcStatus(entry.status());
  ToProto(*entry, response->mutable_entry());
  return grpc::Status::OK;
}

grpc::Status ControlService::Promote(grpc::ServerContext* context,
                                     const pb::PromoteRequest* request,
                                     pb::PromoteResponse* response) {
  auto tenant = Tenant(*context);
  if (!tenant.ok()) return ToGrpcStatus(tenant.status());
  auto entry = registry_->Promote(*tenant, request->family());
  if (!entry.ok()) return ToGrpcStatus(entry.status());
  ToProto(*entry, response->mutable_entry());
  return grpc::Status::OK;
}

grpc::Status ControlService::DeleteFamily(grpc::ServerContext* context,
                                          const pb::DeleteFamilyRequest* request,
                                          pb::DeleteFamilyResponse* response) {
  auto tenant = Tenant(*context);
  if (!tenant.ok()) return ToGrpcStatus(tenant.status());
  return ToGrpcStatus(registry_->DeleteFamily(*tenant, request->family()));
}

absl::Status ControlService::FillUsage(absl::string_view tenant, const FamilyInfo& family,
                                       pb::FamilyUsage* out) {
  out->set_family(family.family);
  FamilyUsage usage;
  if (runtime_ != nullptr) {
    auto got = runtime_->Usage(family.family);
    if (got.ok()) {
      usage = *std::move(got);
    } else if (!absl::IsNotFound(got.status())) {
      return got.status();
    }
  }
  // Usage is kept by family name and outlives a deleted family, so a name deleted and deployed
  // again (perhaps by another tenant) would inherit its predecessor's usage. Count only versions
  // this incarnation of the family has had.
  UsageTotals total;
  for (const auto& [version, totals] : usage.versions) {
    auto known = registry_->ResolveVersion(tenant, family.family, version);
    if (absl::IsNotFound(known.status())) continue;
    if (!known.ok()) return known.status();
    total.Merge(totals);
    pb::VersionUsage* v = out->add_versions();
    v->set_version(version);
    ToProto(totals, v->mutable_totals());
  }
  ToProto(total, out->mutable_total());
  return absl::OkStatus();
}

grpc::Status ControlService::GetUsage(grpc::ServerContext* context,
                                      const pb::GetUsageRequest* request,
                                      pb::GetUsageResponse* response) {
  auto tenant = Tenant(*context);
  if (!tenant.ok()) return ToGrpcStatus(tenant.status());
  if (!request->family().empty()) {
    // The registry decides whether the caller may see this family.
    auto info = registry_->GetFamily(*tenant, request->family());
    if (!info.ok()) return ToGrpcStatus(info.status());
    return ToGrpcStatus(FillUsage(*tenant, *info, response->add_families()));
  }
  PageRequest page;
  page.page_size = 1000;
  do {
    auto families = registry_->ListFamilies(*tenant, page);
    if (!families.ok()) return ToGrpcStatus(families.status());
    for (const FamilyInfo& info : families->items) {
      if (auto s = FillUsage(*tenant, info, response->add_families()); !s.ok()) {
        return ToGrpcStatus(s);
      }
    }
    page.page_token = families->next_page_token;
  } while (!page.page_token.empty());
  return grpc::Status::OK;
}

grpc::Status ControlService::GetUsageHistory(grpc::ServerContext* context,
                                             const pb::GetUsageHistoryRequest* request,
                                             pb::GetUsageHistoryResponse* response) {
  auto tenant = Tenant(*context);
  if (!tenant.ok()) return ToGrpcStatus(tenant.status());
  UsageHistoryQuery query;
  switch (request->bucket_seconds()) {
    case 0:
    case 60:
      query.bucket = absl::Minutes(1);
      break;
    case 3600:
      query.bucket = absl::Hours(1);
      break;
    default:
      return ToGrpcStatus(absl::InvalidArgumentError(
          absl::StrCat("bucket_seconds must be 60 or 3600, not ", request->bucket_seconds())));
  }
  query.since = absl::FromUnixSeconds(request->since_unix_seconds());
  query.until = request->until_unix_seconds() == 0
                    ? absl::InfiniteFuture()
                    : absl::FromUnixSeconds(request->until_unix_seconds());
  if (request->since_unix_seconds() < 0 || query.until <= query.since) {
    return ToGrpcStatus(absl::InvalidArgumentError(
        "since_unix_seconds must be non-negative and before until_unix_seconds"));
  }
  auto info = registry_->GetFamily(*tenant, request->family());
  if (!info.ok()) return ToGrpcStatus(info.status());
  if (runtime_ == nullptr) return grpc::Status::OK;
  auto points = TenantUsageHistory(*registry_, *runtime_, *tenant, *info, query);
  if (!points.ok()) return ToGrpcStatus(points.status());
  for (const UsagePoint& point : *points) {
    pb::UsageBucket* bucket = response->add_buckets();
    bucket->set_start_unix_seconds(absl::ToUnixSeconds(point.start));
    bucket->set_width_seconds(static_cast<uint32_t>(absl::ToInt64Seconds(point.width)));
    bucket->set_version(point.version);
    ToProto(point.totals, bucket->mutable_totals());
  }
  return grpc::Status::OK;
}

grpc::Status ControlService::TailLogs(grpc::ServerContext* context,
                                      const pb::TailLogsRequest* request,
                                      grpc::ServerWriter<pb::TailLogsResponse>* writer) {
  auto tenant = Tenant(*context);
  if (!tenant.ok()) return ToGrpcStatus(tenant.status());
  auto info = registry_->GetFamily(*tenant, request->family());
  if (!info.ok()) return ToGrpcStatus(info.status());
  if (runtime_ == nullptr) return grpc::Status::OK;

  uint64_t after = request->after_sequence();
  // First what the ring holds now.
  while (true) {
    LogBatch batch = runtime_->ReadLogs(info->family, after, options_.log_batch_records);
    if (batch.records.empty()) break;
    after = batch.records.back().sequence;
    pb::TailLogsResponse out;
    if (!ToProto(batch, info->created, &out)) continue;
    if (!writer->Write(out)) return grpc::Status(grpc::StatusCode::CANCELLED, "client went away");
  }
  if (!request->follow()) return grpc::Status::OK;
  // Then new records, in slices short enough to notice cancellation and shutdown promptly.
  while (!context->IsCancelled() && !shutting_down_.load()) {
    LogBatch batch = runtime_->WaitForLogs(info->family, after, options_.log_batch_records,
                                           absl::Now() + options_.log_poll_interval);
    if (batch.records.empty()) continue;
    after = batch.records.back().sequence;
    pb::TailLogsResponse out;
    if (!ToProto(batch, info->created, &out)) continue;
    if (!writer->Write(out)) break;
  }
  if (context->IsCancelled()) return grpc::Status(grpc::StatusCode::CANCELLED, "cancelled");
  return grpc::Status::OK;
}

grpc::Status ControlService::ListCrons(grpc::ServerContext* context,
                                       const pb::ListCronsRequest* request,
                                       pb::ListCronsResponse* response) {
  auto tenant = Tenant(*context);
  if (!tenant.ok()) return ToGrpcStatus(tenant.status());
  auto info = registry_->GetFamily(*tenant, request->family());
  if (!info.ok()) return ToGrpcStatus(info.status());
  if (runtime_ == nullptr) return grpc::Status::OK;
  auto crons = runtime_->Crons(info->family);
  if (absl::IsNotFound(crons.status())) return grpc::Status::OK;
  if (!crons.ok()) return ToGrpcStatus(crons.status());
  for (const CronStatus& cron : *crons) {
    pb::CronSchedule* out = response->add_crons();
    out->set_cron(cron.cron);
    for (absl::Time t : cron.next_ticks) SetTime(t, out->add_next_times());
    if (cron.last_tick) SetTime(*cron.last_tick, out->mutable_last_time());
    out->set_last_outcome(cron.last_outcome);
    out->set_last_duration_us(static_cast<uint64_t>(absl::ToInt64Microseconds(cron.last_duration)));
  }
  return grpc::Status::OK;
}

grpc::Status ControlService::TriggerCron(grpc::ServerContext* context,
                                         const pb::TriggerCronRequest* request,
                                         pb::TriggerCronResponse* response) {
  auto tenant = Tenant(*context);
  if (!tenant.ok()) return ToGrpcStatus(tenant.status());
  auto info = registry_->GetFamily(*tenant, request->family());
  if (!info.ok()) return ToGrpcStatus(info.status());
  if (runtime_ == nullptr) {
    return ToGrpcStatus(absl::FailedPreconditionError("this server runs no functions"));
  }
  auto manifest = registry_->LoadManifest(info->active_version);
  if (!manifest.ok()) return ToGrpcStatus(manifest.status());
  if (manifest->crons.empty()) {
    return ToGrpcStatus(absl::FailedPreconditionError(absl::StrCat(
        "family '", info->family, "' has no crons; deploy it with --cron \"EXPR\" first")));
  }
  std::string cron = manifest->crons.front();
  if (!request->cron().empty()) {
    if (std::find(manifest->crons.begin(), manifest->crons.end(), request->cron()) ==
        manifest->crons.end()) {
      return ToGrpcStatus(absl::InvalidArgumentError(absl::StrCat(
          "cron: \"", absl::CHexEscape(request->cron().substr(0, 300)), "\" is not one of '",
          info->family, "'s crons: \"", absl::StrJoin(manifest->crons, "\", \""), "\"")));
    }
    cron = request->cron();
  }
  ScheduledEvent event;
  event.cron = cron;
  event.scheduled_time =
      absl::Floor(absl::Now() - absl::UnixEpoch(), absl::Minutes(1)) + absl::UnixEpoch();
  InvokeResult result = runtime_->RunScheduled(info->family, event);
  response->set_cron(cron);
  SetTime(event.scheduled_time, response->mutable_scheduled_time());
  response->set_outcome(std::string(OutcomeName(result.outcome)));
  response->set_error(result.error);
  for (const ConsoleMessage& message : result.console) {
    pb::LogRecord* record = response->add_console();
    SetTime(message.time, record->mutable_time());
    record->set_family(info->family);
    record->set_level(std::string(LogLevelName(message.level)));
    record->set_text(message.text);
  }
  response->set_cpu_us(static_cast<uint64_t>(result.usage.cpu_us));
  response->set_wall_us(static_cast<uint64_t>(result.usage.wall_us));
  response->set_no_retry(result.no_retry);
  return grpc::Status::OK;
}

}  // namespace cosmo::control
