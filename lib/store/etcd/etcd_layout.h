// Where a CosmoCompute key and its value live in etcd's keyspace, and how values are encoded.
//
// Under the store's key prefix P:
//   P "d/" KEY                          one record per user key: "v" + the value itself, or, for a
//                                       chunked value, "c" + GEN "/" SIZE "/" COUNT
//   P "c/" LEN8 KEY "/" GEN "/" INDEX6  chunk INDEX of KEY's value written under generation GEN
//
// LEN8 is the key's length in 8 hex digits, so one key's chunk directory is never a prefix of
// another's (keys may contain '/' and any byte). INDEX6 is zero-padded decimal, so chunks sort in
// order. GEN is unique per commit: chunks are written before the transaction that points the record
// at them, and that transaction deletes every other generation of the key.
//
// Thread-compatible value type (immutable after construction, so effectively thread-safe).
#ifndef COSMO_LIB_STORE_ETCD_ETCD_LAYOUT_H_
#define COSMO_LIB_STORE_ETCD_ETCD_LAYOUT_H_

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace cosmo {

class EtcdLayout {
 public:
  // A decoded record: either the value inline or the description of its chunks.
  struct Record {
    bool chunked = false;
    std::string value;       // inline value
    std::string generation;  // chunked: GEN
    size_t size = 0;         // chunked: total bytes
    size_t chunks = 0;       // chunked: number of chunks
  };

  explicit EtcdLayout(std::string prefix);

  const std::string& prefix() const { return prefix_; }

  // P "d/" key
  std::string RecordKey(absl::string_view key) const;
  // The user key of a record key (which must start with P "d/").
  absl::string_view UserKey(absl::string_view record_key) const;
  // [begin, end) of every record whose user key starts with `user_prefix`.
  std::string RecordRangeBegin(absl::string_view user_prefix) const;
  std::string RecordRangeEnd(absl::string_view user_prefix) const;

  // P "c/" LEN8 key "/": every generation of `key`'s chunks.
  std::string ChunkDir(absl::string_view key) const;
  // ChunkDir(key) gen "/"
  std::string GenerationDir(absl::string_view key, absl::string_view generation) const;
  std::string ChunkKey(absl::string_view key, absl::string_view generation, size_t index) const;

  static std::string EncodeInline(absl::string_view value);
  static std::string EncodeChunked(absl::string_view generation, size_t size, size_t chunks);
  // DATA_LOSS naming `key` when `stored` is not a record this layout wrote.
  static absl::StatusOr<Record> Decode(absl::string_view key, absl::string_view stored);

  // The smallest key greater than every key that starts with `prefix`; "\0" (etcd's "to the end
  // of the keyspace") when there is none.
  static std::string RangeEnd(absl::string_view prefix);

 private:
  std::string prefix_;
};

}  // namespace cosmo

#endif  // COSMO_LIB_STORE_ETCD_ETCD_LAYOUT_H_
