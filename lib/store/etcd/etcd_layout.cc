#include "store/etcd/etcd_layout.h"

#include <cstdint>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "store/scan_range.h"

namespace cosmo {

EtcdLayout::EtcdLayout(std::string prefix) : prefix_(std::move(prefix)) {}

std::string EtcdLayout::RecordKey(absl::string_view key) const {
  return absl::StrCat(prefix_, "d/", key);
}

absl::string_view EtcdLayout::UserKey(absl::string_view record_key) const {
  return record_key.substr(prefix_.size() + 2);
}

std::string EtcdLayout::RecordRangeBegin(absl::string_view user_prefix) const {
  return RecordKey(user_prefix);
}

std::string EtcdLayout::RecordRangeEnd(absl::string_view user_prefix) const {
  return RangeEnd(RecordKey(user_prefix));
}

std::string EtcdLayout::ChunkDir(absl::string_view key) const {
  return absl::StrCat(prefix_, "c/", absl::StrFormat("%08x", key.size()), key, "/");
}

std::string EtcdLayout::GenerationDir(absl::string_view key, absl::string_view generation) const {
  return absl::StrCat(ChunkDir(key), generation, "/");
}

std::string EtcdLayout::ChunkKey(absl::string_view key, absl::string_view generation,
                                 size_t index) const {
  return absl::StrCat(GenerationDir(key, generation), absl::StrFormat("%06u", index));
}

std::string EtcdLayout::EncodeInline(absl::string_view value) { return absl::StrCat("v", value); }

std::string EtcdLayout::EncodeChunked(absl::string_view generation, size_t size, size_t chunks) {
  return absl::StrCat("c", generation, "/", size, "/", chunks);
}

absl::StatusOr<EtcdLayout::Record> EtcdLayout::Decode(absl::string_view key,
                                                      absl::string_view stored) {
  Record record;
  if (!stored.empty() && stored[0] == 'v') {
    record.value = std::string(stored.substr(1));
    return record;
  }
  if (!stored.empty() && stored[0] == 'c') {
    std::vector<absl::string_view> parts = absl::StrSplit(stored.substr(1), '/');
    uint64_t size = 0;
    uint64_t chunks = 0;
    if (parts.size() == 3 && !parts[0].empty() && absl::SimpleAtoi(parts[1], &size) &&
        absl::SimpleAtoi(parts[2], &chunks)) {
      record.chunked = true;
      record.generation = std::string(parts[0]);
      record.size = size;
      record.chunks = chunks;
      return record;
    }
  }
  return absl::DataLossError(
      absl::StrCat("etcd record of key '", key, "' is not in CosmoCompute's format"));
}

std::string EtcdLayout::RangeEnd(absl::string_view prefix) {
  std::string end = PrefixSuccessor(prefix);
  if (end.empty()) return std::string(1, '\0');
  return end;
}

}  // namespace cosmo
