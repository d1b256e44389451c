#include "runtime/activation_table.h"

#include "absl/hash/hash.h"

namespace cosmo {

ActivationTable::Shard& ActivationTable::ShardFor(absl::string_view family) {
  return shards_[absl::Hash<absl::string_view>()(family) % kShards];
}

const ActivationTable::Shard& ActivationTable::ShardFor(absl::string_view family) const {
  return shards_[absl::Hash<absl::string_view>()(family) % kShards];
}

std::shared_ptr<Activation> ActivationTable::Find(absl::string_view family) const {
  const Shard& shard = ShardFor(family);
  absl::ReaderMutexLock lock(&shard.mu);
  auto it = shard.map.find(family);
  return it == shard.map.end() ? nullptr : it->second;
}

std::shared_ptr<Activation> ActivationTable::FindOrCreate(absl::string_view family) {
  if (std::shared_ptr<Activation> found = Find(family)) return found;
  Shard& shard = ShardFor(family);
  absl::MutexLock lock(&shard.mu);
  auto [it, inserted] = shard.map.try_emplace(family);
  if (inserted) it->second = std::make_shared<Activation>(std::string(family));
  return it->second;
}

bool ActivationTable::Remove(const std::shared_ptr<Activation>& activation) {
  Shard& shard = ShardFor(activation->family());
  absl::MutexLock lock(&shard.mu);
  auto it = shard.map.find(activation->family());
  if (it == shard.map.end() || it->second != activation) return false;
  shard.map.erase(it);
  return true;
}

std::vector<std::shared_ptr<Activation>> ActivationTable::All() const {
  std::vector<std::shared_ptr<Activation>> all;
  for (const Shard& shard : shards_) {
    absl::ReaderMutexLock lock(&shard.mu);
    for (const auto& [name, activation] : shard.map) all.push_back(activation);
  }
  return all;
}

size_t ActivationTable::size() const {
  size_t n = 0;
  for (const Shard& shard : shards_) {
    absl::ReaderMutexLock lock(&shard.mu);
    n += shard.map.size();
  }
  return n;
}

}  // namespace cosmo
