#include "kv/group_committer.h"

#include <algorithm>
#include <map>
#include <memory>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "common/thread_name.h"
#include "cosmo/internal/kv_records.pb.h"
#include "cosmo/status_macros.h"
#include "store/store_keys.h"

namespace cosmo::kv {
namespace {

namespace pb = ::cosmo::internal;

template <typename Record>
absl::StatusOr<Record> ParseRecord(const std::string& raw, absl::string_view key) {
  Record record;
  if (!record.ParseFromString(raw)) {
    return absl::DataLossError(absl::StrCat("stored record ", key, " is malformed"));
  }
  return record;
}

// What an entry costs against its namespace's quota.
uint64_t StoredBytes(absl::string_view key, uint64_t value_bytes, absl::string_view metadata) {
  return key.size() + value_bytes + metadata.size();
}

// A namespace as a group sees it.
struct NamespaceState {
  std::optional<std::string> raw_record;
  std::optional<pb::KvNamespaceRecord> record;
  bool created = false;
  std::optional<std::string> raw_size;
  pb::KvNamespaceSize size;
  bool size_changed = false;
};

// An entry as a group sees it: what the store holds, and what the group leaves.
struct EntryState {
  std::string ns;
  std::string key;
  std::optional<std::string> raw_meta;
  std::optional<pb::KvEntryMeta> original;
  std::optional<pb::KvEntryMeta> current;
  // The put that wrote `current`, when the group wrote it.
  const KvWrite* writer = nullptr;
  bool changed = false;
};

}  // namespace

GroupCommitter::GroupCommitter(Store* store, Clock* clock, const KvStoreOptions& options,
                               CommittedFn committed)
    : store_(store), clock_(clock), options_(options), committed_(std::move(committed)) {
  thread_ = std::thread([this] {
    NameThisThread("cosmo-kv-commit");
    Run();
  });
}

GroupCommitter::~GroupCommitter() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

void GroupCommitter::Submit(KvWrite write) {
  absl::MutexLock lock(&mu_);
  queue_.push_back(std::move(write));
}

void GroupCommitter::Run() {
  while (true) {
    std::vector<KvWrite> group = TakeGroup();
    if (group.empty()) return;
    const absl::Time start = absl::Now();
    CommitGroup(group);
    absl::MutexLock lock(&mu_);
    last_group_size_ = group.size();
    last_commit_ = absl::Now() - start;
  }
}

std::vector<KvWrite> GroupCommitter::TakeGroup() {
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(this, &GroupCommitter::HasWorkOrStopping));
  // The writers of the last group are sending their next writes now, and on a busy machine not
  // all of them are queued yet when the commit ends: with 32 writers a group took ~17 of them, and
  // the rest waited a whole commit. So when fewer are queued than the last group carried, wait
  // for them a little — at most a quarter of the last commit's time (1 ms at most), which adds
  // that much latency but can nearly double the writes per sync. A lone writer never waits.
  if (queue_.size() < last_group_size_) {
    const absl::Duration wait = std::min(last_commit_ / 4, absl::Milliseconds(1));
    const size_t want = last_group_size_;
    auto filled = [this, want]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return stopping_ || queue_.size() >= want;
    };
    mu_.AwaitWithTimeout(absl::Condition(&filled), wait);
  }
  std::vector<KvWrite> group;
  absl::flat_hash_set<std::string> keys;
  size_t bytes = 0;
  while (!queue_.empty()) {
    KvWrite& next = queue_.front();
    const std::string store_key = store_keys::KvMeta(next.ns, next.key);
    const bool new_key = !keys.contains(store_key);
    if (!group.empty() && ((new_key && keys.size() >= options_.max_keys_per_commit) ||
                           bytes + next.value.size() > options_.max_bytes_per_commit)) {
      break;
    }
    keys.insert(store_key);
    bytes += next.value.size();
    group.push_back(std::move(next));
    queue_.pop_front();
  }
  return group;
}

void GroupCommitter::CommitGroup(std::vector<KvWrite>& group) {
  std::vector<absl::Status> results;
  absl::Status status = absl::AbortedError("");
  for (int attempt = 0; attempt < options_.max_commit_attempts && absl::IsAborted(status);
       ++attempt) {
    results.assign(group.size(), absl::OkStatus());
    status = TryCommit(group, results);
  }
  if (absl::IsAborted(status)) {
    status = absl::AbortedError(
        "KV write: too much contention on these keys from other servers; retry the write");
  }
  for (size_t i = 0; i < group.size(); ++i) {
    if (group[i].done) group[i].done(status.ok() ? results[i] : status);
  }
}

absl::Status GroupCommitter::TryCommit(const std::vector<KvWrite>& group,
                                       std::vector<absl::Status>& results) {
  const int64_t now = absl::ToUnixSeconds(clock_->Now());
  std::map<std::string, NamespaceState> namespaces;
  std::map<std::string, EntryState> entries;  // by kvm/ key
  WriteBatch batch;
  for (const KvWrite& write : group) {
    if (!namespaces.contains(write.ns)) {
      NamespaceState& state = namespaces[write.ns];
      const std::string record_key = store_keys::KvNamespace(write.ns);
      COSMO_ASSIGN_OR_RETURN(state.raw_record, store_->Find(record_key));
      if (state.raw_record) {
        COSMO_ASSIGN_OR_RETURN(state.record,
                               ParseRecord<pb::KvNamespaceRecord>(*state.raw_record, record_key));
      }
      const std::string size_key = store_keys::KvSize(write.ns);
      COSMO_ASSIGN_OR_RETURN(state.raw_size, store_->Find(size_key));
      if (state.raw_size) {
        COSMO_ASSIGN_OR_RETURN(state.size,
                               ParseRecord<pb::KvNamespaceSize>(*state.raw_size, size_key));
      }
      batch.Expect(record_key, state.raw_record);
      batch.Expect(size_key, state.raw_size);
    }
    const std::string meta_key = store_keys::KvMeta(write.ns, write.key);
    if (!entries.contains(meta_key)) {
      EntryState& entry = entries[meta_key];
      entry.ns = write.ns;
      entry.key = write.key;
      COSMO_ASSIGN_OR_RETURN(entry.raw_meta, store_->Find(meta_key));
      if (entry.raw_meta) {
        COSMO_ASSIGN_OR_RETURN(entry.original,
                               ParseRecord<pb::KvEntryMeta>(*entry.raw_meta, meta_key));
      }
      entry.current = entry.original;
      batch.Expect(meta_key, entry.raw_meta);
    }
  }

  absl::BitGen random;
  for (size_t i = 0; i < group.size(); ++i) {
    const KvWrite& write = group[i];
    NamespaceState& ns = namespaces[write.ns];
    EntryState& entry = entries[store_keys::KvMeta(write.ns, write.key)];
    if (write.kind == KvWrite::Kind::kSweep) {
      const bool expired = entry.current && entry.current->write_id() == write.sweep_write_id &&
                           entry.current->expiration() != 0 && entry.current->expiration() <= now;
      if (!expired || !ns.record) {
        // The entry was rewritten since the sweeper saw it: its index key went with the rewrite.
        // Drop a stray index key all the same.
        if (write.expiration != 0 &&
            !(entry.current && entry.current->expiration() == write.expiration)) {
          batch.Delete(store_keys::KvExpiry(write.expiration, write.ns, write.key));
        }
        continue;
      }
    } else {
      if (!ns.record) {
        if (write.tenant.empty()) {
          results[i] = absl::FailedPreconditionError(absl::StrCat(
              "KV namespace '", write.ns,
              "' does not exist (it was deleted); deploy the family again to create it"));
          continue;
        }
        ns.record.emplace();
        ns.record->set_owner_tenant(write.tenant);
        ns.record->set_created_unix_micros(absl::ToUnixMicros(clock_->Now()));
        ns.created = true;
        ns.size = pb::KvNamespaceSize();
        ns.size_changed = true;
      }
      if (ns.record->deleting()) {
        results[i] = absl::FailedPreconditionError(
            absl::StrCat("KV namespace '", write.ns, "' is being deleted"));
        continue;
      }
      if (!write.tenant.empty() && ns.record->owner_tenant() != write.tenant) {
        results[i] = absl::PermissionDeniedError(
            absl::StrCat("KV namespace '", write.ns, "' belongs to another tenant"));
        continue;
      }
    }
    const uint64_t old_bytes = entry.current ? StoredBytes(write.key, entry.current->value_bytes(),
                                                           entry.current->metadata())
                                             : 0;
    if (write.kind == KvWrite::Kind::kPut) {
      const uint64_t new_bytes =
          StoredBytes(write.key, write.value.size(), write.metadata.value_or(""));
      const uint64_t total = ns.size.stored_bytes() - old_bytes + new_bytes;
      if (new_bytes > old_bytes && total > options_.limits.max_namespace_bytes) {
        results[i] = absl::ResourceExhaustedError(
            absl::StrCat("KV namespace quota: '", write.ns, "' holds ", ns.size.stored_bytes(),
                         " bytes; this write would take it to ", total, ", over its limit of ",
                         options_.limits.max_namespace_bytes, " bytes (--kv-max-namespace-bytes)"));
        continue;
      }
      if (!entry.current) ns.size.set_keys(ns.size.keys() + 1);
      ns.size.set_stored_bytes(total);
      pb::KvEntryMeta meta;
      meta.set_expiration(write.expiration);
      if (write.metadata) meta.set_metadata(*write.metadata);
      meta.set_value_bytes(write.value.size());
      meta.set_write_id(absl::Uniform<uint64_t>(random));
      entry.current = std::move(meta);
      entry.writer = &write;
    } else {
      if (!entry.current) continue;
      ns.size.set_keys(ns.size.keys() - 1);
      ns.size.set_stored_bytes(ns.size.stored_bytes() - old_bytes);
      entry.current.reset();
      entry.writer = nullptr;
    }
    entry.changed = true;
    ns.size_changed = true;
  }

  for (auto& [meta_key, entry] : entries) {
    if (!entry.changed) continue;
    if (entry.original && entry.original->expiration() != 0) {
      batch.Delete(store_keys::KvExpiry(entry.original->expiration(), entry.ns, entry.key));
    }
    if (!entry.current) {
      batch.Delete(meta_key);
      batch.Delete(store_keys::KvValue(entry.ns, entry.key));
      continue;
    }
    batch.Put(meta_key, entry.current->SerializeAsString());
    pb::KvEntryValue value;
    value.set_expiration(entry.current->expiration());
    value.set_metadata(entry.current->metadata());
    value.set_value(entry.writer->value);
    value.set_write_id(entry.current->write_id());
    batch.Put(store_keys::KvValue(entry.ns, entry.key), value.SerializeAsString());
    if (entry.current->expiration() != 0) {
      batch.Put(store_keys::KvExpiry(entry.current->expiration(), entry.ns, entry.key),
                absl::StrCat(entry.current->write_id()));
    }
  }
  for (auto& [name, ns] : namespaces) {
    if (ns.created) batch.Put(store_keys::KvNamespace(name), ns.record->SerializeAsString());
    if (ns.size_changed) batch.Put(store_keys::KvSize(name), ns.size.SerializeAsString());
  }
  if (batch.empty()) return absl::OkStatus();
  COSMO_RETURN_IF_ERROR(store_->Commit(batch, Durability::kSync));
  commits_.fetch_add(1, std::memory_order_relaxed);
  for (auto& [meta_key, entry] : entries) {
    if (!entry.changed) continue;
    Change change{entry.ns, entry.key, !entry.current, nullptr};
    if (entry.current && entry.writer->value.size() <= options_.max_cached_value_bytes) {
      auto cached = std::make_shared<KvEntry>();
      cached->value = entry.writer->value;
      cached->metadata = entry.writer->metadata;
      cached->expiration = entry.current->expiration();
      change.entry = std::move(cached);
    }
    committed_(change);
  }
  return absl::OkStatus();
}

}  // namespace cosmo::kv
