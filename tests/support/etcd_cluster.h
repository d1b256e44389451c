// Real etcd members on loopback ports for tests: temporary data directories (on tmpfs when there
// is one), readiness by HTTP health probes, and every member killed when the fixture is destroyed
// (and, through PR_SET_PDEATHSIG, when the test process dies).
//
// Not thread-safe: drive it from the test's main thread.
#ifndef COSMO_TESTS_SUPPORT_ETCD_CLUSTER_H_
#define COSMO_TESTS_SUPPORT_ETCD_CLUSTER_H_

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace cosmo::testing {

class EtcdCluster {
 public:
  // The etcd binary ($COSMO_ETCD, else etcd on $PATH or /usr/bin/etcd), or "" when there is none.
  static std::string FindBinary();

  // Why there is no cluster when FindBinary() finds nothing; tests skip with it.
  static constexpr char kNoBinary[] =
      "etcd binary not found (scripts/setup installs etcd-server; COSMO_ETCD names another)";

  // Starts `members` members and waits until every one is healthy (has a leader). NOT_FOUND with
  // kNoBinary when there is no etcd binary, so a test can skip:
  //   if (absl::IsNotFound(cluster.status())) GTEST_SKIP() << cluster.status().message();
  static absl::StatusOr<std::unique_ptr<EtcdCluster>> Start(int members);

  ~EtcdCluster();
  EtcdCluster(const EtcdCluster&) = delete;
  EtcdCluster& operator=(const EtcdCluster&) = delete;

  int size() const { return static_cast<int>(members_.size()); }
  // "127.0.0.1:PORT" of member i's client (gRPC) listener.
  std::string ClientEndpoint(int i) const;
  std::vector<std::string> ClientEndpoints() const;

  // Kills member i with SIGKILL (a crash, not a shutdown) and reaps it.
  void Kill(int i);
  // Starts member i again on its data directory and waits until it is healthy.
  absl::Status Restart(int i);
  bool Running(int i) const { return members_[i].pid > 0; }

  // Waits until member i answers /health with a leader.
  absl::Status WaitHealthy(int i, absl::Duration timeout);
  // The index of the running member that is leader, waiting for one to be elected.
  absl::StatusOr<int> WaitForLeader(absl::Duration timeout);

  // Compacts the key history at the current revision (through a running member); returns it.
  absl::StatusOr<int64_t> CompactAll();
  // Number of etcd keys starting with `prefix` (raw etcd keys, not Store keys).
  absl::StatusOr<int64_t> CountKeys(absl::string_view prefix);

 private:
  struct Member {
    std::string name;
    int client_port = 0;
    int peer_port = 0;
    std::string data_dir;
    std::string log_file;
    pid_t pid = -1;
  };

  EtcdCluster(std::string binary, std::string base_dir);
  absl::Status Spawn(int i);
  absl::Status Launch(int members);
  // A JSON POST to the grpc-gateway of a running member; returns the body.
  absl::StatusOr<std::string> PostJson(absl::string_view path, absl::string_view body);
  std::string LogTail(int i) const;

  std::string binary_;
  std::string base_dir_;
  std::string initial_cluster_;
  std::string token_;
  std::vector<Member> members_;
};

}  // namespace cosmo::testing

#endif  // COSMO_TESTS_SUPPORT_ETCD_CLUSTER_H_
