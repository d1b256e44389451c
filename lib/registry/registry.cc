// The Registry on top of any Store.
//
// Every mutation follows one pattern: read the family record (keeping its raw bytes), decide,
// then commit one WriteBatch guarded by "fam/<family> still holds those bytes" plus guards on any
// shared record it updates (blob reference counts). A guard failure means another writer — in
// this process or, on etcd, another server — got there first: re-read and decide again. Within
// this process, writers of one family also take a striped mutex so they queue instead of spinning
// on the store.
//
// Change listeners hear about changes from every process sharing the store, not only this one:
// when the Store supports Watch() (etcd), the registry watches `fam/` and notifies the family of
// every changed family record. A change made through this Registry is then reported twice (once
// when its commit returns, once when the watch delivers it); listeners only invalidate, so that
// is harmless. After a watch resync (history compacted while disconnected) every family in the
// store, and every family this registry has seen, is notified, which covers families deleted
// meanwhile.
#include "cosmo/registry.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/functional/function_ref.h"
#include "absl/hash/hash.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "cosmo/internal/store_records.pb.h"
#include "cosmo/kv.h"
#include "cosmo/status_macros.h"
#include "cron/cron_list.h"
#include "store/store_keys.h"

namespace cosmo {
namespace {

namespace pb = ::cosmo::internal;

constexpr size_t kDefaultPageSize = 100;
constexpr size_t kMaxPageSize = 1000;
constexpr size_t kMaxFileNameBytes = 255;
constexpr size_t kMaxEnvNameBytes = 128;
constexpr size_t kMaxKvBindings = 64;

absl::Status CheckFamilyName(absl::string_view family) {
  if (IsValidFamilyName(family)) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "family: '", absl::CHexEscape(family.substr(0, 80)),
      "' is not a valid family name; use 1-63 characters from a-z, 0-9 and '-', starting with a "
      "letter or digit"));
}

absl::Status CheckTenantName(absl::string_view tenant) {
  if (IsValidTenantName(tenant)) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "tenant: '", absl::CHexEscape(tenant.substr(0, 80)),
      "' is not a valid tenant name; use 1-64 characters from A-Z, a-z, 0-9, '.', '_' and '-'"));
}

// Relative paths of ASCII letters, digits, '.', '_' and '-' segments; no "." or ".." segment.
bool IsValidFileName(absl::string_view name) {
  if (name.empty() || name.size() > kMaxFileNameBytes) return false;
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = name.find('/', start);
    if (end == absl::string_view::npos) end = name.size();
    absl::string_view segment = name.substr(start, end - start);
    if (segment.empty() || segment == "." || segment == "..") return false;
    for (char c : segment) {
      if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') {
        return false;
      }
    }
    start = end + 1;
  }
  return true;
}

bool IsValidEnvName(absl::string_view name) {
  if (name.empty() || name.size() > kMaxEnvNameBytes) return false;
  if (absl::ascii_isdigit(static_cast<unsigned char>(name[0]))) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

absl::Status CheckVersionPrefix(absl::string_view prefix) {
  const bool hex = std::all_of(prefix.begin(), prefix.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  });
  if (hex && prefix.size() >= 8 && prefix.size() <= 64) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("version: '", absl::CHexEscape(prefix.substr(0, 80)),
                   "' is not a version; give the full hash or a prefix of at least 8 lowercase "
                   "hex digits"));
}

// The deploy's secret names, sorted and unique, each an env key of the manifest.
absl::StatusOr<std::vector<std::string>> NormalizeSecretNames(const DeployRequest& request) {
  std::vector<std::string> names = request.secret_names;
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  for (const std::string& name : names) {
    if (!request.manifest.env.contains(name)) {
      return absl::InvalidArgumentError(absl::StrCat("secret_names: '",
                                                     absl::CHexEscape(name.substr(0, 80)),
                                                     "' is not a variable of this deploy's env"));
    }
  }
  return names;
}

// Bindings are env names of their own: a script sees env.BINDING, so a binding must be a valid
// variable name that no env variable also uses.
absl::Status ValidateKvBindings(const Manifest& manifest) {
  if (manifest.kv.size() > kMaxKvBindings) {
    return absl::InvalidArgumentError(
        absl::StrCat("kv: ", manifest.kv.size(), " bindings exceed the limit of ", kMaxKvBindings));
  }
  for (const auto& [binding, ns] : manifest.kv) {
    if (!IsValidEnvName(binding)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "kv: binding '", absl::CHexEscape(binding.substr(0, 80)),
          "' is not a valid variable name; use letters, digits and '_', not starting with a "
          "digit (e.g. --kv COUNTS=counts)"));
    }
    if (manifest.env.contains(binding)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "kv: binding '", binding, "' is also an env variable; give one of them another name"));
    }
    if (!IsValidKvNamespaceName(ns)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "kv: namespace '", absl::CHexEscape(ns.substr(0, 80)), "' of binding '", binding,
          "' is not a valid namespace name; use 1-63 characters from a-z, 0-9 and '-', starting "
          "with a letter or digit"));
    }
  }
  return absl::OkStatus();
}

// The namespaces a manifest binds, each once.
std::vector<std::string> BoundNamespaces(const Manifest& manifest) {
  std::vector<std::string> namespaces;
  for (const auto& [binding, ns] : manifest.kv) namespaces.push_back(ns);
  std::sort(namespaces.begin(), namespaces.end());
  namespaces.erase(std::unique(namespaces.begin(), namespaces.end()), namespaces.end());
  return namespaces;
}

bool SameNames(const pb::FamilyVersionRecord& record, const std::vector<std::string>& names) {
  return std::equal(record.secret_names().begin(), record.secret_names().end(), names.begin(),
                    names.end());
}

absl::Time FromMicros(int64_t micros) { return absl::FromUnixMicros(micros); }

std::optional<TrafficSplit> ToSplit(bool has_split, const pb::TrafficSplit& split) {
  if (!has_split) return std::nullopt;
  return TrafficSplit{split.base_version(), split.canary_version(), split.canary_percent()};
}

HistoryAction ToAction(pb::HistoryAction action) {
  switch (action) {
    case pb::HISTORY_ACTION_ROLLBACK:
      return HistoryAction::kRollback;
    case pb::HISTORY_ACTION_SPLIT:
      return HistoryAction::kSplit;
    case pb::HISTORY_ACTION_PROMOTE:
      return HistoryAction::kPromote;
    default:
      return HistoryAction::kDeploy;
  }
}

absl::Status CheckPercent(absl::string_view field, uint32_t percent) {
  if (percent <= 100) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      field, ": ", percent, " is not a percentage; give a whole number from 0 to 100"));
}

// The refusal of a change that needs the family's split ended first.
absl::Status SplitInPlace(absl::string_view family, const pb::TrafficSplit& split,
                          absl::string_view what) {
  return absl::FailedPreconditionError(absl::StrCat(
      "family '", family, "' is split between ", split.base_version().substr(0, 12), " (",
      100 - split.canary_percent(), "%) and ", split.canary_version().substr(0, 12), " (",
      split.canary_percent(), "%); ", what, " only after `cosmoctl promote ", family,
      "` or `cosmoctl rollback ", family, "` ends the split"));
}

HistoryEntry ToEntry(const pb::HistoryRecord& record) {
  HistoryEntry entry;
  entry.sequence = record.sequence();
  entry.version = record.version();
  entry.action = ToAction(record.action());
  entry.time = FromMicros(record.time_unix_micros());
  entry.size_bytes = record.size_bytes();
  entry.tenant = record.tenant();
  entry.previous_version = record.previous_version();
  entry.split = ToSplit(record.has_split(), record.split());
  return entry;
}

FamilyInfo ToInfo(absl::string_view family, const pb::FamilyRecord& record) {
  FamilyInfo info;
  info.family = std::string(family);
  info.owner_tenant = record.owner_tenant();
  info.active_version = record.active_version();
  info.engine = record.engine();
  info.split = ToSplit(record.has_split(), record.split());
  info.created = FromMicros(record.created_unix_micros());
  info.updated = FromMicros(record.updated_unix_micros());
  info.history_length = record.next_sequence() - 1;
  return info;
}

template <typename Message>
absl::StatusOr<Message> Parse(absl::string_view bytes, absl::string_view key) {
  Message message;
  if (!message.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::DataLossError(absl::StrCat("store record '", key, "' is unreadable"));
  }
  return message;
}

size_t PageSize(const PageRequest& page) {
  if (page.page_size == 0) return kDefaultPageSize;
  return std::min(page.page_size, kMaxPageSize);
}

// A family record as read, with the raw bytes that guard the commit that replaces it.
struct FamilySnapshot {
  std::optional<pb::FamilyRecord> record;
  std::optional<std::string> raw;
};

class StoreRegistry final : public Registry {
 public:
  StoreRegistry(Store* store, absl::flat_hash_map<std::string, Engine*> engines, Clock* clock,
                RegistryOptions options)
      : store_(store), engines_(std::move(engines)), clock_(clock), options_(std::move(options)) {}

  // The watch goes first: its callback uses everything else.
  ~StoreRegistry() override { watch_.reset(); }

  // Follows family-record changes made through other Registries on the same store, where the
  // store can watch; a store that cannot (UNIMPLEMENTED) is single-process, so nothing is missed.
  absl::Status WatchFamilies() {
    absl::StatusOr<std::unique_ptr<WatchHandle>> watch =
        store_->Watch(store_keys::kFamilyPrefix, [this](const WatchEvent& event) {
          if (event.type == WatchEvent::Type::kResync) {
            NotifyAll();
          } else if (absl::StartsWith(event.key, store_keys::kFamilyPrefix)) {
            NotifyChanged(absl::string_view(event.key).substr(store_keys::kFamilyPrefix.size()));
          }
        });
    if (absl::IsUnimplemented(watch.status())) return absl::OkStatus();
    if (!watch.ok()) {
      return absl::Status(watch.status().code(),
                          absl::StrCat("registry: cannot watch family changes in ",
                                       store_->Describe(), ": ", watch.status().message()));
    }
    watch_ = *std::move(watch);
    return absl::OkStatus();
  }

  absl::StatusOr<DeployResult> Deploy(const DeployRequest& request) override {
    COSMO_RETURN_IF_ERROR(CheckTenantName(request.tenant));
    COSMO_RETURN_IF_ERROR(CheckFamilyName(request.family));
    if (request.expected_version && !request.expected_version->empty()) {
      COSMO_RETURN_IF_ERROR(CheckVersionPrefix(*request.expected_version));
    }
    if (request.percent) COSMO_RETURN_IF_ERROR(CheckPercent("percent", *request.percent));
    COSMO_ASSIGN_OR_RETURN(std::string cbor, CheckAndEncodeManifest(request.manifest));
    COSMO_ASSIGN_OR_RETURN(const std::vector<std::string> secret_names,
                           NormalizeSecretNames(request));
    const std::string version = Sha256Hex(cbor);
    // The engine's probe runs the code in a fresh isolate (milliseconds). A version is its
    // content, so one already stored passed that probe when it was first deployed, here or on
    // another server: deploying the same code to many families, or again, skips it.
    COSMO_ASSIGN_OR_RETURN(std::optional<std::string> stored,
                           store_->Find(store_keys::Blob(version)));
    if (!stored)
      COSMO_RETURN_IF_ERROR(engines_.at(request.manifest.engine)->Validate(request.manifest));

    auto decide = [&](const FamilySnapshot& current) -> absl::StatusOr<Change<DeployResult>> {
      const std::string active = current.record ? current.record->active_version() : "";
      if (request.expected_version) {
        const std::string& expected = *request.expected_version;
        const bool matches = expected.empty()
                                 ? !current.record
                                 : current.record && absl::StartsWith(active, expected);
        if (!matches) {
          return absl::AbortedError(
              absl::StrCat("family '", request.family, "' is at version ",
                           active.empty() ? "(none)" : active.substr(0, 12), ", not the expected ",
                           expected.empty() ? "(none)" : expected, "; fetch it again and retry"));
        }
      }
      if (request.percent && !current.record) {
        return absl::FailedPreconditionError(
            absl::StrCat("family '", request.family,
                         "' has no version yet to split requests with; deploy it without a "
                         "percentage first"));
      }
      const bool split = current.record && current.record->has_split();
      // The versions serving now: deploying one of them again changes no routing.
      const bool serving =
          active == version || (split && current.record->split().canary_version() == version);
      if (split && !serving) {
        return SplitInPlace(request.family, current.record->split(), "deploy another version");
      }
      const absl::Time now = clock_->Now();
      WriteBatch batch;
      // Binding a namespace claims it for this tenant (or is refused: another tenant's).
      COSMO_RETURN_IF_ERROR(AddKvNamespaceClaims(store_, request.tenant,
                                                 BoundNamespaces(request.manifest), now, batch));
      const bool claims_namespace = !batch.empty();
      const std::string fver_key = store_keys::FamilyVersion(request.family, version);
      COSMO_ASSIGN_OR_RETURN(std::optional<std::string> fver, store_->Find(fver_key));
      // Secret names live in the family's version record: a version the family already has gets
      // them rewritten when they differ; the active one gets nothing else.
      std::optional<pb::FamilyVersionRecord> renamed;
      if (fver) {
        COSMO_ASSIGN_OR_RETURN(pb::FamilyVersionRecord fver_record,
                               Parse<pb::FamilyVersionRecord>(*fver, fver_key));
        if (!SameNames(fver_record, secret_names)) {
          fver_record.mutable_secret_names()->Assign(secret_names.begin(), secret_names.end());
          renamed = std::move(fver_record);
        }
      }
      if (serving) {
        // A namespace deleted since this version was deployed is created again.
        if (!renamed && !claims_namespace) return Change<DeployResult>{{version, false, active}};
        // The family record is rewritten unchanged so that stores which watch family records
        // tell other servers to look again.
        batch.Expect(store_keys::Family(request.family), current.raw);
        batch.Put(store_keys::Family(request.family), *current.raw);
        if (renamed) {
          batch.ExpectValue(fver_key, *fver);
          batch.Put(fver_key, renamed->SerializeAsString());
        }
        return Change<DeployResult>{{version, false, active}, std::move(batch)};
      }
      if (renamed) {
        batch.ExpectValue(fver_key, *fver);
        batch.Put(fver_key, renamed->SerializeAsString());
      } else if (!fver) {
        batch.ExpectAbsent(fver_key);
        pb::FamilyVersionRecord fver_record;
        fver_record.set_first_deployed_unix_micros(absl::ToUnixMicros(now));
        fver_record.set_size_bytes(cbor.size());
        fver_record.set_engine(request.manifest.engine);
        fver_record.mutable_secret_names()->Assign(secret_names.begin(), secret_names.end());
        batch.Put(fver_key, fver_record.SerializeAsString());
        COSMO_RETURN_IF_ERROR(AddBlobReference(version, cbor, batch));
      }
      const uint64_t sequence = current.record ? current.record->next_sequence() : 1;
      pb::FamilyRecord next = current.record.value_or(pb::FamilyRecord());
      if (!current.record) {
        next.set_owner_tenant(request.tenant);
        next.set_created_unix_micros(absl::ToUnixMicros(now));
        batch.Put(store_keys::Owned(request.tenant, request.family), "");
      }
      if (request.percent) {
        // The version active before stays the base (and the record's engine stays its engine).
        pb::TrafficSplit* split_record = next.mutable_split();
        split_record->set_base_version(active);
        split_record->set_canary_version(version);
        split_record->set_canary_percent(*request.percent);
        split_record->set_canary_engine(request.manifest.engine);
      } else {
        next.set_active_version(version);
        next.set_engine(request.manifest.engine);
      }
      next.set_next_sequence(sequence + 1);
      next.set_updated_unix_micros(absl::ToUnixMicros(now));

      pb::HistoryRecord history;
      history.set_sequence(sequence);
      history.set_version(version);
      history.set_action(pb::HISTORY_ACTION_DEPLOY);
      history.set_time_unix_micros(absl::ToUnixMicros(now));
      history.set_size_bytes(cbor.size());
      history.set_tenant(request.tenant);
      history.set_previous_version(active);
      if (next.has_split()) *history.mutable_split() = next.split();

      batch.Expect(store_keys::Family(request.family), current.raw);
      batch.Put(store_keys::Family(request.family), next.SerializeAsString());
      batch.Put(store_keys::History(request.family, sequence), history.SerializeAsString());
      return Change<DeployResult>{{version, true, active}, std::move(batch)};
    };
    return ChangeFamily<DeployResult>(request.tenant, request.family, /*may_be_new=*/true, decide);
  }

  absl::Status Validate(const Manifest& manifest) override {
    COSMO_RETURN_IF_ERROR(CheckAndEncodeManifest(manifest).status());
    return engines_.at(manifest.engine)->Validate(manifest);
  }

  // Everything Validate() checks but the engine's probe of the code: the engine is known, and
  // files, sizes, env, bindings, limits and crons are within the rules. Returns the canonical
  // CBOR encoding (the version is its hash), whose making checks that all text is UTF-8.
  absl::StatusOr<std::string> CheckAndEncodeManifest(const Manifest& manifest) {
    auto engine = engines_.find(manifest.engine);
    if (engine == engines_.end()) {
      std::vector<std::string> names;
      for (const auto& [name, unused] : engines_) names.push_back(name);
      std::sort(names.begin(), names.end());
      return absl::InvalidArgumentError(
          absl::StrCat("engine: unknown engine '", absl::CHexEscape(manifest.engine.substr(0, 40)),
                       "'; this server runs: ", absl::StrJoin(names, ", ")));
    }
    if (manifest.files.empty()) return absl::InvalidArgumentError("files: a deploy needs a file");
    if (manifest.files.size() > options_.max_files) {
      return absl::InvalidArgumentError(absl::StrCat(
          "files: ", manifest.files.size(), " files exceed the limit of ", options_.max_files));
    }
    for (const auto& [name, unused] : manifest.files) {
      if (!IsValidFileName(name)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "files: '", absl::CHexEscape(name.substr(0, 80)),
            "' is not a valid file name; use a relative path of letters, digits, '.', '_' and "
            "'-' (no '..')"));
      }
    }
    if (!manifest.files.contains(manifest.main)) {
      return absl::InvalidArgumentError(absl::StrCat("main: entry file '",
                                                     absl::CHexEscape(manifest.main.substr(0, 80)),
                                                     "' is not among the deployed files"));
    }
    const size_t source_bytes = manifest.SourceBytes();
    if (source_bytes > options_.max_script_bytes) {
      return absl::InvalidArgumentError(
          absl::StrCat("files: ", source_bytes, " bytes of source exceed the script size limit of ",
                       options_.max_script_bytes, " bytes"));
    }
    if (manifest.env.size() > options_.max_env_vars) {
      return absl::InvalidArgumentError(absl::StrCat(
          "env: ", manifest.env.size(), " variables exceed the limit of ", options_.max_env_vars));
    }
    size_t env_bytes = 0;
    for (const auto& [name, value] : manifest.env) {
      if (!IsValidEnvName(name)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "env: '", absl::CHexEscape(name.substr(0, 80)),
            "' is not a valid variable name; use letters, digits and '_', not starting with a "
            "digit"));
      }
      env_bytes += name.size() + value.size();
    }
    if (env_bytes > options_.max_env_bytes) {
      return absl::InvalidArgumentError(absl::StrCat("env: ", env_bytes,
                                                     " bytes of variables exceed the limit of ",
                                                     options_.max_env_bytes, " bytes"));
    }
    COSMO_RETURN_IF_ERROR(ValidateKvBindings(manifest));
    COSMO_RETURN_IF_ERROR(ValidateRequestedLimits(manifest.limits, options_.caps));
    COSMO_RETURN_IF_ERROR(ValidateCronList(manifest.crons));
    // Encoding checks that all text is UTF-8, naming the field.
    return EncodeManifest(manifest);
  }

  absl::StatusOr<FamilyInfo> GetFamily(absl::string_view tenant,
                                       absl::string_view family) override {
    COSMO_ASSIGN_OR_RETURN(pb::FamilyRecord record, ReadOwnedFamily(tenant, family));
    FamilyInfo info = ToInfo(family, record);
    COSMO_ASSIGN_OR_RETURN(info.secret_names, ReadSecretNames(family, record.active_version()));
    return info;
  }

  absl::StatusOr<Page<FamilyInfo>> ListFamilies(absl::string_view tenant,
                                                const PageRequest& page) override {
    COSMO_RETURN_IF_ERROR(CheckTenantName(tenant));
    const std::string prefix = store_keys::OwnedPrefix(tenant);
    if (!page.page_token.empty()) COSMO_RETURN_IF_ERROR(CheckFamilyName(page.page_token));
    const size_t size = PageSize(page);
    ScanOptions scan;
    scan.limit = size + 1;
    if (!page.page_token.empty()) scan.start_after = prefix + page.page_token;
    COSMO_ASSIGN_OR_RETURN(std::vector<KeyValue> owned, store_->Scan(prefix, scan));
    Page<FamilyInfo> out;
    for (size_t i = 0; i < owned.size() && i < size; ++i) {
      const std::string family = owned[i].key.substr(prefix.size());
      COSMO_ASSIGN_OR_RETURN(FamilySnapshot snapshot, ReadFamily(family));
      // A family deleted between the scan and this read is simply not listed.
      if (snapshot.record) out.items.push_back(ToInfo(family, *snapshot.record));
    }
    if (owned.size() > size) out.next_page_token = owned[size - 1].key.substr(prefix.size());
    return out;
  }

  absl::StatusOr<Page<HistoryEntry>> History(absl::string_view tenant, absl::string_view family,
                                             const PageRequest& page) override {
    COSMO_RETURN_IF_ERROR(ReadOwnedFamily(tenant, family).status());
    uint64_t before = 0;
    if (!page.page_token.empty() && !absl::SimpleAtoi(page.page_token, &before)) {
      return absl::InvalidArgumentError("page_token: not a token this server issued");
    }
    const size_t size = PageSize(page);
    ScanOptions scan;
    scan.reverse = true;
    scan.limit = size + 1;
    if (before != 0) scan.start_after = store_keys::History(family, before);
    COSMO_ASSIGN_OR_RETURN(std::vector<KeyValue> rows,
                           store_->Scan(store_keys::HistoryPrefix(family), scan));
    Page<HistoryEntry> out;
    for (size_t i = 0; i < rows.size() && i < size; ++i) {
      COSMO_ASSIGN_OR_RETURN(pb::HistoryRecord record,
                             Parse<pb::HistoryRecord>(rows[i].value, rows[i].key));
      out.items.push_back(ToEntry(record));
    }
    if (rows.size() > size) out.next_page_token = absl::StrCat(out.items.back().sequence);
    return out;
  }

  absl::StatusOr<HistoryEntry> Rollback(absl::string_view tenant, absl::string_view family,
                                        std::optional<absl::string_view> version) override {
    COSMO_RETURN_IF_ERROR(CheckTenantName(tenant));
    COSMO_RETURN_IF_ERROR(CheckFamilyName(family));
    if (version) COSMO_RETURN_IF_ERROR(CheckVersionPrefix(*version));
    auto decide = [&](const FamilySnapshot& current) -> absl::StatusOr<Change<HistoryEntry>> {
      const uint64_t latest = current.record->next_sequence() - 1;
      COSMO_ASSIGN_OR_RETURN(pb::HistoryRecord last, ReadHistory(family, latest));

      // Rolling back a split ends it; without a version, at the split's base.
      const bool split = current.record->has_split();
      std::string target;
      if (version) {
        COSMO_ASSIGN_OR_RETURN(target, ResolveVersionUnchecked(family, *version));
      } else if (split) {
        target = current.record->active_version();
      } else if (last.previous_version().empty()) {
        return absl::FailedPreconditionError(
            absl::StrCat("family '", family, "' has no earlier version to roll back to"));
      } else {
        target = last.previous_version();
      }
      if (target == current.record->active_version() && !split) {
        return Change<HistoryEntry>{ToEntry(last)};
      }

      const std::string fver_key = store_keys::FamilyVersion(family, target);
      COSMO_ASSIGN_OR_RETURN(std::string fver_raw, store_->Get(fver_key));
      COSMO_ASSIGN_OR_RETURN(pb::FamilyVersionRecord fver,
                             Parse<pb::FamilyVersionRecord>(fver_raw, fver_key));
      pb::HistoryRecord history =
          NewEntry(tenant, *current.record, pb::HISTORY_ACTION_ROLLBACK, target, fver.size_bytes());
      pb::FamilyRecord next = *current.record;
      next.set_active_version(target);
      next.set_engine(fver.engine());
      next.clear_split();
      WriteBatch batch;
      batch.ExpectValue(fver_key, fver_raw);
      return EntryChange(family, current, std::move(next), history, std::move(batch));
    };
    return ChangeFamily<HistoryEntry>(tenant, family, /*may_be_new=*/false, decide);
  }

  absl::StatusOr<HistoryEntry> Split(const SplitRequest& request) override {
    COSMO_RETURN_IF_ERROR(CheckTenantName(request.tenant));
    COSMO_RETURN_IF_ERROR(CheckFamilyName(request.family));
    for (const VersionShare* share : {&request.first, &request.second}) {
      COSMO_RETURN_IF_ERROR(CheckVersionPrefix(share->version));
      COSMO_RETURN_IF_ERROR(
          CheckPercent(absl::StrCat("percent of ", share->version), share->percent));
    }
    if (request.first.percent + request.second.percent != 100) {
      return absl::InvalidArgumentError(absl::StrCat(
          "percent: ", request.first.percent, " + ", request.second.percent,
          " is not 100; give the two versions percentages that sum to 100 (e.g. V1=90 V2=10)"));
    }
    const absl::string_view family = request.family;
    auto decide = [&](const FamilySnapshot& current) -> absl::StatusOr<Change<HistoryEntry>> {
      COSMO_ASSIGN_OR_RETURN(std::string first,
                             ResolveVersionUnchecked(family, request.first.version));
      COSMO_ASSIGN_OR_RETURN(std::string second,
                             ResolveVersionUnchecked(family, request.second.version));
      if (first == second) {
        return absl::InvalidArgumentError(
            absl::StrCat("version: ", request.first.version, " and ", request.second.version,
                         " are the same version; a split needs two different versions"));
      }
      COSMO_ASSIGN_OR_RETURN(pb::FamilyVersionRecord first_record,
                             ReadVersionRecord(family, first));
      COSMO_ASSIGN_OR_RETURN(pb::FamilyVersionRecord second_record,
                             ReadVersionRecord(family, second));
      const bool second_canary =
          request.second_is_canary ||
          SecondIsCanary(*current.record, first, second, first_record.first_deployed_unix_micros(),
                         second_record.first_deployed_unix_micros());
      pb::TrafficSplit split;
      split.set_base_version(second_canary ? first : second);
      split.set_canary_version(second_canary ? second : first);
      split.set_canary_percent(second_canary ? request.second.percent : request.first.percent);
      split.set_canary_engine(second_canary ? second_record.engine() : first_record.engine());

      const uint64_t latest = current.record->next_sequence() - 1;
      if (current.record->has_split() &&
          current.record->split().SerializeAsString() == split.SerializeAsString()) {
        COSMO_ASSIGN_OR_RETURN(pb::HistoryRecord last, ReadHistory(family, latest));
        return Change<HistoryEntry>{ToEntry(last)};
      }
      const pb::FamilyVersionRecord& canary_record = second_canary ? second_record : first_record;
      pb::HistoryRecord history =
          NewEntry(request.tenant, *current.record, pb::HISTORY_ACTION_SPLIT,
                   split.canary_version(), canary_record.size_bytes());
      *history.mutable_split() = split;
      pb::FamilyRecord next = *current.record;
      next.set_active_version(split.base_version());
      next.set_engine(second_canary ? first_record.engine() : second_record.engine());
      *next.mutable_split() = std::move(split);
      return EntryChange(family, current, std::move(next), history, WriteBatch());
    };
    return ChangeFamily<HistoryEntry>(request.tenant, family, /*may_be_new=*/false, decide);
  }

  absl::StatusOr<HistoryEntry> Promote(absl::string_view tenant,
                                       absl::string_view family) override {
    COSMO_RETURN_IF_ERROR(CheckTenantName(tenant));
    COSMO_RETURN_IF_ERROR(CheckFamilyName(family));
    auto decide = [&](const FamilySnapshot& current) -> absl::StatusOr<Change<HistoryEntry>> {
      if (!current.record->has_split()) {
        return absl::FailedPreconditionError(
            absl::StrCat("family '", family,
                         "' is not split, so there is no canary to promote; start one with "
                         "`cosmoctl deploy ",
                         family, " FILE --percent P` or `cosmoctl split`"));
      }
      const pb::TrafficSplit& split = current.record->split();
      COSMO_ASSIGN_OR_RETURN(pb::FamilyVersionRecord canary,
                             ReadVersionRecord(family, split.canary_version()));
      pb::HistoryRecord history = NewEntry(tenant, *current.record, pb::HISTORY_ACTION_PROMOTE,
                                           split.canary_version(), canary.size_bytes());
      pb::FamilyRecord next = *current.record;
      next.set_active_version(split.canary_version());
      next.set_engine(split.canary_engine());
      next.clear_split();
      return EntryChange(family, current, std::move(next), history, WriteBatch());
    };
    return ChangeFamily<HistoryEntry>(tenant, family, /*may_be_new=*/false, decide);
  }

  absl::Status DeleteFamily(absl::string_view tenant, absl::string_view family) override {
    COSMO_RETURN_IF_ERROR(CheckTenantName(tenant));
    COSMO_RETURN_IF_ERROR(CheckFamilyName(family));
    auto decide = [&](const FamilySnapshot& current) -> absl::StatusOr<Change<bool>> {
      WriteBatch batch;
      batch.Expect(store_keys::Family(family), current.raw);
      batch.Delete(store_keys::Family(family));
      batch.Delete(store_keys::Owned(current.record->owner_tenant(), family));
      COSMO_ASSIGN_OR_RETURN(std::vector<KeyValue> history,
                             store_->Scan(store_keys::HistoryPrefix(family), {}));
      for (const KeyValue& row : history) batch.Delete(row.key);
      const std::string fver_prefix = store_keys::FamilyVersionPrefix(family);
      COSMO_ASSIGN_OR_RETURN(std::vector<KeyValue> versions, store_->Scan(fver_prefix, {}));
      for (const KeyValue& row : versions) {
        batch.Delete(row.key);
        COSMO_RETURN_IF_ERROR(DropBlobReference(row.key.substr(fver_prefix.size()), batch));
      }
      return Change<bool>{true, std::move(batch)};
    };
    return ChangeFamily<bool>(tenant, family, /*may_be_new=*/false, decide).status();
  }

  absl::StatusOr<std::string> ResolveVersion(absl::string_view tenant, absl::string_view family,
                                             absl::string_view prefix) override {
    COSMO_RETURN_IF_ERROR(ReadOwnedFamily(tenant, family).status());
    COSMO_RETURN_IF_ERROR(CheckVersionPrefix(prefix));
    return ResolveVersionUnchecked(family, prefix);
  }

  absl::StatusOr<Manifest> LoadManifest(absl::string_view version) override {
    if (!IsFullVersion(version)) {
      return absl::InvalidArgumentError(
          absl::StrCat("version: '", absl::CHexEscape(version.substr(0, 80)),
                       "' is not a full version (64 lowercase hex digits)"));
    }
    absl::StatusOr<std::string> cbor = store_->Get(store_keys::Blob(version));
    if (absl::IsNotFound(cbor.status())) {
      return absl::NotFoundError(absl::StrCat("no version ", version));
    }
    if (!cbor.ok()) return cbor.status();
    if (Sha256Hex(*cbor) != version) {
      return absl::DataLossError(
          absl::StrCat("stored manifest of version ", version, " does not match its hash"));
    }
    return DecodeManifest(*cbor);
  }

  void AddChangeListener(ChangeListener listener) override {
    absl::MutexLock lock(&listeners_mu_);
    listeners_.push_back(std::move(listener));
  }

  absl::StatusOr<ActiveVersion> GetActiveVersion(absl::string_view family) override {
    COSMO_RETURN_IF_ERROR(CheckFamilyName(family));
    COSMO_ASSIGN_OR_RETURN(FamilySnapshot current, ReadFamily(family));
    if (!current.record) return NoSuchFamily(family);
    Remember(family);
    ActiveVersion active{current.record->active_version(), current.record->engine(), {}, {}};
    COSMO_ASSIGN_OR_RETURN(active.secret_names, ReadSecretNames(family, active.version));
    if (current.record->has_split()) {
      const pb::TrafficSplit& split = current.record->split();
      ActiveVersion::Canary canary{
          split.canary_version(), split.canary_engine(), {}, split.canary_percent()};
      COSMO_ASSIGN_OR_RETURN(canary.secret_names, ReadSecretNames(family, canary.version));
      active.canary = std::move(canary);
    }
    return active;
  }

 private:
  static constexpr size_t kLockStripes = 64;

  absl::Mutex& LockFor(absl::string_view family) {
    return family_locks_[absl::Hash<absl::string_view>()(family) % kLockStripes];
  }

  static absl::Status NoSuchFamily(absl::string_view family) {
    return absl::NotFoundError(absl::StrCat("no family '", family, "'"));
  }

  static absl::Status Contended(absl::string_view family) {
    return absl::AbortedError(
        absl::StrCat("family '", family, "' is changing too fast to update; retry"));
  }

  static absl::Status CheckOwner(const pb::FamilyRecord& record, absl::string_view tenant,
                                 absl::string_view family) {
    if (record.owner_tenant() == tenant) return absl::OkStatus();
    return absl::PermissionDeniedError(
        absl::StrCat("family '", family, "' belongs to another tenant"));
  }

  absl::StatusOr<FamilySnapshot> ReadFamily(absl::string_view family) {
    const std::string key = store_keys::Family(family);
    COSMO_ASSIGN_OR_RETURN(std::optional<std::string> raw, store_->Find(key));
    FamilySnapshot snapshot;
    if (!raw) return snapshot;
    COSMO_ASSIGN_OR_RETURN(pb::FamilyRecord record, Parse<pb::FamilyRecord>(*raw, key));
    snapshot.record = std::move(record);
    snapshot.raw = std::move(raw);
    return snapshot;
  }

  absl::StatusOr<pb::FamilyRecord> ReadOwnedFamily(absl::string_view tenant,
                                                   absl::string_view family) {
    COSMO_RETURN_IF_ERROR(CheckTenantName(tenant));
    COSMO_RETURN_IF_ERROR(CheckFamilyName(family));
    COSMO_ASSIGN_OR_RETURN(FamilySnapshot current, ReadFamily(family));
    if (!current.record) return NoSuchFamily(family);
    COSMO_RETURN_IF_ERROR(CheckOwner(*current.record, tenant, family));
    return *std::move(current.record);
  }

  // The secret names recorded for `version` of `family`; none if the version record is gone (a
  // delete racing this read).
  absl::StatusOr<std::vector<std::string>> ReadSecretNames(absl::string_view family,
                                                           absl::string_view version) {
    const std::string key = store_keys::FamilyVersion(family, version);
    COSMO_ASSIGN_OR_RETURN(std::optional<std::string> raw, store_->Find(key));
    if (!raw) return std::vector<std::string>();
    COSMO_ASSIGN_OR_RETURN(pb::FamilyVersionRecord record,
                           Parse<pb::FamilyVersionRecord>(*raw, key));
    return std::vector<std::string>(record.secret_names().begin(), record.secret_names().end());
  }

  absl::StatusOr<pb::FamilyVersionRecord> ReadVersionRecord(absl::string_view family,
                                                            absl::string_view version) {
    const std::string key = store_keys::FamilyVersion(family, version);
    COSMO_ASSIGN_OR_RETURN(std::string raw, store_->Get(key));
    return Parse<pb::FamilyVersionRecord>(raw, key);
  }

  // Which of two versions becomes the canary of a split (SplitRequest): the roles that keep keys
  // on the version they are on.
  static bool SecondIsCanary(const pb::FamilyRecord& record, absl::string_view first,
                             absl::string_view second, int64_t first_deployed,
                             int64_t second_deployed) {
    if (record.has_split()) {
      const pb::TrafficSplit& split = record.split();
      if (first == split.canary_version() && second == split.base_version()) return false;
      if (second == split.canary_version() && first == split.base_version()) return true;
    }
    if (first == record.active_version()) return true;
    if (second == record.active_version()) return false;
    if (record.has_split()) {
      if (first == record.split().canary_version()) return false;
      if (second == record.split().canary_version()) return true;
    }
    return second_deployed >= first_deployed;
  }

  // The next history entry of a family at `record`, by `tenant`, now.
  pb::HistoryRecord NewEntry(absl::string_view tenant, const pb::FamilyRecord& record,
                             pb::HistoryAction action, const std::string& version,
                             uint64_t size_bytes) {
    pb::HistoryRecord history;
    history.set_sequence(record.next_sequence());
    history.set_version(version);
    history.set_action(action);
    history.set_time_unix_micros(absl::ToUnixMicros(clock_->Now()));
    history.set_size_bytes(size_bytes);
    history.set_tenant(std::string(tenant));
    history.set_previous_version(record.active_version());
    return history;
  }

  // What one attempt of ChangeFamily() decided: return `result`, after committing `batch` when
  // there is one.
  template <typename T>
  struct Change {
    T result;
    std::optional<WriteBatch> batch;
  };

  // The optimistic update every change of a family runs. Under the family's lock (which orders
  // this process's writers), reads the family, checks that `tenant` owns it (NOT_FOUND when it
  // does not exist, unless `may_be_new`), lets `decide` build the change from what it read, and
  // commits it. `decide`'s batch guards what it read (Expect on the family record), so a write by
  // another process in between fails the commit with ABORTED; then everything is read and decided
  // again, up to max_commit_attempts times (then ABORTED: Contended). A committed change notifies
  // the change listeners. Errors from `decide` return at once.
  template <typename T>
  absl::StatusOr<T> ChangeFamily(
      absl::string_view tenant, absl::string_view family, bool may_be_new,
      absl::FunctionRef<absl::StatusOr<Change<T>>(const FamilySnapshot&)> decide) {
    absl::MutexLock lock(&LockFor(family));
    for (int attempt = 0; attempt < options_.max_commit_attempts; ++attempt) {
      COSMO_ASSIGN_OR_RETURN(FamilySnapshot current, ReadFamily(family));
      if (current.record) {
        COSMO_RETURN_IF_ERROR(CheckOwner(*current.record, tenant, family));
      } else if (!may_be_new) {
        return NoSuchFamily(family);
      }
      COSMO_ASSIGN_OR_RETURN(Change<T> change, decide(current));
      if (!change.batch) return std::move(change.result);
      absl::Status committed = store_->Commit(*change.batch, Durability::kSync);
      if (committed.ok()) {
        NotifyChanged(family);
        return std::move(change.result);
      }
      if (!absl::IsAborted(committed)) return committed;
    }
    return Contended(family);
  }

  // The change that writes `next` over `current` (guarded) and `history` as the family's next
  // entry, besides what `batch` holds already.
  Change<HistoryEntry> EntryChange(absl::string_view family, const FamilySnapshot& current,
                                   pb::FamilyRecord next, const pb::HistoryRecord& history,
                                   WriteBatch batch) {
    next.set_next_sequence(history.sequence() + 1);
    next.set_updated_unix_micros(history.time_unix_micros());
    batch.Expect(store_keys::Family(family), current.raw);
    batch.Put(store_keys::Family(family), next.SerializeAsString());
    batch.Put(store_keys::History(family, history.sequence()), history.SerializeAsString());
    return Change<HistoryEntry>{ToEntry(history), std::move(batch)};
  }

  absl::StatusOr<pb::HistoryRecord> ReadHistory(absl::string_view family, uint64_t sequence) {
    const std::string key = store_keys::History(family, sequence);
    absl::StatusOr<std::string> raw = store_->Get(key);
    if (absl::IsNotFound(raw.status())) {
      return absl::DataLossError(absl::StrCat("history entry '", key, "' is missing"));
    }
    if (!raw.ok()) return raw.status();
    return Parse<pb::HistoryRecord>(*raw, key);
  }

  absl::StatusOr<std::string> ResolveVersionUnchecked(absl::string_view family,
                                                      absl::string_view prefix) {
    const std::string fver_prefix = store_keys::FamilyVersionPrefix(family);
    ScanOptions scan;
    scan.limit = 2;
    COSMO_ASSIGN_OR_RETURN(std::vector<KeyValue> rows,
                           store_->Scan(absl::StrCat(fver_prefix, prefix), scan));
    if (rows.empty()) {
      return absl::NotFoundError(
          absl::StrCat("family '", family, "' has no version starting with ", prefix));
    }
    if (rows.size() > 1) {
      return absl::InvalidArgumentError(absl::StrCat("version: prefix ", prefix,
                                                     " matches several versions of family '",
                                                     family, "'; give more digits"));
    }
    return rows[0].key.substr(fver_prefix.size());
  }

  // Adds to `batch` one more family reference to the blob of `version`, storing the blob when it
  // is new. The reference count is guarded, so concurrent deploys and deletes of the same
  // content in other families cannot lose an update.
  absl::Status AddBlobReference(const std::string& version, const std::string& cbor,
                                WriteBatch& batch) {
    const std::string ref_key = store_keys::BlobRef(version);
    COSMO_ASSIGN_OR_RETURN(std::optional<std::string> raw, store_->Find(ref_key));
    pb::BlobRefRecord refs;
    if (raw) {
      COSMO_ASSIGN_OR_RETURN(refs, Parse<pb::BlobRefRecord>(*raw, ref_key));
    }
    batch.Expect(ref_key, raw);
    if (refs.families() == 0) batch.Put(store_keys::Blob(version), cbor);
    refs.set_families(refs.families() + 1);
    batch.Put(ref_key, refs.SerializeAsString());
    return absl::OkStatus();
  }

  // Adds to `batch` the release of one family reference to `version`'s blob, deleting the blob
  // with its last reference.
  absl::Status DropBlobReference(const std::string& version, WriteBatch& batch) {
    const std::string ref_key = store_keys::BlobRef(version);
    COSMO_ASSIGN_OR_RETURN(std::optional<std::string> raw, store_->Find(ref_key));
    pb::BlobRefRecord refs;
    if (raw) {
      COSMO_ASSIGN_OR_RETURN(refs, Parse<pb::BlobRefRecord>(*raw, ref_key));
    }
    batch.Expect(ref_key, raw);
    if (refs.families() <= 1) {
      batch.Delete(ref_key);
      batch.Delete(store_keys::Blob(version));
    } else {
      refs.set_families(refs.families() - 1);
      batch.Put(ref_key, refs.SerializeAsString());
    }
    return absl::OkStatus();
  }

  // Only families that existed are remembered, so the set is bounded by the families the store
  // has held, not by the names clients ask for.
  void Remember(absl::string_view family) {
    absl::MutexLock lock(&listeners_mu_);
    if (!known_families_.contains(family)) known_families_.emplace(family);
  }

  void NotifyChanged(absl::string_view family) {
    std::vector<ChangeListener> listeners;
    {
      absl::MutexLock lock(&listeners_mu_);
      if (!known_families_.contains(family)) known_families_.emplace(family);
      listeners = listeners_;
    }
    for (const ChangeListener& listener : listeners) listener(family);
  }

  // After a watch resync: every family the store holds and every family seen before (some may
  // have been deleted while the watch was disconnected).
  void NotifyAll() {
    absl::flat_hash_set<std::string> families;
    {
      absl::MutexLock lock(&listeners_mu_);
      families = known_families_;
    }
    absl::StatusOr<std::vector<KeyValue>> rows = store_->Scan(store_keys::kFamilyPrefix, {});
    if (rows.ok()) {
      for (const KeyValue& row : *rows) {
        families.insert(row.key.substr(store_keys::kFamilyPrefix.size()));
      }
    }
    for (const std::string& family : families) NotifyChanged(family);
  }

  Store* const store_;
  const absl::flat_hash_map<std::string, Engine*> engines_;
  Clock* const clock_;
  const RegistryOptions options_;
  std::array<absl::Mutex, kLockStripes> family_locks_;
  absl::Mutex listeners_mu_;
  std::vector<ChangeListener> listeners_ ABSL_GUARDED_BY(listeners_mu_);
  absl::flat_hash_set<std::string> known_families_ ABSL_GUARDED_BY(listeners_mu_);
  // Declared last; the destructor resets it first anyway, before any member is destroyed.
  std::unique_ptr<WatchHandle> watch_;
};

}  // namespace

absl::Status RegistryOptions::Validate() const {
  COSMO_RETURN_IF_ERROR(caps.Validate());
  if (max_script_bytes == 0) {
    return absl::InvalidArgumentError("registry: max_script_bytes must be positive");
  }
  if (max_files == 0) return absl::InvalidArgumentError("registry: max_files must be positive");
  if (max_commit_attempts <= 0) {
    return absl::InvalidArgumentError("registry: max_commit_attempts must be positive");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Registry>> NewRegistry(Store* store, std::vector<Engine*> engines,
                                                      Clock* clock, RegistryOptions options) {
  if (store == nullptr) return absl::InvalidArgumentError("registry: store must not be null");
  if (clock == nullptr) return absl::InvalidArgumentError("registry: clock must not be null");
  COSMO_RETURN_IF_ERROR(options.Validate());
  absl::flat_hash_map<std::string, Engine*> by_name;
  for (Engine* engine : engines) {
    if (engine == nullptr) return absl::InvalidArgumentError("registry: null engine");
    if (!by_name.emplace(std::string(engine->name()), engine).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("registry: two engines named '", engine->name(), "'"));
    }
  }
  auto registry =
      std::make_unique<StoreRegistry>(store, std::move(by_name), clock, std::move(options));
  COSMO_RETURN_IF_ERROR(registry->WatchFamilies());
  return registry;
}

}  // namespace cosmo
