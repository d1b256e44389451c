#include "support/etcd_cluster.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "nlohmann/json.hpp"

namespace cosmo::testing {
namespace {

bool CanBind(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  const bool ok = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return ok;
}

// A port that was free a moment ago, below the kernel's ephemeral range. Outside that range on
// purpose: a client reconnecting to a dead member's port inside it can be given that very port as
// its own source port and connect to itself (TCP simultaneous open), which then holds the port and
// stalls the client. Bound and released, so another process could take it before etcd does;
// Start() retries with fresh ports when a member fails to come up.
int FreePort() {
  static std::mt19937 rng(std::random_device{}());
  int low = 32768;
  std::ifstream range("/proc/sys/net/ipv4/ip_local_port_range");
  range >> low;
  if (low > 12000) {
    std::uniform_int_distribution<int> pick(10000, low - 1);
    for (int i = 0; i < 100; ++i) {
      const int port = pick(rng);
      if (CanBind(port)) return port;
    }
  }
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  int port = -1;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

// One HTTP/1.0 request to 127.0.0.1:port; returns the body of a 200 response.
absl::StatusOr<std::string> HttpRequest(int port, absl::string_view method, absl::string_view path,
                                        absl::string_view body) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  timeval timeout{.tv_sec = 2, .tv_usec = 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return absl::UnavailableError(absl::StrCat("connect to port ", port, " failed"));
  }
  const std::string request =
      absl::StrCat(method, " ", path, " HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: ",
                   "application/json\r\nContent-Length: ", body.size(), "\r\n\r\n", body);
  if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) != ssize_t(request.size())) {
    close(fd);
    return absl::UnavailableError("send failed");
  }
  std::string response;
  char buf[8192];
  ssize_t n;
  while ((n = recv(fd, buf, sizeof(buf), 0)) > 0) response.append(buf, n);
  close(fd);
  const size_t split = response.find("\r\n\r\n");
  if (split == std::string::npos || !absl::StartsWith(response, "HTTP/1.")) {
    return absl::UnavailableError(absl::StrCat("bad HTTP response from port ", port));
  }
  if (response.substr(9, 3) != "200") {
    return absl::UnavailableError(absl::StrCat("HTTP ", response.substr(9, 3), " from port ", port,
                                               ": ", response.substr(split + 4)));
  }
  return response.substr(split + 4);
}

std::string ScratchBase() {
  // etcd fsyncs every write; on tmpfs that is free, which keeps the tests fast.
  if (access("/dev/shm", W_OK) == 0) return "/dev/shm";
  const char* tmp = std::getenv("TMPDIR");
  return tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
}

}  // namespace

std::string EtcdCluster::FindBinary() {
  const char* env = std::getenv("COSMO_ETCD");
  if (env != nullptr && *env != '\0') return access(env, X_OK) == 0 ? env : "";
  const char* path = std::getenv("PATH");
  for (absl::string_view dir : absl::StrSplit(path != nullptr ? path : "", ':')) {
    if (dir.empty()) continue;
    std::string candidate = absl::StrCat(dir, "/etcd");
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return access("/usr/bin/etcd", X_OK) == 0 ? "/usr/bin/etcd" : "";
}

EtcdCluster::EtcdCluster(std::string binary, std::string base_dir)
    : binary_(std::move(binary)), base_dir_(std::move(base_dir)) {}

absl::StatusOr<std::unique_ptr<EtcdCluster>> EtcdCluster::Start(int members) {
  std::string binary = FindBinary();
  if (binary.empty()) return absl::NotFoundError(kNoBinary);
  absl::Status last;
  for (int attempt = 0; attempt < 3; ++attempt) {
    std::string pattern = ScratchBase() + "/cosmo-etcd-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) {
      return absl::InternalError(absl::StrCat("mkdtemp ", pattern, " failed"));
    }
    std::unique_ptr<EtcdCluster> cluster(new EtcdCluster(binary, pattern));
    last = cluster->Launch(members);
    if (last.ok()) return cluster;
  }
  return last;
}

absl::Status EtcdCluster::Launch(int members) {
  std::vector<std::string> peers;
  for (int i = 0; i < members; ++i) {
    Member m;
    m.name = absl::StrCat("m", i);
    m.client_port = FreePort();
    m.peer_port = FreePort();
    m.data_dir = absl::StrCat(base_dir_, "/", m.name);
    m.log_file = absl::StrCat(base_dir_, "/", m.name, ".log");
    peers.push_back(absl::StrCat(m.name, "=http://127.0.0.1:", m.peer_port));
    members_.push_back(std::move(m));
  }
  initial_cluster_ = absl::StrJoin(peers, ",");
  token_ = std::filesystem::path(base_dir_).filename().string();
  for (int i = 0; i < members; ++i) {
    if (absl::Status s = Spawn(i); !s.ok()) return s;
  }
  for (int i = 0; i < members; ++i) {
    if (absl::Status s = WaitHealthy(i, absl::Seconds(20)); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status EtcdCluster::Spawn(int i) {
  Member& m = members_[i];
  const std::string client_url = absl::StrCat("http://127.0.0.1:", m.client_port);
  const std::string peer_url = absl::StrCat("http://127.0.0.1:", m.peer_port);
  std::vector<std::string> args = {
      binary_,
      "--name=" + m.name,
      "--data-dir=" + m.data_dir,
      "--listen-client-urls=" + client_url,
      "--advertise-client-urls=" + client_url,
      "--listen-peer-urls=" + peer_url,
      "--initial-advertise-peer-urls=" + peer_url,
      "--initial-cluster=" + initial_cluster_,
      "--initial-cluster-token=" + token_,
      "--initial-cluster-state=new",
      "--logger=zap",
      "--log-outputs=stderr",
  };
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) return absl::InternalError("fork failed");
  if (pid == 0) {
    // Only async-signal-safe calls between fork and exec.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(1);
    int log = open(m.log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (log >= 0) {
      dup2(log, 1);
      dup2(log, 2);
    }
    int null = open("/dev/null", O_RDONLY);
    if (null >= 0) dup2(null, 0);
    execv(argv[0], argv.data());
    _exit(127);
  }
  m.pid = pid;
  return absl::OkStatus();
}

EtcdCluster::~EtcdCluster() {
  for (int i = 0; i < size(); ++i) Kill(i);
  // COSMO_ETCD_KEEP=1 keeps the data directories and member logs for a post-mortem.
  const char* keep = std::getenv("COSMO_ETCD_KEEP");
  if (keep != nullptr && std::string(keep) == "1") {
    std::fprintf(stderr, "etcd cluster kept in %s\n", base_dir_.c_str());
    return;
  }
  std::error_code ec;
  std::filesystem::remove_all(base_dir_, ec);
}

std::string EtcdCluster::ClientEndpoint(int i) const {
  return absl::StrCat("127.0.0.1:", members_[i].client_port);
}

std::vector<std::string> EtcdCluster::ClientEndpoints() const {
  std::vector<std::string> out;
  for (int i = 0; i < size(); ++i) out.push_back(ClientEndpoint(i));
  return out;
}

void EtcdCluster::Kill(int i) {
  Member& m = members_[i];
  if (m.pid <= 0) return;
  kill(m.pid, SIGKILL);
  waitpid(m.pid, nullptr, 0);
  m.pid = -1;
}

absl::Status EtcdCluster::Restart(int i) {
  if (Running(i)) return absl::FailedPreconditionError(absl::StrCat("member ", i, " is running"));
  if (absl::Status s = Spawn(i); !s.ok()) return s;
  return WaitHealthy(i, absl::Seconds(20));
}

std::string EtcdCluster::LogTail(int i) const {
  std::ifstream in(members_[i].log_file);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string log = ss.str();
  return log.size() > 2000 ? log.substr(log.size() - 2000) : log;
}

absl::Status EtcdCluster::WaitHealthy(int i, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  absl::Status last;
  while (absl::Now() < deadline) {
    Member& m = members_[i];
    if (m.pid <= 0)
      return absl::FailedPreconditionError(absl::StrCat("member ", i, " not running"));
    int wstatus = 0;
    if (waitpid(m.pid, &wstatus, WNOHANG) == m.pid) {
      m.pid = -1;
      return absl::InternalError(
          absl::StrCat("etcd member ", m.name, " exited during start-up:\n", LogTail(i)));
    }
    absl::StatusOr<std::string> body = HttpRequest(m.client_port, "GET", "/health", "");
    if (body.ok() && absl::StrContains(*body, "\"health\":\"true\"")) return absl::OkStatus();
    last = body.ok() ? absl::UnavailableError(*body) : body.status();
    absl::SleepFor(absl::Milliseconds(20));  // a probe interval, not a wait for an outcome
  }
  return absl::DeadlineExceededError(absl::StrCat(
      "etcd member ", members_[i].name, " not healthy: ", last.message(), "\n", LogTail(i)));
}

absl::StatusOr<int> EtcdCluster::WaitForLeader(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    for (int i = 0; i < size(); ++i) {
      if (!Running(i)) continue;
      absl::StatusOr<std::string> metrics =
          HttpRequest(members_[i].client_port, "GET", "/metrics", "");
      if (metrics.ok() && absl::StrContains(*metrics, "\netcd_server_is_leader 1\n")) return i;
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  return absl::DeadlineExceededError("no etcd leader elected");
}

absl::StatusOr<std::string> EtcdCluster::PostJson(absl::string_view path, absl::string_view body) {
  absl::Status last = absl::UnavailableError("no etcd member running");
  for (int i = 0; i < size(); ++i) {
    if (!Running(i)) continue;
    absl::StatusOr<std::string> out = HttpRequest(members_[i].client_port, "POST", path, body);
    if (out.ok()) return out;
    last = out.status();
  }
  return last;
}

absl::StatusOr<int64_t> EtcdCluster::CompactAll() {
  // etcd's grpc-gateway: JSON with base64 bytes and int64 as strings.
  absl::StatusOr<std::string> range =
      PostJson("/v3/kv/range", R"({"key":"AA==","count_only":true})");
  if (!range.ok()) return range.status();
  int64_t revision = 0;
  const auto json = nlohmann::json::parse(*range, nullptr, false);
  if (json.is_discarded() ||
      !absl::SimpleAtoi(json["header"]["revision"].get<std::string>(), &revision)) {
    return absl::InternalError(absl::StrCat("unexpected range response: ", *range));
  }
  absl::StatusOr<std::string> compact = PostJson(
      "/v3/kv/compaction", absl::StrCat(R"({"revision":")", revision, R"(","physical":true})"));
  if (!compact.ok()) return compact.status();
  return revision;
}

absl::StatusOr<int64_t> EtcdCluster::CountKeys(absl::string_view prefix) {
  std::string end(prefix);
  end.back() = static_cast<char>(end.back() + 1);
  absl::StatusOr<std::string> range = PostJson(
      "/v3/kv/range", absl::StrCat(R"({"key":")", absl::Base64Escape(prefix), R"(","range_end":")",
                                   absl::Base64Escape(end), R"(","count_only":true})"));
  if (!range.ok()) return range.status();
  const auto json = nlohmann::json::parse(*range, nullptr, false);
  if (json.is_discarded()) return absl::InternalError(*range);
  if (!json.contains("count")) return 0;  // proto3 JSON omits zero
  int64_t count = 0;
  if (!absl::SimpleAtoi(json["count"].get<std::string>(), &count)) {
    return absl::InternalError(*range);
  }
  return count;
}

}  // namespace cosmo::testing
