// `cosmoctl kv ...`: the KV namespace subcommands (docs/kv.md), over the cosmo.v1.Kv service.
//
//   kv namespaces                     the caller's namespaces
//   kv list NS [--prefix P] [--limit N]   keys in byte order (every page unless --limit)
//   kv get NS KEY                     the value's bytes on stdout, as stored
//   kv put NS KEY (VALUE | --file F) [--ttl S] [--expiration T] [--metadata JSON]
//   kv delete NS KEY
//   kv delete-namespace NS
//
// Thread-compatible.
#ifndef COSMO_HOSTS_COSMOCTL_KV_COMMANDS_H_
#define COSMO_HOSTS_COSMOCTL_KV_COMMANDS_H_

#include <grpcpp/grpcpp.h>

#include <CLI/CLI.hpp>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "cosmo/v1/kv.grpc.pb.h"

namespace cosmoctl {

// What the command line chose; filled by the parse.
struct KvArgs {
  CLI::App* kv = nullptr;
  CLI::App* namespaces = nullptr;
  CLI::App* list = nullptr;
  CLI::App* get = nullptr;
  CLI::App* put = nullptr;
  CLI::App* del = nullptr;
  CLI::App* delete_namespace = nullptr;
  std::string ns, key, value, file, prefix, metadata;
  CLI::Option* value_opt = nullptr;
  CLI::Option* metadata_opt = nullptr;
  int64_t ttl = 0;
  int64_t expiration = 0;
  uint32_t limit = 0;
};

// Adds `kv` and its subcommands to `app`, writing into `args` (which must outlive the parse).
void AddKvCommands(CLI::App& app, KvArgs* args);

struct KvFailure {
  std::string message;
  int exit_code = 1;
};

// How a command reaches the server: `prepare` adds the token and deadline to a call, `fail` turns
// a failed call into the one-line message cosmoctl prints.
struct KvClient {
  cosmo::v1::Kv::Stub* stub;
  std::function<void(grpc::ClientContext*)> prepare;
  std::function<KvFailure(const std::string& what, const grpc::Status&)> fail;
  bool json = false;
};

// Runs the chosen kv subcommand (`args.kv` was given).
std::optional<KvFailure> RunKvCommand(const KvArgs& args, const KvClient& client);

}  // namespace cosmoctl

#endif  // COSMO_HOSTS_COSMOCTL_KV_COMMANDS_H_
