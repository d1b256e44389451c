// The single-node Store on LevelDB.
//
// Durability: Durability::kSync writes use WriteOptions::sync (write + fsync of the log), so an
// acknowledged deploy survives a machine crash; kBuffered writes survive a process crash.
// Atomicity: one Commit() is one leveldb::WriteBatch. Guards are checked under commit_mu_, which
// serialises all commits of this process; LevelDB's LOCK file guarantees no other process writes.
// Integrity: paranoid_checks makes Open fail on real corruption (a torn log tail is normal and
// silently dropped by LevelDB), and every read verifies block checksums.
#include "store/leveldb/leveldb_store.h"

#include <leveldb/cache.h>
#include <leveldb/db.h>
#include <leveldb/env.h>
#include <leveldb/filter_policy.h>
#include <leveldb/write_batch.h>

#include <filesystem>
#include <memory>
#include <system_error>

#include "absl/base/thread_annotations.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "cosmo/store.h"
#include "store/scan_range.h"

namespace cosmo {
namespace {

absl::Status FromLevelDb(const leveldb::Status& s, absl::string_view path) {
  if (s.ok()) return absl::OkStatus();
  if (s.IsNotFound()) return absl::NotFoundError(s.ToString());
  if (s.IsCorruption()) {
    return absl::DataLossError(absl::StrCat("store at ", path, " is corrupt: ", s.ToString(),
                                            ". Back the directory up, then run "
                                            "`cosmo-server --repair-store --data-dir=",
                                            path, "`"));
  }
  if (s.IsInvalidArgument()) return absl::InvalidArgumentError(s.ToString());
  // IOError: disk full, failed fsync. LevelDB then refuses every further write ("sticky" error)
  // until the database is reopened, so say so.
  return absl::UnavailableError(absl::StrCat("store at ", path, " failed: ", s.ToString(),
                                             "; writes stay refused until the server restarts"));
}

class LevelDbStore final : public Store {
 public:
  LevelDbStore(std::string path, std::unique_ptr<leveldb::DB> db,
               std::unique_ptr<leveldb::Cache> cache,
               std::unique_ptr<const leveldb::FilterPolicy> filter)
      : path_(std::move(path)),
        cache_(std::move(cache)),
        filter_(std::move(filter)),
        db_(std::move(db)) {}

  ~LevelDbStore() override {
    // The DB must close before the cache and filter policy it uses.
    db_.reset();
  }

  absl::StatusOr<std::string> Get(absl::string_view key) override {
    if (key.empty()) return absl::InvalidArgumentError("store key must not be empty");
    std::string value;
    leveldb::Status s = db_->Get(ReadOptions(), leveldb::Slice(key.data(), key.size()), &value);
    if (s.IsNotFound()) return absl::NotFoundError(absl::StrCat("no key '", key, "'"));
    if (!s.ok()) return FromLevelDb(s, path_);
    return value;
  }

  absl::StatusOr<std::vector<KeyValue>> Scan(absl::string_view prefix,
                                             const ScanOptions& options) override {
    std::vector<KeyValue> out;
    std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(ReadOptions()));
    auto in_range = [&] { return it->Valid() && it->key().starts_with(ToSlice(prefix)); };
    auto full = [&] { return options.limit != 0 && out.size() == options.limit; };
    if (!options.reverse) {
      if (!options.start_after.empty() && options.start_after >= prefix) {
        it->Seek(ToSlice(options.start_after));
        if (it->Valid() && it->key() == ToSlice(options.start_after)) it->Next();
      } else {
        it->Seek(ToSlice(prefix));
      }
      for (; in_range() && !full(); it->Next()) {
        out.push_back({it->key().ToString(), it->value().ToString()});
      }
    } else {
      const std::string end = ScanUpperBound(prefix, options.start_after);
      if (end.empty()) {
        it->SeekToLast();
      } else {
        it->Seek(end);
        it->Valid() ? it->Prev() : it->SeekToLast();
      }
      for (; in_range() && !full(); it->Prev()) {
        out.push_back({it->key().ToString(), it->value().ToString()});
      }
    }
    if (!it->status().ok()) return FromLevelDb(it->status(), path_);
    return out;
  }

  absl::Status Commit(const WriteBatch& batch, Durability durability) override {
    for (const WriteBatch::Write& w : batch.writes()) {
      if (w.key.empty()) return absl::InvalidArgumentError("store key must not be empty");
    }
    leveldb::WriteBatch writes;
    for (const WriteBatch::Write& w : batch.writes()) {
      if (w.value) {
        writes.Put(w.key, *w.value);
      } else {
        writes.Delete(w.key);
      }
    }
    leveldb::WriteOptions write_options;
    write_options.sync = durability == Durability::kSync;

    absl::MutexLock lock(&commit_mu_);
    for (const WriteBatch::Guard& guard : batch.guards()) {
      std::string current;
      leveldb::Status s = db_->Get(ReadOptions(), guard.key, &current);
      if (!s.ok() && !s.IsNotFound()) return FromLevelDb(s, path_);
      const bool holds = guard.expected ? (s.ok() && current == *guard.expected) : s.IsNotFound();
      if (!holds) {
        return absl::AbortedError(absl::StrCat("store key '", guard.key, "' changed concurrently"));
      }
    }
    if (batch.empty()) return absl::OkStatus();
    return FromLevelDb(db_->Write(write_options, &writes), path_);
  }

  std::string Describe() const override { return absl::StrCat("leveldb:", path_); }

 private:
  static leveldb::Slice ToSlice(absl::string_view s) { return leveldb::Slice(s.data(), s.size()); }

  static leveldb::ReadOptions ReadOptions() {
    leveldb::ReadOptions options;
    options.verify_checksums = true;
    return options;
  }

  const std::string path_;
  const std::unique_ptr<leveldb::Cache> cache_;
  const std::unique_ptr<const leveldb::FilterPolicy> filter_;
  std::unique_ptr<leveldb::DB> db_;
  // Serialises guard checks with the write that depends on them.
  absl::Mutex commit_mu_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Store>> OpenLevelDbStore(const LevelDbStoreOptions& options) {
  return OpenLevelDbStoreWithEnv(options, leveldb::Env::Default());
}

absl::StatusOr<std::unique_ptr<Store>> OpenLevelDbStoreWithEnv(const LevelDbStoreOptions& options,
                                                               leveldb::Env* env) {
  if (options.path.empty()) {
    return absl::InvalidArgumentError("leveldb store: path (--data-dir) must not be empty");
  }
  if (options.create_if_missing) {
    std::error_code ec;
    std::filesystem::create_directories(options.path, ec);
    if (ec) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot create data directory ", options.path, ": ", ec.message()));
    }
  }
  auto cache = std::unique_ptr<leveldb::Cache>(leveldb::NewLRUCache(options.block_cache_bytes));
  auto filter = std::unique_ptr<const leveldb::FilterPolicy>(leveldb::NewBloomFilterPolicy(10));
  leveldb::Options db_options;
  db_options.create_if_missing = options.create_if_missing;
  db_options.paranoid_checks = true;
  db_options.block_cache = cache.get();
  db_options.filter_policy = filter.get();
  db_options.write_buffer_size = options.write_buffer_bytes;
  db_options.env = env;
  leveldb::DB* raw = nullptr;
  leveldb::Status s = leveldb::DB::Open(db_options, options.path, &raw);
  if (!s.ok()) {
    const std::string text = s.ToString();
    if (s.IsIOError() && absl::StrContains(text, "/LOCK")) {
      return absl::FailedPreconditionError(
          absl::StrCat("data directory ", options.path,
                       " is in use by another process (its LevelDB lock is held); stop that "
                       "process or choose another --data-dir"));
    }
    if (s.IsInvalidArgument() && absl::StrContains(text, "does not exist")) {
      return absl::NotFoundError(absl::StrCat("no store at ", options.path));
    }
    return FromLevelDb(s, options.path);
  }
  return std::make_unique<LevelDbStore>(options.path, std::unique_ptr<leveldb::DB>(raw),
                                        std::move(cache), std::move(filter));
}

absl::Status RepairLevelDbStore(const std::string& path) {
  if (path.empty()) {
    return absl::InvalidArgumentError("leveldb repair: path (--data-dir) must not be empty");
  }
  std::error_code ec;
  if (!std::filesystem::is_directory(path, ec)) {
    return absl::NotFoundError(absl::StrCat("no store to repair at ", path, " (--data-dir)"));
  }
  // RepairDB would rewrite files under a live process's feet; holding the LOCK file proves no other
  // process has the directory open.
  leveldb::Env* env = leveldb::Env::Default();
  leveldb::FileLock* lock = nullptr;
  leveldb::Status locked = env->LockFile(path + "/LOCK", &lock);
  if (!locked.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("data directory ", path,
                     " is in use by another process (its LevelDB lock is held); stop it first"));
  }
  env->UnlockFile(lock);
  leveldb::Options options;
  options.paranoid_checks = true;
  return FromLevelDb(leveldb::RepairDB(path, options), path);
}

}  // namespace cosmo
