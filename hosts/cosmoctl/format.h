// Formatting helpers of cosmoctl: human-readable sizes, times, durations and versions, and the
// JSON form of API messages for --json. Pure functions; thread-safe.
#ifndef COSMO_HOSTS_COSMOCTL_FORMAT_H_
#define COSMO_HOSTS_COSMOCTL_FORMAT_H_

#include <google/protobuf/message.h>
#include <google/protobuf/timestamp.pb.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace cosmoctl {

// The first 12 hex digits of a version (enough to be unique in practice, and accepted back as a
// prefix); "-" for an empty one.
std::string ShortVersion(const std::string& version);

// "512 B", "1.5 KiB", "3.2 MiB".
std::string HumanBytes(uint64_t bytes);

// Microseconds as "850 µs", "12.3 ms", "4.01 s".
std::string HumanMicros(uint64_t micros);

// "2026-11-27 22:31:15" in the local time zone; "-" for an unset timestamp.
std::string HumanTime(const google::protobuf::Timestamp& time);

// RFC 3339 in UTC, e.g. "2026-11-27T22:31:15.123456Z".
std::string Rfc3339(const google::protobuf::Timestamp& time);

// A message as JSON: field names as in the .proto, 64-bit integers as numbers, enums by name,
// maps as objects, timestamps as RFC 3339 strings, every field present, in .proto order.
nlohmann::ordered_json ToJson(const google::protobuf::Message& message);

}  // namespace cosmoctl

#endif  // COSMO_HOSTS_COSMOCTL_FORMAT_H_
