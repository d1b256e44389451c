// The key/value backend every piece of CosmoCompute state lives in.
//
// A Store holds byte-string keys and values. It offers point reads, prefix scans (forward or
// reverse, paged), and one atomic write primitive, Commit(), that applies a batch of puts and
// deletes only if every guard in it still holds. Guards are compare-and-set on individual keys,
// which is what a cluster backend (etcd transactions) can offer too; the registry builds all of its
// concurrency control on them.
//
// Implementations:
//   - NewInMemoryStore(): a std::map behind a mutex; for tests and embedding.
//   - OpenLevelDbStore(): the single-node default; see docs/architecture.md ("Store").
//   - OpenEtcdStore(): the cluster backend on etcd v3; see docs/cluster.md.
//
// Error contract (Abseil's rule, shared by every backend):
//   NOT_FOUND            Get() of a missing key.
//   ABORTED              Commit() whose guard did not hold; nothing was written. Re-read and retry.
//   UNAVAILABLE          the backend could not be reached or a write could not be made durable; the
//                        outcome of that write is unknown, so every write must be safe to repeat.
//   DATA_LOSS            the backend detected corruption.
//   FAILED_PRECONDITION  opening a LevelDB directory another process holds (or that cannot be
//                        created); calls on an open store never return it.
//   INVALID_ARGUMENT     an empty key, or a batch over the backend's size limits.
//
// Thread-safety: every Store is thread-safe. Each call is atomic on its own; a Scan() sees a
// consistent snapshot.
#ifndef COSMO_STORE_H_
#define COSMO_STORE_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace cosmo {

struct KeyValue {
  std::string key;
  std::string value;

  friend bool operator==(const KeyValue&, const KeyValue&) = default;
};

// An atomic group of writes with optional guards. Plain value type; build it, then Commit() it.
class WriteBatch {
 public:
  // A guard: the commit applies only if `key` currently holds `value` (or, with std::nullopt,
  // only if `key` is absent).
  struct Guard {
    std::string key;
    std::optional<std::string> expected;
  };
  // A write: a put (value set) or a delete (value std::nullopt).
  struct Write {
    std::string key;
    std::optional<std::string> value;
  };

  WriteBatch& Put(std::string key, std::string value);
  WriteBatch& Delete(std::string key);
  // Requires `key` to hold exactly `value` at commit time.
  WriteBatch& ExpectValue(std::string key, std::string value);
  // Requires `key` to be absent at commit time.
  WriteBatch& ExpectAbsent(std::string key);
  // Requires `key` to hold `expected` (or be absent, for std::nullopt).
  WriteBatch& Expect(std::string key, std::optional<std::string> expected);

  const std::vector<Guard>& guards() const { return guards_; }
  // Writes in the order they were added; a later write to the same key wins.
  const std::vector<Write>& writes() const { return writes_; }
  bool empty() const { return writes_.empty(); }
  // Sum of key and value sizes of all writes, for backends with request-size limits.
  size_t ApproximateBytes() const;

 private:
  std::vector<Guard> guards_;
  std::vector<Write> writes_;
};

// How durable a write must be before Commit() returns.
enum class Durability {
  // Survives a machine crash: the write reached stable storage (fsync, or an etcd quorum).
  // Everything that acknowledges a user action (deploy, rollback, delete) uses this.
  kSync,
  // Survives a process crash but may be lost in a machine crash. For periodic usage flushes.
  kBuffered,
};

struct ScanOptions {
  // Return keys strictly after this one (forward) or strictly before it (reverse). Empty: from
  // the start of the prefix range. This is how callers page.
  std::string start_after;
  // At most this many entries; 0 means no limit.
  size_t limit = 0;
  // Descending key order.
  bool reverse = false;
};

// One change seen by a Store::Watch().
struct WatchEvent {
  enum class Type {
    kPut,     // `key` now holds `value`.
    kDelete,  // `key` was deleted.
    // Changes may have been missed (the backend compacted the history the watch needed to resume
    // from): re-read the whole prefix. Events after a resync are delivered normally; some may
    // repeat what the re-read returns, so apply them idempotently.
    kResync,
  };
  Type type = Type::kPut;
  std::string key;    // empty for kResync
  std::string value;  // for kPut
  // The backend's revision of the change (etcd's mod_revision), 0 where the backend has none.
  int64_t revision = 0;
};

// A live watch. Destroying it stops delivery: the destructor waits for a running callback to
// return, so it must not be destroyed from inside its own callback. Borrows the Store that made it,
// which must outlive it. Thread-safe to destroy from any other thread.
class WatchHandle {
 public:
  virtual ~WatchHandle() = default;
};

class Store {
 public:
  virtual ~Store() = default;

  // The value at `key`, or NOT_FOUND.
  virtual absl::StatusOr<std::string> Get(absl::string_view key) = 0;

  // Entries whose key starts with `prefix`, in key order (or reverse), after options.start_after,
  // at most options.limit of them.
  virtual absl::StatusOr<std::vector<KeyValue>> Scan(absl::string_view prefix,
                                                     const ScanOptions& options) = 0;

  // Applies every write in `batch` atomically if every guard holds; ABORTED (nothing written)
  // otherwise. An empty batch with guards just checks them.
  virtual absl::Status Commit(const WriteBatch& batch, Durability durability) = 0;

  // Delivers every put and delete of a key starting with `prefix` made after Watch() returns, in
  // commit order, to `callback`, until the handle is destroyed. Callbacks run one at a time on a
  // thread owned by the handle; a slow callback delays later events of that watch only. Backends
  // resume after reconnecting and send WatchEvent::kResync when they cannot. The default
  // implementation returns UNIMPLEMENTED.
  virtual absl::StatusOr<std::unique_ptr<WatchHandle>> Watch(
      absl::string_view prefix, std::function<void(const WatchEvent&)> callback);

  // A short human name for logs and errors, e.g. "leveldb:/var/lib/cosmo".
  virtual std::string Describe() const = 0;

  // Whether other processes may write this store while this one uses it (a cluster backend):
  // what a process remembers of it may then be stale, so a read that must see every
  // acknowledged write has to ask the store. False by default (LevelDB, memory).
  virtual bool IsShared() const { return false; }

  // Conveniences built on the primitives above.
  absl::Status Put(absl::string_view key, absl::string_view value,
                   Durability durability = Durability::kSync);
  absl::Status Delete(absl::string_view key, Durability durability = Durability::kSync);
  // Sets `key` to `value` only if it currently holds `expected` (absent for std::nullopt).
  // ABORTED when it does not.
  absl::Status CompareAndSet(absl::string_view key, std::optional<absl::string_view> expected,
                             absl::string_view value, Durability durability = Durability::kSync);
  // Get() that maps NOT_FOUND to std::nullopt.
  absl::StatusOr<std::optional<std::string>> Find(absl::string_view key);
};

// A store kept in memory; contents vanish with it. Thread-safe.
std::unique_ptr<Store> NewInMemoryStore();

struct LevelDbStoreOptions {
  // Directory of the database; created (with parents) if missing.
  std::string path;
  // Create the directory and database when missing; when false, open an existing one only.
  bool create_if_missing = true;
  // LevelDB's block cache, in bytes.
  size_t block_cache_bytes = 8 << 20;
  // LevelDB's write buffer (memtable) size, in bytes.
  size_t write_buffer_bytes = 4 << 20;
};

// Opens (or creates) a LevelDB store. Fails with INVALID_ARGUMENT for an empty path,
// FAILED_PRECONDITION naming the directory when another process holds it or it cannot be created,
// NOT_FOUND when it holds no store and `create_if_missing` is false, DATA_LOSS (with the repair
// command) when it is corrupt.
absl::StatusOr<std::unique_ptr<Store>> OpenLevelDbStore(const LevelDbStoreOptions& options);

// Rebuilds the LevelDB store at `path` after corruption (leveldb::RepairDB): keeps every record
// whose checksum verifies and drops the rest. Back the directory up first; the store must not be
// open anywhere (FAILED_PRECONDITION naming the directory when it is). `cosmo-server
// --repair-store --data-dir=PATH` calls this.
absl::Status RepairLevelDbStore(const std::string& path);

// Options of the etcd cluster backend. Plain struct; OpenEtcdStore() validates it.
struct EtcdStoreOptions {
  // etcd client endpoints, "host:port" (plain-text gRPC). Calls go to one at a time and move to
  // the next when it is unreachable or has no leader.
  std::vector<std::string> endpoints;
  // Every key lives under this etcd key prefix, so several deployments (or tests) can share one
  // etcd cluster. Empty is allowed.
  std::string key_prefix = "cosmo/";
  // How long OpenEtcdStore() waits for a first endpoint to answer.
  absl::Duration dial_timeout = absl::Seconds(5);
  // Deadline of one RPC attempt.
  absl::Duration request_timeout = absl::Seconds(3);
  // Total time one Store call may spend retrying across endpoints (an etcd leader election stops
  // writes for about 2 s) before it returns UNAVAILABLE.
  absl::Duration operation_timeout = absl::Seconds(20);
  // Values larger than this are stored as chunks of at most this size, written before the
  // commit that makes them visible; Get, Scan and Watch reassemble them.
  size_t chunk_bytes = 1 << 20;
  // The server's --max-request-bytes (etcd's default: 1.5 MiB). A commit whose request would not
  // fit moves its largest values into chunks; one that still does not fit is INVALID_ARGUMENT.
  size_t max_request_bytes = 1536 << 10;
  // The server's --max-txn-ops (etcd's default: 128). A batch needs two etcd operations per write;
  // larger batches are split into nested transactions inside one atomic etcd transaction (up to
  // max_txn_ops^2 / 8 writes, 2048 by default). More guards than max_txn_ops, or more writes than
  // that, is INVALID_ARGUMENT.
  int max_txn_ops = 128;
};

// Parses "etcd://h1:p1,h2:p2[/key-prefix]" into options with those endpoints (and key prefix,
// default "cosmo/"). INVALID_ARGUMENT on anything else.
absl::StatusOr<EtcdStoreOptions> ParseEtcdStoreUrl(absl::string_view url);

// Opens a Store on an etcd v3 cluster (3.4 or later). Writes are quorum-durable, so both
// Durability values behave as kSync. Fails with INVALID_ARGUMENT naming a bad option, UNAVAILABLE
// when no endpoint answers within dial_timeout. Supports Watch(). Thread-safe.
absl::StatusOr<std::unique_ptr<Store>> OpenEtcdStore(const EtcdStoreOptions& options);

}  // namespace cosmo

#endif  // COSMO_STORE_H_
