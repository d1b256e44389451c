#include "store/etcd/etcd_store.h"

#include <algorithm>
#include <utility>

#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "common/host_port.h"
#include "cosmo/status_macros.h"
#include "store/etcd/etcd_watch.h"

namespace cosmo {
namespace {

// Entries per Range page of a scan, and chunks per Range page of a chunked value: bounds the size
// of one response.
constexpr int64_t kScanPage = 128;
constexpr int64_t kChunkPage = 4;
// Reads that race a compaction start over this many times before giving up.
constexpr int kCompactionRetries = 5;
// A commit whose guards keep holding by content while their compares fail (values stored in
// chunks, or changed and changed back) is retried this many times, then ABORTED.
constexpr int kContentRetries = 16;

}  // namespace

EtcdStore::EtcdStore(const EtcdStoreOptions& options, std::unique_ptr<EtcdClient> client)
    : options_(options), layout_(options.key_prefix), client_(std::move(client)) {}

std::string EtcdStore::Describe() const {
  return absl::StrCat("etcd://", client_->Describe(), "/", layout_.prefix());
}

absl::StatusOr<int64_t> EtcdStore::CurrentRevision() {
  etcdserverpb::RangeRequest request;
  request.set_key(layout_.RecordKey(""));
  request.set_count_only(true);
  request.set_limit(1);
  etcdserverpb::RangeResponse response;
  COSMO_RETURN_IF_ERROR(client_->Range(request, &response));
  return response.header().revision();
}

absl::StatusOr<std::string> EtcdStore::Resolve(absl::string_view key,
                                               const EtcdLayout::Record& record, int64_t revision) {
  if (!record.chunked) return record.value;
  const std::string dir = layout_.GenerationDir(key, record.generation);
  const std::string end = EtcdLayout::RangeEnd(dir);
  std::string value;
  value.reserve(record.size);
  size_t chunks = 0;
  std::string from = dir;
  while (true) {
    etcdserverpb::RangeRequest request;
    request.set_key(from);
    request.set_range_end(end);
    request.set_revision(revision);
    request.set_limit(kChunkPage);
    etcdserverpb::RangeResponse response;
    COSMO_RETURN_IF_ERROR(client_->Range(request, &response));
    for (const mvccpb::KeyValue& kv : response.kvs()) {
      if (kv.key() != layout_.ChunkKey(key, record.generation, chunks)) break;
      value.append(kv.value());
      ++chunks;
    }
    if (!response.more() || response.kvs().empty()) break;
    from = absl::StrCat(response.kvs(response.kvs_size() - 1).key(), std::string(1, '\0'));
  }
  if (chunks != record.chunks || value.size() != record.size) {
    return absl::DataLossError(absl::StrCat("etcd value of key '", key, "' is missing chunks: has ",
                                            chunks, " of ", record.chunks, " (", value.size(),
                                            " of ", record.size, " bytes)"));
  }
  return value;
}

absl::StatusOr<std::string> EtcdStore::Get(absl::string_view key) {
  if (key.empty()) return absl::InvalidArgumentError("store key must not be empty");
  absl::Status last;
  for (int attempt = 0; attempt < kCompactionRetries; ++attempt) {
    etcdserverpb::RangeRequest request;
    request.set_key(layout_.RecordKey(key));
    etcdserverpb::RangeResponse response;
    COSMO_RETURN_IF_ERROR(client_->Range(request, &response));
    if (response.kvs().empty()) return absl::NotFoundError(absl::StrCat("no key '", key, "'"));
    COSMO_ASSIGN_OR_RETURN(EtcdLayout::Record record,
                           EtcdLayout::Decode(key, response.kvs(0).value()));
    absl::StatusOr<std::string> value = Resolve(key, record, response.header().revision());
    if (value.status().code() != absl::StatusCode::kOutOfRange) return value;
    last = value.status();  // compacted between the two reads: read again
  }
  return absl::UnavailableError(
      absl::StrCat("etcd get of '", key, "' kept racing compaction: ", last.message()));
}

absl::StatusOr<std::vector<KeyValue>> EtcdStore::Scan(absl::string_view prefix,
                                                      const ScanOptions& options) {
  std::string begin = layout_.RecordRangeBegin(prefix);
  std::string end = layout_.RecordRangeEnd(prefix);
  if (!options.start_after.empty()) {
    const std::string cursor = layout_.RecordKey(options.start_after);
    if (options.reverse) {
      end = std::min(end, cursor);
    } else {
      begin = std::max(begin, absl::StrCat(cursor, std::string(1, '\0')));
    }
  }
  if (begin >= end) return std::vector<KeyValue>();

  absl::Status last;
  for (int attempt = 0; attempt < kCompactionRetries; ++attempt) {
    std::vector<KeyValue> out;
    int64_t revision = 0;  // pinned by the first page, so all pages are one snapshot
    std::string lo = begin;
    std::string hi = end;
    absl::Status status;
    while (status.ok()) {
      etcdserverpb::RangeRequest request;
      request.set_key(lo);
      request.set_range_end(hi);
      request.set_revision(revision);
      int64_t page = kScanPage;
      if (options.limit != 0) page = std::min<int64_t>(page, options.limit - out.size());
      request.set_limit(page);
      request.set_sort_target(etcdserverpb::RangeRequest::KEY);
      request.set_sort_order(options.reverse ? etcdserverpb::RangeRequest::DESCEND
                                             : etcdserverpb::RangeRequest::ASCEND);
      etcdserverpb::RangeResponse response;
      status = client_->Range(request, &response);
      if (!status.ok()) break;
      if (revision == 0) revision = response.header().revision();
      for (const mvccpb::KeyValue& kv : response.kvs()) {
        const absl::string_view key = layout_.UserKey(kv.key());
        absl::StatusOr<EtcdLayout::Record> record = EtcdLayout::Decode(key, kv.value());
        if (!record.ok()) return record.status();
        absl::StatusOr<std::string> value = Resolve(key, *record, revision);
        if (!value.ok()) {
          status = value.status();
          break;
        }
        out.push_back({std::string(key), *std::move(value)});
      }
      if (!status.ok() || !response.more() || response.kvs().empty()) break;
      if (options.limit != 0 && out.size() >= options.limit) break;
      const std::string& last_key = response.kvs(response.kvs_size() - 1).key();
      if (options.reverse) {
        hi = last_key;
      } else {
        lo = absl::StrCat(last_key, std::string(1, '\0'));
      }
    }
    if (status.ok()) return out;
    if (status.code() != absl::StatusCode::kOutOfRange) return status;
    last = status;  // the pinned revision was compacted: take a new snapshot
  }
  return absl::UnavailableError(
      absl::StrCat("etcd scan of '", prefix, "' kept racing compaction: ", last.message()));
}

std::string EtcdStore::NewGeneration() {
  static absl::Mutex mu(absl::kConstInit);
  static absl::BitGen* gen = new absl::BitGen();
  absl::MutexLock lock(&mu);
  return absl::StrFormat("%016x", absl::Uniform<uint64_t>(*gen));
}

absl::StatusOr<std::vector<std::optional<mvccpb::KeyValue>>> EtcdStore::ReadRecords(
    const std::vector<std::string>& keys) {
  std::vector<std::optional<mvccpb::KeyValue>> out;
  int64_t revision = 0;
  for (const std::string& key : keys) {
    etcdserverpb::RangeRequest request;
    request.set_key(key);
    request.set_revision(revision);
    etcdserverpb::RangeResponse response;
    COSMO_RETURN_IF_ERROR(client_->Range(request, &response));
    if (revision == 0) revision = response.header().revision();
    if (response.kvs().empty()) {
      out.emplace_back();
    } else {
      out.emplace_back(response.kvs(0));
    }
  }
  return out;
}

absl::StatusOr<bool> EtcdStore::WritesVisible(const std::vector<EtcdPlannedWrite>& plan) {
  std::vector<std::string> keys;
  for (const EtcdPlannedWrite& p : plan) keys.push_back(layout_.RecordKey(p.key));
  COSMO_ASSIGN_OR_RETURN(auto records, ReadRecords(keys));
  for (size_t i = 0; i < plan.size(); ++i) {
    // A chunked record names its commit's unique generation, so for large values this is exact;
    // for inline values it is value equality, and a concurrent writer of the same bytes is
    // indistinguishable from this commit (either way the store holds what the caller wanted).
    const bool visible = plan[i].value ? (records[i] && records[i]->value() == plan[i].record)
                                       : !records[i].has_value();
    if (!visible) return false;
  }
  return true;
}

absl::StatusOr<bool> EtcdStore::GuardHolds(const WriteBatch::Guard& guard,
                                           const mvccpb::KeyValue* kv, int64_t revision) {
  if (kv == nullptr) return !guard.expected.has_value();
  if (!guard.expected) return false;
  COSMO_ASSIGN_OR_RETURN(EtcdLayout::Record record, EtcdLayout::Decode(guard.key, kv->value()));
  if (!record.chunked) return record.value == *guard.expected;
  if (record.size != guard.expected->size()) return false;
  COSMO_ASSIGN_OR_RETURN(std::string value, Resolve(guard.key, record, revision));
  return value == *guard.expected;
}

void EtcdStore::DeleteGenerations(const std::vector<EtcdPlannedWrite>& plan) {
  // Best effort: chunks of a commit that never became visible. Any left behind are deleted by the
  // next commit of the same key.
  for (const EtcdPlannedWrite& p : plan) {
    if (!p.chunked) continue;
    etcdserverpb::DeleteRangeRequest request;
    const std::string dir = layout_.GenerationDir(p.key, p.generation);
    request.set_key(dir);
    request.set_range_end(EtcdLayout::RangeEnd(dir));
    client_->DeleteRange(request).IgnoreError();
  }
}

absl::Status EtcdStore::Commit(const WriteBatch& batch, Durability) {
  // etcd commits every write to a quorum's disks before answering, so kBuffered costs the same
  // as kSync and both are handled alike.
  const EtcdCommitPlan planner(options_, layout_);
  COSMO_ASSIGN_OR_RETURN(std::vector<EtcdPlannedWrite> plan,
                         planner.PlanWrites(batch, NewGeneration()));
  COSMO_ASSIGN_OR_RETURN(etcdserverpb::TxnRequest request, planner.BuildTxn(plan, batch.guards()));
  COSMO_RETURN_IF_ERROR(WriteChunks(planner, plan));
  return RunTxn(planner, std::move(request), batch.guards(), plan);
}

absl::Status EtcdStore::WriteChunks(const EtcdCommitPlan& planner,
                                    const std::vector<EtcdPlannedWrite>& plan) {
  // Under a generation no record points at yet: invisible until the transaction commits, and
  // harmless to repeat.
  for (const EtcdPlannedWrite& p : plan) {
    for (size_t i = 0; i < p.chunks; ++i) {
      if (absl::Status s = client_->Put(planner.ChunkPut(p, i)); !s.ok()) {
        DeleteGenerations(plan);
        return s;
      }
    }
  }
  return absl::OkStatus();
}

EtcdStore::GuardCheck EtcdStore::CheckGuards(const EtcdCommitPlan& planner,
                                             const std::vector<WriteBatch::Guard>& guards,
                                             const etcdserverpb::TxnResponse& response) {
  // The failure branch read the guarded records, in guard order, at one revision.
  const int64_t revision = response.header().revision();
  GuardCheck check;
  for (size_t i = 0; i < guards.size(); ++i) {
    const WriteBatch::Guard& guard = guards[i];
    const etcdserverpb::RangeResponse& r = response.responses(i).response_range();
    const mvccpb::KeyValue* kv = r.kvs().empty() ? nullptr : &r.kvs(0);
    absl::StatusOr<bool> holds = GuardHolds(guard, kv, revision);
    if (!holds.ok()) {
      check.read = holds.status();
      return check;
    }
    if (!*holds) {
      check.lost = &guard;
      return check;
    }
    check.exact.push_back(planner.ExactCompare(guard.key, kv));
  }
  return check;
}

absl::Status EtcdStore::RunTxn(const EtcdCommitPlan& planner, etcdserverpb::TxnRequest request,
                               const std::vector<WriteBatch::Guard>& guards,
                               const std::vector<EtcdPlannedWrite>& plan) {
  const absl::Time deadline = absl::Now() + client_->operation_timeout();
  bool ambiguous = false;
  int content_retries = 0;
  for (int attempt = 0;; ++attempt) {
    etcdserverpb::TxnResponse response;
    absl::Status status = client_->TxnOnce(request, &response, deadline);
    if (status.ok() && response.succeeded()) return absl::OkStatus();
    if (status.ok()) {
      // Some compare failed.
      GuardCheck check = CheckGuards(planner, guards, response);
      if (check.lost != nullptr) {
        if (ambiguous && !plan.empty()) {
          // An earlier attempt may have been applied; then its writes are what made the guard
          // fail.
          absl::StatusOr<bool> visible = WritesVisible(plan);
          if (visible.ok() && *visible) return absl::OkStatus();
        } else {
          DeleteGenerations(plan);
        }
        return absl::AbortedError(
            absl::StrCat("store key '", check.lost->key, "' changed concurrently"));
      }
      if (!check.read.ok() && check.read.code() != absl::StatusCode::kOutOfRange) {
        return check.read;
      }
      if (++content_retries > kContentRetries) {
        if (!ambiguous) DeleteGenerations(plan);
        return absl::AbortedError("store keys kept changing under a guarded commit");
      }
      if (check.read.ok()) {
        // Every guard holds by content: retry against the exact revisions just read.
        for (size_t i = 0; i < check.exact.size(); ++i) {
          *request.mutable_compare(i) = std::move(check.exact[i]);
        }
      }
      continue;
    }
    if (!EtcdClient::IsRetryable(status.code())) {
      if (!ambiguous) DeleteGenerations(plan);
      return status;
    }
    // The transaction may or may not have been applied: look before retrying.
    ambiguous = true;
    if (!plan.empty()) {
      absl::StatusOr<bool> visible = WritesVisible(plan);
      if (visible.ok() && *visible) return absl::OkStatus();
    }
    const absl::Duration pause = EtcdClient::Backoff(attempt);
    if (absl::Now() + pause >= deadline) {
      return absl::UnavailableError(absl::StrCat(
          "etcd commit outcome unknown after ", absl::FormatDuration(client_->operation_timeout()),
          " (it may have been applied; retrying is safe): ", status.message()));
    }
    absl::SleepFor(pause);
  }
}

absl::StatusOr<std::unique_ptr<WatchHandle>> EtcdStore::Watch(
    absl::string_view prefix, std::function<void(const WatchEvent&)> callback) {
  if (!callback) return absl::InvalidArgumentError("Watch: callback must be set");
  COSMO_ASSIGN_OR_RETURN(int64_t revision, CurrentRevision());
  // Every change after `revision` is after this call; the watch starts right behind it.
  return std::unique_ptr<WatchHandle>(
      new EtcdWatch(this, std::string(prefix), revision + 1, std::move(callback)));
}

absl::StatusOr<EtcdStoreOptions> ParseEtcdStoreUrl(absl::string_view url) {
  constexpr absl::string_view kScheme = "etcd://";
  if (!absl::StartsWith(url, kScheme)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "etcd store URL must look like etcd://HOST:PORT[,HOST:PORT...][/PREFIX], got '", url, "'"));
  }
  absl::string_view rest = url.substr(kScheme.size());
  EtcdStoreOptions options;
  const size_t slash = rest.find('/');
  if (slash != absl::string_view::npos) {
    options.key_prefix = std::string(rest.substr(slash + 1));
    rest = rest.substr(0, slash);
  }
  for (absl::string_view endpoint : absl::StrSplit(rest, ',')) {
    if (absl::StatusOr<HostPort> parsed = ParseHostPort(endpoint); !parsed.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("etcd store URL '", url, "': endpoint ", parsed.status().message()));
    }
    options.endpoints.emplace_back(endpoint);
  }
  return options;
}

absl::StatusOr<std::unique_ptr<Store>> OpenEtcdStore(const EtcdStoreOptions& options) {
  if (options.endpoints.empty()) {
    return absl::InvalidArgumentError("EtcdStoreOptions.endpoints must name at least one member");
  }
  for (const std::string& endpoint : options.endpoints) {
    if (absl::StatusOr<HostPort> parsed = ParseHostPort(endpoint); !parsed.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("EtcdStoreOptions.endpoints: ", parsed.status().message()));
    }
  }
  if (options.max_request_bytes < 2 * kEtcdRequestOverhead) {
    return absl::InvalidArgumentError(absl::StrCat(
        "EtcdStoreOptions.max_request_bytes must be at least ", 2 * kEtcdRequestOverhead));
  }
  if (options.chunk_bytes == 0 ||
      options.chunk_bytes + kEtcdRequestOverhead > options.max_request_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("EtcdStoreOptions.chunk_bytes must be between 1 and max_request_bytes - ",
                     kEtcdRequestOverhead));
  }
  if (options.max_txn_ops < 4) {
    return absl::InvalidArgumentError("EtcdStoreOptions.max_txn_ops must be at least 4");
  }
  if (options.dial_timeout <= absl::ZeroDuration() ||
      options.request_timeout <= absl::ZeroDuration() ||
      options.operation_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "EtcdStoreOptions.dial_timeout, request_timeout and operation_timeout must be positive");
  }
  auto client = std::make_unique<EtcdClient>(options.endpoints, options.request_timeout,
                                             options.operation_timeout);
  if (absl::Status s = client->Probe(options.dial_timeout); !s.ok()) {
    return absl::UnavailableError(
        absl::StrCat("no etcd member of ", client->Describe(), " answered within ",
                     absl::FormatDuration(options.dial_timeout), ": ", s.message()));
  }
  return std::unique_ptr<Store>(new EtcdStore(options, std::move(client)));
}

}  // namespace cosmo
