// The in-memory Store: an ordered map behind one mutex. Used by tests and by embedders that want
// no disk; it obeys the same contract as the durable backends (the typed store suite runs on it).
#include <map>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "cosmo/store.h"
#include "store/scan_range.h"

namespace cosmo {
namespace {

class InMemoryStore final : public Store {
 public:
  absl::StatusOr<std::string> Get(absl::string_view key) override {
    if (key.empty()) return absl::InvalidArgumentError("store key must not be empty");
    absl::ReaderMutexLock lock(&mu_);
    auto it = data_.find(key);
    if (it == data_.end()) return absl::NotFoundError(absl::StrCat("no key '", key, "'"));
    return it->second;
  }

  absl::StatusOr<std::vector<KeyValue>> Scan(absl::string_view prefix,
                                             const ScanOptions& options) override {
    std::vector<KeyValue> out;
    absl::ReaderMutexLock lock(&mu_);
    if (!options.reverse) {
      auto it = options.start_after.empty() ? data_.lower_bound(prefix)
                                            : data_.upper_bound(options.start_after);
      if (!options.start_after.empty() && options.start_after < prefix) {
        it = data_.lower_bound(prefix);
      }
      for (; it != data_.end() && absl::StartsWith(it->first, prefix); ++it) {
        if (options.limit != 0 && out.size() == options.limit) break;
        out.push_back({it->first, it->second});
      }
      return out;
    }
    // Reverse: start at the last key below the upper end of the range.
    const std::string end = ScanUpperBound(prefix, options.start_after);
    auto it = end.empty() ? data_.end() : data_.lower_bound(end);
    while (it != data_.begin()) {
      --it;
      if (!absl::StartsWith(it->first, prefix)) break;
      if (options.limit != 0 && out.size() == options.limit) break;
      out.push_back({it->first, it->second});
    }
    return out;
  }

  absl::Status Commit(const WriteBatch& batch, Durability) override {
    for (const WriteBatch::Write& w : batch.writes()) {
      if (w.key.empty()) return absl::InvalidArgumentError("store key must not be empty");
    }
    absl::MutexLock lock(&mu_);
    for (const WriteBatch::Guard& guard : batch.guards()) {
      auto it = data_.find(guard.key);
      const bool holds =
          guard.expected ? (it != data_.end() && it->second == *guard.expected) : it == data_.end();
      if (!holds) {
        return absl::AbortedError(absl::StrCat("store key '", guard.key, "' changed concurrently"));
      }
    }
    for (const WriteBatch::Write& w : batch.writes()) {
      if (w.value) {
        data_.insert_or_assign(w.key, *w.value);
      } else {
        data_.erase(w.key);
      }
    }
    return absl::OkStatus();
  }

  std::string Describe() const override { return "memory"; }

 private:
  absl::Mutex mu_;
  std::map<std::string, std::string, std::less<>> data_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

std::unique_ptr<Store> NewInMemoryStore() { return std::make_unique<InMemoryStore>(); }

}  // namespace cosmo
