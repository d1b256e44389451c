#include "integration/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/host_port.h"

extern char** environ;

namespace cosmo::testing {
namespace {

std::vector<std::string> MergedEnv(const std::map<std::string, std::string>& extra) {
  std::map<std::string, std::string> all;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string kv(*e);
    size_t eq = kv.find('=');
    if (eq != std::string::npos) all[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (const auto& [k, v] : extra) {
    if (v == "\x01") {
      all.erase(k);
    } else {
      all[k] = v;
    }
  }
  std::vector<std::string> out;
  for (const auto& [k, v] : all) out.push_back(k + "=" + v);
  return out;
}

std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// Spawns argv with stdout to out_w and stderr to err_w (which may be the same fd).
absl::StatusOr<pid_t> Spawn(std::vector<std::string> argv, std::vector<std::string> env, int out_w,
                            int err_w) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_w, 1);
  posix_spawn_file_actions_adddup2(&actions, err_w, 2);
  // The child starts with default signal handling and an empty mask.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t empty, all;
  sigemptyset(&empty);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &empty);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  auto cargv = CStrings(argv);
  auto cenv = CStrings(env);
  pid_t pid = 0;
  int rc = posix_spawn(&pid, cargv[0], &actions, &attr, cargv.data(), cenv.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    return absl::InternalError(absl::StrCat("spawn ", argv[0], ": ", std::strerror(rc)));
  }
  return pid;
}

void Pipe(int fds[2]) {
  if (pipe2(fds, O_CLOEXEC) != 0) std::abort();
}

// Waits for the line with `marker` and returns the first word after it (a HOST:PORT).
absl::StatusOr<std::string> WaitForAddress(Subprocess& process, const std::string& marker) {
  auto line = process.WaitForLine(marker, absl::Seconds(30));
  if (!line.ok()) return line.status();
  const size_t at = line->find(marker) + marker.size();
  const size_t end = line->find(' ', at);
  return line->substr(at, end == std::string::npos ? std::string::npos : end - at);
}

// Waits for the HTTP data plane's readiness line; the port it listens on.
absl::StatusOr<int> WaitForHttpPort(Subprocess& process) {
  auto address = WaitForAddress(process, "data plane (HTTP) listening on ");
  if (!address.ok()) return address.status();
  auto host_port = ParseHostPort(*address);
  if (!host_port.ok()) return host_port.status();
  return host_port->port;
}

bool HasFlag(const std::vector<std::string>& args, absl::string_view flag) {
  for (const std::string& arg : args) {
    if (absl::StartsWith(arg, absl::StrCat(flag, "="))) return true;
  }
  return false;
}

std::vector<std::string> CosmoctlArgv(const std::string& server,
                                      const std::vector<std::string>& args) {
  std::vector<std::string> argv = {CosmoctlPath(), "--server=" + server};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

std::map<std::string, std::string> CosmoctlEnv(std::map<std::string, std::string> env) {
  env.emplace("COSMO_TOKEN", "\x01");
  env.emplace("COSMO_SERVER", "\x01");
  return env;
}

}  // namespace

std::string CosmoServerPath() { return COSMO_BINARY_DIR "/hosts/grpc_server/cosmo-server"; }
std::string CosmoGatewayPath() { return COSMO_BINARY_DIR "/hosts/http_gateway/cosmo-gateway"; }
std::string CosmoctlPath() { return COSMO_BINARY_DIR "/hosts/cosmoctl/cosmoctl"; }

CommandResult RunCommand(const std::vector<std::string>& argv,
                         const std::map<std::string, std::string>& env, absl::Duration timeout) {
  CommandResult result;
  int out[2], err[2];
  Pipe(out);
  Pipe(err);
  auto pid = Spawn(argv, MergedEnv(env), out[1], err[1]);
  close(out[1]);
  close(err[1]);
  if (!pid.ok()) {
    close(out[0]);
    close(err[0]);
    result.err = std::string(pid.status().message());
    return result;
  }
  const absl::Time deadline = absl::Now() + timeout;
  bool out_open = true, err_open = true;
  while (out_open || err_open) {
    pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
    int wait_ms = static_cast<int>(absl::ToInt64Milliseconds(deadline - absl::Now()));
    if (wait_ms <= 0) break;
    if (poll(fds, 2, wait_ms) < 0 && errno != EINTR) break;
    char buf[65536];
    for (int i = 0; i < 2; ++i) {
      bool& open = i == 0 ? out_open : err_open;
      if (!open || fds[i].revents == 0) continue;
      ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n <= 0) {
        open = false;
      } else {
        (i == 0 ? result.out : result.err).append(buf, n);
      }
    }
  }
  close(out[0]);
  close(err[0]);
  if (out_open || err_open) kill(*pid, SIGKILL);
  int status = 0;
  waitpid(*pid, &status, 0);
  result.exit_code = (WIFEXITED(status) && !out_open && !err_open) ? WEXITSTATUS(status) : -1;
  return result;
}

absl::StatusOr<std::unique_ptr<Subprocess>> Subprocess::Start(
    const std::vector<std::string>& argv, const std::map<std::string, std::string>& env) {
  int out[2];
  Pipe(out);
  auto pid = Spawn(argv, MergedEnv(env), out[1], out[1]);
  close(out[1]);
  if (!pid.ok()) {
    close(out[0]);
    return pid.status();
  }
  return std::unique_ptr<Subprocess>(new Subprocess(*pid, out[0]));
}

Subprocess::~Subprocess() {
  if (!exited_) {
    kill(pid_, SIGKILL);
    waitpid(pid_, &status_, 0);
  }
  close(out_fd_);
}

bool Subprocess::ReadSome(absl::Duration timeout) {
  pollfd fd = {out_fd_, POLLIN, 0};
  int rc = poll(&fd, 1, static_cast<int>(absl::ToInt64Milliseconds(timeout)));
  if (rc <= 0) return true;
  char buf[65536];
  ssize_t n = read(out_fd_, buf, sizeof buf);
  if (n <= 0) return false;
  output_.append(buf, n);
  return true;
}

absl::StatusOr<std::string> Subprocess::WaitForLine(const std::string& marker,
                                                    absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    // Complete lines not yet scanned.
    size_t newline;
    while ((newline = output_.find('\n', scanned_)) != std::string::npos) {
      std::string line = output_.substr(scanned_, newline - scanned_);
      scanned_ = newline + 1;
      if (line.find(marker) != std::string::npos) return line;
    }
    absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      return absl::DeadlineExceededError(
          absl::StrCat("no line with '", marker, "' in time; output: ", output_));
    }
    if (!ReadSome(std::min(left, absl::Milliseconds(100)))) {
      return absl::UnavailableError(absl::StrCat("process exited; output: ", output_));
    }
  }
}

void Subprocess::Signal(int signal) {
  if (!exited_) kill(pid_, signal);
}

int Subprocess::Wait(absl::Duration timeout) {
  if (!exited_) {
    const absl::Time deadline = absl::Now() + timeout;
    while (true) {
      pid_t r = waitpid(pid_, &status_, WNOHANG);
      if (r == pid_) break;
      if (absl::Now() > deadline) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &status_, 0);
        break;
      }
      ReadSome(absl::Milliseconds(20));
    }
    exited_ = true;
    while (ReadSome(absl::Milliseconds(50))) {
      pollfd fd = {out_fd_, POLLIN, 0};
      if (poll(&fd, 1, 0) <= 0) break;
    }
  }
  if (WIFEXITED(status_)) return WEXITSTATUS(status_);
  if (WIFSIGNALED(status_)) return -WTERMSIG(status_);
  return -1;
}

size_t Subprocess::ResidentBytes() const {
  std::ifstream status(absl::StrCat("/proc/", pid_, "/status"));
  std::string line;
  while (std::getline(status, line)) {
    size_t kib = 0;
    if (absl::StartsWith(line, "VmRSS:") &&
        absl::SimpleAtoi(absl::StripAsciiWhitespace(line.substr(6, line.size() - 6 - 3)), &kib)) {
      return kib << 10;
    }
  }
  return 0;
}

int Subprocess::Stop(absl::Duration timeout) {
  Signal(SIGTERM);
  return Wait(timeout);
}

std::vector<int> StopAll(std::initializer_list<Subprocess*> processes) {
  for (Subprocess* p : processes) p->Signal(SIGTERM);
  std::vector<int> exit_codes;
  for (Subprocess* p : processes) exit_codes.push_back(p->Wait());
  return exit_codes;
}

absl::StatusOr<std::unique_ptr<Subprocess>> StartCosmoServer(const std::vector<std::string>& args,
                                                             std::string* address, int* http_port) {
  std::vector<std::string> argv = {CosmoServerPath()};
  if (!HasFlag(args, "--grpc-listen")) argv.push_back("--grpc-listen=127.0.0.1:0");
  if (!HasFlag(args, "--http-listen")) {
    argv.push_back(http_port != nullptr ? "--http-listen=127.0.0.1:0" : "--http-listen=");
  }
  argv.insert(argv.end(), args.begin(), args.end());
  auto process = Subprocess::Start(argv);
  if (!process.ok()) return process.status();
  auto grpc_address = WaitForAddress(**process, "control plane (gRPC) listening on ");
  if (!grpc_address.ok()) return grpc_address.status();
  *address = *grpc_address;
  if (http_port != nullptr) {
    auto port = WaitForHttpPort(**process);
    if (!port.ok()) return port.status();
    *http_port = *port;
  }
  return process;
}

absl::StatusOr<std::unique_ptr<Subprocess>> StartCosmoGateway(
    const std::string& control, int* http_port, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {CosmoGatewayPath(), "--control=" + control,
                                   "--http-listen=127.0.0.1:0", "--usage-report-interval=200ms"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto process = Subprocess::Start(argv);
  if (!process.ok()) return process.status();
  auto port = WaitForHttpPort(**process);
  if (!port.ok()) return port.status();
  *http_port = *port;
  return process;
}

CommandResult RunCosmoctl(const std::string& server, const std::vector<std::string>& args,
                          std::map<std::string, std::string> env, absl::Duration timeout) {
  return RunCommand(CosmoctlArgv(server, args), CosmoctlEnv(std::move(env)), timeout);
}

absl::StatusOr<std::unique_ptr<Subprocess>> StartCosmoctl(const std::string& server,
                                                          const std::vector<std::string>& args) {
  return Subprocess::Start(CosmoctlArgv(server, args), CosmoctlEnv({}));
}

}  // namespace cosmo::testing
