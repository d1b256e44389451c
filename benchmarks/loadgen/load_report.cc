#include "loadgen/load_report.h"

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace cosmo::loadgen {
namespace {

constexpr const char* kErrorNames[LoadResult::kErrorKinds] = {"connect", "read", "write", "timeout",
                                                              "parse"};

// A latency in nanoseconds for people: µs below 1 ms, ms above.
std::string Latency(double nanos) {
  if (nanos < 1e6) return absl::StrFormat("%.0f µs", nanos / 1e3);
  if (nanos < 1e8) return absl::StrFormat("%.2f ms", nanos / 1e6);
  return absl::StrFormat("%.0f ms", nanos / 1e6);
}

std::string Bytes(uint64_t bytes) {
  if (bytes < 10 * 1024) return absl::StrCat(bytes, " B");
  if (bytes < 10 * 1024 * 1024) return absl::StrFormat("%.1f KiB", bytes / 1024.0);
  return absl::StrFormat("%.1f MiB", bytes / (1024.0 * 1024.0));
}

}  // namespace

double LoadReport::RequestsPerSecond() const {
  return elapsed_seconds > 0 ? static_cast<double>(result.responses()) / elapsed_seconds : 0;
}

std::string LoadReport::Text() const {
  const LatencyHistogram& h = result.latency;
  std::string out =
      absl::StrFormat("cosmo-loadgen: %s:%d, %d thread%s, %d connections, %.2f s measured",
                      options.host, options.port, options.threads, options.threads == 1 ? "" : "s",
                      options.connections, elapsed_seconds);
  if (options.warmup > absl::ZeroDuration()) {
    absl::StrAppend(&out, " after ", absl::FormatDuration(options.warmup), " warm-up");
  }
  absl::StrAppendFormat(&out, "\n  requests   %d responses, %.1f req/s, %s read\n",
                        result.responses(), RequestsPerSecond(), Bytes(result.bytes_read));
  absl::StrAppend(&out, "  latency    mean ", Latency(h.Mean()), "  p50 ",
                  Latency(h.ValueAtPercentile(50)), "  p90 ", Latency(h.ValueAtPercentile(90)),
                  "  p99 ", Latency(h.ValueAtPercentile(99)), "  p99.9 ",
                  Latency(h.ValueAtPercentile(99.9)), "  max ", Latency(h.max()), "\n");
  absl::StrAppend(&out, "  status    ");
  bool any = false;
  for (size_t code = 0; code < result.status.size(); ++code) {
    if (result.status[code] == 0) continue;
    absl::StrAppend(&out, " ", code, ": ", result.status[code]);
    any = true;
  }
  if (!any) absl::StrAppend(&out, " (no responses)");
  absl::StrAppend(&out, "\n  errors     ", result.error_count());
  if (result.error_count() > 0) {
    uint64_t by_status = 0;
    for (size_t code = 400; code < result.status.size(); ++code) by_status += result.status[code];
    absl::StrAppend(&out, " (status >= 400: ", by_status);
    for (int k = 0; k < LoadResult::kErrorKinds; ++k) {
      if (result.errors[k] > 0) absl::StrAppend(&out, ", ", kErrorNames[k], ": ", result.errors[k]);
    }
    absl::StrAppend(&out, ")");
  }
  absl::StrAppend(&out, "\n");
  if (target) {
    absl::StrAppendFormat(&out, "  target     pid %d: RSS %s (peak %s), CPU %.2f cores\n",
                          target->pid, Bytes(target->rss_bytes), Bytes(target->peak_rss_bytes),
                          target->cpu_cores);
  }
  absl::StrAppendFormat(&out, "  loadgen    CPU %.2f cores\n", loadgen_cpu_cores);
  return out;
}

std::string LoadReport::Json() const {
  const LatencyHistogram& h = result.latency;
  nlohmann::json j;
  j["target"] = absl::StrCat(options.host, ":", options.port);
  j["threads"] = options.threads;
  j["connections"] = options.connections;
  j["duration_s"] = elapsed_seconds;
  j["requests"] = result.responses();
  j["rps"] = RequestsPerSecond();
  j["bytes_read"] = result.bytes_read;
  auto us = [](double nanos) { return nanos / 1e3; };
  j["latency_us"] = {{"mean", us(h.Mean())},
                     {"min", us(static_cast<double>(h.min()))},
                     {"p50", us(static_cast<double>(h.ValueAtPercentile(50)))},
                     {"p90", us(static_cast<double>(h.ValueAtPercentile(90)))},
                     {"p99", us(static_cast<double>(h.ValueAtPercentile(99)))},
                     {"p99.9", us(static_cast<double>(h.ValueAtPercentile(99.9)))},
                     {"max", us(static_cast<double>(h.max()))}};
  nlohmann::json status = nlohmann::json::object();
  for (size_t code = 0; code < result.status.size(); ++code) {
    if (result.status[code] > 0) status[std::to_string(code)] = result.status[code];
  }
  j["status"] = status;
  nlohmann::json errors = {{"total", result.error_count()}};
  uint64_t by_status = 0;
  for (size_t code = 400; code < result.status.size(); ++code) by_status += result.status[code];
  errors["status"] = by_status;
  for (int k = 0; k < LoadResult::kErrorKinds; ++k) errors[kErrorNames[k]] = result.errors[k];
  j["errors"] = errors;
  if (target) {
    j["process"] = {{"pid", target->pid},
                    {"rss_bytes", target->rss_bytes},
                    {"peak_rss_bytes", target->peak_rss_bytes},
                    {"cpu_cores", target->cpu_cores}};
  }
  j["loadgen_cpu_cores"] = loadgen_cpu_cores;
  return j.dump();
}

}  // namespace cosmo::loadgen
