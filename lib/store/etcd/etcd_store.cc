#include "store/etcd/etcd_store.h"

#include <algorithm>
#include <map>
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
// Room for everything in a transaction request that is not a key or a value.
constexpr size_t kRequestOverhead = 64 << 10;
// A compare that never holds: no record is the bare chunked tag. Stands in for guards whose
// expected value is too large to send; the transaction's failure branch then reads the key and
// the guard is checked by content.
constexpr absl::string_view kNeverStored = "c";

etcdserverpb::Compare ValueCompare(const std::string& record_key, const WriteBatch::Guard& guard,
                                   size_t chunk_bytes) {
  etcdserverpb::Compare compare;
  compare.set_key(record_key);
  compare.set_result(etcdserverpb::Compare::EQUAL);
  if (!guard.expected) {
    // create_revision is 0 exactly when the key does not exist.
    compare.set_target(etcdserverpb::Compare::CREATE);
    compare.set_create_revision(0);
  } else {
    compare.set_target(etcdserverpb::Compare::VALUE);
    compare.set_value(guard.expected->size() <= chunk_bytes
                          ? EtcdLayout::EncodeInline(*guard.expected)
                          : std::string(kNeverStored));
  }
  return compare;
}

etcdserverpb::RequestOp DeleteOp(std::string key, std::string range_end) {
  etcdserverpb::RequestOp op;
  op.mutable_request_delete_range()->set_key(std::move(key));
  op.mutable_request_delete_range()->set_range_end(std::move(range_end));
  return op;
}

etcdserverpb::RequestOp PutOp(std::string key, std::string value) {
  etcdserverpb::RequestOp op;
  op.mutable_request_put()->set_key(std::move(key));
  op.mutable_request_put()->set_value(std::move(value));
  return op;
}

}  // namespace

struct EtcdStore::PlannedWrite {
  std::string key;
  std::optional<std::string> value;
  bool chunked = false;
  std::string generation;
  // What the record key will hold (puts only).
  std::string record;
};

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

absl::StatusOr<bool> EtcdStore::WritesVisible(const std::vector<PlannedWrite>& plan) {
  std::vector<std::string> keys;
  for (const PlannedWrite& p : plan) keys.push_back(layout_.RecordKey(p.key));
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

void EtcdStore::DeleteGenerations(const std::vector<PlannedWrite>& plan) {
  // Best effort: chunks of a commit that never became visible. Any left behind are deleted by the
  // next commit of the same key.
  for (const PlannedWrite& p : plan) {
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
  const size_t max_ops = static_cast<size_t>(options_.max_txn_ops);
  for (const WriteBatch::Guard& guard : batch.guards()) {
    if (guard.key.empty()) return absl::InvalidArgumentError("store key must not be empty");
  }
  if (batch.guards().size() > max_ops) {
    return absl::InvalidArgumentError(
        absl::StrCat("etcd store: a commit may hold at most ", max_ops,
                     " guards (etcd's --max-txn-ops); this one has ", batch.guards().size()));
  }

  // The last write to a key wins; etcd rejects a transaction that puts one key twice.
  std::map<std::string, std::optional<std::string>> latest;
  for (const WriteBatch::Write& w : batch.writes()) {
    if (w.key.empty()) return absl::InvalidArgumentError("store key must not be empty");
    latest.insert_or_assign(w.key, w.value);
  }
  std::vector<PlannedWrite> plan;
  for (auto& [key, value] : latest) {
    PlannedWrite p;
    p.key = key;
    p.chunked = value && value->size() > options_.chunk_bytes;
    p.value = std::move(value);
    plan.push_back(std::move(p));
  }

  // Fit the transaction into one request by moving the largest inline values into chunks.
  auto request_bytes = [&] {
    size_t total = 0;
    for (const WriteBatch::Guard& g : batch.guards()) {
      total += 2 * g.key.size() + 32;
      if (g.expected && g.expected->size() <= options_.chunk_bytes) total += g.expected->size();
    }
    for (const PlannedWrite& p : plan) {
      total += 5 * (layout_.prefix().size() + p.key.size()) + 128;
      if (p.value && !p.chunked) total += p.value->size();
    }
    return total;
  };
  const size_t budget = options_.max_request_bytes - kRequestOverhead;
  while (request_bytes() > budget) {
    PlannedWrite* largest = nullptr;
    for (PlannedWrite& p : plan) {
      if (p.value && !p.chunked && !p.value->empty() &&
          (largest == nullptr || p.value->size() > largest->value->size())) {
        largest = &p;
      }
    }
    if (largest == nullptr || largest->value->size() < 1024) {
      return absl::InvalidArgumentError(
          absl::StrCat("etcd store: a commit of ", plan.size(), " writes and ",
                       batch.guards().size(), " guards does not fit etcd's request limit of ",
                       options_.max_request_bytes, " bytes (--max-request-bytes)"));
    }
    largest->chunked = true;
  }

  // Chunks first, under a generation no record points at yet: invisible until the transaction
  // below commits, and harmless to repeat.
  const std::string generation = NewGeneration();
  for (PlannedWrite& p : plan) {
    if (!p.value) continue;
    if (!p.chunked) {
      p.record = EtcdLayout::EncodeInline(*p.value);
      continue;
    }
    p.generation = generation;
    const size_t chunks = (p.value->size() + options_.chunk_bytes - 1) / options_.chunk_bytes;
    for (size_t i = 0; i < chunks; ++i) {
      etcdserverpb::PutRequest put;
      put.set_key(layout_.ChunkKey(p.key, generation, i));
      put.set_value(p.value->substr(i * options_.chunk_bytes, options_.chunk_bytes));
      if (absl::Status s = client_->Put(put); !s.ok()) {
        DeleteGenerations(plan);
        return s;
      }
    }
    p.record = EtcdLayout::EncodeChunked(generation, p.value->size(), chunks);
  }

  // The transaction's operations: each write sets or deletes its record and deletes every chunk
  // generation of the key but its own.
  std::vector<etcdserverpb::RequestOp> ops;
  for (const PlannedWrite& p : plan) {
    const std::string dir = layout_.ChunkDir(p.key);
    const std::string dir_end = EtcdLayout::RangeEnd(dir);
    if (!p.value) {
      ops.push_back(DeleteOp(layout_.RecordKey(p.key), ""));
      ops.push_back(DeleteOp(dir, dir_end));
      continue;
    }
    ops.push_back(PutOp(layout_.RecordKey(p.key), p.record));
    if (p.chunked) {
      const std::string own = layout_.GenerationDir(p.key, p.generation);
      ops.push_back(DeleteOp(dir, own));
      ops.push_back(DeleteOp(EtcdLayout::RangeEnd(own), dir_end));
    } else {
      ops.push_back(DeleteOp(dir, dir_end));
    }
  }

  etcdserverpb::TxnRequest request;
  if (ops.size() <= max_ops) {
    for (auto& op : ops) *request.add_success() = std::move(op);
  } else {
    // etcd limits each operation list to --max-txn-ops but accepts nested transactions inside
    // one atomic transaction; a nested list may hold the limit minus the length of the lists
    // above it. So g groups of (limit - g) operations each: up to limit^2 / 4 operations.
    size_t groups = 1;
    while (groups * (max_ops - groups) < ops.size() && groups < max_ops / 2) ++groups;
    const size_t per_group = max_ops - groups;
    if (groups * per_group < ops.size()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "etcd store: a commit may hold at most about ", max_ops * max_ops / 8,
          " writes (a quarter of etcd's --max-txn-ops squared, two operations per write); this "
          "one has ",
          plan.size()));
    }
    for (size_t g = 0; g * per_group < ops.size(); ++g) {
      etcdserverpb::TxnRequest* nested = request.add_success()->mutable_request_txn();
      for (size_t i = g * per_group; i < std::min(ops.size(), (g + 1) * per_group); ++i) {
        *nested->add_success() = std::move(ops[i]);
      }
    }
  }
  for (const WriteBatch::Guard& guard : batch.guards()) {
    const std::string record_key = layout_.RecordKey(guard.key);
    *request.add_compare() = ValueCompare(record_key, guard, options_.chunk_bytes);
    // When a compare fails, the same transaction reads every guarded record, so the commit can
    // tell a lost race from a guard etcd cannot compare by value.
    request.add_failure()->mutable_request_range()->set_key(record_key);
  }

  const absl::Time deadline = absl::Now() + client_->operation_timeout();
  bool ambiguous = false;
  int content_retries = 0;
  for (int attempt = 0;; ++attempt) {
    etcdserverpb::TxnResponse response;
    absl::Status status = client_->TxnOnce(request, &response, deadline);
    if (status.ok() && response.succeeded()) return absl::OkStatus();
    if (status.ok()) {
      // Some compare failed; response.responses() holds the guarded records at one revision.
      const int64_t revision = response.header().revision();
      std::vector<etcdserverpb::Compare> exact;
      absl::Status read;
      const WriteBatch::Guard* lost = nullptr;
      for (size_t i = 0; i < batch.guards().size() && read.ok(); ++i) {
        const WriteBatch::Guard& guard = batch.guards()[i];
        const etcdserverpb::RangeResponse& r = response.responses(i).response_range();
        const mvccpb::KeyValue* kv = r.kvs().empty() ? nullptr : &r.kvs(0);
        absl::StatusOr<bool> holds = GuardHolds(guard, kv, revision);
        if (!holds.ok()) {
          read = holds.status();
        } else if (!*holds) {
          lost = &guard;
          break;
        } else {
          etcdserverpb::Compare c;
          c.set_key(layout_.RecordKey(guard.key));
          c.set_result(etcdserverpb::Compare::EQUAL);
          if (kv == nullptr) {
            c.set_target(etcdserverpb::Compare::CREATE);
            c.set_create_revision(0);
          } else {
            c.set_target(etcdserverpb::Compare::MOD);
            c.set_mod_revision(kv->mod_revision());
          }
          exact.push_back(std::move(c));
        }
      }
      if (lost != nullptr) {
        if (ambiguous && !plan.empty()) {
          // An earlier attempt may have been applied; then its writes are what made the guard
          // fail.
          absl::StatusOr<bool> visible = WritesVisible(plan);
          if (visible.ok() && *visible) return absl::OkStatus();
        } else {
          DeleteGenerations(plan);
        }
        return absl::AbortedError(absl::StrCat("store key '", lost->key, "' changed concurrently"));
      }
      if (!read.ok() && read.code() != absl::StatusCode::kOutOfRange) return read;
      if (++content_retries > kContentRetries) {
        if (!ambiguous) DeleteGenerations(plan);
        return absl::AbortedError("store keys kept changing under a guarded commit");
      }
      if (read.ok()) {
        // Every guard holds by content: retry against the exact revisions just read.
        for (size_t i = 0; i < exact.size(); ++i) *request.mutable_compare(i) = std::move(exact[i]);
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
  if (options.max_request_bytes < 2 * kRequestOverhead) {
    return absl::InvalidArgumentError(
        absl::StrCat("EtcdStoreOptions.max_request_bytes must be at least ", 2 * kRequestOverhead));
  }
  if (options.chunk_bytes == 0 ||
      options.chunk_bytes + kRequestOverhead > options.max_request_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("EtcdStoreOptions.chunk_bytes must be between 1 and max_request_bytes - ",
                     kRequestOverhead));
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
