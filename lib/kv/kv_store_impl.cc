#include "kv/kv_store_impl.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/blocking_counter.h"
#include "absl/synchronization/notification.h"
#include "common/thread_name.h"
#include "common/utf8.h"
#include "cosmo/internal/kv_records.pb.h"
#include "cosmo/status_macros.h"
#include "kv/kv_validation.h"
#include "store/store_keys.h"

namespace cosmo::kv {
namespace {

namespace pb = ::cosmo::internal;

// Entries scanned per Store call when listing, sweeping and deleting a namespace. A namespace
// delete writes three keys per entry, and etcd takes at most 2048 writes per commit.
constexpr size_t kScanPage = 500;

bool Expired(int64_t expiration, int64_t now) { return expiration != 0 && expiration <= now; }

std::optional<std::string> MetadataOf(const std::string& metadata) {
  if (metadata.empty()) return std::nullopt;
  return metadata;
}

absl::Status Malformed(absl::string_view key) {
  return absl::DataLossError(absl::StrCat("stored record ", key, " is malformed"));
}

}  // namespace

KvStoreImpl::KvStoreImpl(Store* store, Clock* clock, const KvStoreOptions& options)
    : store_(store),
      clock_(clock),
      options_(options),
      cache_reads_(!store->IsShared()),
      cache_(options.cache_bytes) {}

KvStoreImpl::~KvStoreImpl() {
  {
    absl::MutexLock lock(&sweep_mu_);
    stopping_ = true;
  }
  if (sweeper_.joinable()) sweeper_.join();
  committer_.reset();
}

absl::Status KvStoreImpl::Start() {
  committer_ = std::make_unique<GroupCommitter>(
      store_, clock_, options_,
      [this](const GroupCommitter::Change& change) { OnCommitted(change); });
  if (options_.sweep_interval > absl::ZeroDuration()) {
    sweeper_ = std::thread([this] {
      NameThisThread("cosmo-kv-sweep");
      SweepLoop();
    });
  }
  return absl::OkStatus();
}

void KvStoreImpl::OnCommitted(const GroupCommitter::Change& change) {
  if (!cache_reads_) return;
  const std::string key = store_keys::KvMeta(change.ns, change.key);
  if (change.deleted || change.entry != nullptr) {
    cache_.Replace(key, change.entry);
  } else {
    cache_.Invalidate(key);
  }
}

absl::StatusOr<std::optional<KvEntry>> KvStoreImpl::Get(absl::string_view ns,
                                                        absl::string_view key) {
  COSMO_RETURN_IF_ERROR(CheckNamespaceName(ns));
  COSMO_RETURN_IF_ERROR(CheckKey(key, options_.limits));
  const int64_t now = absl::ToUnixSeconds(clock_->Now());
  const std::string cache_key = cache_reads_ ? store_keys::KvMeta(ns, key) : std::string();
  uint64_t ticket = 0;
  if (cache_reads_) {
    if (std::optional<KvCache::Hit> hit = cache_.Lookup(cache_key)) {
      if (hit->entry == nullptr || Expired(hit->entry->expiration, now))
        return std::optional<KvEntry>();
      return *hit->entry;
    }
    ticket = cache_.BeginFill();
  }
  // On a shared store this is the read every Get makes: the store's own reads are linearizable
  // (etcd confirms with a quorum that its leader is current), so it returns every write any
  // server acknowledged before it began.
  const std::string value_key = store_keys::KvValue(ns, key);
  COSMO_ASSIGN_OR_RETURN(std::optional<std::string> raw, store_->Find(value_key));
  if (!raw) {
    if (cache_reads_) cache_.Insert(cache_key, nullptr, ticket);
    return std::optional<KvEntry>();
  }
  pb::KvEntryValue record;
  if (!record.ParseFromString(*raw)) return Malformed(value_key);
  if (Expired(record.expiration(), now)) return std::optional<KvEntry>();
  KvEntry entry;
  entry.value = std::move(*record.mutable_value());
  entry.metadata = MetadataOf(record.metadata());
  entry.expiration = record.expiration();
  if (cache_reads_ && entry.value.size() <= options_.max_cached_value_bytes) {
    cache_.Insert(cache_key, std::make_shared<const KvEntry>(entry), ticket);
  }
  return entry;
}

absl::StatusOr<KvWrite> KvStoreImpl::MakePut(absl::string_view ns, absl::string_view key,
                                             std::string value, const KvPutOptions& options) {
  COSMO_RETURN_IF_ERROR(CheckNamespaceName(ns));
  COSMO_RETURN_IF_ERROR(CheckKey(key, options_.limits));
  COSMO_RETURN_IF_ERROR(CheckValueSize(value.size(), options_.limits));
  if (options.metadata) COSMO_RETURN_IF_ERROR(CheckMetadata(*options.metadata, options_.limits));
  COSMO_ASSIGN_OR_RETURN(const int64_t expiration,
                         ResolveExpiration(options, clock_->Now(), options_.limits));
  KvWrite write;
  write.kind = KvWrite::Kind::kPut;
  write.ns = std::string(ns);
  write.key = std::string(key);
  write.value = std::move(value);
  write.metadata = options.metadata;
  write.expiration = expiration;
  return write;
}

absl::StatusOr<KvWrite> KvStoreImpl::MakeDelete(absl::string_view ns, absl::string_view key) {
  COSMO_RETURN_IF_ERROR(CheckNamespaceName(ns));
  COSMO_RETURN_IF_ERROR(CheckKey(key, options_.limits));
  KvWrite write;
  write.kind = KvWrite::Kind::kDelete;
  write.ns = std::string(ns);
  write.key = std::string(key);
  return write;
}

absl::Status KvStoreImpl::SubmitAndWait(KvWrite write) {
  absl::Notification done;
  absl::Status status;
  write.done = [&](absl::Status s) {
    status = std::move(s);
    done.Notify();
  };
  committer_->Submit(std::move(write));
  done.WaitForNotification();
  return status;
}

absl::Status KvStoreImpl::Put(absl::string_view ns, absl::string_view key, std::string value,
                              const KvPutOptions& options, absl::string_view tenant) {
  COSMO_ASSIGN_OR_RETURN(KvWrite write, MakePut(ns, key, std::move(value), options));
  write.tenant = std::string(tenant);
  return SubmitAndWait(std::move(write));
}

void KvStoreImpl::PutAsync(absl::string_view ns, absl::string_view key, std::string value,
                           const KvPutOptions& options, Callback done) {
  absl::StatusOr<KvWrite> write = MakePut(ns, key, std::move(value), options);
  if (!write.ok()) return done(write.status());
  write->done = std::move(done);
  committer_->Submit(*std::move(write));
}

absl::Status KvStoreImpl::Delete(absl::string_view ns, absl::string_view key,
                                 absl::string_view tenant) {
  COSMO_ASSIGN_OR_RETURN(KvWrite write, MakeDelete(ns, key));
  write.tenant = std::string(tenant);
  return SubmitAndWait(std::move(write));
}

void KvStoreImpl::DeleteAsync(absl::string_view ns, absl::string_view key, Callback done) {
  absl::StatusOr<KvWrite> write = MakeDelete(ns, key);
  if (!write.ok()) return done(write.status());
  write->done = std::move(done);
  committer_->Submit(*std::move(write));
}

absl::StatusOr<KvListResult> KvStoreImpl::List(absl::string_view ns, const KvListOptions& options) {
  COSMO_RETURN_IF_ERROR(CheckNamespaceName(ns));
  const size_t limit = options.limit == 0 ? options_.limits.max_list_limit : options.limit;
  if (limit > options_.limits.max_list_limit) {
    return absl::InvalidArgumentError(absl::StrCat("KV list limit: ", options.limit,
                                                   " is over the maximum of ",
                                                   options_.limits.max_list_limit, " keys"));
  }
  if (options.prefix.size() > options_.limits.max_key_bytes || !IsValidUtf8(options.prefix)) {
    return absl::InvalidArgumentError(
        absl::StrCat("KV list prefix: must be valid UTF-8 of at most ",
                     options_.limits.max_key_bytes, " bytes (the key size limit)"));
  }
  const std::string ns_prefix = store_keys::KvMetaPrefix(ns);
  const std::string scan_prefix = ns_prefix + options.prefix;
  ScanOptions scan;
  if (!options.cursor.empty()) {
    COSMO_ASSIGN_OR_RETURN(std::string after, DecodeCursor(options.cursor));
    scan.start_after = ns_prefix + after;
  }
  const int64_t now = absl::ToUnixSeconds(clock_->Now());
  KvListResult result;
  // One key more than asked tells whether the listing is complete.
  while (result.keys.size() <= limit) {
    scan.limit = limit + 1 - result.keys.size();
    COSMO_ASSIGN_OR_RETURN(std::vector<KeyValue> rows, store_->Scan(scan_prefix, scan));
    for (const KeyValue& row : rows) {
      pb::KvEntryMeta meta;
      if (!meta.ParseFromString(row.value)) return Malformed(row.key);
      if (Expired(meta.expiration(), now)) continue;
      result.keys.push_back(KvListKey{row.key.substr(ns_prefix.size()), meta.expiration(),
                                      MetadataOf(meta.metadata())});
    }
    if (rows.size() < scan.limit) break;
    scan.start_after = rows.back().key;
  }
  if (result.keys.size() > limit) {
    result.keys.resize(limit);
    result.list_complete = false;
    result.cursor = EncodeCursor(result.keys.back().name);
  }
  return result;
}

absl::StatusOr<std::vector<KvNamespaceInfo>> KvStoreImpl::ListNamespaces(absl::string_view tenant) {
  std::vector<KvNamespaceInfo> out;
  ScanOptions scan;
  scan.limit = kScanPage;
  while (true) {
    COSMO_ASSIGN_OR_RETURN(std::vector<KeyValue> rows,
                           store_->Scan(store_keys::kKvNamespacePrefix, scan));
    for (const KeyValue& row : rows) {
      pb::KvNamespaceRecord record;
      if (!record.ParseFromString(row.value)) return Malformed(row.key);
      if (record.owner_tenant() != tenant) continue;
      COSMO_ASSIGN_OR_RETURN(KvNamespaceInfo info,
                             GetNamespace(tenant, absl::string_view(row.key).substr(
                                                      store_keys::kKvNamespacePrefix.size())));
      out.push_back(std::move(info));
    }
    if (rows.size() < scan.limit) break;
    scan.start_after = rows.back().key;
  }
  return out;
}

absl::StatusOr<KvNamespaceInfo> KvStoreImpl::GetNamespace(absl::string_view tenant,
                                                          absl::string_view ns) {
  COSMO_RETURN_IF_ERROR(CheckNamespaceName(ns));
  const std::string key = store_keys::KvNamespace(ns);
  COSMO_ASSIGN_OR_RETURN(std::optional<std::string> raw, store_->Find(key));
  if (!raw) return absl::NotFoundError(absl::StrCat("KV namespace '", ns, "' does not exist"));
  pb::KvNamespaceRecord record;
  if (!record.ParseFromString(*raw)) return Malformed(key);
  if (record.owner_tenant() != tenant) {
    return absl::PermissionDeniedError(
        absl::StrCat("KV namespace '", ns, "' belongs to another tenant"));
  }
  KvNamespaceInfo info;
  info.name = std::string(ns);
  info.owner_tenant = record.owner_tenant();
  info.created = absl::FromUnixMicros(record.created_unix_micros());
  const std::string size_key = store_keys::KvSize(ns);
  COSMO_ASSIGN_OR_RETURN(std::optional<std::string> raw_size, store_->Find(size_key));
  if (raw_size) {
    pb::KvNamespaceSize size;
    if (!size.ParseFromString(*raw_size)) return Malformed(size_key);
    info.stored_bytes = size.stored_bytes();
    info.keys = size.keys();
  }
  return info;
}

absl::Status KvStoreImpl::DeleteNamespace(absl::string_view tenant, absl::string_view ns) {
  COSMO_RETURN_IF_ERROR(GetNamespace(tenant, ns).status());
  const std::string record_key = store_keys::KvNamespace(ns);
  // First mark it: from here on the committer refuses writes and deploys refuse to bind it, so
  // the entries can be removed page by page without new ones appearing.
  std::string marked;
  for (int attempt = 0;; ++attempt) {
    COSMO_ASSIGN_OR_RETURN(std::string raw, store_->Get(record_key));
    pb::KvNamespaceRecord record;
    if (!record.ParseFromString(raw)) return Malformed(record_key);
    if (record.deleting()) {
      marked = raw;
      break;
    }
    record.set_deleting(true);
    marked = record.SerializeAsString();
    absl::Status set = store_->CompareAndSet(record_key, raw, marked);
    if (set.ok()) break;
    if (!absl::IsAborted(set) || attempt + 1 >= options_.max_commit_attempts) return set;
  }
  const std::string meta_prefix = store_keys::KvMetaPrefix(ns);
  ScanOptions scan;
  scan.limit = kScanPage;
  while (true) {
    COSMO_ASSIGN_OR_RETURN(std::vector<KeyValue> rows, store_->Scan(meta_prefix, scan));
    if (rows.empty()) break;
    WriteBatch batch;
    batch.ExpectValue(record_key, marked);
    for (const KeyValue& row : rows) {
      pb::KvEntryMeta meta;
      if (!meta.ParseFromString(row.value)) return Malformed(row.key);
      const absl::string_view key = absl::string_view(row.key).substr(meta_prefix.size());
      batch.Delete(row.key);
      batch.Delete(store_keys::KvValue(ns, key));
      if (meta.expiration() != 0) batch.Delete(store_keys::KvExpiry(meta.expiration(), ns, key));
    }
    COSMO_RETURN_IF_ERROR(store_->Commit(batch, Durability::kSync));
    for (const KeyValue& row : rows) cache_.Invalidate(row.key);
  }
  WriteBatch last;
  last.ExpectValue(record_key, marked);
  last.Delete(record_key);
  last.Delete(store_keys::KvSize(ns));
  return store_->Commit(last, Durability::kSync);
}

absl::StatusOr<size_t> KvStoreImpl::SweepExpired() {
  const int64_t now = absl::ToUnixSeconds(clock_->Now());
  ScanOptions scan;
  scan.limit = kScanPage;
  size_t swept = 0;
  bool done = false;
  while (!done) {
    COSMO_ASSIGN_OR_RETURN(std::vector<KeyValue> rows,
                           store_->Scan(store_keys::kKvExpiryPrefix, scan));
    std::vector<KvWrite> writes;
    for (const KeyValue& row : rows) {
      // kvx/<20 digits>/<namespace>/<key>
      const absl::string_view rest =
          absl::string_view(row.key).substr(store_keys::kKvExpiryPrefix.size());
      int64_t expiration = 0;
      uint64_t write_id = 0;
      const size_t slash = rest.find('/', 21);
      if (rest.size() < 22 || rest[20] != '/' || slash == absl::string_view::npos ||
          !absl::SimpleAtoi(rest.substr(0, 20), &expiration) ||
          !absl::SimpleAtoi(row.value, &write_id)) {
        return Malformed(row.key);
      }
      if (expiration > now) {
        done = true;
        break;
      }
      KvWrite write;
      write.kind = KvWrite::Kind::kSweep;
      write.ns = std::string(rest.substr(21, slash - 21));
      write.key = std::string(rest.substr(slash + 1));
      write.expiration = expiration;
      write.sweep_write_id = write_id;
      writes.push_back(std::move(write));
    }
    // Queued together, so they share group commits.
    absl::BlockingCounter pending(static_cast<int>(writes.size()));
    absl::Mutex mu;
    absl::Status first_error;
    for (KvWrite& write : writes) {
      write.done = [&](absl::Status s) {
        if (!s.ok()) {
          absl::MutexLock lock(&mu);
          if (first_error.ok()) first_error = std::move(s);
        }
        pending.DecrementCount();
      };
      committer_->Submit(std::move(write));
    }
    pending.Wait();
    COSMO_RETURN_IF_ERROR(first_error);
    swept += writes.size();
    if (rows.size() < scan.limit) break;
    scan.start_after = rows.back().key;
  }
  return swept;
}

void KvStoreImpl::SweepLoop() {
  while (true) {
    {
      absl::MutexLock lock(&sweep_mu_);
      sweep_mu_.AwaitWithTimeout(absl::Condition(&stopping_), options_.sweep_interval);
      if (stopping_) return;
    }
    // Failures (an unreachable store) are retried at the next interval.
    (void)SweepExpired();
  }
}

}  // namespace cosmo::kv

namespace cosmo {

absl::StatusOr<std::unique_ptr<KvStore>> NewKvStore(Store* store, Clock* clock,
                                                    KvStoreOptions options) {
  if (store == nullptr || clock == nullptr) {
    return absl::InvalidArgumentError("NewKvStore: store and clock must not be null");
  }
  COSMO_RETURN_IF_ERROR(options.Validate());
  auto kv = std::make_unique<kv::KvStoreImpl>(store, clock, options);
  COSMO_RETURN_IF_ERROR(kv->Start());
  return kv;
}

}  // namespace cosmo
