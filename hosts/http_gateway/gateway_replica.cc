#include "gateway_replica.h"

#include <random>
#include <set>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "metering/usage_proto.h"

namespace cosmo::gateway {

GatewayReplica::GatewayReplica(GatewayReplicaOptions options, ControlPlaneClient* client,
                               Runtime* runtime)
    : options_(std::move(options)), client_(client), runtime_(runtime) {
  gateway_id_ = options_.gateway_id;
  if (gateway_id_.empty()) {
    std::random_device rd;
    gateway_id_ = absl::StrFormat("gw-%08x%08x", rd(), rd());
  }
  watch_thread_ = std::thread([this] { WatchLoop(); });
  usage_thread_ = std::thread([this] { UsageLoop(); });
}

GatewayReplica::~GatewayReplica() { Stop(); }

void GatewayReplica::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    stopping_ = true;
    if (watch_context_ != nullptr) watch_context_->TryCancel();
  }
  watch_thread_.join();
  usage_thread_.join();
  runtime_->FlushUsage().IgnoreError();
  ReportOnce().IgnoreError();
}

bool GatewayReplica::Stopping(absl::Duration wait) {
  absl::MutexLock lock(&mu_);
  mu_.AwaitWithTimeout(absl::Condition(&stopping_), wait);
  return stopping_;
}

absl::Status GatewayReplica::Load(const std::string& family) {
  absl::MutexLock load(&load_mu_);
  auto active = client_->GetManifest(family);
  if (absl::IsNotFound(active.status())) {
    bool was_loaded;
    {
      absl::MutexLock lock(&mu_);
      was_loaded = loaded_.erase(family) > 0;
    }
    if (was_loaded) runtime_->registry().DeleteFamily(kTenant, family).IgnoreError();
    return active.status();
  }
  if (!active.ok()) return active.status();
  Loaded wanted = Describe(*active);
  {
    absl::MutexLock lock(&mu_);
    auto it = loaded_.find(family);
    if (it != loaded_.end() && it->second == wanted) return absl::OkStatus();
  }
  if (absl::Status applied = Apply(family, *active); !applied.ok()) return applied;
  absl::MutexLock lock(&mu_);
  loaded_[family] = std::move(wanted);
  return absl::OkStatus();
}

GatewayReplica::Loaded GatewayReplica::Describe(const ActiveManifest& active) {
  Loaded loaded{active.version, active.secret_names, "", {}, 0};
  if (active.canary) {
    loaded.canary = active.canary->version;
    loaded.canary_secret_names = active.canary->secret_names;
    loaded.percent = active.canary->percent;
  }
  return loaded;
}

absl::Status GatewayReplica::Apply(const std::string& family, const ActiveManifest& active) {
  Registry& registry = runtime_->registry();
  const std::string tenant(kTenant);
  auto deploy = [&](const Manifest& manifest, const std::vector<std::string>& secret_names,
                    const std::string& version, std::optional<uint32_t> percent) -> absl::Status {
    auto deployed = registry.Deploy({.tenant = tenant,
                                     .family = family,
                                     .manifest = manifest,
                                     .secret_names = secret_names,
                                     .percent = percent});
    if (!deployed.ok()) return deployed.status();
    if (deployed->version != version) {
      return absl::DataLossError(absl::StrCat("local version of ", family, " is ",
                                              deployed->version, ", server has ", version));
    }
    return absl::OkStatus();
  };
  // A split between the same two versions only changes its percent, in place: keys keep their
  // version and nothing is reloaded. Any other change ends a local split first.
  std::optional<TrafficSplit> local;
  if (auto info = registry.GetFamily(tenant, family); info.ok()) local = info->split;
  const bool same_pair = local && active.canary && local->base == active.version &&
                         local->canary == active.canary->version;
  if (local && !same_pair) {
    if (auto ended = registry.Rollback(tenant, family, std::nullopt); !ended.ok()) {
      return ended.status();
    }
  }
  if (absl::Status s = deploy(active.manifest, active.secret_names, active.version, std::nullopt);
      !s.ok()) {
    return s;
  }
  if (!active.canary) return absl::OkStatus();
  const ActiveManifest::Canary& canary = *active.canary;
  if (!same_pair) {
    return deploy(canary.manifest, canary.secret_names, canary.version, canary.percent);
  }
  return registry
      .Split({.tenant = tenant,
              .family = family,
              .first = {active.version, 100 - canary.percent},
              .second = {canary.version, canary.percent},
              .second_is_canary = true})
      .status();
}

InvokeResult GatewayReplica::Invoke(absl::string_view family, const HttpRequest& request) {
  bool loaded;
  {
    absl::ReaderMutexLock lock(&mu_);
    loaded = loaded_.contains(family);
  }
  if (!loaded) {
    absl::Status status = Load(std::string(family));
    if (!status.ok()) {
      InvokeResult result;
      if (absl::IsNotFound(status)) {
        result.outcome = Outcome::kNotFound;
        result.error = absl::StrCat("no family '", family, "'");
      } else {
        // Never loaded and no control plane to load it from: come back later.
        result.outcome = Outcome::kLoadShed;
        result.error = absl::StrCat("cannot load '", family, "': ", status.message());
      }
      return result;
    }
  }
  return runtime_->Invoke(family, request);
}

void GatewayReplica::WatchLoop() {
  while (!Stopping(absl::ZeroDuration())) {
    grpc::ClientContext context;
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
      watch_context_ = &context;
    }
    auto reader = client_->Watch(&context);
    cosmo::v1::VersionChange change;
    while (reader->Read(&change)) {
      std::vector<std::string> families;
      if (change.family().empty()) {
        // (Re)connected: changes made meanwhile are not replayed, so re-check everything.
        absl::ReaderMutexLock lock(&mu_);
        for (const auto& [family, version] : loaded_) families.push_back(family);
      } else {
        absl::ReaderMutexLock lock(&mu_);
        // Any change of a loaded family, even to the same version: a deploy may have changed
        // only its secret names. Load() does nothing when neither changed.
        if (loaded_.contains(change.family())) families.push_back(change.family());
      }
      for (const std::string& family : families) Load(family).IgnoreError();
    }
    reader->Finish().IgnoreError();
    {
      absl::MutexLock lock(&mu_);
      watch_context_ = nullptr;
    }
    client_->Advance();  // try the next server
    if (Stopping(absl::Milliseconds(200))) return;
  }
}

absl::Status GatewayReplica::ReportOnce() {
  if (!pending_) {
    // Families served now, and those served before (a deleted family's last usage still counts).
    std::set<std::string> families;
    {
      absl::ReaderMutexLock lock(&mu_);
      for (const auto& [family, version] : loaded_) families.insert(family);
    }
    for (const auto& [key, totals] : reported_) families.insert(key.first);
    Pending pending;
    for (const std::string& family : families) {
      auto usage = runtime_->Usage(family);
      if (!usage.ok()) continue;
      for (const auto& [version, totals] : usage->versions) {
        auto key = std::make_pair(family, version);
        UsageTotals delta = totals;
        delta.Subtract(reported_[key]);
        if (delta.invocations == 0) continue;
        pending.totals[key] = totals;
        cosmo::v1::UsageDelta* d = pending.request.add_deltas();
        d->set_family(family);
        d->set_version(version);
        *d->mutable_totals() = UsageToProto(delta);
      }
    }
    if (pending.request.deltas_size() == 0) return absl::OkStatus();
    pending.request.set_gateway_id(gateway_id_);
    pending.request.set_sequence(++sequence_);
    pending_ = std::move(pending);
  }
  absl::Status status = client_->ReportUsage(pending_->request);
  if (!status.ok()) return status;  // resent as is next time
  for (auto& [key, totals] : pending_->totals) reported_[key] = totals;
  pending_.reset();
  return absl::OkStatus();
}

void GatewayReplica::UsageLoop() {
  while (!Stopping(options_.usage_report_interval)) {
    ReportOnce().IgnoreError();
  }
}

}  // namespace cosmo::gateway
