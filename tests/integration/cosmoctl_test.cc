// cosmoctl end to end: the real binary against a real cosmo-server on loopback. Checks the
// human and --json output, exit codes and one-line errors, and that `token new` produces a line
// a server accepts.
#include <signal.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "cosmo/manifest.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "integration/raw_http_connection.h"
#include "integration/subprocess.h"
#include "support/temp_dir.h"

namespace cosmo {
namespace {

using ::cosmo::testing::CommandResult;
using ::cosmo::testing::CosmoctlPath;
using ::cosmo::testing::RawGet;
using ::cosmo::testing::RunCommand;
using ::cosmo::testing::RunCosmoctl;
using ::cosmo::testing::StartCosmoctl;
using ::cosmo::testing::StartCosmoServer;
using ::cosmo::testing::Subprocess;
using ::cosmo::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;

constexpr char kHello[] =
    "export default { fetch(request, env) { return new Response(`hi ${env.WHO}`); } };\n";

// A server without tokens (tenant "local"), shared by the suite; families are named per test.
class CosmoctlTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    auto server = StartCosmoServer({"--data-dir=" + dir_->Sub("data")}, &address_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = server->release();
  }
  static void TearDownTestSuite() {
    if (server_ != nullptr) {
      EXPECT_EQ(server_->Stop(), 0) << server_->output();
    }
    delete server_;
    delete dir_;
  }

  // Writes `contents` to a file named `name` in the temp dir; returns its path.
  static std::string File(const std::string& name, const std::string& contents) {
    std::string path = dir_->Sub(name);
    std::ofstream(path, std::ios::binary) << contents;
    return path;
  }

  static CommandResult Ctl(const std::vector<std::string>& args,
                           std::map<std::string, std::string> env = {}) {
    return RunCosmoctl(address_, args, std::move(env));
  }

  // The one line on stderr of a failed command.
  static void ExpectOneLineError(const CommandResult& r, int exit_code, const std::string& text) {
    EXPECT_EQ(r.exit_code, exit_code) << r.out << r.err;
    EXPECT_THAT(r.err, HasSubstr(text));
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_TRUE(absl::StartsWith(r.err, "cosmoctl: ")) << r.err;
  }

  static TempDir* dir_;
  static Subprocess* server_;
  static std::string address_;
};

TempDir* CosmoctlTest::dir_ = nullptr;
Subprocess* CosmoctlTest::server_ = nullptr;
std::string CosmoctlTest::address_;

TEST_F(CosmoctlTest, DeployPrintsTheVersionAnyoneCanRecompute) {
  std::string path = File("hello.js", kHello);
  CommandResult r =
      Ctl({"deploy", "ctl-hello", path, "--env", "WHO=world", "--limit", "cpu_ms=20"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Manifest m{.engine = "javascript",
             .main = "hello.js",
             .files = {{"hello.js", kHello}},
             .env = {{"WHO", "world"}},
             .limits = {{"cpu_ms", 20}}};
  const std::string version = *ComputeVersion(m);
  EXPECT_EQ(r.out, absl::StrCat("deployed ctl-hello: version ", version, "\n"));

  r = Ctl({"deploy", "ctl-hello", path, "--env", "WHO=world", "--limit", "cpu_ms=20"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("nothing changed"));
  EXPECT_THAT(r.out, HasSubstr(version));

  r = Ctl({"--json", "deploy", "ctl-hello", path, "--env", "WHO=world", "--limit", "cpu_ms=20"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto json = nlohmann::json::parse(r.out);
  EXPECT_EQ(json["version"], version);
  EXPECT_EQ(json["created"], false);
  EXPECT_EQ(json["family"], "ctl-hello");
}

TEST_F(CosmoctlTest, ListGetHistoryRollbackAndDeleteInHumanAndJsonForms) {
  const std::string first = Ctl({"deploy", "ctl-flow", File("one.js", kHello)}).out;
  absl::string_view v1_view = absl::StripAsciiWhitespace(first);
  ASSERT_TRUE(absl::ConsumePrefix(&v1_view, "deployed ctl-flow: version ")) << first;
  const std::string v1(v1_view);
  CommandResult r = Ctl({"--json", "deploy", "ctl-flow", File("two.mjs", kHello)});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string v2 = nlohmann::json::parse(r.out)["version"];

  r = Ctl({"list"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> lines = absl::StrSplit(r.out, '\n', absl::SkipEmpty());
  EXPECT_THAT(lines[0], MatchesRegex("FAMILY +VERSION +ENGINE +UPDATED +HISTORY"));
  bool found = false;
  for (const auto& line : lines) {
    if (absl::StartsWith(line, "ctl-flow ")) {
      found = true;
      EXPECT_THAT(line, HasSubstr(v2.substr(0, 12)));
      EXPECT_THAT(line, Not(HasSubstr(v2.substr(0, 13))));  // short versions
      EXPECT_THAT(line, HasSubstr("javascript"));
    }
  }
  EXPECT_TRUE(found) << r.out;
  // Columns line up: every row's VERSION starts where the header's does.
  const size_t column = lines[0].find("VERSION");
  for (size_t i = 1; i < lines.size(); ++i) EXPECT_NE(lines[i][column], ' ') << lines[i];

  r = Ctl({"--json", "list"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  bool listed = false;
  for (const auto& f : nlohmann::json::parse(r.out)) {
    if (f["family"] == "ctl-flow") {
      listed = true;
      EXPECT_EQ(f["active_version"], v2);
      EXPECT_EQ(f["owner_tenant"], "local");
      EXPECT_EQ(f["history_length"], 2);
    }
  }
  EXPECT_TRUE(listed);

  r = Ctl({"get", "ctl-flow"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("version:  " + v2));
  EXPECT_THAT(r.out, HasSubstr("owner:    local"));

  r = Ctl({"history", "ctl-flow"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  lines = absl::StrSplit(r.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 3u) << r.out;
  EXPECT_THAT(lines[1], MatchesRegex("2 +" + v2.substr(0, 12) + " +deploy +.* B +local"));
  EXPECT_THAT(lines[2], MatchesRegex("1 +" + v1.substr(0, 12) + " +deploy .*"));

  // Rollback by a prefix of 8.
  r = Ctl({"rollback", "ctl-flow", v1.substr(0, 8)});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, absl::StrCat("rolled back ctl-flow to version ", v1, " (history #3)\n"));
  // And back again, without naming one.
  r = Ctl({"--json", "rollback", "ctl-flow"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto entry = nlohmann::json::parse(r.out)["entry"];
  EXPECT_EQ(entry["version"], v2);
  EXPECT_EQ(entry["action"], "ROLLBACK");
  EXPECT_EQ(entry["sequence"], 4);

  r = Ctl({"--json", "history", "ctl-flow"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out).size(), 4u);

  r = Ctl({"delete", "ctl-flow"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "deleted ctl-flow\n");
  ExpectOneLineError(Ctl({"get", "ctl-flow"}), 1, "get ctl-flow: NOT_FOUND");
}

TEST_F(CosmoctlTest, ExpectedVersionGuardsADeploy) {
  const std::string one = File("guard1.js", kHello);
  const std::string two = File("guard2.js", std::string(kHello) + "// two\n");
  CommandResult r = Ctl({"--json", "deploy", "ctl-guard", one, "--expected-version="});
  ASSERT_EQ(r.exit_code, 0) << r.err;  // empty: only if new
  const std::string v1 = nlohmann::json::parse(r.out)["version"];
  ExpectOneLineError(Ctl({"deploy", "ctl-guard", two, "--expected-version="}), 1,
                     "deploy ctl-guard: ABORTED");
  ExpectOneLineError(Ctl({"deploy", "ctl-guard", two, "--expected-version=0000000000"}), 1,
                     "ABORTED");
  r = Ctl({"deploy", "ctl-guard", two, "--expected-version=" + v1.substr(0, 8)});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_F(CosmoctlTest, TheEngineComesFromTheFileSuffix) {
  // .mjs is JavaScript.
  CommandResult r = Ctl({"validate", File("module.mjs", kHello)});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("(javascript)"));
  // .liquid asks for the Liquid engine: valid where the server has it, otherwise the server says
  // which engines it runs.
  r = Ctl({"validate", File("page.liquid", "<p>{{ request.path }}</p>\n")});
  if (r.exit_code == 0) {
    EXPECT_THAT(r.out, HasSubstr("(liquid)"));
  } else {
    ExpectOneLineError(r, 1, "unknown engine 'liquid'");
  }
  // --engine overrides the suffix.
  r = Ctl({"validate", File("script.txt", kHello), "--engine", "javascript"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_F(CosmoctlTest, ValidateReportsSyntaxErrorsWithLineAndColumn) {
  CommandResult r = Ctl({"validate", File("good.js", kHello)});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("is valid"));
  r = Ctl({"validate", File("broken.js", "export default {\n  fetch( {\n")});
  ExpectOneLineError(r, 1, "INVALID_ARGUMENT: broken.js:");
}

TEST_F(CosmoctlTest, UsageAndLogsOfAFamily) {
  ASSERT_EQ(Ctl({"deploy", "ctl-usage", File("u.js", kHello)}).exit_code, 0);
  CommandResult r = Ctl({"usage"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(
      r.out,
      MatchesRegex("(.|\n)*FAMILY +INVOCATIONS +SCHEDULED +ERRORS +CPU +CPU P50 +WALL(.|\n)*"));
  EXPECT_THAT(r.out, HasSubstr("ctl-usage"));
  r = Ctl({"--json", "usage", "ctl-usage"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto usage = nlohmann::json::parse(r.out);
  ASSERT_EQ(usage.size(), 1u);
  EXPECT_EQ(usage[0]["family"], "ctl-usage");
  EXPECT_EQ(usage[0]["total"]["invocations"], 0);

  r = Ctl({"logs", "ctl-usage"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  ExpectOneLineError(Ctl({"logs", "ctl-nothing"}), 1, "logs ctl-nothing: NOT_FOUND");
}

TEST_F(CosmoctlTest, ErrorsAreOneLineNamingTheThingAndTheFix) {
  ExpectOneLineError(Ctl({"deploy", "ctl-x", dir_->Sub("missing.js")}), 2, "missing.js");
  ExpectOneLineError(Ctl({"deploy", "ctl-x", File("notes.txt", "hi")}), 2, ".js, .mjs or .liquid");
  ExpectOneLineError(Ctl({"deploy", "Bad_Name", File("b.js", kHello)}), 1,
                     "deploy Bad_Name: INVALID_ARGUMENT: family");
  ExpectOneLineError(Ctl({"deploy", "ctl-x", File("c.js", kHello), "--limit", "cpu_ms=lots"}), 2,
                     "--limit cpu_ms=lots");
  ExpectOneLineError(Ctl({"deploy", "ctl-x", File("d.js", kHello), "--env", "NOEQUALS"}), 2,
                     "--env NOEQUALS");
  ExpectOneLineError(Ctl({"rollback", "ctl-none"}), 1, "rollback ctl-none: NOT_FOUND");
  ExpectOneLineError(Ctl({"frobnicate"}), 2, "frobnicate");
  CommandResult r = RunCommand({CosmoctlPath(), "--server=127.0.0.1:1", "--timeout=5", "list"});
  ExpectOneLineError(r, 1, "is cosmo-server running at 127.0.0.1:1");
  ExpectOneLineError(Ctl({"token", "new", "not a tenant"}), 2, "tenant");
}

TEST_F(CosmoctlTest, CronsAndTriggerShowAndRunTheScheduledHandler) {
  const std::string path = File("job.js",
                                "export default { fetch() { return 'ok'; },\n"
                                "  scheduled(controller, env) {\n"
                                "    console.log(`${controller.type} ${controller.cron}`);\n"
                                "    if (env.FAIL) throw new Error('job failed');\n"
                                "  } };\n");
  // Deploy refuses a bad expression, naming the entry and the field.
  ExpectOneLineError(
      Ctl({"deploy", "ctl-job", path, "--cron", "* * * * *", "--cron", "61 * * * *"}), 1,
      "crons[1]: cron expression \"61 * * * *\": minute field: '61' is out of "
      "range 0-59");
  CommandResult r =
      Ctl({"deploy", "ctl-job", path, "--cron", "*/5 * * * *", "--cron", "0 9 * * MON#2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;

  r = Ctl({"crons", "ctl-job"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("NEXT RUNS"));
  EXPECT_THAT(r.out, HasSubstr("*/5 * * * *"));
  EXPECT_THAT(r.out, HasSubstr("0 9 * * MON#2"));
  r = Ctl({"--json", "crons", "ctl-job"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto json = nlohmann::json::parse(r.out);
  ASSERT_EQ(json["crons"].size(), 2u);
  EXPECT_EQ(json["crons"][1]["cron"], "0 9 * * MON#2");
  EXPECT_EQ(json["crons"][1]["next_times"].size(), 3u);

  r = Ctl({"trigger", "ctl-job", "--cron", "0 9 * * MON#2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("scheduled 0 9 * * MON#2\n"));
  EXPECT_THAT(r.out, HasSubstr("scheduled \"0 9 * * MON#2\" at "));
  EXPECT_THAT(r.out, HasSubstr(": ok in "));
  r = Ctl({"--json", "trigger", "ctl-job"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json = nlohmann::json::parse(r.out);
  EXPECT_EQ(json["cron"], "*/5 * * * *");
  EXPECT_EQ(json["outcome"], "ok");
  EXPECT_EQ(json["console"][0]["text"], "scheduled */5 * * * *");

  // A run that throws: printed, and the command fails.
  ASSERT_EQ(Ctl({"deploy", "ctl-job", path, "--cron", "*/5 * * * *", "--env", "FAIL=1"}).exit_code,
            0);
  r = Ctl({"trigger", "ctl-job"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.out, HasSubstr(": exception in "));
  EXPECT_THAT(r.out, HasSubstr("job failed"));
  EXPECT_THAT(r.err, HasSubstr("cosmoctl: trigger ctl-job: exception"));

  // The three runs are usage like requests, and counted apart in the SCHEDULED column.
  r = Ctl({"--json", "usage", "ctl-job"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)[0]["total"]["scheduled"], 3);
  r = Ctl({"usage", "ctl-job"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> lines = absl::StrSplit(r.out, '\n');
  std::vector<std::string> header = absl::StrSplit(lines[0], ' ', absl::SkipEmpty());
  ASSERT_GE(header.size(), 3u) << r.out;
  EXPECT_EQ(header[2], "SCHEDULED") << r.out;
  bool total_row = false;
  for (const std::string& line : lines) {
    std::vector<std::string> cells = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (cells.size() < 3 || cells[0] != "total") continue;
    total_row = true;
    EXPECT_EQ(cells[1], "3") << r.out;  // invocations
    EXPECT_EQ(cells[2], "3") << r.out;  // of which scheduled
  }
  EXPECT_TRUE(total_row) << r.out;
}

TEST_F(CosmoctlTest, CronsAndTriggerRefuseBadInput) {
  const std::string path = File("plain.js", "export default { fetch() { return 'ok'; } };\n");
  ASSERT_EQ(Ctl({"deploy", "ctl-plain", path}).exit_code, 0);
  ExpectOneLineError(Ctl({"trigger", "ctl-plain"}), 1,
                     "family 'ctl-plain' has no crons; deploy it with --cron");
  ExpectOneLineError(Ctl({"deploy", "ctl-plain", path, "--cron", "* * * * *"}), 1,
                     "the family has crons but the default export has no scheduled() method");
  ExpectOneLineError(Ctl({"trigger", "ctl-nobody"}), 1, "ctl-nobody");
  ExpectOneLineError(Ctl({"crons", "ctl-nobody"}), 1, "ctl-nobody");
  ExpectOneLineError(Ctl({"crons", "Not A Family!"}), 1, "Not A Family!");
  const std::string job =
      File("job2.js", "export default { fetch() { return 'ok'; }, scheduled() {} };\n");
  ASSERT_EQ(Ctl({"deploy", "ctl-job2", job, "--cron", "0 * * * *"}).exit_code, 0);
  ExpectOneLineError(Ctl({"trigger", "ctl-job2", "--cron", "1 * * * *"}), 1,
                     "cron: \"1 * * * *\" is not one of 'ctl-job2's crons: \"0 * * * *\"");
  ExpectOneLineError(Ctl({"trigger", "ctl-job2", "--cron", std::string(100000, '*')}), 1,
                     "is not one of");
  std::vector<std::string> eleven = {"deploy", "ctl-job2", job};
  for (int i = 0; i < 11; ++i) {
    eleven.push_back("--cron");
    eleven.push_back(absl::StrCat(i, " * * * *"));
  }
  ExpectOneLineError(Ctl(eleven), 1, "crons: 11 expressions exceed the limit of 10 per family");
  CommandResult r = Ctl({"crons", "ctl-plain"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("ctl-plain has no crons"));
}

TEST_F(CosmoctlTest, HelpListsEverySubcommand) {
  CommandResult r = RunCommand({CosmoctlPath(), "--help"});
  EXPECT_EQ(r.exit_code, 0);
  for (const char* sub :
       {"deploy", "validate", "list", "get", "history", "rollback", "delete", "usage", "logs",
        "crons", "trigger", "token", "--server", "--token", "--json"}) {
    EXPECT_THAT(r.out, HasSubstr(sub));
  }
}

// `token new` output works end to end: a server started with its line accepts the token through
// --token and COSMO_TOKEN, and refuses calls without it.
TEST(CosmoctlTokenTest, TokenNewLineIsAcceptedByAServer) {
  TempDir dir;
  CommandResult made = RunCommand({CosmoctlPath(), "--json", "token", "new", "team-a"});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  auto token_json = nlohmann::json::parse(made.out);
  const std::string token = token_json["token"];
  const std::string line = token_json["tokens_file_line"];
  EXPECT_GE(token.size(), 64u);
  EXPECT_EQ(line, "team-a " + Sha256Hex(token));
  // A second token differs.
  CommandResult other = RunCommand({CosmoctlPath(), "token", "new", "team-a"});
  ASSERT_EQ(other.exit_code, 0);
  EXPECT_THAT(other.out, Not(HasSubstr(token)));
  EXPECT_THAT(other.out, HasSubstr("team-a "));

  std::ofstream(dir.Sub("tokens")) << line << "\n";
  std::string address;
  auto server = StartCosmoServer(
      {"--data-dir=" + dir.Sub("data"), "--auth-tokens-file=" + dir.Sub("tokens")}, &address);
  ASSERT_TRUE(server.ok()) << server.status();
  std::string script = dir.Sub("t.js");
  std::ofstream(script) << kHello;

  CommandResult r = RunCosmoctl(address, {"deploy", "team-app", script});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("UNAUTHENTICATED"));
  EXPECT_THAT(r.err, HasSubstr("--token or COSMO_TOKEN"));
  r = RunCosmoctl(address, {"--token=" + token, "deploy", "team-app", script});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = RunCosmoctl(address, {"get", "team-app"}, {{"COSMO_TOKEN", token}});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("owner:    team-a"));
  EXPECT_EQ((*server)->Stop(), 0);
}

// With the HTTP data plane on: requests served by cosmo-server show up in `cosmoctl usage` and
// `cosmoctl logs`, and `logs -f` follows them as they happen.
TEST(CosmoctlDataPlaneTest, UsageAndLogsFollowRealInvocations) {
  TempDir dir;
  std::string address;
  int http_port = 0;
  auto server = StartCosmoServer({"--data-dir=" + dir.Sub("data")}, &address, &http_port);
  ASSERT_TRUE(server.ok()) << server.status();
  auto ctl = [&](const std::vector<std::string>& args) { return RunCosmoctl(address, args); };
  std::string script = dir.Sub("visits.js");
  std::ofstream(script) << "export default { fetch(request) {\n"
                        << "  console.log('visit ' + new URL(request.url).pathname);\n"
                        << "  return new Response('ok');\n} };\n";
  CommandResult deployed = ctl({"--json", "deploy", "visits", script});
  ASSERT_EQ(deployed.exit_code, 0) << deployed.err;
  const std::string version = nlohmann::json::parse(deployed.out)["version"];

  auto follower = StartCosmoctl(address, {"logs", "visits", "-f"});
  ASSERT_TRUE(follower.ok());
  auto response = RawGet(http_port, "/visits/first");
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_THAT(*response, HasSubstr("200 OK"));
  auto line = (*follower)->WaitForLine("visit /visits/first", absl::Seconds(20));
  EXPECT_TRUE(line.ok()) << line.status();
  if (line.ok()) {
    EXPECT_THAT(*line, HasSubstr(version.substr(0, 12)));
  }

  // A failing version: its outcome is logged too.
  std::string failing = dir.Sub("fails.js");
  std::ofstream(failing) << "export default { fetch() { throw new Error('kaboom'); } };\n";
  ASSERT_EQ(ctl({"deploy", "visits", failing}).exit_code, 0);
  response = RawGet(http_port, "/visits/second");
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_THAT(*response, HasSubstr("500"));
  line = (*follower)->WaitForLine("kaboom", absl::Seconds(20));
  EXPECT_TRUE(line.ok()) << line.status();
  if (line.ok()) {
    EXPECT_THAT(*line, HasSubstr("[exception]"));
  }
  (*follower)->Signal(SIGINT);
  (*follower)->Wait(absl::Seconds(10));

  CommandResult logs = ctl({"logs", "visits"});
  EXPECT_EQ(logs.exit_code, 0) << logs.err;
  EXPECT_THAT(logs.out, HasSubstr("visit /visits/first"));
  EXPECT_THAT(logs.out, HasSubstr("kaboom"));

  CommandResult usage = ctl({"--json", "usage", "visits"});
  ASSERT_EQ(usage.exit_code, 0) << usage.err;
  auto totals = nlohmann::json::parse(usage.out)[0];
  EXPECT_EQ(totals["total"]["invocations"], 2);
  EXPECT_EQ(totals["total"]["errors"], 1);
  EXPECT_EQ(totals["total"]["outcomes"]["ok"], 1);
  EXPECT_EQ(totals["total"]["outcomes"]["exception"], 1);
  EXPECT_GT(totals["total"]["wall_us"].get<uint64_t>(), 0u);
  EXPECT_EQ(totals["versions"].size(), 2u);
  CommandResult human = ctl({"usage", "visits"});
  EXPECT_THAT(human.out, HasSubstr(version.substr(0, 12)));
  EXPECT_THAT(human.out, HasSubstr("total"));

  // Usage survives a restart: SIGTERM flushes it to the store.
  ASSERT_EQ((*server)->Stop(), 0) << (*server)->output();
  auto again = StartCosmoServer({"--data-dir=" + dir.Sub("data")}, &address);
  ASSERT_TRUE(again.ok()) << again.status();
  usage = ctl({"--json", "usage", "visits"});
  ASSERT_EQ(usage.exit_code, 0) << usage.err;
  EXPECT_EQ(nlohmann::json::parse(usage.out)[0]["total"]["invocations"], 2);
}

// --secret values stay in the version (and reach the script), but no output shows them: get and
// its --json form mask them, and the server masks them in console output and in uncaught errors
// before they reach `cosmoctl logs` or the HTTP error body.
TEST(CosmoctlSecretsTest, SecretsAreMaskedInGetAndLogs) {
  TempDir dir;
  std::string address;
  int http_port = 0;
  auto server = StartCosmoServer({"--data-dir=" + dir.Sub("data")}, &address, &http_port);
  ASSERT_TRUE(server.ok()) << server.status();
  auto ctl = [&](const std::vector<std::string>& args) { return RunCosmoctl(address, args); };
  constexpr char kSecret[] = "tok-5up3r-s3cr3t";
  std::string script = dir.Sub("keys.js");
  std::ofstream(script)
      << "export default { fetch(request, env) {\n"
      << "  const path = new URL(request.url).pathname;\n"
      << "  if (path === '/keys/throw') throw new Error(`bad key ${env.API_KEY}`);\n"
      << "  console.log(`key=${env.API_KEY} mode=${env.MODE}`);\n"
      << "  return new Response(env.API_KEY.length + ' ' + env.MODE);\n} };\n";
  const std::vector<std::string> deploy = {"deploy",
                                           "keys",
                                           script,
                                           "--env",
                                           "MODE=plain",
                                           "--secret",
                                           absl::StrCat("API_KEY=", kSecret)};
  CommandResult deployed = ctl(deploy);
  ASSERT_EQ(deployed.exit_code, 0) << deployed.err;
  EXPECT_THAT(deployed.out, Not(HasSubstr(kSecret)));

  // The script sees the real value.
  auto response = RawGet(http_port, "/keys/log");
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_THAT(*response, HasSubstr("16 plain"));
  response = RawGet(http_port, "/keys/throw");
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_THAT(*response, HasSubstr("500"));
  EXPECT_THAT(*response, Not(HasSubstr(kSecret)));

  CommandResult logs = ctl({"logs", "keys"});
  ASSERT_EQ(logs.exit_code, 0) << logs.err;
  EXPECT_THAT(logs.out, HasSubstr("key=*** mode=plain"));
  EXPECT_THAT(logs.out, HasSubstr("bad key ***"));
  EXPECT_THAT(logs.out, Not(HasSubstr(kSecret)));
  CommandResult json_logs = ctl({"--json", "logs", "keys"});
  ASSERT_EQ(json_logs.exit_code, 0) << json_logs.err;
  EXPECT_THAT(json_logs.out, HasSubstr("key=*** mode=plain"));
  EXPECT_THAT(json_logs.out, Not(HasSubstr(kSecret)));

  CommandResult got = ctl({"get", "keys"});
  ASSERT_EQ(got.exit_code, 0) << got.err;
  EXPECT_THAT(got.out, HasSubstr("API_KEY=***  (secret)"));
  EXPECT_THAT(got.out, HasSubstr("MODE=plain\n"));
  EXPECT_THAT(got.out, Not(HasSubstr(kSecret)));
  got = ctl({"--json", "get", "keys"});
  ASSERT_EQ(got.exit_code, 0) << got.err;
  EXPECT_THAT(got.out, Not(HasSubstr(kSecret)));
  auto family = nlohmann::json::parse(got.out);
  EXPECT_EQ(family["secret_names"], nlohmann::json::array({"API_KEY"}));
  EXPECT_EQ(family["env"]["API_KEY"], "***");
  EXPECT_EQ(family["env"]["MODE"], "plain");
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--json", "history", "keys"}, {"--json", "list"}, {"list"}}) {
    CommandResult shown = ctl(args);
    EXPECT_EQ(shown.exit_code, 0) << shown.err;
    EXPECT_THAT(shown.out, Not(HasSubstr(kSecret))) << args[1];
  }

  // The same deploy again changes nothing; the names are not part of the version.
  CommandResult again = ctl(deploy);
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_THAT(again.out, HasSubstr("nothing changed"));
  CommandResult history = ctl({"--json", "history", "keys"});
  EXPECT_EQ(nlohmann::json::parse(history.out).size(), 1u);

  EXPECT_EQ((*server)->Stop(), 0) << (*server)->output();
}

}  // namespace
}  // namespace cosmo
