// `cosmoctl usage FAMILY --since DURATION [--by minute|hour]`: a family's usage over time, per
// version, over the GetUsageHistory RPC (docs/dashboard.md).
//
// Thread-compatible.
#ifndef COSMO_HOSTS_COSMOCTL_USAGE_HISTORY_COMMAND_H_
#define COSMO_HOSTS_COSMOCTL_USAGE_HISTORY_COMMAND_H_

#include <grpcpp/grpcpp.h>

#include <CLI/CLI.hpp>
#include <functional>
#include <optional>
#include <string>

#include "cosmo/v1/control.grpc.pb.h"

namespace cosmoctl {

struct UsageHistoryArgs {
  std::string since;  // empty: not a history request
  std::string by = "minute";
};

// Adds --since and --by to the `usage` subcommand.
void AddUsageHistoryFlags(CLI::App& usage, UsageHistoryArgs* args);

// Runs the history request for `family`. `prepare` adds the token and deadline to the call;
// `fail` turns a failed call into the message cosmoctl prints. Returns that message on failure.
std::optional<std::string> RunUsageHistory(
    const UsageHistoryArgs& args, const std::string& family, cosmo::v1::Control::Stub& stub,
    const std::function<void(grpc::ClientContext*)>& prepare,
    const std::function<std::string(const std::string&, const grpc::Status&)>& fail, bool json);

}  // namespace cosmoctl

#endif  // COSMO_HOSTS_COSMOCTL_USAGE_HISTORY_COMMAND_H_
