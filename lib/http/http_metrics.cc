#include "http/http_metrics.h"

#include <malloc.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "http/kv_metrics.h"

namespace cosmo::http {

HttpMetrics::FamilyCounters* HttpMetrics::CountersFor(CounterMap& map, absl::string_view key) {
  {
    absl::ReaderMutexLock lock(&mu_);
    auto it = map.find(key);
    if (it != map.end()) return it->second.get();
  }
  absl::MutexLock lock(&mu_);
  if (map.size() >= kMaxFamilies) key = "";
  auto& slot = map[key];
  if (slot == nullptr) slot = std::make_unique<FamilyCounters>();
  return slot.get();
}

void HttpMetrics::Record(absl::string_view family, Outcome outcome, absl::Duration latency,
                         int64_t cpu_us, absl::string_view version) {
  FamilyCounters* counters = CountersFor(families_, family);
  counters->outcomes[static_cast<int>(outcome)].fetch_add(1, std::memory_order_relaxed);
  if (cpu_us > 0) counters->cpu_us.fetch_add(cpu_us, std::memory_order_relaxed);
  if (!family.empty() && !version.empty()) {
    // A reused per-thread buffer: no allocation per request once it has grown.
    thread_local std::string key;
    key.assign(family.data(), family.size());
    key += '/';
    key.append(version.data(), std::min<size_t>(version.size(), 12));
    FamilyCounters* by_version = CountersFor(versions_, key);
    by_version->outcomes[static_cast<int>(outcome)].fetch_add(1, std::memory_order_relaxed);
    if (cpu_us > 0) by_version->cpu_us.fetch_add(cpu_us, std::memory_order_relaxed);
  }
  double seconds = absl::ToDoubleSeconds(latency);
  size_t bucket = 0;
  while (bucket < kBucketsSeconds.size() && seconds > kBucketsSeconds[bucket]) ++bucket;
  buckets_[bucket].fetch_add(1, std::memory_order_relaxed);
  latency_sum_us_.fetch_add(absl::ToInt64Microseconds(latency), std::memory_order_relaxed);
  requests_.fetch_add(1, std::memory_order_relaxed);
}

uint64_t HttpMetrics::Count(absl::string_view family, Outcome outcome) const {
  absl::ReaderMutexLock lock(&mu_);
  auto it = families_.find(family);
  if (it == families_.end()) return 0;
  return it->second->outcomes[static_cast<int>(outcome)].load();
}

std::string HttpMetrics::Render(Runtime* runtime) const {
  std::string out;
  out +=
      "# HELP cosmo_http_requests_total HTTP requests by route family and outcome.\n"
      "# TYPE cosmo_http_requests_total counter\n";
  std::string cpu =
      "# HELP cosmo_script_cpu_microseconds_total CPU time of scripts by route family.\n"
      "# TYPE cosmo_script_cpu_microseconds_total counter\n";
  {
    absl::ReaderMutexLock lock(&mu_);
    for (const auto& [family, counters] : families_) {
      for (int i = 0; i < kOutcomeCount; ++i) {
        uint64_t n = counters->outcomes[i].load(std::memory_order_relaxed);
        if (n == 0) continue;
        absl::StrAppend(&out, "cosmo_http_requests_total{family=\"", family, "\",outcome=\"",
                        OutcomeName(static_cast<Outcome>(i)), "\"} ", n, "\n");
      }
      if (!family.empty()) {
        absl::StrAppend(&cpu, "cosmo_script_cpu_microseconds_total{family=\"", family, "\"} ",
                        counters->cpu_us.load(std::memory_order_relaxed), "\n");
      }
    }
  }
  out += cpu;
  out +=
      "# HELP cosmo_http_version_requests_total HTTP requests by route family, serving version "
      "(12 hex digits) and outcome.\n"
      "# TYPE cosmo_http_version_requests_total counter\n";
  std::string version_cpu =
      "# HELP cosmo_script_version_cpu_microseconds_total CPU time of scripts by route family and "
      "version.\n"
      "# TYPE cosmo_script_version_cpu_microseconds_total counter\n";
  {
    absl::ReaderMutexLock lock(&mu_);
    for (const auto& [key, counters] : versions_) {
      const size_t slash = key.find('/');
      if (slash == std::string::npos) continue;  // the overflow entry ""
      const std::string labels = absl::StrCat("family=\"", key.substr(0, slash), "\",version=\"",
                                              key.substr(slash + 1), "\"");
      for (int i = 0; i < kOutcomeCount; ++i) {
        uint64_t n = counters->outcomes[i].load(std::memory_order_relaxed);
        if (n == 0) continue;
        absl::StrAppend(&out, "cosmo_http_version_requests_total{", labels, ",outcome=\"",
                        OutcomeName(static_cast<Outcome>(i)), "\"} ", n, "\n");
      }
      absl::StrAppend(&version_cpu, "cosmo_script_version_cpu_microseconds_total{", labels, "} ",
                      counters->cpu_us.load(std::memory_order_relaxed), "\n");
    }
  }
  out += version_cpu;
  out +=
      "# HELP cosmo_http_request_duration_seconds Time from request head to response.\n"
      "# TYPE cosmo_http_request_duration_seconds histogram\n";
  uint64_t cumulative = 0;
  for (size_t i = 0; i < kBucketsSeconds.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    absl::StrAppend(&out, "cosmo_http_request_duration_seconds_bucket{le=\"",
                    absl::StrFormat("%g", kBucketsSeconds[i]), "\"} ", cumulative, "\n");
  }
  cumulative += buckets_[kBucketsSeconds.size()].load(std::memory_order_relaxed);
  absl::StrAppend(&out, "cosmo_http_request_duration_seconds_bucket{le=\"+Inf\"} ", cumulative,
                  "\n");
  absl::StrAppend(&out, "cosmo_http_request_duration_seconds_sum ",
                  absl::StrFormat("%.6f", latency_sum_us_.load() / 1e6), "\n");
  absl::StrAppend(&out, "cosmo_http_request_duration_seconds_count ", cumulative, "\n");
  absl::StrAppend(&out,
                  "# HELP cosmo_http_connections_shed_total Requests answered 503 (and their "
                  "connections closed) because every worker was busy and the queue full.\n"
                  "# TYPE cosmo_http_connections_shed_total counter\n"
                  "cosmo_http_connections_shed_total ",
                  connections_shed_.load(), "\n");
  const ConnectionGauges& c = connections_;
  absl::StrAppend(
      &out,
      "# HELP cosmo_http_connections Open connections by state: idle (kept alive), reading (a "
      "request arriving), active (with a worker), writing (a response leaving), streaming (a "
      "detached streamed response leaving as its function produces it, no worker held).\n"
      "# TYPE cosmo_http_connections gauge\n"
      "cosmo_http_connections{state=\"idle\"} ",
      c.idle.load(), "\ncosmo_http_connections{state=\"reading\"} ", c.reading.load(),
      "\ncosmo_http_connections{state=\"active\"} ", c.active.load(),
      "\ncosmo_http_connections{state=\"writing\"} ", c.writing.load(),
      "\ncosmo_http_connections{state=\"streaming\"} ", c.streaming.load(),
      "\n# HELP cosmo_http_connections_open Open connections.\n"
      "# TYPE cosmo_http_connections_open gauge\ncosmo_http_connections_open ",
      c.open.load(),
      "\n# HELP cosmo_http_connections_limit The cap on open connections.\n"
      "# TYPE cosmo_http_connections_limit gauge\ncosmo_http_connections_limit ",
      c.limit.load(),
      "\n# HELP cosmo_http_connections_accepted_total Connections accepted.\n"
      "# TYPE cosmo_http_connections_accepted_total counter\n"
      "cosmo_http_connections_accepted_total ",
      c.accepted.load(),
      "\n# HELP cosmo_http_connections_refused_total Connections answered 503 and closed "
      "because the cap on open connections was reached.\n"
      "# TYPE cosmo_http_connections_refused_total counter\n"
      "cosmo_http_connections_refused_total ",
      c.refused.load(),
      "\n# HELP cosmo_http_connections_timed_out_total Connections closed at the request-head "
      "deadline, the idle keep-alive timeout or the write timeout.\n"
      "# TYPE cosmo_http_connections_timed_out_total counter\n"
      "cosmo_http_connections_timed_out_total ",
      c.timed_out.load(), "\n");
  // glibc's view of the heap, every arena: what the program holds, and what malloc keeps free
  // without returning it to the OS (a scrape walks the arenas under their locks: microseconds).
  // Under another allocator (ASan's, TSan's, a preloaded tcmalloc or jemalloc) glibc's arenas
  // hold nothing and mallinfo2 says 0: the gauge is left out rather than reported as zero.
  const struct mallinfo2 heap = mallinfo2();
  const size_t heap_in_use = heap.uordblks + heap.hblkhd;
  if (heap_in_use > 0) {
    absl::StrAppend(&out,
                    "# HELP cosmo_process_heap_bytes The malloc heap: bytes in use, and free bytes "
                    "kept by the allocator.\n"
                    "# TYPE cosmo_process_heap_bytes gauge\n"
                    "cosmo_process_heap_bytes{state=\"in_use\"} ",
                    heap_in_use, "\ncosmo_process_heap_bytes{state=\"free\"} ", heap.fordblks,
                    "\n");
  }
  if (runtime != nullptr) {
    RuntimeStats s = runtime->Stats();
    auto counter = [&out](absl::string_view name, absl::string_view help, uint64_t value) {
      absl::StrAppend(&out, "# HELP ", name, " ", help, "\n# TYPE ", name, " counter\n", name, " ",
                      value, "\n");
    };
    auto gauge = [&out](absl::string_view name, absl::string_view help, uint64_t value) {
      absl::StrAppend(&out, "# HELP ", name, " ", help, "\n# TYPE ", name, " gauge\n", name, " ",
                      value, "\n");
    };
    counter("cosmo_activations_total", "Families activated.", s.activations);
    counter("cosmo_activation_failures_total", "Activations that failed (store or startup errors).",
            s.activation_failures);
    counter("cosmo_instances_created_total", "Script instances created.", s.instances_created);
    counter("cosmo_instances_discarded_total", "Instances discarded after a limit or error.",
            s.instances_discarded);
    absl::StrAppend(&out,
                    "# HELP cosmo_evictions_total Activations unloaded, by reason.\n"
                    "# TYPE cosmo_evictions_total counter\n"
                    "cosmo_evictions_total{reason=\"idle\"} ",
                    s.idle_unloads, "\ncosmo_evictions_total{reason=\"memory_budget\"} ",
                    s.budget_unloads, "\n");
    counter("cosmo_budget_returns_total",
            "Activations of families the memory budget had unloaded while they were still in use "
            "(cold starts a larger --memory-budget-mb would have saved).",
            s.budget_returns);
    counter("cosmo_version_switches_total", "Activations moved to a new version.",
            s.version_switches);
    counter("cosmo_invocations_total", "Invocations run by the runtime.", s.invocations);
    counter("cosmo_load_shed_total", "Invocations shed by the runtime (family saturated).",
            s.load_shed);
    counter("cosmo_split_fallbacks_total",
            "Requests routed to a side of a traffic split whose version could not start, served "
            "by the other side.",
            s.split_fallbacks);
    counter("cosmo_idle_memory_releases_total",
            "Times free heap memory was given back to the OS after a second without requests.",
            s.idle_memory_releases);
    counter("cosmo_instance_memory_releases_total",
            "Idle script instances that gave back their garbage (a memory-reducing GC).",
            s.instance_memory_releases);
    gauge("cosmo_active_families", "Families with a live activation.", s.active_families);
    gauge("cosmo_live_instances", "Script instances alive.", s.live_instances);
    gauge("cosmo_instance_memory_bytes", "Memory held by script instances.",
          s.instance_memory_bytes);
    gauge("cosmo_instance_memory_budget_bytes",
          "What script instances may hold (--memory-budget-mb); past it, colder families are "
          "unloaded.",
          s.memory_budget_bytes);
    AppendKvMetrics(runtime->ServedUsage(), &out);
  }
  return out;
}

}  // namespace cosmo::http
