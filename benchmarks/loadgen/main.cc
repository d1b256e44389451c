// cosmo-loadgen: an HTTP/1.1 load generator for CosmoCompute's benchmarks. See --help.

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "loadgen/load_options.h"
#include "loadgen/load_report.h"
#include "loadgen/load_worker.h"
#include "loadgen/process_sampler.h"
#include "loadgen/request_mix.h"

namespace cosmo::loadgen {
namespace {

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

double SelfCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& tv) { return tv.tv_sec + tv.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

bool IsLoopback(const sockaddr_storage& address) {
  if (address.ss_family == AF_INET) {
    const auto& a = reinterpret_cast<const sockaddr_in&>(address);
    return (ntohl(a.sin_addr.s_addr) >> 24) == 127;
  }
  if (address.ss_family == AF_INET6) {
    const auto& a = reinterpret_cast<const sockaddr_in6&>(address);
    if (IN6_IS_ADDR_LOOPBACK(&a.sin6_addr)) return true;
    return IN6_IS_ADDR_V4MAPPED(&a.sin6_addr) && a.sin6_addr.s6_addr[12] == 127;
  }
  return false;
}

absl::Status Resolve(const LoadOptions& options, RunControl& control) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string port = absl::StrCat(options.port);
  const int rc = getaddrinfo(options.host.c_str(), port.c_str(), &hints, &found);
  if (rc != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot resolve '", options.host, "': ", gai_strerror(rc)));
  }
  std::memcpy(&control.address, found->ai_addr, found->ai_addrlen);
  control.address_len = found->ai_addrlen;
  freeaddrinfo(found);
  if (!options.allow_remote && !IsLoopback(control.address)) {
    return absl::PermissionDeniedError(absl::StrCat(
        "'", options.host,
        "' is not a loopback address; load is only sent to loopback unless --allow-remote"));
  }
  return absl::OkStatus();
}

// One blocking connection attempt, so an unreachable target is a clear error rather than a
// run full of connect errors.
absl::Status Preflight(const LoadOptions& options, const RunControl& control) {
  const int fd = socket(control.address.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", std::strerror(errno)));
  int error = 0;
  if (connect(fd, reinterpret_cast<const sockaddr*>(&control.address), control.address_len) != 0) {
    error = errno;
    if (error == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      if (poll(&p, 1, 2000) == 1) {
        socklen_t len = sizeof error;
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len);
      } else {
        error = ETIMEDOUT;
      }
    }
  }
  close(fd);
  if (error != 0) {
    return absl::UnavailableError(absl::StrCat("cannot connect to ", options.host, ":",
                                               options.port, ": ", std::strerror(error)));
  }
  return absl::OkStatus();
}

int Run(const LoadOptions& options) {
  RunControl control;
  if (absl::Status s = Resolve(options, control); !s.ok()) {
    std::fprintf(stderr, "cosmo-loadgen: error: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  if (absl::Status s = Preflight(options, control); !s.ok()) {
    std::fprintf(stderr, "cosmo-loadgen: error: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  std::unique_ptr<ProcessSampler> sampler;
  if (options.pid > 0) {
    sampler = std::make_unique<ProcessSampler>(options.pid);
    if (auto sample = sampler->Take(); !sample.ok()) {
      std::fprintf(stderr, "cosmo-loadgen: error: --pid: %s\n",
                   std::string(sample.status().message()).c_str());
      return 1;
    }
  }

  const RequestMix mix(options);
  const int64_t start = NowNs();
  control.record_from_ns = start + absl::ToInt64Nanoseconds(options.warmup);
  control.request_timeout_ns = absl::ToInt64Nanoseconds(options.request_timeout);
  control.keep_alive = options.keep_alive;
  control.counted = options.requests > 0;
  control.budget.store(options.requests);
  const int64_t deadline = control.record_from_ns + absl::ToInt64Nanoseconds(options.duration);

  std::vector<std::unique_ptr<LoadWorker>> workers;
  for (int t = 0; t < options.threads; ++t) {
    const int share =
        options.connections / options.threads + (t < options.connections % options.threads ? 1 : 0);
    workers.push_back(
        std::make_unique<LoadWorker>(mix, control, share, 0x9E3779B97F4A7C15ULL * (t + 1) + start));
  }
  std::atomic<int> finished{0};
  std::vector<std::thread> threads;
  for (auto& worker : workers) {
    threads.emplace_back([&worker, &finished] {
      worker->Run();
      finished.fetch_add(1);
    });
  }

  // Once the warm-up is over: the baselines of CPU accounting.
  bool measuring = options.warmup <= absl::ZeroDuration();
  double self_cpu_start = SelfCpuSeconds();
  double target_cpu_start = 0;
  uint64_t peak_rss = 0;
  if (sampler) {
    if (auto s = sampler->Take(); s.ok()) target_cpu_start = s->cpu_seconds;
  }
  int64_t next_tick = start + 1'000'000'000;
  uint64_t last_completed = 0;
  int64_t end = start;
  while (true) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    const int64_t now = NowNs();
    if (!measuring && now >= control.record_from_ns) {
      measuring = true;
      self_cpu_start = SelfCpuSeconds();
      if (sampler) {
        if (auto s = sampler->Take(); s.ok()) target_cpu_start = s->cpu_seconds;
      }
    }
    if (now >= next_tick) {
      next_tick += 1'000'000'000;
      uint64_t completed = 0, failed = 0;
      for (const auto& w : workers) {
        completed += w->completed();
        failed += w->failed();
      }
      std::string rss;
      if (sampler) {
        if (auto s = sampler->Take(); s.ok()) {
          peak_rss = std::max(peak_rss, s->rss_bytes);
          rss = absl::StrFormat(", target RSS %.1f MiB", s->rss_bytes / (1024.0 * 1024.0));
        }
      }
      if (options.progress) {
        std::fprintf(stderr,
                     "[%5.1f s]%s %llu responses, %llu req/s in the last second, %llu errors%s\n",
                     (now - start) / 1e9, measuring ? "" : " (warm-up)",
                     static_cast<unsigned long long>(completed),
                     static_cast<unsigned long long>(completed - last_completed),
                     static_cast<unsigned long long>(failed), rss.c_str());
      }
      last_completed = completed;
    }
    end = now;
    if (now >= deadline || finished.load() == static_cast<int>(workers.size())) break;
  }
  control.stop.store(true);
  for (auto& t : threads) t.join();

  LoadReport report;
  report.options = options;
  for (const auto& w : workers) report.result.Merge(w->result());
  report.elapsed_seconds = std::max<int64_t>(1, end - control.record_from_ns) / 1e9;
  report.loadgen_cpu_cores = (SelfCpuSeconds() - self_cpu_start) / report.elapsed_seconds;
  if (sampler) {
    LoadReport::Target target;
    target.pid = options.pid;
    if (auto s = sampler->Take(); s.ok()) {
      target.rss_bytes = s->rss_bytes;
      target.cpu_cores = (s->cpu_seconds - target_cpu_start) / report.elapsed_seconds;
      peak_rss = std::max(peak_rss, s->rss_bytes);
    } else {
      std::fprintf(stderr, "cosmo-loadgen: warning: process %d is gone\n", options.pid);
    }
    target.peak_rss_bytes = peak_rss;
    report.target = target;
  }
  std::fputs(options.json ? (report.Json() + "\n").c_str() : report.Text().c_str(), stdout);
  return 0;
}

}  // namespace
}  // namespace cosmo::loadgen

int main(int argc, char** argv) {
  auto options = cosmo::loadgen::ParseLoadOptions(argc, argv);
  if (!options.ok()) {
    std::fprintf(stderr, "cosmo-loadgen: error: %s\n(see cosmo-loadgen --help)\n",
                 std::string(options.status().message()).c_str());
    return 1;
  }
  if (options->help) {
    std::fputs(cosmo::loadgen::LoadOptionsUsage().c_str(), stdout);
    return 0;
  }
  return cosmo::loadgen::Run(*options);
}
