// Internal entry point of the LevelDB backend, for tests that inject storage faults.
//
// OpenLevelDbStore() (include/cosmo/store.h) is this with leveldb::Env::Default(). Tests pass a
// leveldb::EnvWrapper that fails writes or drops unsynced data (tests/support/fault_env.h).
#ifndef COSMO_LIB_STORE_LEVELDB_LEVELDB_STORE_H_
#define COSMO_LIB_STORE_LEVELDB_LEVELDB_STORE_H_

#include <memory>

#include "absl/status/statusor.h"
#include "cosmo/store.h"

namespace leveldb {
class Env;
}  // namespace leveldb

namespace cosmo {

// Opens the store with all file I/O going through `env`, which must outlive the store.
absl::StatusOr<std::unique_ptr<Store>> OpenLevelDbStoreWithEnv(const LevelDbStoreOptions& options,
                                                               leveldb::Env* env);

}  // namespace cosmo

#endif  // COSMO_LIB_STORE_LEVELDB_LEVELDB_STORE_H_
