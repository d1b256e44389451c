// cosmoctl: the command-line client of the CosmoCompute control plane (docs/control-plane.md).
//
// Each subcommand is one or a few gRPC calls to cosmo-server. Human output by default (aligned
// tables, 12-digit versions, readable times and sizes), --json for machines. Exit status 0 on
// success; otherwise one line on stderr naming what failed and how to fix it, and exit status 1
// (the server refused or could not be reached) or 2 (bad command line).
#include <grpcpp/grpcpp.h>
#include <openssl/rand.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/host_port.h"
#include "cosmo/manifest.h"
#include "cosmo/registry.h"
#include "cosmo/v1/control.grpc.pb.h"
#include "format.h"
#include "kv_commands.h"
#include "table.h"
#include "usage_history_command.h"

namespace {

namespace pb = ::cosmo::v1;
using cosmoctl::HumanBytes;
using cosmoctl::HumanMicros;
using cosmoctl::HumanTime;
using cosmoctl::ShortVersion;
using cosmoctl::Table;
using json = nlohmann::ordered_json;

// A failure to report: one line, and the exit status.
struct Failure {
  std::string message;
  int exit_code = 1;
};

struct GlobalOptions {
  std::string server = "127.0.0.1:50051";
  std::string token;
  bool json = false;
  double timeout_seconds = 30;
};

void PrintJson(const json& value) { std::cout << value.dump(2) << "\n"; }

// gRPC's codes are Abseil's codes, number for number; Abseil names them.
std::string CodeName(grpc::StatusCode code) {
  std::string name = absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
  return name.empty() ? "UNKNOWN" : name;
}

// Talks to one server. Each call carries the token and a deadline.
class Client {
 public:
  explicit Client(const GlobalOptions& options) : options_(options) {
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(64 << 20);
    channel_ = grpc::CreateCustomChannel(options.server, grpc::InsecureChannelCredentials(), args);
    stub_ = pb::Control::NewStub(channel_);
  }

  void Prepare(grpc::ClientContext* context, bool deadline = true) const {
    if (!options_.token.empty()) {
      context->AddMetadata("authorization", "Bearer " + options_.token);
    }
    if (deadline) {
      context->set_deadline(
          std::chrono::system_clock::now() +
          std::chrono::milliseconds(static_cast<int64_t>(options_.timeout_seconds * 1000)));
    }
  }

  // A one-line description of a failed call: what, the code, the server's message, and a hint.
  Failure Fail(absl::string_view what, const grpc::Status& status) const {
    std::string message =
        absl::StrCat(what, ": ", CodeName(status.error_code()), ": ", status.error_message());
    switch (status.error_code()) {
      case grpc::StatusCode::UNAVAILABLE:
        absl::StrAppend(&message, " (is cosmo-server running at ", options_.server,
                        "? set --server or COSMO_SERVER)");
        break;
      case grpc::StatusCode::UNAUTHENTICATED:
        if (options_.token.empty()) absl::StrAppend(&message, " (set --token or COSMO_TOKEN)");
        break;
      case grpc::StatusCode::DEADLINE_EXCEEDED:
        absl::StrAppend(&message, " (raise --timeout)");
        break;
      default:
        break;
    }
    for (char& c : message) {
      if (c == '\n') c = ' ';
    }
    return Failure{message, 1};
  }

  // One unary call with the token and the deadline; the Failure naming `what` when it fails.
  template <typename Request, typename Response>
  std::optional<Failure> Call(absl::string_view what,
                              grpc::Status (pb::Control::Stub::*method)(grpc::ClientContext*,
                                                                        const Request&, Response*),
                              const Request& request, Response* response) {
    grpc::ClientContext context;
    Prepare(&context);
    grpc::Status status = (stub_.get()->*method)(&context, request, response);
    if (!status.ok()) return Fail(what, status);
    return std::nullopt;
  }

  pb::Control::Stub& stub() { return *stub_; }
  std::shared_ptr<grpc::Channel> channel() const { return channel_; }

 private:
  const GlobalOptions& options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<pb::Control::Stub> stub_;
};

std::optional<Failure> ReadBundle(const std::string& path, const std::string& engine_flag,
                                  std::string* engine, std::string* main,
                                  std::map<std::string, std::string>* files) {
  std::filesystem::path p(path);
  if (!engine_flag.empty()) {
    *engine = engine_flag;
  } else {
    std::string ext = absl::AsciiStrToLower(p.extension().string());
    if (ext == ".js" || ext == ".mjs") {
      *engine = "javascript";
    } else if (ext == ".liquid") {
      *engine = "liquid";
    } else {
      return Failure{absl::StrCat(path,
                                  ": cannot tell the engine from the file suffix; name it .js, "
                                  ".mjs or .liquid, or pass --engine"),
                     2};
    }
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return Failure{absl::StrCat(path, ": cannot read the file (does it exist?)"), 2};
  std::stringstream contents;
  contents << in.rdbuf();
  *main = p.filename().string();
  (*files)[*main] = contents.str();
  return std::nullopt;
}

std::optional<Failure> ParsePairs(const std::vector<std::string>& pairs, absl::string_view flag,
                                  std::map<std::string, std::string>* out) {
  for (const std::string& pair : pairs) {
    size_t eq = pair.find('=');
    if (eq == std::string::npos || eq == 0) {
      return Failure{absl::StrCat(flag, " ", pair, ": expected KEY=VALUE"), 2};
    }
    (*out)[pair.substr(0, eq)] = pair.substr(eq + 1);
  }
  return std::nullopt;
}

std::optional<Failure> ParseLimits(const std::vector<std::string>& pairs,
                                   std::map<std::string, uint64_t>* out) {
  std::map<std::string, std::string> raw;
  if (auto f = ParsePairs(pairs, "--limit", &raw)) return f;
  for (const auto& [key, value] : raw) {
    uint64_t n = 0;
    if (!absl::SimpleAtoi(value, &n)) {
      return Failure{absl::StrCat("--limit ", key, "=", value,
                                  ": the value must be a whole number (e.g. --limit cpu_ms=20)"),
                     2};
    }
    (*out)[key] = n;
  }
  return std::nullopt;
}

// KEY=VALUE lines of an --env-file: blank lines and lines starting with '#' are skipped, the
// value is everything after the first '=' (kept verbatim: no quotes or escapes are interpreted).
std::optional<Failure> ReadEnvFile(const std::string& path,
                                   std::map<std::string, std::string>* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Failure{absl::StrCat("--env-file ", path, ": cannot read the file"), 2};
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    absl::string_view trimmed = absl::StripLeadingAsciiWhitespace(line);
    if (trimmed.empty() || trimmed[0] == '#') continue;
    size_t eq = trimmed.find('=');
    if (eq == absl::string_view::npos || eq == 0) {
      return Failure{absl::StrCat("--env-file ", path, ":", number, ": expected KEY=VALUE"), 2};
    }
    (*out)[std::string(absl::StripTrailingAsciiWhitespace(trimmed.substr(0, eq)))] =
        std::string(trimmed.substr(eq + 1));
  }
  return std::nullopt;
}

json FamilyJson(const pb::Family& family) { return cosmoctl::ToJson(family); }

// --- subcommands -------------------------------------------------------------------------------

struct DeployArgs {
  std::string family, file, engine;
  std::vector<std::string> env, limits;
  std::vector<std::string> env_files, secrets;
  std::vector<std::string> kv;
  std::vector<std::string> crons;
  std::optional<std::string> expected_version;
  std::optional<uint32_t> percent;
};

// "0123456789ab 90%, fedcba987654 10%": a split's two sides, base first.
std::string SplitText(const pb::TrafficSplit& split) {
  return absl::StrCat(ShortVersion(split.base_version()), " ", 100 - split.canary_percent(), "%, ",
                      ShortVersion(split.canary_version()), " ", split.canary_percent(), "%");
}

std::optional<Failure> Deploy(Client& client, const GlobalOptions& g, const DeployArgs& a) {
  pb::DeployRequest request;
  request.set_family(a.family);
  std::string engine, main;
  std::map<std::string, std::string> files, env;
  std::map<std::string, uint64_t> limits;
  if (auto f = ReadBundle(a.file, a.engine, &engine, &main, &files)) return f;
  // Later sources win: env files in order, then --env, then --secret.
  for (const std::string& path : a.env_files) {
    if (auto f = ReadEnvFile(path, &env)) return f;
  }
  if (auto f = ParsePairs(a.env, "--env", &env)) return f;
  std::map<std::string, std::string> secrets;
  if (auto f = ParsePairs(a.secrets, "--secret", &secrets)) return f;
  for (const auto& [name, value] : secrets) {
    env[name] = value;
    // The server masks these values wherever it shows env or script output.
    request.add_secret_names(name);
  }
  if (auto f = ParseLimits(a.limits, &limits)) return f;
  std::map<std::string, std::string> kv;
  if (auto f = ParsePairs(a.kv, "--kv", &kv)) return f;
  request.set_engine(engine);
  request.set_main(main);
  request.mutable_files()->insert(files.begin(), files.end());
  request.mutable_env()->insert(env.begin(), env.end());
  request.mutable_limits()->insert(limits.begin(), limits.end());
  request.mutable_kv()->insert(kv.begin(), kv.end());
  for (const std::string& cron : a.crons) request.add_crons(cron);
  if (a.expected_version) request.set_expected_version(*a.expected_version);
  if (a.percent) request.set_percent(*a.percent);
  pb::DeployResponse response;
  if (auto f = client.Call(absl::StrCat("deploy ", a.family), &pb::Control::Stub::Deploy, request,
                           &response)) {
    return f;
  }
  if (g.json) {
    json out = cosmoctl::ToJson(response);
    out["family"] = a.family;
    PrintJson(out);
  } else if (response.created() && a.percent) {
    std::printf("deployed %s: version %s serves %u%% of requests, version %s the rest\n",
                a.family.c_str(), response.version().c_str(), *a.percent,
                ShortVersion(response.previous_version()).c_str());
  } else if (response.created()) {
    std::printf("deployed %s: version %s\n", a.family.c_str(), response.version().c_str());
  } else {
    std::printf("%s already runs version %s; nothing changed\n", a.family.c_str(),
                response.version().c_str());
  }
  return std::nullopt;
}

std::optional<Failure> Validate(Client& client, const GlobalOptions& g, const std::string& file,
                                const std::string& engine_flag,
                                const std::vector<std::string>& env_pairs,
                                const std::vector<std::string>& limit_pairs) {
  pb::ValidateRequest request;
  std::string engine, main;
  std::map<std::string, std::string> files, env;
  std::map<std::string, uint64_t> limits;
  if (auto f = ReadBundle(file, engine_flag, &engine, &main, &files)) return f;
  if (auto f = ParsePairs(env_pairs, "--env", &env)) return f;
  if (auto f = ParseLimits(limit_pairs, &limits)) return f;
  request.set_engine(engine);
  request.set_main(main);
  request.mutable_files()->insert(files.begin(), files.end());
  request.mutable_env()->insert(env.begin(), env.end());
  request.mutable_limits()->insert(limits.begin(), limits.end());
  pb::ValidateResponse response;
  if (auto f = client.Call(absl::StrCat("validate ", file), &pb::Control::Stub::Validate, request,
                           &response)) {
    return f;
  }
  if (g.json) {
    PrintJson(cosmoctl::ToJson(response));
  } else {
    std::printf("%s is valid (%s); it would deploy as version %s\n", file.c_str(), engine.c_str(),
                response.version().c_str());
  }
  return std::nullopt;
}

std::optional<Failure> List(Client& client, const GlobalOptions& g) {
  std::vector<pb::Family> families;
  std::string token;
  do {
    pb::ListFamiliesRequest request;
    request.set_page_size(1000);
    request.set_page_token(token);
    pb::ListFamiliesResponse response;
    if (auto f = client.Call("list", &pb::Control::Stub::ListFamilies, request, &response)) {
      return f;
    }
    for (const auto& f : response.families()) families.push_back(f);
    token = response.next_page_token();
  } while (!token.empty());
  if (g.json) {
    json out = json::array();
    for (const auto& f : families) out.push_back(FamilyJson(f));
    PrintJson(out);
    return std::nullopt;
  }
  if (families.empty()) {
    std::printf("no families yet; deploy one with `cosmoctl deploy FAMILY FILE`\n");
    return std::nullopt;
  }
  Table table({"FAMILY", "VERSION", "ENGINE", "UPDATED", "HISTORY"});
  for (const auto& f : families) {
    table.AddRow({f.family(),
                  f.has_split() ? SplitText(f.split()) : ShortVersion(f.active_version()),
                  f.engine(), HumanTime(f.update_time()), absl::StrCat(f.history_length())});
  }
  std::fputs(table.Render().c_str(), stdout);
  return std::nullopt;
}

std::optional<Failure> Get(Client& client, const GlobalOptions& g, const std::string& family) {
  pb::GetFamilyRequest request;
  request.set_family(family);
  pb::Family response;
  if (auto f = client.Call(absl::StrCat("get ", family), &pb::Control::Stub::GetFamily, request,
                           &response)) {
    return f;
  }
  if (g.json) {
    PrintJson(FamilyJson(response));
    return std::nullopt;
  }
  std::printf("family:   %s\n", response.family().c_str());
  std::printf("version:  %s\n", response.active_version().c_str());
  if (response.has_split()) {
    const pb::TrafficSplit& split = response.split();
    std::printf("split:    %s %u%% (base), %s %u%% (canary)\n", split.base_version().c_str(),
                100 - split.canary_percent(), split.canary_version().c_str(),
                split.canary_percent());
  }
  std::printf("engine:   %s\n", response.engine().c_str());
  std::printf("owner:    %s\n", response.owner_tenant().c_str());
  std::printf("created:  %s\n", HumanTime(response.create_time()).c_str());
  std::printf("updated:  %s\n", HumanTime(response.update_time()).c_str());
  std::printf("history:  %llu entries\n",
              static_cast<unsigned long long>(response.history_length()));
  // Secret values arrive as "***" already; the server never sends them.
  if (!response.env().empty()) {
    std::printf("env:\n");
    std::map<std::string, std::string> env(response.env().begin(), response.env().end());
    for (const auto& [name, value] : env) {
      const bool secret = std::find(response.secret_names().begin(), response.secret_names().end(),
                                    name) != response.secret_names().end();
      std::printf("  %s=%s%s\n", name.c_str(), value.c_str(), secret ? "  (secret)" : "");
    }
  }
  return std::nullopt;
}

std::optional<Failure> History(Client& client, const GlobalOptions& g, const std::string& family,
                               uint32_t limit) {
  std::vector<pb::HistoryEntry> entries;
  std::string token;
  do {
    pb::HistoryRequest request;
    request.set_family(family);
    request.set_page_size(limit == 0 ? 1000 : std::min<uint32_t>(limit, 1000));
    request.set_page_token(token);
    pb::HistoryResponse response;
    if (auto f = client.Call(absl::StrCat("history ", family), &pb::Control::Stub::History, request,
                             &response)) {
      return f;
    }
    for (const auto& e : response.entries()) {
      if (limit != 0 && entries.size() >= limit) break;
      entries.push_back(e);
    }
    token = response.next_page_token();
  } while (!token.empty() && (limit == 0 || entries.size() < limit));
  if (g.json) {
    json out = json::array();
    for (const auto& e : entries) out.push_back(cosmoctl::ToJson(e));
    PrintJson(out);
    return std::nullopt;
  }
  Table table({"#", "VERSION", "ACTION", "TIME", "SIZE", "BY"});
  for (const auto& e : entries) {
    std::string action = absl::AsciiStrToLower(pb::HistoryEntry::Action_Name(e.action()));
    if (e.has_split()) absl::StrAppend(&action, " (", SplitText(e.split()), ")");
    table.AddRow({absl::StrCat(e.sequence()), ShortVersion(e.version()), action,
                  HumanTime(e.time()), HumanBytes(e.size_bytes()), e.tenant()});
  }
  std::fputs(table.Render().c_str(), stdout);
  return std::nullopt;
}

std::optional<Failure> Rollback(Client& client, const GlobalOptions& g, const std::string& family,
                                const std::string& version) {
  pb::RollbackRequest request;
  request.set_family(family);
  request.set_version(version);
  pb::RollbackResponse response;
  if (auto f = client.Call(absl::StrCat("rollback ", family), &pb::Control::Stub::Rollback, request,
                           &response)) {
    return f;
  }
  if (g.json) {
    PrintJson(cosmoctl::ToJson(response));
  } else {
    std::printf("rolled back %s to version %s (history #%llu)\n", family.c_str(),
                response.entry().version().c_str(),
                static_cast<unsigned long long>(response.entry().sequence()));
  }
  return std::nullopt;
}

// "PREFIX=PERCENT" arguments of `cosmoctl split`.
std::optional<Failure> ParseShares(const std::vector<std::string>& args,
                                   pb::SplitTrafficRequest* request) {
  for (const std::string& arg : args) {
    const size_t eq = arg.find('=');
    uint32_t percent = 0;
    if (eq == std::string::npos || eq == 0 || !absl::SimpleAtoi(arg.substr(eq + 1), &percent)) {
      return Failure{
          absl::StrCat("split ", arg,
                       ": expected VERSION=PERCENT, e.g. 3fa4c1d2=90 (a version prefix of "
                       "8+ hex digits and a whole number)"),
          2};
    }
    pb::VersionPercent* share = request->add_versions();
    share->set_version(arg.substr(0, eq));
    share->set_percent(percent);
  }
  if (request->versions_size() != 2) {
    return Failure{"split: give exactly two VERSION=PERCENT arguments, e.g. V1=90 V2=10", 2};
  }
  return std::nullopt;
}

// What `split` and `promote` print: the entry they wrote.
void PrintEntry(const GlobalOptions& g, const std::string& family, const pb::HistoryEntry& entry,
                const google::protobuf::Message& response) {
  if (g.json) {
    PrintJson(cosmoctl::ToJson(response));
  } else if (entry.has_split()) {
    std::printf("%s now serves %s (history #%llu)\n", family.c_str(),
                SplitText(entry.split()).c_str(),
                static_cast<unsigned long long>(entry.sequence()));
  } else {
    std::printf("%s now serves version %s alone (history #%llu)\n", family.c_str(),
                entry.version().c_str(), static_cast<unsigned long long>(entry.sequence()));
  }
}

std::optional<Failure> Split(Client& client, const GlobalOptions& g, const std::string& family,
                             const std::vector<std::string>& shares) {
  pb::SplitTrafficRequest request;
  request.set_family(family);
  if (auto f = ParseShares(shares, &request)) return f;
  pb::SplitTrafficResponse response;
  if (auto f = client.Call(absl::StrCat("split ", family), &pb::Control::Stub::SplitTraffic,
                           request, &response)) {
    return f;
  }
  PrintEntry(g, family, response.entry(), response);
  return std::nullopt;
}

std::optional<Failure> Promote(Client& client, const GlobalOptions& g, const std::string& family) {
  pb::PromoteRequest request;
  request.set_family(family);
  pb::PromoteResponse response;
  if (auto f = client.Call(absl::StrCat("promote ", family), &pb::Control::Stub::Promote, request,
                           &response)) {
    return f;
  }
  PrintEntry(g, family, response.entry(), response);
  return std::nullopt;
}

std::optional<Failure> Delete(Client& client, const GlobalOptions& g, const std::string& family) {
  pb::DeleteFamilyRequest request;
  request.set_family(family);
  pb::DeleteFamilyResponse response;
  if (auto f = client.Call(absl::StrCat("delete ", family), &pb::Control::Stub::DeleteFamily,
                           request, &response)) {
    return f;
  }
  if (g.json) {
    PrintJson(json{{"family", family}, {"deleted", true}});
  } else {
    std::printf("deleted %s\n", family.c_str());
  }
  return std::nullopt;
}

// One request's median CPU time; "-" without requests.
std::string CpuP50(const pb::UsageTotals& t) {
  if (t.invocations() == 0 || t.cpu_p50_us() <= 0) return "-";
  return HumanMicros(static_cast<uint64_t>(std::llround(t.cpu_p50_us())));
}

std::vector<std::string> UsageRow(const std::string& name, const pb::UsageTotals& t) {
  return {name,
          absl::StrCat(t.invocations()),
          absl::StrCat(t.scheduled()),
          absl::StrCat(t.errors()),
          HumanMicros(t.cpu_us()),
          CpuP50(t),
          HumanMicros(t.wall_us()),
          HumanBytes(t.bytes_allocated()),
          HumanBytes(t.peak_heap_bytes()),
          absl::StrCat(t.kv_reads()),
          absl::StrCat(t.kv_writes()),
          absl::StrCat(t.kv_deletes()),
          absl::StrCat(t.kv_lists()),
          HumanBytes(t.kv_bytes_read()),
          HumanBytes(t.kv_bytes_written())};
}

// The two sides of a split family's usage side by side, to judge a canary: requests, error rate
// and CPU per request (mean and median) of each. Nothing for a family that is not split.
std::optional<Failure> PrintSplitUsage(Client& client, const std::string& family,
                                       const pb::FamilyUsage& usage) {
  pb::GetFamilyRequest request;
  request.set_family(family);
  pb::Family info;
  if (auto f = client.Call(absl::StrCat("usage ", family), &pb::Control::Stub::GetFamily, request,
                           &info)) {
    return f;
  }
  if (!info.has_split()) return std::nullopt;
  const pb::TrafficSplit& split = info.split();
  Table table({"SPLIT", "VERSION", "SHARE", "INVOCATIONS", "ERRORS", "ERROR RATE", "CPU/REQUEST",
               "CPU P50"});
  for (const bool canary : {false, true}) {
    const std::string& version = canary ? split.canary_version() : split.base_version();
    pb::UsageTotals totals;
    for (const auto& v : usage.versions()) {
      if (v.version() == version) totals = v.totals();
    }
    const uint64_t n = totals.invocations();
    table.AddRow({canary ? "canary" : "base", ShortVersion(version),
                  absl::StrCat(canary ? split.canary_percent() : 100 - split.canary_percent(), "%"),
                  absl::StrCat(n), absl::StrCat(totals.errors()),
                  n == 0 ? "-" : absl::StrFormat("%.2f%%", 100.0 * totals.errors() / n),
                  n == 0 ? "-" : HumanMicros(totals.cpu_us() / n), CpuP50(totals)});
  }
  std::printf("\n");
  std::fputs(table.Render().c_str(), stdout);
  return std::nullopt;
}

std::optional<Failure> Usage(Client& client, const GlobalOptions& g, const std::string& family) {
  pb::GetUsageRequest request;
  request.set_family(family);
  grpc::ClientContext context;
  client.Prepare(&context);
  pb::GetUsageResponse response;
  grpc::Status status = client.stub().GetUsage(&context, request, &response);
  if (!status.ok()) {
    return client.Fail(family.empty() ? "usage" : absl::StrCat("usage ", family), status);
  }
  if (g.json) {
    json out = json::array();
    for (const auto& f : response.families()) out.push_back(cosmoctl::ToJson(f));
    PrintJson(out);
    return std::nullopt;
  }
  if (response.families().empty()) {
    std::printf("no families yet\n");
    return std::nullopt;
  }
  Table table({family.empty() ? "FAMILY" : "VERSION", "INVOCATIONS", "SCHEDULED", "ERRORS", "CPU",
               "CPU P50", "WALL", "ALLOCATED", "PEAK HEAP", "KV READS", "KV WRITES", "KV DELETES",
               "KV LISTS", "KV READ", "KV WRITTEN"});
  for (const auto& f : response.families()) {
    if (family.empty()) {
      table.AddRow(UsageRow(f.family(), f.total()));
    } else {
      for (const auto& v : f.versions())
        table.AddRow(UsageRow(ShortVersion(v.version()), v.totals()));
      table.AddRow(UsageRow("total", f.total()));
    }
  }
  std::fputs(table.Render().c_str(), stdout);
  if (!family.empty()) return PrintSplitUsage(client, family, response.families(0));
  return std::nullopt;
}

std::optional<Failure> Logs(Client& client, const GlobalOptions& g, const std::string& family,
                            bool follow) {
  pb::TailLogsRequest request;
  request.set_family(family);
  request.set_follow(follow);
  grpc::ClientContext context;
  client.Prepare(&context, /*deadline=*/!follow);
  auto reader = client.stub().TailLogs(&context, request);
  pb::TailLogsResponse batch;
  while (reader->Read(&batch)) {
    if (batch.dropped() > 0 && !g.json) {
      std::printf("... %llu earlier records dropped\n",
                  static_cast<unsigned long long>(batch.dropped()));
    }
    for (const auto& r : batch.records()) {
      if (g.json) {
        std::cout << cosmoctl::ToJson(r).dump() << "\n";
      } else {
        std::string what =
            r.is_outcome() ? absl::StrCat("[", r.outcome(), "] ", r.text()) : r.text();
        std::printf("%s  %-5s  %s  %s\n", HumanTime(r.time()).c_str(), r.level().c_str(),
                    ShortVersion(r.version()).c_str(), what.c_str());
      }
    }
    std::fflush(stdout);
  }
  grpc::Status status = reader->Finish();
  if (!status.ok()) return client.Fail(absl::StrCat("logs ", family), status);
  return std::nullopt;
}

std::optional<Failure> Crons(Client& client, const GlobalOptions& g, const std::string& family) {
  pb::ListCronsRequest request;
  request.set_family(family);
  pb::ListCronsResponse response;
  if (auto f = client.Call(absl::StrCat("crons ", family), &pb::Control::Stub::ListCrons, request,
                           &response)) {
    return f;
  }
  if (g.json) {
    PrintJson(cosmoctl::ToJson(response));
    return std::nullopt;
  }
  if (response.crons().empty()) {
    std::printf("%s has no crons (deploy with --cron \"EXPR\")\n", family.c_str());
    return std::nullopt;
  }
  Table table({"CRON", "NEXT RUNS", "LAST RUN", "OUTCOME", "DURATION"});
  for (const auto& c : response.crons()) {
    std::vector<std::string> next;
    for (const auto& t : c.next_times()) next.push_back(cosmoctl::Rfc3339(t));
    const bool ran = c.has_last_time();
    const std::string none = "-";
    const bool ended = ran && !c.last_outcome().empty();
    table.AddRow({c.cron(), absl::StrJoin(next, ", "),
                  ran ? cosmoctl::Rfc3339(c.last_time()) : none,
                  ran ? (ended ? c.last_outcome() : std::string("running")) : none,
                  ended ? HumanMicros(c.last_duration_us()) : none});
  }
  std::fputs(table.Render().c_str(), stdout);
  return std::nullopt;
}

std::optional<Failure> Trigger(Client& client, const GlobalOptions& g, const std::string& family,
                               const std::string& cron) {
  pb::TriggerCronRequest request;
  request.set_family(family);
  request.set_cron(cron);
  pb::TriggerCronResponse response;
  if (auto f = client.Call(absl::StrCat("trigger ", family), &pb::Control::Stub::TriggerCron,
                           request, &response)) {
    return f;
  }
  if (g.json) {
    PrintJson(cosmoctl::ToJson(response));
  } else {
    for (const auto& r : response.console()) {
      std::printf("%s  %-5s  %s\n", HumanTime(r.time()).c_str(), r.level().c_str(),
                  r.text().c_str());
    }
    std::printf("scheduled \"%s\" at %s: %s in %s%s%s\n", response.cron().c_str(),
                cosmoctl::Rfc3339(response.scheduled_time()).c_str(), response.outcome().c_str(),
                HumanMicros(response.wall_us()).c_str(), response.error().empty() ? "" : ": ",
                response.error().c_str());
  }
  // The run's own failure is the command's: a script that throws exits non-zero.
  if (response.outcome() != "ok")
    return Failure{absl::StrCat("trigger ", family, ": ", response.outcome()), 1};
  return std::nullopt;
}

std::optional<Failure> TokenNew(const GlobalOptions& g, const std::string& tenant) {
  if (!cosmo::IsValidTenantName(tenant)) {
    return Failure{absl::StrCat("token new: tenant '", tenant,
                                "' must match ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"),
                   2};
  }
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof bytes) != 1) {
    return Failure{"token new: the system random generator failed (OpenSSL RAND_bytes)", 1};
  }
  const std::string token =
      absl::StrCat("cosmo_", absl::BytesToHexString(absl::string_view(
                                 reinterpret_cast<const char*>(bytes), sizeof bytes)));
  std::string line = absl::StrCat(tenant, " ", cosmo::Sha256Hex(token));
  if (g.json) {
    PrintJson(json{{"tenant", tenant}, {"token", token}, {"tokens_file_line", line}});
  } else {
    std::printf("token: %s\n", token.c_str());
    std::printf("tokens-file line (add it to the server's --auth-tokens-file, then restart it):\n");
    std::printf("%s\n", line.c_str());
  }
  return std::nullopt;
}

}  // namespace

int main(int argc, char** argv) {
  GlobalOptions g;
  if (const char* server = std::getenv("COSMO_SERVER")) g.server = server;
  CLI::App app{"cosmoctl: the command-line client of CosmoCompute's control plane"};
  app.require_subcommand(1);
  app.add_option("--server", g.server, "cosmo-server address HOST:PORT (env COSMO_SERVER)")
      ->capture_default_str();
  app.add_option("--token", g.token, "Bearer token (env COSMO_TOKEN)")->envname("COSMO_TOKEN");
  app.add_flag("--json", g.json, "Machine-readable JSON output");
  app.add_option("--timeout", g.timeout_seconds, "Seconds to wait for each call")
      ->capture_default_str();

  DeployArgs deploy;
  auto* deploy_cmd = app.add_subcommand("deploy", "Deploy FILE to FAMILY; prints the version");
  deploy_cmd->add_option("FAMILY", deploy.family, "Route family, e.g. shop")->required();
  deploy_cmd->add_option("FILE", deploy.file, "Source file (.js, .mjs or .liquid)")->required();
  deploy_cmd->add_option("--env", deploy.env, "Environment variable K=V (repeatable)")
      ->allow_extra_args(false);
  deploy_cmd
      ->add_option("--env-file", deploy.env_files,
                   "File of KEY=VALUE lines (# comments) added to env (repeatable)")
      ->allow_extra_args(false);
  deploy_cmd
      ->add_option("--secret", deploy.secrets,
                   "Secret K=V: in env like --env, never printed by cosmoctl (repeatable)")
      ->allow_extra_args(false);
  deploy_cmd
      ->add_option("--limit", deploy.limits,
                   "Limit K=N: cpu_ms, memory_mb, wall_ms, subrequests (repeatable)")
      ->allow_extra_args(false);
  deploy_cmd
      ->add_option("--cron", deploy.crons,
                   "Run the module's scheduled() at each minute matching this cron expression, "
                   "UTC, e.g. \"*/5 * * * *\" (repeatable, up to 10; docs/cron.md)")
      ->allow_extra_args(false);
  deploy_cmd->add_option("--engine", deploy.engine, "javascript or liquid (default: from suffix)");
  deploy_cmd
      ->add_option("--percent", deploy.percent,
                   "Gradual deployment: the new version serves P% of requests (0-100), the "
                   "version active before the rest, until `promote` or `rollback` "
                   "(docs/deployments.md)")
      ->check(CLI::Range(0, 100));
  std::string expected;
  deploy_cmd
      ->add_option("--kv", deploy.kv,
                   "Bind KV namespace NS as env.BINDING: BINDING=NS (repeatable; docs/kv.md)")
      ->allow_extra_args(false);
  auto* expected_opt = deploy_cmd->add_option(
      "--expected-version", expected,
      "Deploy only if the active version starts with this (empty: only if FAMILY is new)");
  expected_opt->expected(0, 1);  // `--expected-version=` (empty) is a value, not a missing one

  std::string validate_file, validate_engine;
  std::vector<std::string> validate_env, validate_limits;
  auto* validate_cmd = app.add_subcommand("validate", "Check FILE without deploying it");
  validate_cmd->add_option("FILE", validate_file, "Source file")->required();
  validate_cmd->add_option("--engine", validate_engine, "javascript or liquid");
  validate_cmd->add_option("--env", validate_env, "K=V (repeatable)")->allow_extra_args(false);
  validate_cmd->add_option("--limit", validate_limits, "K=N (repeatable)")->allow_extra_args(false);

  auto* list_cmd = app.add_subcommand("list", "List your families");

  std::string family;
  auto* get_cmd = app.add_subcommand("get", "Show a family");
  get_cmd->add_option("FAMILY", family)->required();

  uint32_t history_limit = 0;
  auto* history_cmd =
      app.add_subcommand("history", "A family's deploys and rollbacks, newest first");
  history_cmd->add_option("FAMILY", family)->required();
  history_cmd->add_option("-n,--limit", history_limit, "Show at most this many entries");

  cosmoctl::KvArgs kv_args;
  cosmoctl::AddKvCommands(app, &kv_args);

  std::string version;
  auto* rollback_cmd = app.add_subcommand(
      "rollback",
      "Activate VERSION (8+ hex digits), or the version before the current one; ends a split "
      "(without VERSION: on the split's base)");
  rollback_cmd->add_option("FAMILY", family)->required();
  rollback_cmd->add_option("VERSION", version);

  std::vector<std::string> shares;
  auto* split_cmd = app.add_subcommand(
      "split",
      "Split a family's requests between two versions of its history: V1=P1 V2=P2, percentages "
      "summing to 100 (docs/deployments.md)");
  split_cmd->add_option("FAMILY", family)->required();
  split_cmd->add_option("SHARES", shares, "VERSION=PERCENT twice (version prefixes of 8+ hex)")
      ->required()
      ->expected(2);

  auto* promote_cmd = app.add_subcommand(
      "promote", "End a family's split: its canary (the newer version) serves every request");
  promote_cmd->add_option("FAMILY", family)->required();

  auto* delete_cmd = app.add_subcommand("delete", "Delete a family and its history");
  delete_cmd->add_option("FAMILY", family)->required();

  auto* usage_cmd = app.add_subcommand("usage", "Metered usage of one family or all of yours");
  usage_cmd->add_option("FAMILY", family);
  cosmoctl::UsageHistoryArgs usage_history;
  cosmoctl::AddUsageHistoryFlags(*usage_cmd, &usage_history);

  bool follow = false;
  auto* logs_cmd = app.add_subcommand("logs", "Console output and failed requests of a family");
  logs_cmd->add_option("FAMILY", family)->required();
  logs_cmd->add_flag("-f,--follow", follow, "Keep printing new records until interrupted");

  auto* crons_cmd = app.add_subcommand(
      "crons", "A family's cron expressions with their next three runs and the last run");
  crons_cmd->add_option("FAMILY", family)->required();

  std::string trigger_cron;
  auto* trigger_cmd = app.add_subcommand(
      "trigger", "Run a family's scheduled() now and print its outcome and console output");
  trigger_cmd->add_option("FAMILY", family)->required();
  trigger_cmd->add_option("--cron", trigger_cron,
                          "The expression controller.cron names (default: the family's first)");

  std::string tenant;
  auto* token_cmd = app.add_subcommand("token", "Tokens for the server's --auth-tokens-file");
  token_cmd->require_subcommand(1);
  auto* token_new_cmd =
      token_cmd->add_subcommand("new", "Print a fresh random token and its tokens-file line");
  token_new_cmd->add_option("TENANT", tenant)->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& help) {
    return app.exit(help);
  } catch (const CLI::CallForAllHelp& help) {
    return app.exit(help);
  } catch (const CLI::ParseError& error) {
    std::vector<std::string> rest = app.remaining();
    if (app.get_subcommands().empty() && !rest.empty()) {
      std::fprintf(
          stderr,
          "cosmoctl: unknown command '%s'; use deploy, validate, list, get, history, "
          "rollback, split, promote, delete, usage, logs, kv, crons, trigger or token (see "
          "cosmoctl --help)\n",
          rest.front().c_str());
    } else {
      std::fprintf(stderr, "cosmoctl: %s (see cosmoctl --help)\n", error.what());
    }
    return 2;
  }
  // gRPC would take a malformed address for a name to resolve and fail every call UNAVAILABLE.
  if (!*token_new_cmd && !absl::StartsWith(g.server, "unix:")) {
    if (absl::StatusOr<cosmo::HostPort> server = cosmo::ParseHostPort(g.server); !server.ok()) {
      std::fprintf(stderr, "cosmoctl: --server: %s (see cosmoctl --help)\n",
                   std::string(server.status().message()).c_str());
      return 2;
    }
  }

  Client client(g);
  std::optional<Failure> failure;
  if (*deploy_cmd) {
    if (*expected_opt) deploy.expected_version = expected;
    failure = Deploy(client, g, deploy);
  } else if (*validate_cmd) {
    failure = Validate(client, g, validate_file, validate_engine, validate_env, validate_limits);
  } else if (*list_cmd) {
    failure = List(client, g);
  } else if (*get_cmd) {
    failure = Get(client, g, family);
  } else if (*history_cmd) {
    failure = History(client, g, family, history_limit);
  } else if (*rollback_cmd) {
    failure = Rollback(client, g, family, version);
  } else if (*split_cmd) {
    failure = Split(client, g, family, shares);
  } else if (*promote_cmd) {
    failure = Promote(client, g, family);
  } else if (*delete_cmd) {
    failure = Delete(client, g, family);
  } else if (*usage_cmd && !usage_history.since.empty()) {
    if (auto message = cosmoctl::RunUsageHistory(
            usage_history, family, client.stub(),
            [&](grpc::ClientContext* context) { client.Prepare(context); },
            [&](const std::string& what, const grpc::Status& status) {
              return client.Fail(what, status).message;
            },
            g.json)) {
      failure = Failure{*message, 1};
    }
  } else if (*usage_cmd) {
    failure = Usage(client, g, family);
  } else if (*logs_cmd) {
    failure = Logs(client, g, family, follow);
  } else if (*crons_cmd) {
    failure = Crons(client, g, family);
  } else if (*trigger_cmd) {
    failure = Trigger(client, g, family, trigger_cron);
  } else if (*token_new_cmd) {
    failure = TokenNew(g, tenant);
  } else if (*kv_args.kv) {
    std::unique_ptr<pb::Kv::Stub> kv_stub = pb::Kv::NewStub(client.channel());
    const cosmoctl::KvClient kv_client{
        kv_stub.get(), [&](grpc::ClientContext* context) { client.Prepare(context); },
        [&](const std::string& what, const grpc::Status& status) {
          Failure f = client.Fail(what, status);
          return cosmoctl::KvFailure{f.message, f.exit_code};
        },
        g.json};
    if (auto f = cosmoctl::RunKvCommand(kv_args, kv_client))
      failure = Failure{f->message, f->exit_code};
  }
  if (failure) {
    std::fprintf(stderr, "cosmoctl: %s\n", failure->message.c_str());
    return failure->exit_code;
  }
  return 0;
}
