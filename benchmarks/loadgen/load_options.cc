#include "loadgen/load_options.h"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <type_traits>

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

// The flags, declared once: both the parser and --help come from here. Values stay text until
// ParseLoadOptions() checks them, so that every error names its flag in the same words.
struct CommandLine {
  CommandLine();

  // Whether `name` was given on the command line.
  bool Given(const std::string& name) const { return app.count(name) > 0; }

  CLI::App app;
  LoadOptions options;
  std::string url;
  std::string threads, connections, duration, requests, warmup, timeout;
  std::string zipf_families, zipf_s, zipf_pattern, pid;
  std::vector<std::string> targets, headers;
  bool no_keepalive = false;
  bool progress_on = false;
  bool progress_off = false;
};

CommandLine::CommandLine()
    : app("An HTTP/1.1 load generator: keep-alive connections driven by epoll on a few threads, "
          "each\nrequest's latency recorded in a log-linear histogram (within 0.8%). Prints "
          "requests, req/s,\nresponses by status, errors by kind, and latency mean, p50, p90, "
          "p99, p99.9 and max.\nOnly loopback targets are accepted unless --allow-remote.",
          "cosmo-loadgen") {
  options.progress = isatty(STDERR_FILENO) == 1;
  // Unknown words are reported by ParseLoadOptions(), in its own words.
  app.allow_extras();
  app.get_formatter()->column_width(32);
  app.add_option("URL", url, "http://HOST:PORT[/PATH], the server under load")->type_name("");

  const std::string load = "Load";
  app.add_option("-t,--threads", threads, "worker threads (default 1)")
      ->type_name("N")
      ->group(load);
  app.add_option("-c,--connections", connections,
                 "keep-alive connections over all threads (default 32)")
      ->type_name("N")
      ->group(load);
  app.add_option("-d,--duration", duration,
                 "measure for D (default 10s; e.g. 500ms, 2m); always bounds the run")
      ->type_name("D")
      ->group(load);
  app.add_option("-n,--requests", requests,
                 "stop after N responses (--duration still bounds the run,\n"
                 "then 300s by default)")
      ->type_name("N")
      ->group(load);
  app.add_option("--warmup", warmup, "apply load for D first without recording (default 0)")
      ->type_name("D")
      ->group(load);
  app.add_option("--timeout", timeout, "a response slower than D is a timeout error (default 5s)")
      ->type_name("D")
      ->group(load);
  app.add_flag("--no-keepalive", no_keepalive,
               "send `Connection: close` and reconnect for every request")
      ->group(load);

  const std::string requests_group = "Requests (default: GET of the URL's path)";
  app.add_option("--target", targets,
                 "add a request to the mix (repeatable), drawn with probability\n"
                 "proportional to WEIGHT (default 1); a BODY_FILE is sent as the body,\n"
                 "e.g. --target=GET:/hello/@9 --target=POST:/echo/:body.json@1")
      ->type_name("[METHOD:]PATH[:BODY_FILE][@WEIGHT]")
      ->allow_extra_args(false)  // one spec per --target; the URL is not one
      ->group(requests_group);
  app.add_option("--zipf-families", zipf_families,
                 "GET over N paths instead, rank k drawn with p ~ 1/(k+1)^s")
      ->type_name("N")
      ->group(requests_group);
  app.add_option("--zipf-s", zipf_s, "the Zipf exponent (default 1.1)")
      ->type_name("S")
      ->group(requests_group);
  app.add_option("--zipf-pattern", zipf_pattern,
                 "path of rank k: P with {} replaced by k (default /f{}/)")
      ->type_name("P")
      ->group(requests_group);
  app.add_option("-H,--header", headers, "add a request header (repeatable)")
      ->type_name("'Name: value'")
      ->allow_extra_args(false)
      ->group(requests_group);

  const std::string output = "Output";
  app.add_option("--pid", pid, "report RSS (final and peak) and CPU of process N (the server)")
      ->type_name("N")
      ->group(output);
  app.add_flag("--json", options.json, "print one JSON object instead of text")->group(output);
  app.add_flag("--progress", progress_on,
               "progress once a second on stderr (default: only on a terminal)")
      ->group(output);
  app.add_flag("--no-progress", progress_off, "no progress, even on a terminal")->group(output);
  app.add_flag("--allow-remote", options.allow_remote,
               "allow a target that is not a loopback address")
      ->group(output);

  app.footer(
      "Exit status: 0 when the run completed (even with error responses), 1 on bad usage or "
      "when\nthe target cannot be reached.");
}

}  // namespace

std::string LoadOptionsUsage() { return CommandLine().app.help(); }

absl::StatusOr<LoadOptions> ParseLoadOptions(int argc, char** argv) {
  CommandLine command_line;
  CLI::App& app = command_line.app;
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    command_line.options.help = true;
    return command_line.options;
  } catch (const CLI::ParseError& e) {
    return absl::InvalidArgumentError(e.what());
  }
  for (const std::string& extra : app.remaining()) {
    if (absl::StartsWith(extra, "-")) return Bad(extra, "unknown option (see --help)");
    return Bad(extra, "only one URL may be given");
  }

  LoadOptions& options = command_line.options;
  options.keep_alive = !command_line.no_keepalive;
  if (command_line.progress_on) options.progress = true;
  if (command_line.progress_off) options.progress = false;
  auto int_flag = [&](const std::string& name, const std::string& value, long long min,
                      long long max, auto* out) -> absl::Status {
    if (!command_line.Given(name)) return absl::OkStatus();
    auto n = ParseIntFlag(name, value, min, max);
    if (!n.ok()) return n.status();
    *out = static_cast<std::remove_pointer_t<decltype(out)>>(*n);
    return absl::OkStatus();
  };
  auto duration_flag = [&](const std::string& name, const std::string& value,
                           absl::Duration* out) -> absl::Status {
    if (!command_line.Given(name)) return absl::OkStatus();
    auto d = ParseDurationFlag(name, value);
    if (!d.ok()) return d.status();
    *out = *d;
    return absl::OkStatus();
  };
  for (absl::Status s : {
           int_flag("--threads", command_line.threads, 1, 256, &options.threads),
           int_flag("--connections", command_line.connections, 1, 100000, &options.connections),
           duration_flag("--duration", command_line.duration, &options.duration),
           int_flag("--requests", command_line.requests, 1, 1LL << 50, &options.requests),
           duration_flag("--warmup", command_line.warmup, &options.warmup),
           duration_flag("--timeout", command_line.timeout, &options.request_timeout),
           int_flag("--zipf-families", command_line.zipf_families, 1, 10000000,
                    &options.zipf_families),
           int_flag("--pid", command_line.pid, 1, 1 << 30, &options.pid),
       }) {
    if (!s.ok()) return s;
  }
  const bool duration_set = command_line.Given("--duration");
  if (duration_set && options.duration <= absl::ZeroDuration()) {
    return Bad("--duration", "must be positive");
  }
  if (options.duration > absl::Hours(24)) return Bad("--duration", "must be at most 24h");
  if (options.warmup > absl::Hours(1)) return Bad("--warmup", "must be at most 1h");
  if (options.request_timeout < absl::Milliseconds(1)) {
    return Bad("--timeout", "must be at least 1ms");
  }
  if (command_line.Given("--zipf-s") &&
      (!absl::SimpleAtod(command_line.zipf_s, &options.zipf_s) || !(options.zipf_s >= 0) ||
       !std::isfinite(options.zipf_s))) {
    return Bad("--zipf-s", "must be a number >= 0");
  }
  if (command_line.Given("--zipf-pattern")) {
    const std::string& pattern = command_line.zipf_pattern;
    if (!absl::StartsWith(pattern, "/") || !absl::StrContains(pattern, "{}") ||
        !HasNoControlChars(pattern)) {
      return Bad("--zipf-pattern", "must start with '/', contain '{}' and no spaces");
    }
    options.zipf_pattern = pattern;
  }
  for (absl::string_view header : command_line.headers) {
    const size_t colon = header.find(':');
    if (colon == absl::string_view::npos || !IsToken(header.substr(0, colon)) ||
        header.find_first_of("\r\n") != absl::string_view::npos) {
      return Bad("--header", absl::StrCat("'", header, "' is not 'Name: value'"));
    }
    options.headers.emplace_back(header);
  }

  if (command_line.url.empty()) {
    return Bad("URL", "missing: give the target as http://HOST:PORT[/PATH]");
  }
  auto url_path = ParseUrl(command_line.url, options);
  if (!url_path.ok()) return url_path.status();
  if (options.requests > 0 && !duration_set) options.duration = absl::Seconds(300);
  if (options.zipf_families > 0 && !command_line.targets.empty()) {
    return Bad("--zipf-families", "cannot be combined with --target");
  }
  for (const std::string& spec : command_line.targets) {
    auto target = ParseTarget(spec);
    if (!target.ok()) return target.status();
    options.targets.push_back(*std::move(target));
  }
  if (options.targets.empty() && options.zipf_families == 0) {
    TargetSpec target;
    target.path = url_path->empty() ? "/" : *url_path;
    options.targets.push_back(target);
  }
  if (options.threads > options.connections) options.threads = options.connections;
  return options;
}

}  // namespace cosmo::loadgen
