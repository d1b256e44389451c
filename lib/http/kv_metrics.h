// KV usage on /_cosmo/metrics: this process's KV operations and bytes per family and version, as
// Prometheus counters (the same counts `cosmoctl usage` shows cluster-wide from the store).
//
//   cosmo_kv_operations_total{family="counter",version="3f1c…",op="read"} 12
//   cosmo_kv_bytes_total{family="counter",version="3f1c…",direction="written"} 34
//
// op is read, write, delete or list; direction is read (values returned, names and metadata
// listed) or written. Only versions that used KV appear. Pure function; thread-safe.
#ifndef COSMO_LIB_HTTP_KV_METRICS_H_
#define COSMO_LIB_HTTP_KV_METRICS_H_

#include <string>
#include <vector>

#include "cosmo/usage.h"

namespace cosmo::http {

// Appends the KV series of `served` (Runtime::ServedUsage) to `out`.
void AppendKvMetrics(const std::vector<VersionUsage>& served, std::string* out);

}  // namespace cosmo::http

#endif  // COSMO_LIB_HTTP_KV_METRICS_H_
