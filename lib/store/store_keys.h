// The layout of libcosmo's keys in the Store: every key prefix is declared here and nowhere else,
// and docs/architecture.md ("Registry and key layout") tabulates them with their values.
//
// A new kind of record (key-value namespaces under kv/, schedules under cron/, ...) gets its
// prefix below, in kAllPrefixes, and a row in that table; the store_keys test checks that no
// prefix is a prefix of another, so a scan of one kind never returns another's keys.
//
// Family names cannot contain '/', and tenant names cannot either, so "<kind>/<family>/" is a
// prefix of exactly one family's keys: `hist/a/` never matches family `ab`.
#ifndef COSMO_LIB_STORE_STORE_KEYS_H_
#define COSMO_LIB_STORE_STORE_KEYS_H_

#include <array>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace cosmo::store_keys {

// Registry (lib/registry/registry.cc); records in proto/cosmo/internal/store_records.proto.

// fam/<family> -> FamilyRecord
inline constexpr absl::string_view kFamilyPrefix = "fam/";
std::string Family(absl::string_view family);

// own/<tenant>/<family> -> "" (index of a tenant's families)
inline constexpr absl::string_view kOwnedPrefix = "own/";
std::string Owned(absl::string_view tenant, absl::string_view family);
std::string OwnedPrefix(absl::string_view tenant);

// hist/<family>/<sequence, 20 decimal digits> -> HistoryRecord. Fixed width keeps key order equal
// to sequence order.
inline constexpr absl::string_view kHistoryPrefix = "hist/";
std::string History(absl::string_view family, uint64_t sequence);
std::string HistoryPrefix(absl::string_view family);

// fver/<family>/<version> -> FamilyVersionRecord
inline constexpr absl::string_view kFamilyVersionPrefix = "fver/";
std::string FamilyVersion(absl::string_view family, absl::string_view version);
std::string FamilyVersionPrefix(absl::string_view family);

// blob/<version> -> canonical CBOR manifest
inline constexpr absl::string_view kBlobPrefix = "blob/";
std::string Blob(absl::string_view version);

// blobref/<version> -> BlobRefRecord
inline constexpr absl::string_view kBlobRefPrefix = "blobref/";
std::string BlobRef(absl::string_view version);

// Metering (lib/metering/usage_meter.cc).

// usage/<family>/<version> -> UsageTotals (proto/cosmo/internal/usage_totals.proto)
inline constexpr absl::string_view kUsagePrefix = "usage/";
std::string Usage(absl::string_view family, absl::string_view version);
std::string UsagePrefix(absl::string_view family);

// usagerep/<reporter> -> UsageReporterRecord
inline constexpr absl::string_view kUsageReporterPrefix = "usagerep/";
std::string UsageReporter(absl::string_view reporter);

// Usage history (lib/metering/usage_history.cc), values UsageTotals as above. Times are the
// bucket's start in Unix seconds, 20 decimal digits, so key order is time order within a family.

// usagem/<family>/<minute start>/<version> -> usage of that version in that minute
inline constexpr absl::string_view kUsageMinutePrefix = "usagem/";
std::string UsageMinute(absl::string_view family, int64_t minute_unix_seconds,
                        absl::string_view version);
std::string UsageMinutePrefix(absl::string_view family);

// usageh/<family>/<hour start>/<version> -> usage of that version in that hour: minutes older
// than a day rolled up
inline constexpr absl::string_view kUsageHourPrefix = "usageh/";
std::string UsageHour(absl::string_view family, int64_t hour_unix_seconds,
                      absl::string_view version);
std::string UsageHourPrefix(absl::string_view family);

// KV namespaces (lib/kv/); records in proto/cosmo/internal/kv_records.proto. Keys of entries are
// any UTF-8 bytes; a namespace name cannot contain '/', so "<kind>/<namespace>/" is a prefix of
// exactly one namespace's entries, and a scan of it returns them in the key's byte order.

// kvns/<namespace> -> KvNamespaceRecord
inline constexpr absl::string_view kKvNamespacePrefix = "kvns/";
std::string KvNamespace(absl::string_view ns);

// kvsize/<namespace> -> KvNamespaceSize
inline constexpr absl::string_view kKvSizePrefix = "kvsize/";
std::string KvSize(absl::string_view ns);

// kvm/<namespace>/<key> -> KvEntryMeta
inline constexpr absl::string_view kKvMetaPrefix = "kvm/";
std::string KvMeta(absl::string_view ns, absl::string_view key);
std::string KvMetaPrefix(absl::string_view ns);

// kvv/<namespace>/<key> -> KvEntryValue
inline constexpr absl::string_view kKvValuePrefix = "kvv/";
std::string KvValue(absl::string_view ns, absl::string_view key);
std::string KvValuePrefix(absl::string_view ns);

// kvx/<expiration, 20 decimal digits of Unix seconds>/<namespace>/<key> -> write id (decimal) of
// the entry that expires then: the sweeper's index, in expiration order.
inline constexpr absl::string_view kKvExpiryPrefix = "kvx/";
std::string KvExpiry(int64_t expiration, absl::string_view ns, absl::string_view key);

// Cron triggers (lib/runtime/cron_scheduler.cc).

// cron/<family>/<expression hash>/<tick, 20 decimal digits of epoch microseconds> -> CronRunRecord:
// the claim of one tick of one expression. Fixed width keeps key order equal to tick order.
inline constexpr absl::string_view kCronPrefix = "cron/";
std::string CronRun(absl::string_view family, absl::string_view expression_hash, int64_t tick_us);
std::string CronRunPrefix(absl::string_view family, absl::string_view expression_hash);
std::string CronFamilyPrefix(absl::string_view family);

// Every prefix above.
inline constexpr std::array<absl::string_view, 16> kAllPrefixes = {
    kFamilyPrefix,      kOwnedPrefix,   kHistoryPrefix,     kFamilyVersionPrefix,
    kBlobPrefix,        kBlobRefPrefix, kUsagePrefix,       kUsageReporterPrefix,
    kKvNamespacePrefix, kKvSizePrefix,  kKvMetaPrefix,      kKvValuePrefix,
    kKvExpiryPrefix,    kCronPrefix,    kUsageMinutePrefix, kUsageHourPrefix,
};

}  // namespace cosmo::store_keys

#endif  // COSMO_LIB_STORE_STORE_KEYS_H_
