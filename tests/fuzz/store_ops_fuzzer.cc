// Store backends are interchangeable: a random sequence of operations gives identical results on
// the in-memory store and on LevelDB (over LevelDB's in-memory Env, so each input starts fresh).
#include <fuzzer/FuzzedDataProvider.h>
#include <leveldb/env.h>
#include <leveldb/helpers/memenv.h>

#include <cstdint>
#include <memory>
#include <string>

#include "cosmo/store.h"
#include "fuzz_check.h"
#include "store/leveldb/leveldb_store.h"

namespace {

// A small alphabet of keys so operations collide, share prefixes and hit guards.
std::string Key(FuzzedDataProvider& in) {
  static const char* const kPrefixes[] = {"a", "a/", "a/b", "ab", "b/", "\xff", "\xff\xff/", ""};
  std::string key = kPrefixes[in.ConsumeIntegralInRange<int>(0, 7)];
  key += in.ConsumeRandomLengthString(3);
  return key;
}

bool SameStatus(const absl::Status& a, const absl::Status& b) { return a.code() == b.code(); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  std::unique_ptr<leveldb::Env> env(leveldb::NewMemEnv(leveldb::Env::Default()));
  auto disk = cosmo::OpenLevelDbStoreWithEnv({.path = "/fuzz-db"}, env.get());
  FUZZ_CHECK(disk.ok());
  std::unique_ptr<cosmo::Store> memory = cosmo::NewInMemoryStore();
  cosmo::Store* stores[2] = {memory.get(), disk->get()};

  for (int step = 0; step < 64 && in.remaining_bytes() > 0; ++step) {
    switch (in.ConsumeIntegralInRange<int>(0, 4)) {
      case 0: {
        const std::string key = Key(in), value = in.ConsumeRandomLengthString(32);
        FUZZ_CHECK(SameStatus(stores[0]->Put(key, value), stores[1]->Put(key, value)));
        break;
      }
      case 1: {
        const std::string key = Key(in);
        FUZZ_CHECK(SameStatus(stores[0]->Delete(key), stores[1]->Delete(key)));
        break;
      }
      case 2: {
        const std::string key = Key(in);
        auto a = stores[0]->Get(key);
        auto b = stores[1]->Get(key);
        FUZZ_CHECK(a.status().code() == b.status().code());
        if (a.ok()) FUZZ_CHECK(*a == *b);
        break;
      }
      case 3: {
        const std::string prefix = Key(in).substr(0, in.ConsumeIntegralInRange<size_t>(0, 3));
        cosmo::ScanOptions options;
        options.reverse = in.ConsumeBool();
        options.limit = in.ConsumeIntegralInRange<size_t>(0, 5);
        if (in.ConsumeBool()) options.start_after = Key(in);
        auto a = stores[0]->Scan(prefix, options);
        auto b = stores[1]->Scan(prefix, options);
        FUZZ_CHECK(a.ok() && b.ok());
        FUZZ_CHECK(*a == *b);
        break;
      }
      case 4: {
        cosmo::WriteBatch batch;
        const int guards = in.ConsumeIntegralInRange(0, 2);
        for (int g = 0; g < guards; ++g) {
          const std::string key = Key(in);
          if (in.ConsumeBool()) {
            batch.ExpectAbsent(key);
          } else {
            batch.ExpectValue(key, in.ConsumeRandomLengthString(32));
          }
        }
        const int writes = in.ConsumeIntegralInRange(0, 4);
        for (int w = 0; w < writes; ++w) {
          if (in.ConsumeBool()) {
            batch.Put(Key(in), in.ConsumeRandomLengthString(32));
          } else {
            batch.Delete(Key(in));
          }
        }
        const auto durability =
            in.ConsumeBool() ? cosmo::Durability::kSync : cosmo::Durability::kBuffered;
        FUZZ_CHECK(
            SameStatus(stores[0]->Commit(batch, durability), stores[1]->Commit(batch, durability)));
        break;
      }
    }
  }
  // Finally the whole contents must match.
  auto a = stores[0]->Scan("", {});
  auto b = stores[1]->Scan("", {});
  FUZZ_CHECK(a.ok() && b.ok() && *a == *b);
  return 0;
}
