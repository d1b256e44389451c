// Per-family log records: console output of scripts and the outcome of failed requests.
//
// The Runtime keeps the most recent records of each family in a bounded in-memory ring (older
// ones are dropped, and readers are told how many they missed). Records are numbered per family
// from 1, so a reader can follow a family by asking for everything after the last number it saw.
//
// Plain value types; thread-compatible.
#ifndef COSMO_LOGS_H_
#define COSMO_LOGS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "cosmo/invocation.h"
#include "cosmo/outcome.h"

namespace cosmo {

// "debug", "info", "log", "warn" or "error": the name of a level wherever logs leave the process.
absl::string_view LogLevelName(LogLevel level);

struct LogRecord {
  uint64_t sequence = 0;  // per family, from 1, consecutive
  absl::Time time;
  std::string family;
  std::string version;
  // Identifies the invocation within this process, e.g. "7f3a9c0e12b4-000042".
  std::string request_id;
  LogLevel level = LogLevel::kLog;
  std::string text;
  // For a record about the request itself (rather than console output): how it ended.
  bool is_outcome = false;
  Outcome outcome = Outcome::kOk;
};

struct LogBatch {
  std::vector<LogRecord> records;
  // Records after the requested sequence that were already dropped from the ring.
  uint64_t dropped = 0;
  // The sequence of the newest record of the family (0 if none): ask for records after this.
  uint64_t last_sequence = 0;
};

}  // namespace cosmo

#endif  // COSMO_LOGS_H_
