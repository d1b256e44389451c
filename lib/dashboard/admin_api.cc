#include "dashboard/admin_api.h"

#include <algorithm>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "control/tenant_usage.h"
#include "cosmo/cpu_histogram.h"
#include "cosmo/manifest.h"
#include "cosmo/outcome.h"
#include "cosmo/status_macros.h"

namespace cosmo::dashboard {
namespace {

using json = nlohmann::ordered_json;

// Dumps with invalid UTF-8 (console output may hold any bytes) replaced, never thrown.
std::string Dump(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string Rfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", t, absl::UTCTimeZone());
}

std::optional<std::string> Param(const ApiCall& call, absl::string_view name) {
  for (const auto& [key, value] : call.params) {
    if (key == name) return value;
  }
  return std::nullopt;
}

// The unsigned parameter `name` in [min, max], or `fallback` when absent.
absl::StatusOr<uint64_t> NumberParam(const ApiCall& call, absl::string_view name, uint64_t fallback,
                                     uint64_t min, uint64_t max) {
  std::optional<std::string> text = Param(call, name);
  if (!text) return fallback;
  uint64_t value = 0;
  if (!absl::SimpleAtoi(*text, &value) || value < min || value > max) {
    return absl::InvalidArgumentError(
        absl::StrCat("parameter '", name, "' must be a whole number from ", min, " to ", max));
  }
  return value;
}

json TotalsJson(const UsageTotals& t) {
  json out = {{"invocations", t.invocations},
              {"errors", t.errors()},
              {"cpu_us", t.cpu_us},
              {"cpu_p50_us", t.cpu_histogram.p50()},
              {"wall_us", t.wall_us}};
  json outcomes = json::object();
  for (int i = 0; i < kOutcomeCount; ++i) {
    if (t.outcomes[i] != 0)
      outcomes[std::string(OutcomeName(static_cast<Outcome>(i)))] = t.outcomes[i];
  }
  out["outcomes"] = std::move(outcomes);
  // KV and cron columns only when there is something in them.
  const uint64_t kv_ops = t.kv_reads + t.kv_writes + t.kv_deletes + t.kv_lists;
  if (kv_ops != 0) {
    out["kv_reads"] = t.kv_reads;
    out["kv_writes"] = t.kv_writes;
    out["kv_deletes"] = t.kv_deletes;
    out["kv_lists"] = t.kv_lists;
  }
  if (t.scheduled != 0) out["scheduled"] = t.scheduled;
  return out;
}

json SplitJson(const TrafficSplit& split) {
  return {{"base", split.base}, {"canary", split.canary}, {"canary_percent", split.canary_percent}};
}

const char* ActionName(HistoryAction action) {
  switch (action) {
    case HistoryAction::kRollback:
      return "rollback";
    case HistoryAction::kSplit:
      return "split";
    case HistoryAction::kPromote:
      return "promote";
    case HistoryAction::kDeploy:
      break;
  }
  return "deploy";
}

json HistoryJson(const HistoryEntry& e) {
  return {{"sequence", e.sequence},
          {"version", e.version},
          {"action", ActionName(e.action)},
          {"time", Rfc3339(e.time)},
          {"size_bytes", e.size_bytes},
          {"tenant", e.tenant},
          {"previous_version", e.previous_version}};
}

// The most of a KV value the `value` call returns.
constexpr size_t kMaxValueShown = size_t{64} << 10;

// Recent usage of a family for the families table.
struct Recent {
  uint64_t invocations = 0;
  uint64_t errors = 0;
  uint64_t cpu_us = 0;
  CpuHistogram cpu;
};

}  // namespace

bool AdminApi::ChangesState(absl::string_view method) {
  return method != "GET" && method != "HEAD";
}

absl::StatusOr<std::string> AdminApi::Handle(const ApiCall& call) {
  std::vector<std::string> parts = absl::StrSplit(call.path, '/');
  auto want = [&](absl::string_view method) -> absl::Status {
    if (call.method == method || (method == "GET" && call.method == "HEAD")) {
      return absl::OkStatus();
    }
    return absl::InvalidArgumentError(
        absl::StrCat("/_cosmo/api/", call.path, " takes ", method, ", not ", call.method));
  };
  if (parts.size() == 1 && parts[0] == "whoami") {
    COSMO_RETURN_IF_ERROR(want("GET"));
    return Dump({{"tenant", call.tenant},
                 {"tokens_required", call.tokens_required},
                 {"read_only", call.read_only}});
  }
  if (parts[0] == "families") {
    if (parts.size() == 1) {
      COSMO_RETURN_IF_ERROR(want("GET"));
      return Families(call);
    }
    if (parts.size() > 3) return absl::NotFoundError("no such API path");
    // The registry checks the name and the caller's ownership.
    COSMO_ASSIGN_OR_RETURN(FamilyInfo info, runtime_->registry().GetFamily(call.tenant, parts[1]));
    const std::string what = parts.size() == 2 ? "" : parts[2];
    if (what == "rollback") {
      COSMO_RETURN_IF_ERROR(want("POST"));
      return Rollback(call, info);
    }
    COSMO_RETURN_IF_ERROR(want("GET"));
    if (what.empty()) return Family(call, info);
    if (what == "history") return History(call, info);
    if (what == "usage") return Usage(call, info);
    if (what == "logs") return Logs(call, info.family, info.created);
    if (what == "crons") return Crons(info);
    return absl::NotFoundError("no such API path");
  }
  if (parts[0] == "kv" && parts.size() >= 2 && parts[1] == "namespaces") {
    COSMO_RETURN_IF_ERROR(want("GET"));
    if (parts.size() == 2) return KvNamespaces(call);
    if (parts.size() == 4 && parts[3] == "keys") return KvKeys(call, parts[2]);
    if (parts.size() == 4 && parts[3] == "value") return KvValue(call, parts[2]);
  }
  return absl::NotFoundError(absl::StrCat("no such API path: /_cosmo/api/", call.path));
}

absl::StatusOr<std::string> AdminApi::Families(const ApiCall& call) {
  const std::string filter = Param(call, "filter").value_or("");
  const std::string sort = Param(call, "sort").value_or("name");
  const std::string order = Param(call, "order").value_or(sort == "name" ? "asc" : "desc");
  if (sort != "name" && sort != "requests" && sort != "errors" && sort != "cpu") {
    return absl::InvalidArgumentError("parameter 'sort' must be name, requests, errors or cpu");
  }
  if (order != "asc" && order != "desc") {
    return absl::InvalidArgumentError("parameter 'order' must be asc or desc");
  }
  if (filter.size() > 63) {
    return absl::InvalidArgumentError("parameter 'filter' is longer than a family name can be");
  }
  COSMO_ASSIGN_OR_RETURN(uint64_t offset, NumberParam(call, "offset", 0, 0, UINT32_MAX));
  COSMO_ASSIGN_OR_RETURN(uint64_t limit,
                         NumberParam(call, "limit", options_.default_page, 1, options_.max_page));

  std::vector<FamilyInfo> families;
  PageRequest page{.page_size = 1000};
  do {
    COSMO_ASSIGN_OR_RETURN(Page<FamilyInfo> got,
                           runtime_->registry().ListFamilies(call.tenant, page));
    for (FamilyInfo& info : got.items) {
      if (filter.empty() || absl::StrContains(info.family, filter))
        families.push_back(std::move(info));
    }
    page.page_token = got.next_page_token;
  } while (!page.page_token.empty());

  const absl::Time now = absl::Now();
  UsageHistoryQuery recent_query{.since = now - options_.recent_window};
  auto recent_of = [&](const FamilyInfo& info) -> absl::StatusOr<Recent> {
    COSMO_ASSIGN_OR_RETURN(std::vector<UsagePoint> points,
                           control::TenantUsageHistory(runtime_->registry(), *runtime_, call.tenant,
                                                       info, recent_query));
    Recent r;
    for (const UsagePoint& p : points) {
      r.invocations += p.totals.invocations;
      r.errors += p.totals.errors();
      r.cpu_us += p.totals.cpu_us;
      r.cpu.Merge(p.totals.cpu_histogram);
    }
    return r;
  };
  // Sorting by a usage column needs every row's usage; sorting by name only the page's.
  std::vector<Recent> recent(families.size());
  std::vector<size_t> rows(families.size());
  for (size_t i = 0; i < rows.size(); ++i) rows[i] = i;
  if (sort != "name") {
    for (size_t i = 0; i < families.size(); ++i) {
      COSMO_ASSIGN_OR_RETURN(recent[i], recent_of(families[i]));
    }
    auto key = [&](size_t i) -> double {
      const Recent& r = recent[i];
      if (sort == "requests") return static_cast<double>(r.invocations);
      if (r.invocations == 0) return -1;  // no traffic sorts below any rate
      // CPU: the median request's, which one slow outlier does not move.
      return sort == "errors" ? static_cast<double>(r.errors) / r.invocations : r.cpu.p50();
    };
    std::stable_sort(rows.begin(), rows.end(), [&](size_t a, size_t b) {
      return order == "asc" ? key(a) < key(b) : key(a) > key(b);
    });
  } else if (order == "desc") {
    std::reverse(rows.begin(), rows.end());
  }
  const double window_minutes = absl::ToDoubleMinutes(options_.recent_window);
  json items = json::array();
  for (size_t n = offset; n < rows.size() && n < offset + limit; ++n) {
    const FamilyInfo& info = families[rows[n]];
    if (sort == "name") {
      COSMO_ASSIGN_OR_RETURN(recent[rows[n]], recent_of(info));
    }
    const Recent& r = recent[rows[n]];
    json item = {
        {"name", info.family},
        {"active_version", info.active_version},
        {"engine", info.engine},
        {"updated", Rfc3339(info.updated)},
        {"requests_per_minute", r.invocations / window_minutes},
        {"error_rate", r.invocations == 0 ? 0.0 : double(r.errors) / r.invocations},
        {"cpu_us_per_request", r.invocations == 0 ? 0.0 : double(r.cpu_us) / r.invocations},
        {"cpu_p50_us", r.cpu.p50()}};
    if (info.split) item["split"] = SplitJson(*info.split);
    items.push_back(std::move(item));
  }
  return Dump({{"total", families.size()},
               {"offset", offset},
               {"limit", limit},
               {"window_minutes", window_minutes},
               {"families", std::move(items)}});
}

absl::StatusOr<std::string> AdminApi::Family(const ApiCall& call, const FamilyInfo& info) {
  json out = {{"name", info.family},
              {"owner", info.owner_tenant},
              {"active_version", info.active_version},
              {"engine", info.engine},
              {"created", Rfc3339(info.created)},
              {"updated", Rfc3339(info.updated)},
              {"history_length", info.history_length},
              {"secret_names", info.secret_names}};
  if (info.split) out["split"] = SplitJson(*info.split);
  // The KV bindings of the versions serving (both sides of a split): the page's key browser.
  json kv = json::object();
  for (const std::string& version :
       {info.active_version, info.split ? info.split->canary : std::string()}) {
    if (version.empty()) continue;
    COSMO_ASSIGN_OR_RETURN(Manifest manifest, runtime_->registry().LoadManifest(version));
    for (const auto& [binding, ns] : manifest.kv) kv[binding] = ns;
  }
  out["kv"] = std::move(kv);
  return Dump(out);
}

absl::StatusOr<std::string> AdminApi::History(const ApiCall& call, const FamilyInfo& info) {
  COSMO_ASSIGN_OR_RETURN(uint64_t limit, NumberParam(call, "limit", 50, 1, 1000));
  PageRequest page{.page_size = limit, .page_token = Param(call, "page_token").value_or("")};
  COSMO_ASSIGN_OR_RETURN(Page<HistoryEntry> got,
                         runtime_->registry().History(call.tenant, info.family, page));
  json entries = json::array();
  for (const HistoryEntry& e : got.items) entries.push_back(HistoryJson(e));
  return Dump({{"entries", std::move(entries)}, {"next_page_token", got.next_page_token}});
}

absl::StatusOr<std::string> AdminApi::Usage(const ApiCall& call, const FamilyInfo& info) {
  // `since`: seconds ago, up to 31 days.
  COSMO_ASSIGN_OR_RETURN(uint64_t since, NumberParam(call, "since", 3600, 60, 31 * 86400));
  COSMO_ASSIGN_OR_RETURN(uint64_t bucket, NumberParam(call, "bucket", 60, 60, 3600));
  if (bucket != 60 && bucket != 3600) {
    return absl::InvalidArgumentError("parameter 'bucket' must be 60 or 3600");
  }
  const absl::Time now = absl::Now();
  UsageHistoryQuery query{.since = now - absl::Seconds(since), .bucket = absl::Seconds(bucket)};
  COSMO_ASSIGN_OR_RETURN(
      std::vector<UsagePoint> points,
      control::TenantUsageHistory(runtime_->registry(), *runtime_, call.tenant, info, query));
  json buckets = json::array();
  for (const UsagePoint& p : points) {
    json b = {{"start", absl::ToUnixSeconds(p.start)},
              {"width", absl::ToInt64Seconds(p.width)},
              {"version", p.version}};
    b.update(TotalsJson(p.totals));
    buckets.push_back(std::move(b));
  }
  return Dump({{"now", absl::ToUnixSeconds(now)},
               {"since", absl::ToUnixSeconds(query.since)},
               {"bucket", bucket},
               {"buckets", std::move(buckets)}});
}

absl::StatusOr<std::string> AdminApi::Logs(const ApiCall& call, absl::string_view family,
                                           absl::Time created) {
  COSMO_ASSIGN_OR_RETURN(uint64_t after, NumberParam(call, "after", 0, 0, UINT64_MAX));
  COSMO_ASSIGN_OR_RETURN(uint64_t limit, NumberParam(call, "limit", 256, 1, 1000));
  COSMO_ASSIGN_OR_RETURN(
      uint64_t wait_ms,
      NumberParam(call, "wait_ms", 0, 0, absl::ToInt64Milliseconds(options_.max_log_wait)));
  LogBatch batch = wait_ms == 0 ? runtime_->ReadLogs(family, after, limit)
                                : runtime_->WaitForLogs(family, after, limit,
                                                        absl::Now() + absl::Milliseconds(wait_ms));
  json records = json::array();
  for (const LogRecord& r : batch.records) {
    // Records of an earlier family of the same name are not this one's.
    if (r.time < created) continue;
    json record = {{"sequence", r.sequence},         {"time", Rfc3339(r.time)},
                   {"level", LogLevelName(r.level)}, {"version", r.version},
                   {"request_id", r.request_id},     {"text", r.text}};
    if (r.is_outcome) record["outcome"] = OutcomeName(r.outcome);
    records.push_back(std::move(record));
  }
  const uint64_t last =
      batch.records.empty() ? std::max(after, batch.last_sequence) : batch.records.back().sequence;
  return Dump(
      {{"records", std::move(records)}, {"dropped", batch.dropped}, {"last_sequence", last}});
}

absl::StatusOr<std::string> AdminApi::Crons(const FamilyInfo& info) {
  json crons = json::array();
  absl::StatusOr<std::vector<CronStatus>> got = runtime_->Crons(info.family);
  if (!got.ok() && !absl::IsNotFound(got.status())) return got.status();
  if (got.ok()) {
    for (const CronStatus& c : *got) {
      json next = json::array();
      for (absl::Time t : c.next_ticks) next.push_back(Rfc3339(t));
      json item = {{"cron", c.cron}, {"next", std::move(next)}};
      if (c.last_tick) {
        item["last_tick"] = Rfc3339(*c.last_tick);
        item["last_outcome"] = c.last_outcome;
        item["last_duration_ms"] = absl::ToInt64Milliseconds(c.last_duration);
      }
      crons.push_back(std::move(item));
    }
  }
  return Dump({{"crons", std::move(crons)}});
}

absl::StatusOr<std::string> AdminApi::Rollback(const ApiCall& call, const FamilyInfo& info) {
  std::optional<std::string> version;
  if (!call.body.empty()) {
    json body = json::parse(call.body, nullptr, /*allow_exceptions=*/false);
    if (body.is_discarded() || !body.is_object()) {
      return absl::InvalidArgumentError(
          "rollback body must be a JSON object like {\"version\": \"1a2b3c4d\"} (or empty)");
    }
    for (const auto& [key, value] : body.items()) {
      if (key != "version") {
        return absl::InvalidArgumentError(
            absl::StrCat("rollback body: unknown field '", key, "'; only \"version\" is accepted"));
      }
      if (!value.is_string() && !value.is_null()) {
        return absl::InvalidArgumentError("rollback body: \"version\" must be a string");
      }
      if (value.is_string()) version = value.get<std::string>();
    }
  }
  std::optional<absl::string_view> wanted;
  if (version) wanted = *version;
  COSMO_ASSIGN_OR_RETURN(HistoryEntry entry,
                         runtime_->registry().Rollback(call.tenant, info.family, wanted));
  return Dump({{"active_version", entry.version}, {"entry", HistoryJson(entry)}});
}

absl::StatusOr<std::string> AdminApi::KvNamespaces(const ApiCall& call) {
  COSMO_ASSIGN_OR_RETURN(std::vector<KvNamespaceInfo> namespaces,
                         runtime_->kv().ListNamespaces(call.tenant));
  json items = json::array();
  for (const KvNamespaceInfo& ns : namespaces) {
    items.push_back({{"name", ns.name},
                     {"created", Rfc3339(ns.created)},
                     {"stored_bytes", ns.stored_bytes},
                     {"keys", ns.keys}});
  }
  return Dump({{"namespaces", std::move(items)}});
}

absl::StatusOr<std::string> AdminApi::KvKeys(const ApiCall& call, absl::string_view ns) {
  COSMO_RETURN_IF_ERROR(runtime_->kv().GetNamespace(call.tenant, ns).status());
  COSMO_ASSIGN_OR_RETURN(uint64_t limit, NumberParam(call, "limit", 100, 1, 1000));
  KvListOptions options{.prefix = Param(call, "prefix").value_or(""),
                        .limit = limit,
                        .cursor = Param(call, "cursor").value_or("")};
  COSMO_ASSIGN_OR_RETURN(KvListResult listed, runtime_->kv().List(ns, options));
  json keys = json::array();
  for (const KvListKey& k : listed.keys) {
    json key = {{"name", k.name}};
    if (k.expiration != 0) key["expiration"] = k.expiration;
    if (k.metadata) key["metadata"] = *k.metadata;
    keys.push_back(std::move(key));
  }
  return Dump({{"keys", std::move(keys)},
               {"list_complete", listed.list_complete},
               {"cursor", listed.cursor}});
}

absl::StatusOr<std::string> AdminApi::KvValue(const ApiCall& call, absl::string_view ns) {
  COSMO_RETURN_IF_ERROR(runtime_->kv().GetNamespace(call.tenant, ns).status());
  std::optional<std::string> key = Param(call, "key");
  if (!key || key->empty()) {
    return absl::InvalidArgumentError("parameter 'key' is required: the key whose value to show");
  }
  COSMO_ASSIGN_OR_RETURN(std::optional<KvEntry> entry, runtime_->kv().Get(ns, *key));
  if (!entry) {
    return absl::NotFoundError(absl::StrCat("no key '", *key, "' in KV namespace ", ns));
  }
  // Values are bytes of any kind and up to 25 MiB: the page shows the start, decoded there.
  const size_t shown = std::min(entry->value.size(), kMaxValueShown);
  json out = {
      {"key", *key},
      {"size_bytes", entry->value.size()},
      {"truncated", shown < entry->value.size()},
      {"value_base64", absl::Base64Escape(absl::string_view(entry->value).substr(0, shown))}};
  if (entry->expiration != 0) out["expiration"] = entry->expiration;
  if (entry->metadata) out["metadata"] = *entry->metadata;
  return Dump(out);
}

}  // namespace cosmo::dashboard
