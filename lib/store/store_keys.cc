#include "store/store_keys.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace cosmo::store_keys {

std::string Family(absl::string_view family) { return absl::StrCat(kFamilyPrefix, family); }

std::string Owned(absl::string_view tenant, absl::string_view family) {
  return absl::StrCat(kOwnedPrefix, tenant, "/", family);
}

std::string OwnedPrefix(absl::string_view tenant) {
  return absl::StrCat(kOwnedPrefix, tenant, "/");
}

std::string History(absl::string_view family, uint64_t sequence) {
  return absl::StrFormat("%s%s/%020u", kHistoryPrefix, family, sequence);
}

std::string HistoryPrefix(absl::string_view family) {
  return absl::StrCat(kHistoryPrefix, family, "/");
}

std::string FamilyVersion(absl::string_view family, absl::string_view version) {
  return absl::StrCat(kFamilyVersionPrefix, family, "/", version);
}

std::string FamilyVersionPrefix(absl::string_view family) {
  return absl::StrCat(kFamilyVersionPrefix, family, "/");
}

std::string Blob(absl::string_view version) { return absl::StrCat(kBlobPrefix, version); }

std::string BlobRef(absl::string_view version) { return absl::StrCat(kBlobRefPrefix, version); }

std::string Usage(absl::string_view family, absl::string_view version) {
  return absl::StrCat(kUsagePrefix, family, "/", version);
}

std::string UsagePrefix(absl::string_view family) {
  return absl::StrCat(kUsagePrefix, family, "/");
}

std::string UsageReporter(absl::string_view reporter) {
  return absl::StrCat(kUsageReporterPrefix, reporter);
}

std::string UsageMinute(absl::string_view family, int64_t minute_unix_seconds,
                        absl::string_view version) {
  return absl::StrFormat("%s%s/%020d/%s", kUsageMinutePrefix, family, minute_unix_seconds, version);
}

std::string UsageMinutePrefix(absl::string_view family) {
  return absl::StrCat(kUsageMinutePrefix, family, "/");
}

std::string UsageHour(absl::string_view family, int64_t hour_unix_seconds,
                      absl::string_view version) {
  return absl::StrFormat("%s%s/%020d/%s", kUsageHourPrefix, family, hour_unix_seconds, version);
}

std::string UsageHourPrefix(absl::string_view family) {
  return absl::StrCat(kUsageHourPrefix, family, "/");
}

std::string KvNamespace(absl::string_view ns) { return absl::StrCat(kKvNamespacePrefix, ns); }

std::string KvSize(absl::string_view ns) { return absl::StrCat(kKvSizePrefix, ns); }

std::string KvMeta(absl::string_view ns, absl::string_view key) {
  return absl::StrCat(kKvMetaPrefix, ns, "/", key);
}

std::string KvMetaPrefix(absl::string_view ns) { return absl::StrCat(kKvMetaPrefix, ns, "/"); }

std::string KvValue(absl::string_view ns, absl::string_view key) {
  return absl::StrCat(kKvValuePrefix, ns, "/", key);
}

std::string KvValuePrefix(absl::string_view ns) { return absl::StrCat(kKvValuePrefix, ns, "/"); }

std::string KvExpiry(int64_t expiration, absl::string_view ns, absl::string_view key) {
  return absl::StrFormat("%s%020d/%s/%s", kKvExpiryPrefix, expiration, ns, key);
}

std::string CronRun(absl::string_view family, absl::string_view expression_hash, int64_t tick_us) {
  return absl::StrCat(CronRunPrefix(family, expression_hash),
                      absl::Dec(static_cast<uint64_t>(tick_us), absl::kZeroPad20));
}

std::string CronRunPrefix(absl::string_view family, absl::string_view expression_hash) {
  return absl::StrCat(kCronPrefix, family, "/", expression_hash, "/");
}

std::string CronFamilyPrefix(absl::string_view family) {
  return absl::StrCat(kCronPrefix, family, "/");
}

}  // namespace cosmo::store_keys
