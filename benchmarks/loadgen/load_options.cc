#include "loadgen/load_options.h"

#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace cosmo::loadgen {
namespace {

absl::Status Bad(absl::string_view flag, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(flag, ": ", why));
}

absl::StatusOr<absl::Duration> ParseDurationFlag(absl::string_view flag, absl::string_view value) {
  absl::Duration d;
  double seconds = 0;
  if (absl::SimpleAtod(value, &seconds)) {
    d = absl::Seconds(seconds);
  } else if (!absl::ParseDuration(value, &d)) {
    return Bad(flag, absl::StrCat("'", value, "' is not a duration (e.g. 10s, 500ms, 2m)"));
  }
  if (d < absl::ZeroDuration()) return Bad(flag, "must not be negative");
  return d;
}

absl::StatusOr<long long> ParseIntFlag(absl::string_view flag, absl::string_view value,
                                       long long min, long long max) {
  long long n = 0;
  if (!absl::SimpleAtoi(value, &n)) {
    return Bad(flag, absl::StrCat("'", value, "' is not an integer"));
  }
  if (n < min || n > max) {
    return Bad(flag, absl::StrCat(n, " is out of range [", min, ", ", max, "]"));
  }
  return n;
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read body file '", path, "'"));
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

bool IsToken(absl::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
          c == '_')) {
      return false;
    }
  }
  return true;
}

bool HasNoControlChars(absl::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) < 0x21 || c == 0x7f) return false;
  }
  return true;
}

// [METHOD:]PATH[:BODY_FILE][@WEIGHT]
absl::StatusOr<TargetSpec> ParseTarget(absl::string_view spec) {
  TargetSpec target;
  const size_t at = spec.rfind('@');
  if (at != absl::string_view::npos) {
    if (!absl::SimpleAtod(spec.substr(at + 1), &target.weight) || !(target.weight > 0) ||
        !std::isfinite(target.weight)) {
      return Bad("--target", absl::StrCat("weight in '", spec, "' must be a positive number"));
    }
    spec = spec.substr(0, at);
  }
  if (!spec.empty() && spec.front() != '/') {
    const size_t colon = spec.find(':');
    if (colon == absl::string_view::npos || !IsToken(spec.substr(0, colon))) {
      return Bad("--target",
                 absl::StrCat("'", spec, "' is not [METHOD:]PATH[:BODY_FILE][@WEIGHT]"));
    }
    target.method = std::string(spec.substr(0, colon));
    spec = spec.substr(colon + 1);
  }
  if (spec.empty() || spec.front() != '/') {
    return Bad("--target", "the path must start with '/'");
  }
  const size_t colon = spec.find(':');
  absl::string_view path = spec.substr(0, colon);
  if (!HasNoControlChars(path)) {
    return Bad("--target", "the path must not contain spaces or control characters");
  }
  target.path = std::string(path);
  if (colon != absl::string_view::npos) {
    const std::string file(spec.substr(colon + 1));
    auto body = ReadFile(file);
    if (!body.ok()) return Bad("--target", body.status().message());
    target.body = *std::move(body);
    target.content_type =
        absl::EndsWith(file, ".json") ? "application/json" : "application/octet-stream";
  }
  return target;
}

// http://HOST:PORT[/PATH] or HOST:PORT. Returns the path ("" if none).
absl::StatusOr<std::string> ParseUrl(absl::string_view url, LoadOptions& options) {
  absl::string_view rest = url;
  if (absl::StartsWith(rest, "https://")) {
    return Bad("URL", "https is not supported; the load generator speaks plain HTTP/1.1");
  }
  if (absl::StartsWith(rest, "http://")) rest.remove_prefix(7);
  const size_t slash = rest.find('/');
  absl::string_view authority = rest.substr(0, slash);
  std::string path = slash == absl::string_view::npos ? "" : std::string(rest.substr(slash));
  absl::string_view host_part;
  absl::string_view port_part;
  if (absl::StartsWith(authority, "[")) {
    const size_t close = authority.find(']');
    if (close == absl::string_view::npos) return Bad("URL", "unterminated '[' in the host");
    host_part = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return Bad("URL", "expected ':' after ']'");
      port_part = authority.substr(close + 2);
    }
  } else {
    const size_t colon = authority.rfind(':');
    host_part = authority.substr(0, colon);
    if (colon != absl::string_view::npos) port_part = authority.substr(colon + 1);
  }
  if (host_part.empty()) return Bad("URL", absl::StrCat("no host in '", url, "'"));
  options.host = std::string(host_part);
  if (!port_part.empty()) {
    auto port = ParseIntFlag("URL port", port_part, 1, 65535);
    if (!port.ok()) return port.status();
    options.port = static_cast<int>(*port);
  } else {
    options.port = 80;
  }
  return path;
}

}  // namespace

std::string LoadOptionsUsage() {
  return R"(Usage: cosmo-loadgen [OPTIONS] http://HOST:PORT[/PATH]

An HTTP/1.1 load generator: keep-alive connections driven by epoll on a few threads, each
request's latency recorded in a log-linear histogram (within 0.8%). Prints requests, req/s,
responses by status, errors by kind, and latency mean, p50, p90, p99, p99.9 and max.
Only loopback targets are accepted unless --allow-remote.

Load:
  -t, --threads=N            worker threads (default 1)
  -c, --connections=N        keep-alive connections over all threads (default 32)
  -d, --duration=D           measure for D (default 10s; e.g. 500ms, 2m); always bounds the run
  -n, --requests=N           stop after N responses (the run is still bounded by --duration,
                             which then defaults to 300s)
      --warmup=D             apply load for D first without recording (default 0)
      --timeout=D            a response slower than D is a timeout error (default 5s)
      --no-keepalive         send `Connection: close` and reconnect for every request

Requests (default: GET of the URL's path):
      --target=[METHOD:]PATH[:BODY_FILE][@WEIGHT]
                             add a request to the mix (repeatable), drawn with probability
                             proportional to WEIGHT (default 1); a BODY_FILE is sent as the body
                             e.g. --target=GET:/hello/@9 --target=POST:/echo/:body.json@1
      --zipf-families=N      GET over N paths instead, rank k drawn with p ~ 1/(k+1)^s
      --zipf-s=S             the Zipf exponent (default 1.1)
      --zipf-pattern=P       path of rank k: P with {} replaced by k (default /f{}/)
  -H, --header='Name: value' add a request header (repeatable)

Output:
      --pid=N                report RSS (final and peak) and CPU of process N (the server)
      --json                 print one JSON object instead of text
      --progress             progress once a second on stderr (default: only on a terminal)
      --allow-remote         allow a target that is not a loopback address
  -h, --help                 this text

Exit status: 0 when the run completed (even with error responses), 1 on bad usage or when
the target cannot be reached.
)";
}

absl::StatusOr<LoadOptions> ParseLoadOptions(int argc, char** argv) {
  LoadOptions options;
  options.progress = isatty(STDERR_FILENO) == 1;
  bool duration_set = false;
  bool have_url = false;
  std::string url_path;
  std::vector<std::string> target_specs;

  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    absl::string_view name = arg;
    absl::string_view value;
    bool has_value = false;
    if (absl::StartsWith(arg, "--")) {
      const size_t eq = arg.find('=');
      if (eq != absl::string_view::npos) {
        name = arg.substr(0, eq);
        value = arg.substr(eq + 1);
        has_value = true;
      }
    } else if (arg.size() == 2 && arg[0] == '-' && arg[1] != '-') {
      // Short options take the next argument.
    } else if (arg.size() > 2 && arg[0] == '-') {
      name = arg.substr(0, 2);
      value = arg.substr(2);
      has_value = true;
    } else {
      if (have_url) return Bad(arg, "only one URL may be given");
      auto path = ParseUrl(arg, options);
      if (!path.ok()) return path.status();
      url_path = *path;
      have_url = true;
      continue;
    }

    auto is = [&](absl::string_view long_name, absl::string_view short_name = "") {
      return name == long_name || (!short_name.empty() && name == short_name);
    };
    auto flag_only = [&]() -> absl::Status {
      if (has_value) return Bad(name, "takes no value");
      return absl::OkStatus();
    };
    auto need_value = [&]() -> absl::Status {
      if (has_value) return absl::OkStatus();
      if (i + 1 >= argc) return Bad(name, "needs a value");
      value = argv[++i];
      has_value = true;
      return absl::OkStatus();
    };

    if (is("--help", "-h")) {
      options.help = true;
      return options;
    } else if (is("--allow-remote")) {
      if (auto s = flag_only(); !s.ok()) return s;
      options.allow_remote = true;
    } else if (is("--no-keepalive")) {
      if (auto s = flag_only(); !s.ok()) return s;
      options.keep_alive = false;
    } else if (is("--json")) {
      if (auto s = flag_only(); !s.ok()) return s;
      options.json = true;
    } else if (is("--progress")) {
      if (auto s = flag_only(); !s.ok()) return s;
      options.progress = true;
    } else if (is("--no-progress")) {
      if (auto s = flag_only(); !s.ok()) return s;
      options.progress = false;
    } else {
      if (auto s = need_value(); !s.ok()) return s;
      if (is("--threads", "-t")) {
        auto n = ParseIntFlag(name, value, 1, 256);
        if (!n.ok()) return n.status();
        options.threads = static_cast<int>(*n);
      } else if (is("--connections", "-c")) {
        auto n = ParseIntFlag(name, value, 1, 100000);
        if (!n.ok()) return n.status();
        options.connections = static_cast<int>(*n);
      } else if (is("--duration", "-d")) {
        auto d = ParseDurationFlag(name, value);
        if (!d.ok()) return d.status();
        if (*d <= absl::ZeroDuration()) return Bad(name, "must be positive");
        if (*d > absl::Hours(24)) return Bad(name, "must be at most 24h");
        options.duration = *d;
        duration_set = true;
      } else if (is("--requests", "-n")) {
        auto n = ParseIntFlag(name, value, 1, 1LL << 50);
        if (!n.ok()) return n.status();
        options.requests = *n;
      } else if (is("--warmup")) {
        auto d = ParseDurationFlag(name, value);
        if (!d.ok()) return d.status();
        if (*d > absl::Hours(1)) return Bad(name, "must be at most 1h");
        options.warmup = *d;
      } else if (is("--timeout")) {
        auto d = ParseDurationFlag(name, value);
        if (!d.ok()) return d.status();
        if (*d < absl::Milliseconds(1)) return Bad(name, "must be at least 1ms");
        options.request_timeout = *d;
      } else if (is("--target")) {
        target_specs.emplace_back(value);
      } else if (is("--zipf-families")) {
        auto n = ParseIntFlag(name, value, 1, 10000000);
        if (!n.ok()) return n.status();
        options.zipf_families = static_cast<int>(*n);
      } else if (is("--zipf-s")) {
        if (!absl::SimpleAtod(value, &options.zipf_s) || !(options.zipf_s >= 0) ||
            !std::isfinite(options.zipf_s)) {
          return Bad(name, "must be a number >= 0");
        }
      } else if (is("--zipf-pattern")) {
        if (!absl::StartsWith(value, "/") || !absl::StrContains(value, "{}") ||
            !HasNoControlChars(value)) {
          return Bad(name, "must start with '/', contain '{}' and no spaces");
        }
        options.zipf_pattern = std::string(value);
      } else if (is("--header", "-H")) {
        const size_t colon = value.find(':');
        if (colon == absl::string_view::npos || !IsToken(value.substr(0, colon)) ||
            value.find_first_of("\r\n") != absl::string_view::npos) {
          return Bad(name, absl::StrCat("'", value, "' is not 'Name: value'"));
        }
        options.headers.emplace_back(value);
      } else if (is("--pid")) {
        auto n = ParseIntFlag(name, value, 1, 1 << 30);
        if (!n.ok()) return n.status();
        options.pid = static_cast<int>(*n);
      } else {
        return Bad(name, "unknown option (see --help)");
      }
    }
  }

  if (!have_url) return Bad("URL", "missing: give the target as http://HOST:PORT[/PATH]");
  if (options.requests > 0 && !duration_set) options.duration = absl::Seconds(300);
  if (options.zipf_families > 0 && !target_specs.empty()) {
    return Bad("--zipf-families", "cannot be combined with --target");
  }
  for (const std::string& spec : target_specs) {
    auto target = ParseTarget(spec);
    if (!target.ok()) return target.status();
    options.targets.push_back(*std::move(target));
  }
  if (options.targets.empty() && options.zipf_families == 0) {
    TargetSpec target;
    target.path = url_path.empty() ? "/" : url_path;
    options.targets.push_back(target);
  }
  if (options.threads > options.connections) options.threads = options.connections;
  return options;
}

}  // namespace cosmo::loadgen
