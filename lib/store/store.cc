#include "cosmo/store.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace cosmo {

WriteBatch& WriteBatch::Put(std::string key, std::string value) {
  writes_.push_back({std::move(key), std::move(value)});
  return *this;
}

WriteBatch& WriteBatch::Delete(std::string key) {
  writes_.push_back({std::move(key), std::nullopt});
  return *this;
}

WriteBatch& WriteBatch::ExpectValue(std::string key, std::string value) {
  guards_.push_back({std::move(key), std::move(value)});
  return *this;
}

WriteBatch& WriteBatch::ExpectAbsent(std::string key) {
  guards_.push_back({std::move(key), std::nullopt});
  return *this;
}

WriteBatch& WriteBatch::Expect(std::string key, std::optional<std::string> expected) {
  guards_.push_back({std::move(key), std::move(expected)});
  return *this;
}

size_t WriteBatch::ApproximateBytes() const {
  size_t total = 0;
  for (const Write& w : writes_) total += w.key.size() + (w.value ? w.value->size() : 0);
  return total;
}

absl::Status Store::Put(absl::string_view key, absl::string_view value, Durability durability) {
  WriteBatch batch;
  batch.Put(std::string(key), std::string(value));
  return Commit(batch, durability);
}

absl::Status Store::Delete(absl::string_view key, Durability durability) {
  WriteBatch batch;
  batch.Delete(std::string(key));
  return Commit(batch, durability);
}

absl::Status Store::CompareAndSet(absl::string_view key, std::optional<absl::string_view> expected,
                                  absl::string_view value, Durability durability) {
  WriteBatch batch;
  batch.Expect(std::string(key),
               expected ? std::optional<std::string>(std::string(*expected)) : std::nullopt);
  batch.Put(std::string(key), std::string(value));
  return Commit(batch, durability);
}

absl::StatusOr<std::unique_ptr<WatchHandle>> Store::Watch(absl::string_view,
                                                          std::function<void(const WatchEvent&)>) {
  return absl::UnimplementedError(absl::StrCat("store ", Describe(), " does not support Watch"));
}

absl::StatusOr<std::optional<std::string>> Store::Find(absl::string_view key) {
  absl::StatusOr<std::string> value = Get(key);
  if (value.ok()) return std::optional<std::string>(*std::move(value));
  if (absl::IsNotFound(value.status())) return std::optional<std::string>();
  return value.status();
}

}  // namespace cosmo
