#include "usage_history_command.h"

#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "format.h"
#include "table.h"

namespace cosmoctl {

void AddUsageHistoryFlags(CLI::App& usage, UsageHistoryArgs* args) {
  usage.add_option("--since", args->since,
                   "With FAMILY: usage over time from this long ago (e.g. 1h, 30m, 24h), per "
                   "version and bucket");
  usage.add_option("--by", args->by, "Bucket width of --since: minute or hour")
      ->check(CLI::IsMember({"minute", "hour"}));
}

std::optional<std::string> RunUsageHistory(
    const UsageHistoryArgs& args, const std::string& family, cosmo::v1::Control::Stub& stub,
    const std::function<void(grpc::ClientContext*)>& prepare,
    const std::function<std::string(const std::string&, const grpc::Status&)>& fail, bool json) {
  if (family.empty()) return "usage --since needs a FAMILY";
  absl::Duration since;
  if (!absl::ParseDuration(args.since, &since) || since <= absl::ZeroDuration()) {
    return absl::StrCat("--since: '", args.since, "' is not a positive duration like 1h or 30m");
  }
  cosmo::v1::GetUsageHistoryRequest request;
  request.set_family(family);
  request.set_since_unix_seconds(absl::ToUnixSeconds(absl::Now() - since));
  request.set_bucket_seconds(args.by == "hour" ? 3600 : 60);
  grpc::ClientContext context;
  prepare(&context);
  cosmo::v1::GetUsageHistoryResponse response;
  grpc::Status status = stub.GetUsageHistory(&context, request, &response);
  if (!status.ok()) return fail(absl::StrCat("usage ", family), status);
  if (json) {
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (const auto& b : response.buckets()) out.push_back(ToJson(b));
    std::cout << out.dump(2) << "\n";
    return std::nullopt;
  }
  if (response.buckets().empty()) {
    std::printf("no usage of %s in the last %s\n", family.c_str(),
                absl::FormatDuration(since).c_str());
    return std::nullopt;
  }
  Table table({"TIME (UTC)", "VERSION", "INVOCATIONS", "ERRORS", "CPU", "WALL"});
  for (const auto& b : response.buckets()) {
    const absl::Time start = absl::FromUnixSeconds(b.start_unix_seconds());
    const char* format = b.width_seconds() >= 3600 ? "%Y-%m-%d %H:00" : "%Y-%m-%d %H:%M";
    table.AddRow({absl::FormatTime(format, start, absl::UTCTimeZone()), ShortVersion(b.version()),
                  absl::StrCat(b.totals().invocations()), absl::StrCat(b.totals().errors()),
                  HumanMicros(b.totals().cpu_us()), HumanMicros(b.totals().wall_us())});
  }
  std::fputs(table.Render().c_str(), stdout);
  return std::nullopt;
}

}  // namespace cosmoctl
