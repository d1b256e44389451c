// A leveldb::Env that injects storage faults, for crash-consistency tests of the LevelDB store.
//
// Wraps the default Env and tracks, for every file written through it, how many bytes were
// durable at the last Sync(). Tests can make Append() or Sync() fail (as a full or failing disk
// does), and simulate a power loss with DropUnsyncedData(): every tracked file is truncated to its
// last synced size, as if the OS page cache were lost. Thread-safe.
#ifndef COSMO_TESTS_SUPPORT_FAULT_ENV_H_
#define COSMO_TESTS_SUPPORT_FAULT_ENV_H_

#include <leveldb/env.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace cosmo::testing {

class FaultEnv final : public leveldb::EnvWrapper {
 public:
  FaultEnv() : EnvWrapper(leveldb::Env::Default()) {}

  void set_fail_sync(bool fail) { fail_sync_ = fail; }
  void set_fail_append(bool fail) { fail_append_ = fail; }

  // Truncates every file written through this Env to its size at its last successful Sync().
  // The database using it must be closed first.
  void DropUnsyncedData();

  // Bytes appended but not yet synced, over all files.
  uint64_t UnsyncedBytes() const;

  leveldb::Status NewWritableFile(const std::string& fname,
                                  leveldb::WritableFile** result) override;
  leveldb::Status NewAppendableFile(const std::string& fname,
                                    leveldb::WritableFile** result) override;
  leveldb::Status RemoveFile(const std::string& fname) override;
  leveldb::Status RenameFile(const std::string& src, const std::string& target) override;

 private:
  friend class FaultWritableFile;
  struct FileState {
    uint64_t size = 0;         // bytes appended so far
    uint64_t synced_size = 0;  // bytes durable at the last Sync()
  };

  void Appended(const std::string& fname, uint64_t bytes);
  void Synced(const std::string& fname);

  std::atomic<bool> fail_sync_{false};
  std::atomic<bool> fail_append_{false};
  mutable absl::Mutex mu_;
  std::map<std::string, FileState> files_ ABSL_GUARDED_BY(mu_);
};

}  // namespace cosmo::testing

#endif  // COSMO_TESTS_SUPPORT_FAULT_ENV_H_
