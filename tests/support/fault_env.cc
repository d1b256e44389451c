#include "support/fault_env.h"

#include <unistd.h>

#include <memory>

namespace cosmo::testing {

// Forwards to the real file, reporting appends and syncs to the FaultEnv and failing them on
// demand.
class FaultWritableFile final : public leveldb::WritableFile {
 public:
  FaultWritableFile(FaultEnv* env, std::string fname, leveldb::WritableFile* target)
      : env_(env), fname_(std::move(fname)), target_(target) {}

  leveldb::Status Append(const leveldb::Slice& data) override {
    if (env_->fail_append_) return leveldb::Status::IOError(fname_, "injected append failure");
    leveldb::Status s = target_->Append(data);
    if (s.ok()) env_->Appended(fname_, data.size());
    return s;
  }
  leveldb::Status Close() override { return target_->Close(); }
  leveldb::Status Flush() override { return target_->Flush(); }
  leveldb::Status Sync() override {
    if (env_->fail_sync_) return leveldb::Status::IOError(fname_, "injected sync failure");
    leveldb::Status s = target_->Sync();
    if (s.ok()) env_->Synced(fname_);
    return s;
  }

 private:
  FaultEnv* const env_;
  const std::string fname_;
  const std::unique_ptr<leveldb::WritableFile> target_;
};

leveldb::Status FaultEnv::NewWritableFile(const std::string& fname,
                                          leveldb::WritableFile** result) {
  leveldb::WritableFile* file = nullptr;
  leveldb::Status s = target()->NewWritableFile(fname, &file);
  if (!s.ok()) return s;
  {
    absl::MutexLock lock(&mu_);
    files_[fname] = FileState();  // a new, empty file: nothing durable yet
  }
  *result = new FaultWritableFile(this, fname, file);
  return s;
}

leveldb::Status FaultEnv::NewAppendableFile(const std::string& fname,
                                            leveldb::WritableFile** result) {
  uint64_t existing = 0;
  if (!target()->GetFileSize(fname, &existing).ok()) existing = 0;
  leveldb::WritableFile* file = nullptr;
  leveldb::Status s = target()->NewAppendableFile(fname, &file);
  if (!s.ok()) return s;
  {
    absl::MutexLock lock(&mu_);
    // What was on disk before this Env saw the file counts as durable.
    files_[fname] = FileState{existing, existing};
  }
  *result = new FaultWritableFile(this, fname, file);
  return s;
}

leveldb::Status FaultEnv::RemoveFile(const std::string& fname) {
  leveldb::Status s = target()->RemoveFile(fname);
  if (s.ok()) {
    absl::MutexLock lock(&mu_);
    files_.erase(fname);
  }
  return s;
}

leveldb::Status FaultEnv::RenameFile(const std::string& src, const std::string& target_name) {
  leveldb::Status s = target()->RenameFile(src, target_name);
  if (s.ok()) {
    absl::MutexLock lock(&mu_);
    auto it = files_.find(src);
    if (it != files_.end()) {
      files_[target_name] = it->second;
      files_.erase(it);
    }
  }
  return s;
}

void FaultEnv::Appended(const std::string& fname, uint64_t bytes) {
  absl::MutexLock lock(&mu_);
  files_[fname].size += bytes;
}

void FaultEnv::Synced(const std::string& fname) {
  absl::MutexLock lock(&mu_);
  FileState& state = files_[fname];
  state.synced_size = state.size;
}

void FaultEnv::DropUnsyncedData() {
  absl::MutexLock lock(&mu_);
  for (auto& [fname, state] : files_) {
    if (state.size == state.synced_size) continue;
    if (::truncate(fname.c_str(), static_cast<off_t>(state.synced_size)) != 0) continue;
    state.size = state.synced_size;
  }
}

uint64_t FaultEnv::UnsyncedBytes() const {
  absl::MutexLock lock(&mu_);
  uint64_t total = 0;
  for (const auto& [fname, state] : files_) total += state.size - state.synced_size;
  return total;
}

}  // namespace cosmo::testing
