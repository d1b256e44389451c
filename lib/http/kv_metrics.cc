#include "http/kv_metrics.h"

#include <algorithm>
#include <cstdint>
#include <tuple>

#include "absl/strings/str_cat.h"

namespace cosmo::http {

void AppendKvMetrics(const std::vector<VersionUsage>& served, std::string* out) {
  std::vector<const VersionUsage*> used;
  for (const VersionUsage& v : served) {
    const UsageTotals& t = v.totals;
    if (t.kv_reads + t.kv_writes + t.kv_deletes + t.kv_lists > 0) used.push_back(&v);
  }
  // A stable order, so scrapes diff cleanly.
  std::sort(used.begin(), used.end(), [](const VersionUsage* a, const VersionUsage* b) {
    return std::tie(a->family, a->version) < std::tie(b->family, b->version);
  });
  std::string operations =
      "# HELP cosmo_kv_operations_total KV operations of bindings by family, version and "
      "operation.\n"
      "# TYPE cosmo_kv_operations_total counter\n";
  std::string bytes =
      "# HELP cosmo_kv_bytes_total KV bytes moved by bindings by family, version and direction "
      "(read: values returned, names and metadata listed).\n"
      "# TYPE cosmo_kv_bytes_total counter\n";
  for (const VersionUsage* v : used) {
    const std::string labels =
        absl::StrCat("family=\"", v->family, "\",version=\"", v->version, "\"");
    const std::pair<const char*, uint64_t> ops[] = {{"read", v->totals.kv_reads},
                                                    {"write", v->totals.kv_writes},
                                                    {"delete", v->totals.kv_deletes},
                                                    {"list", v->totals.kv_lists}};
    for (const auto& [op, n] : ops) {
      absl::StrAppend(&operations, "cosmo_kv_operations_total{", labels, ",op=\"", op, "\"} ", n,
                      "\n");
    }
    absl::StrAppend(&bytes, "cosmo_kv_bytes_total{", labels, ",direction=\"read\"} ",
                    v->totals.kv_bytes_read, "\n", "cosmo_kv_bytes_total{", labels,
                    ",direction=\"written\"} ", v->totals.kv_bytes_written, "\n");
  }
  absl::StrAppend(out, operations, bytes);
}

}  // namespace cosmo::http
