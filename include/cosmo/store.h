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
//   - OpenLevelDbStore(): the single-node default; see leveldb_store.h.
//   - the etcd backend, for clusters.
//
// Error contract (Abseil's rule, shared by every backend):
//   NOT_FOUND            Get() of a missing key.
//   ABORTED              Commit() whose guard did not hold; nothing was written. Re-read and retry.
//   UNAVAILABLE          the backend could not be reached or a write could not be made durable; the
//                        outcome of that write is unknown, so every write must be safe to repeat.
//   DATA_LOSS            the backend detected corruption.
//   FAILED_PRECONDITION  the store was opened read-only or is closed.
//   INVALID_ARGUMENT     an empty key, or a batch over the backend's size limits.
//
// Thread-safety: every Store is thread-safe. Each call is atomic on its own; a Scan() sees a
// consistent snapshot.
#ifndef COSMO_STORE_H_
#define COSMO_STORE_H_

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

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

  // A short human name for logs and errors, e.g. "leveldb:/var/lib/cosmo".
  virtual std::string Describe() const = 0;

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
  // Opens an existing database only.
  bool create_if_missing = true;
  // LevelDB's block cache, in bytes.
  size_t block_cache_bytes = 8 << 20;
  // LevelDB's write buffer (memtable) size, in bytes.
  size_t write_buffer_bytes = 4 << 20;
};

// Opens (or creates) a LevelDB store. Fails with FAILED_PRECONDITION naming the directory when
// another process holds it, DATA_LOSS (with the repair command) when it is corrupt.
absl::StatusOr<std::unique_ptr<Store>> OpenLevelDbStore(const LevelDbStoreOptions& options);

// Rebuilds the LevelDB store at `path` after corruption (leveldb::RepairDB): keeps every record
// whose checksum verifies and drops the rest. Back the directory up first; the store must not be
// open anywhere (FAILED_PRECONDITION naming the directory when it is). `cosmo-server
// --repair-store --data-dir=PATH` calls this.
absl::Status RepairLevelDbStore(const std::string& path);

}  // namespace cosmo

#endif  // COSMO_STORE_H_
