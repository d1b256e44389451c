// The dashboard's JSON API (/_cosmo/api/, docs/dashboard.md) on a real HttpServer over a real
// Runtime (LevelDB, V8), spoken to over HTTP on loopback: every endpoint's answer and errors,
// tenancy, and the browser defences (Host, Origin, Content-Type, tokens only in a header).
#include <httplib.h>
#include <zlib.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "control/token_authenticator.h"
#include "cosmo/http_server.h"
#include "cosmo/manifest.h"
#include "cosmo/runtime.h"
#include "dashboard/content_negotiation.h"
#include "dashboard/dashboard.h"
#include "dashboard/dashboard_assets.h"
#include "gtest/gtest.h"
#include "integration/raw_http_connection.h"
#include "support/host_addresses.h"
#include "support/temp_dir.h"

namespace cosmo {
namespace {

using json = nlohmann::json;

constexpr char kAcme[] = "acme-token";
constexpr char kBeta[] = "beta-token";

Manifest Js(absl::string_view body) {
  Manifest m;
  m.engine = "javascript";
  m.main = "index.js";
  m.files["index.js"] = absl::StrCat("export default { fetch(req) { ", body, " } };");
  return m;
}

// A runtime, a dashboard and an HTTP server with them; tokens or none.
struct Server {
  testing::TempDir dir;
  std::unique_ptr<Runtime> runtime;
  std::unique_ptr<control::TokenAuthenticator> auth;
  std::unique_ptr<dashboard::Dashboard> dashboard;
  std::unique_ptr<HttpServer> http;

  Server(bool tokens, std::string listen = "127.0.0.1:0") {
    auto store = OpenLevelDbStore({.path = dir.path()});
    EXPECT_TRUE(store.ok()) << store.status();
    auto made = NewRuntime({}, *std::move(store));
    EXPECT_TRUE(made.ok()) << made.status();
    runtime = *std::move(made);
    auth = tokens ? *control::TokenAuthenticator::FromText(
                        absl::StrCat("acme ", Sha256Hex(kAcme), "\nbeta ", Sha256Hex(kBeta), "\n"),
                        "tokens")
                  : control::TokenAuthenticator::AllowAllLocal();
    dashboard = std::make_unique<dashboard::Dashboard>(runtime.get(), auth.get());
    HttpServerOptions options{.listen_address = listen};
    options.dashboard = [this](const HostRequest& r) { return dashboard->Handle(r); };
    auto server = NewHttpServer(options, runtime.get());
    EXPECT_TRUE(server.ok()) << server.status();
    http = *std::move(server);
    http->Start();
  }
  ~Server() { http->Stop(); }

  void Deploy(const std::string& tenant, const std::string& family, const Manifest& m) {
    auto deployed = runtime->registry().Deploy({.tenant = tenant, .family = family, .manifest = m});
    ASSERT_TRUE(deployed.ok()) << deployed.status();
  }
};

class DashboardApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new Server(/*tokens=*/true);
    server_->Deploy("acme", "shop", Js("console.log('one'); return new Response('1');"));
    server_->Deploy("acme", "shop", Js("console.log('two ' + req.url); return new Response('2');"));
    server_->Deploy("beta", "blog", Js("return new Response('b');"));
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  static httplib::Client Client() {
    httplib::Client client("127.0.0.1", server_->http->port());
    client.set_read_timeout(15, 0);
    return client;
  }
  static httplib::Headers As(const char* token) {
    return {{"Authorization", absl::StrCat("Bearer ", token)}};
  }
  static json Body(const httplib::Result& r) { return json::parse(r->body); }

  static Server* server_;
};

Server* DashboardApiTest::server_ = nullptr;

TEST_F(DashboardApiTest, WhoamiNamesTheTokensTenant) {
  auto r = Client().Get("/_cosmo/api/whoami", As(kAcme));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(Body(r)["tenant"], "acme");
  EXPECT_EQ(Body(r)["tokens_required"], true);
  EXPECT_EQ(r->get_header_value("Cache-Control"), "no-store");
}

TEST_F(DashboardApiTest, WithoutATokenEveryCallIs401) {
  for (const char* path :
       {"/_cosmo/api/whoami", "/_cosmo/api/families", "/_cosmo/api/families/shop/usage"}) {
    auto r = Client().Get(path);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 401) << path;
    EXPECT_EQ(Body(r)["error"], "unauthenticated");
    EXPECT_NE(r->get_header_value("WWW-Authenticate"), "");
  }
  auto wrong = Client().Get("/_cosmo/api/whoami", As("not-a-token"));
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 401);
}

TEST_F(DashboardApiTest, ATokenInTheUrlIsRefused) {
  auto r = Client().Get(absl::StrCat("/_cosmo/api/whoami?token=", kAcme));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(Body(r)["message"].get<std::string>().find("Authorization header"), std::string::npos);
}

TEST_F(DashboardApiTest, FamiliesListsOnlyTheTenantsOwn) {
  auto acme = Client().Get("/_cosmo/api/families", As(kAcme));
  ASSERT_TRUE(acme);
  ASSERT_EQ(acme->status, 200) << acme->body;
  json a = Body(acme);
  ASSERT_EQ(a["total"], 1);
  EXPECT_EQ(a["families"][0]["name"], "shop");
  EXPECT_EQ(a["families"][0]["engine"], "javascript");
  auto beta = Client().Get("/_cosmo/api/families", As(kBeta));
  ASSERT_TRUE(beta);
  json b = Body(beta);
  ASSERT_EQ(b["total"], 1);
  EXPECT_EQ(b["families"][0]["name"], "blog");
}

TEST_F(DashboardApiTest, FamiliesPagesFiltersAndSortsOnTheServer) {
  Server s(/*tokens=*/false);
  for (int i = 0; i < 12; ++i) {
    s.Deploy("local", absl::StrCat("fam-", i < 10 ? "0" : "", i), Js("return new Response('x');"));
  }
  s.Deploy("local", "other", Js("throw new Error('boom');"));
  for (int i = 0; i < 3; ++i)
    s.runtime->Invoke("fam-07", {.method = "GET", .url = "http://x/fam-07/"});
  for (int i = 0; i < 2; ++i)
    s.runtime->Invoke("other", {.method = "GET", .url = "http://x/other/"});
  httplib::Client client("127.0.0.1", s.http->port());
  auto page = client.Get("/_cosmo/api/families?filter=fam-&offset=5&limit=4");
  ASSERT_TRUE(page);
  ASSERT_EQ(page->status, 200) << page->body;
  json p = json::parse(page->body);
  EXPECT_EQ(p["total"], 12);
  ASSERT_EQ(p["families"].size(), 4u);
  EXPECT_EQ(p["families"][0]["name"], "fam-05");
  EXPECT_EQ(p["families"][3]["name"], "fam-08");

  auto by_requests = client.Get("/_cosmo/api/families?sort=requests&limit=2");
  ASSERT_TRUE(by_requests);
  json r = json::parse(by_requests->body);
  EXPECT_EQ(r["families"][0]["name"], "fam-07");
  EXPECT_DOUBLE_EQ(r["families"][0]["requests_per_minute"].get<double>(), 3.0 / 5);
  EXPECT_EQ(r["families"][1]["name"], "other");

  auto by_errors = client.Get("/_cosmo/api/families?sort=errors&limit=1");
  ASSERT_TRUE(by_errors);
  json e = json::parse(by_errors->body);
  EXPECT_EQ(e["families"][0]["name"], "other");
  EXPECT_DOUBLE_EQ(e["families"][0]["error_rate"].get<double>(), 1.0);

  for (const json& f : e["families"]) EXPECT_TRUE(f.contains("cpu_p50_us")) << f;

  for (const char* bad : {"/_cosmo/api/families?sort=size", "/_cosmo/api/families?order=up",
                          "/_cosmo/api/families?limit=0", "/_cosmo/api/families?limit=100000",
                          "/_cosmo/api/families?offset=-1"}) {
    auto refused = client.Get(bad);
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->status, 400) << bad;
  }
}

TEST_F(DashboardApiTest, AnotherTenantsFamilyIsForbiddenOnEveryPath) {
  for (const char* what : {"", "/history", "/usage", "/logs", "/crons"}) {
    auto r = Client().Get(absl::StrCat("/_cosmo/api/families/blog", what), As(kAcme));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 403) << what;
    EXPECT_EQ(Body(r)["error"], "permission_denied");
  }
  httplib::Headers headers = As(kAcme);
  headers.emplace("Origin", absl::StrCat("http://127.0.0.1:", server_->http->port()));
  auto rollback =
      Client().Post("/_cosmo/api/families/blog/rollback", headers, "{}", "application/json");
  ASSERT_TRUE(rollback);
  EXPECT_EQ(rollback->status, 403);
}

TEST_F(DashboardApiTest, FamilyAndHistoryDescribeTheFamily) {
  auto r = Client().Get("/_cosmo/api/families/shop", As(kAcme));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(Body(r)["owner"], "acme");
  EXPECT_EQ(Body(r)["history_length"], 2);
  auto h = Client().Get("/_cosmo/api/families/shop/history?limit=1", As(kAcme));
  ASSERT_TRUE(h);
  ASSERT_EQ(h->status, 200) << h->body;
  json history = Body(h);
  ASSERT_EQ(history["entries"].size(), 1u);
  EXPECT_EQ(history["entries"][0]["sequence"], 2);
  EXPECT_NE(history["next_page_token"], "");
  auto missing = Client().Get("/_cosmo/api/families/nope", As(kAcme));
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  auto bad_name = Client().Get("/_cosmo/api/families/Bad_Name", As(kAcme));
  ASSERT_TRUE(bad_name);
  EXPECT_EQ(bad_name->status, 400);
  auto unknown = Client().Get("/_cosmo/api/families/shop/secrets", As(kAcme));
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404);
  auto nothing = Client().Get("/_cosmo/api/nothing", As(kAcme));
  ASSERT_TRUE(nothing);
  EXPECT_EQ(nothing->status, 404);
}

TEST_F(DashboardApiTest, SplitsKvBindingsAndValuesAreShown) {
  Server s(/*tokens=*/true);
  Manifest one = Js("return new Response('1');");
  one.kv["NOTES"] = "acme-notes";
  Manifest two = Js("return new Response('2');");
  two.kv["NOTES"] = "acme-notes";
  s.Deploy("acme", "cart", one);
  const std::string base = s.runtime->registry().GetFamily("acme", "cart")->active_version;
  auto split = s.runtime->registry().Deploy(
      {.tenant = "acme", .family = "cart", .manifest = two, .percent = 10});
  ASSERT_TRUE(split.ok()) << split.status();
  auto resplit =
      s.runtime->registry().Split({.tenant = "acme",
                                   .family = "cart",
                                   .first = {.version = base, .percent = 80},
                                   .second = {.version = split->version, .percent = 20}});
  ASSERT_TRUE(resplit.ok()) << resplit.status();
  Manifest theirs = Js("return new Response('b');");
  theirs.kv["DATA"] = "beta-data";
  s.Deploy("beta", "theirs", theirs);
  ASSERT_TRUE(s.runtime->kv().Put("acme-notes", "greeting", "hello", {}).ok());
  ASSERT_TRUE(s.runtime->kv().Put("acme-notes", "blob", std::string("\xff\x00\x01", 3), {}).ok());
  httplib::Client client("127.0.0.1", s.http->port());

  auto list = client.Get("/_cosmo/api/families", As(kAcme));
  ASSERT_TRUE(list);
  ASSERT_EQ(list->status, 200) << list->body;
  const json item = json::parse(list->body)["families"][0];
  EXPECT_EQ(item["split"]["base"], base);
  EXPECT_EQ(item["split"]["canary"], split->version);
  EXPECT_EQ(item["split"]["canary_percent"], 20);
  auto family = client.Get("/_cosmo/api/families/cart", As(kAcme));
  ASSERT_TRUE(family);
  ASSERT_EQ(family->status, 200) << family->body;
  EXPECT_EQ(json::parse(family->body)["split"]["canary_percent"], 20);
  auto history = client.Get("/_cosmo/api/families/cart/history?limit=1", As(kAcme));
  ASSERT_TRUE(history);
  EXPECT_EQ(json::parse(history->body)["entries"][0]["action"], "split");
  EXPECT_EQ(json::parse(family->body)["kv"], json({{"NOTES", "acme-notes"}}));

  auto value = client.Get("/_cosmo/api/kv/namespaces/acme-notes/value?key=greeting", As(kAcme));
  ASSERT_TRUE(value);
  ASSERT_EQ(value->status, 200) << value->body;
  EXPECT_EQ(json::parse(value->body)["value_base64"], "aGVsbG8=");
  EXPECT_EQ(json::parse(value->body)["size_bytes"], 5);
  EXPECT_EQ(json::parse(value->body)["truncated"], false);
  auto blob = client.Get("/_cosmo/api/kv/namespaces/acme-notes/value?key=blob", As(kAcme));
  ASSERT_TRUE(blob);
  ASSERT_EQ(blob->status, 200) << blob->body;
  EXPECT_EQ(json::parse(blob->body)["value_base64"], "/wAB");
  auto keys = client.Get("/_cosmo/api/kv/namespaces/acme-notes/keys?prefix=gr", As(kAcme));
  ASSERT_TRUE(keys);
  ASSERT_EQ(keys->status, 200) << keys->body;
  EXPECT_EQ(json::parse(keys->body)["keys"], json::parse(R"([{"name": "greeting"}])"));

  auto missing = client.Get("/_cosmo/api/kv/namespaces/acme-notes/value?key=nope", As(kAcme));
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  auto no_key = client.Get("/_cosmo/api/kv/namespaces/acme-notes/value", As(kAcme));
  ASSERT_TRUE(no_key);
  EXPECT_EQ(no_key->status, 400);
  auto huge_key = client.Get(
      absl::StrCat("/_cosmo/api/kv/namespaces/acme-notes/value?key=", std::string(2000, 'k')),
      As(kAcme));
  ASSERT_TRUE(huge_key);
  EXPECT_EQ(huge_key->status, 400) << huge_key->body;
  auto theirs_value = client.Get("/_cosmo/api/kv/namespaces/beta-data/value?key=x", As(kAcme));
  ASSERT_TRUE(theirs_value);
  EXPECT_EQ(theirs_value->status, 403);
  auto unauthenticated = client.Get("/_cosmo/api/kv/namespaces/acme-notes/value?key=greeting");
  ASSERT_TRUE(unauthenticated);
  EXPECT_EQ(unauthenticated->status, 401);
}

// sort=cpu orders by each family's median CPU time per request, which the rows carry.
TEST_F(DashboardApiTest, FamiliesSortByTheMedianCpuTime) {
  Server s(/*tokens=*/false);
  // A few hundred microseconds of CPU against a few: far apart on any machine.
  s.Deploy("local", "heavy",
           Js("let x = 0; for (let i = 0; i < 300000; i++) x += Math.sqrt(i); "
              "return new Response(String(x));"));
  s.Deploy("local", "light", Js("return new Response('x');"));
  s.Deploy("local", "idle", Js("return new Response('x');"));
  for (const char* family : {"heavy", "light"}) {
    for (int i = 0; i < 5; ++i) {
      const std::string url = absl::StrCat("http://x/", family, "/");
      ASSERT_EQ(s.runtime->Invoke(family, {.method = "GET", .url = url}).outcome, Outcome::kOk);
    }
  }
  httplib::Client client("127.0.0.1", s.http->port());
  auto r = client.Get("/_cosmo/api/families?sort=cpu");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const json rows = json::parse(r->body)["families"];
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0]["name"], "heavy");
  EXPECT_EQ(rows[1]["name"], "light");
  EXPECT_EQ(rows[2]["name"], "idle");
  const double heavy = rows[0]["cpu_p50_us"].get<double>();
  const double light = rows[1]["cpu_p50_us"].get<double>();
  EXPECT_GT(light, 0);
  EXPECT_GT(heavy, light);
  EXPECT_EQ(rows[2]["cpu_p50_us"].get<double>(), 0);
  r = client.Get("/_cosmo/api/families?sort=cpu&order=asc");
  ASSERT_TRUE(r);
  EXPECT_EQ(json::parse(r->body)["families"][0]["name"], "idle");
}

TEST_F(DashboardApiTest, UsageHoldsTheRequestsSentPerVersionAndMinute) {
  Server s(/*tokens=*/false);
  s.Deploy("local", "count", Js("return new Response('x');"));
  httplib::Client client("127.0.0.1", s.http->port());
  for (int i = 0; i < 6; ++i) ASSERT_EQ(client.Get("/count/")->status, 200);
  ASSERT_TRUE(s.runtime->FlushUsage().ok());
  for (int i = 0; i < 2; ++i) ASSERT_EQ(client.Get("/count/")->status, 200);  // pending
  auto r = client.Get("/_cosmo/api/families/count/usage?since=3600&bucket=60");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  uint64_t invocations = 0;
  const json usage = json::parse(r->body);
  ASSERT_FALSE(usage["buckets"].empty());
  for (const json& b : usage["buckets"]) {
    EXPECT_EQ(b["width"], 60);
    invocations += b["invocations"].get<uint64_t>();
    EXPECT_GT(b["cpu_us"].get<uint64_t>(), 0u);
    EXPECT_GT(b["cpu_p50_us"].get<double>(), 0) << b;
  }
  EXPECT_EQ(invocations, 8u);
  for (const char* bad :
       {"usage?bucket=61", "usage?since=1", "usage?since=abc", "usage?since=99999999999"}) {
    auto refused = client.Get(absl::StrCat("/_cosmo/api/families/count/", bad));
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->status, 400) << bad;
  }
}

TEST(UsageHistoryRestartTest, TheHistorySumsToTheRequestsAcrossARestart) {
  testing::TempDir dir;
  auto open = [&] {
    auto store = OpenLevelDbStore({.path = dir.path()});
    EXPECT_TRUE(store.ok()) << store.status();
    auto runtime = NewRuntime({}, *std::move(store));
    EXPECT_TRUE(runtime.ok()) << runtime.status();
    return *std::move(runtime);
  };
  const HttpRequest get{.method = "GET", .url = "http://x/again/"};
  {
    std::unique_ptr<Runtime> runtime = open();
    ASSERT_TRUE(runtime->registry()
                    .Deploy({.tenant = "local", .family = "again", .manifest = Js("return 'x';")})
                    .ok());
    for (int i = 0; i < 5; ++i) ASSERT_EQ(runtime->Invoke("again", get).outcome, Outcome::kOk);
  }  // destroying the runtime flushes its usage
  std::unique_ptr<Runtime> runtime = open();
  for (int i = 0; i < 3; ++i) ASSERT_EQ(runtime->Invoke("again", get).outcome, Outcome::kOk);
  auto points = runtime->UsageHistory("again", {.since = absl::Now() - absl::Hours(1)});
  ASSERT_TRUE(points.ok()) << points.status();
  uint64_t sum = 0;
  for (const UsagePoint& p : *points) sum += p.totals.invocations;
  EXPECT_EQ(sum, 8u);
  EXPECT_EQ(runtime->Usage("again")->total.invocations, 8u);
}

TEST_F(DashboardApiTest, LogsReturnRecordsAfterASequenceAndWaitForNewOnes) {
  Server s(/*tokens=*/false);
  s.Deploy("local", "talk", Js("console.log('hello ' + new URL(req.url).pathname); return 'ok';"));
  httplib::Client client("127.0.0.1", s.http->port());
  ASSERT_EQ(client.Get("/talk/a")->status, 200);
  ASSERT_EQ(client.Get("/talk/b")->status, 200);
  auto r = client.Get("/_cosmo/api/families/talk/logs?after=1");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  json batch = json::parse(r->body);
  ASSERT_EQ(batch["records"].size(), 1u);
  EXPECT_EQ(batch["records"][0]["text"], "hello /talk/b");
  EXPECT_EQ(batch["last_sequence"], 2);
  // A long poll returns once a record arrives, long before its wait is over.
  std::thread later([&] {
    absl::SleepFor(absl::Milliseconds(100));
    httplib::Client other("127.0.0.1", s.http->port());
    other.Get("/talk/c");
  });
  httplib::Client poller("127.0.0.1", s.http->port());
  poller.set_read_timeout(20, 0);
  auto waited = poller.Get("/_cosmo/api/families/talk/logs?after=2&wait_ms=10000");
  later.join();
  ASSERT_TRUE(waited);
  ASSERT_EQ(waited->status, 200);
  EXPECT_EQ(json::parse(waited->body)["records"][0]["text"], "hello /talk/c");
  auto too_long = client.Get("/_cosmo/api/families/talk/logs?wait_ms=60000");
  ASSERT_TRUE(too_long);
  EXPECT_EQ(too_long->status, 400);
}

TEST_F(DashboardApiTest, RollbackChangesTheActiveVersionFromTheDashboardsOwnOrigin) {
  Server s(/*tokens=*/true);
  s.Deploy("acme", "flip", Js("return new Response('1');"));
  const std::string first = s.runtime->registry().GetFamily("acme", "flip")->active_version;
  s.Deploy("acme", "flip", Js("return new Response('2');"));
  httplib::Client client("127.0.0.1", s.http->port());
  httplib::Headers headers = As(kAcme);
  headers.emplace("Origin", absl::StrCat("http://127.0.0.1:", s.http->port()));
  auto r = client.Post("/_cosmo/api/families/flip/rollback", headers,
                       json({{"version", first.substr(0, 12)}}).dump(), "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(json::parse(r->body)["active_version"], first);
  EXPECT_EQ(s.runtime->registry().GetFamily("acme", "flip")->active_version, first);
  EXPECT_EQ(client.Get("/flip/")->body, "1");

  // An empty body rolls back to the previous version; no Origin (not a browser) is fine.
  auto back = client.Post("/_cosmo/api/families/flip/rollback", As(kAcme), "", "application/json");
  ASSERT_TRUE(back);
  ASSERT_EQ(back->status, 200) << back->body;
  EXPECT_NE(json::parse(back->body)["active_version"], first);

  for (const char* bad : {"[1]", "{\"version\": 7}", "{\"other\": 1}", "not json"}) {
    auto refused =
        client.Post("/_cosmo/api/families/flip/rollback", As(kAcme), bad, "application/json");
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->status, 400) << bad;
  }
  auto unknown = client.Post("/_cosmo/api/families/flip/rollback", As(kAcme),
                             "{\"version\": \"ffffffffffff\"}", "application/json");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404);
  auto get = client.Get("/_cosmo/api/families/flip/rollback", As(kAcme));
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 400);
  auto big = client.Post("/_cosmo/api/families/flip/rollback", As(kAcme),
                         std::string(100 << 10, ' '), "application/json");
  ASSERT_TRUE(big);
  EXPECT_EQ(big->status, 413);
}

TEST_F(DashboardApiTest, AStateChangeFromAnotherOriginOrWithoutJsonIsRefused) {
  httplib::Headers foreign = As(kAcme);
  foreign.emplace("Origin", "http://evil.example");
  auto cross =
      Client().Post("/_cosmo/api/families/shop/rollback", foreign, "{}", "application/json");
  ASSERT_TRUE(cross);
  EXPECT_EQ(cross->status, 403);
  EXPECT_NE(Body(cross)["message"].get<std::string>().find("evil.example"), std::string::npos);
  for (const char* type :
       {"text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"}) {
    auto form = Client().Post("/_cosmo/api/families/shop/rollback", As(kAcme), "{}", type);
    ASSERT_TRUE(form);
    EXPECT_EQ(form->status, 400) << type;
  }
  // Nothing changed.
  EXPECT_EQ(server_->runtime->registry().GetFamily("acme", "shop")->history_length, 2u);
}

TEST_F(DashboardApiTest, AHostThatIsNotTheListenersIsRefused) {
  for (const char* host :
       {"evil.example", "evil.example:80", "attacker.test:1234", "127.0.0.1:1"}) {
    httplib::Headers headers = As(kAcme);
    headers.emplace("Host", host);
    auto r = Client().Get("/_cosmo/api/whoami", headers);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 403) << host;
    auto page = Client().Get("/_cosmo/ui", {{"Host", host}});
    ASSERT_TRUE(page);
    EXPECT_EQ(page->status, 403) << host;
  }
  httplib::Headers local = As(kAcme);
  local.emplace("Host", absl::StrCat("localhost:", server_->http->port()));
  auto r = Client().Get("/_cosmo/api/whoami", local);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST_F(DashboardApiTest, WithoutTokensOnlyLoopbackClientsAreServed) {
  const std::string ip = testing::NonLoopbackIPv4Address();
  if (ip.empty()) GTEST_SKIP() << "this machine has no non-loopback IPv4 address";
  Server s(/*tokens=*/false, "0.0.0.0:0");
  httplib::Client remote(ip, s.http->port());
  auto r = remote.Get("/_cosmo/api/whoami");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 403);
  EXPECT_NE(r->body.find("loopback"), std::string::npos);
  httplib::Client local("127.0.0.1", s.http->port());
  auto ok = local.Get("/_cosmo/api/whoami");
  ASSERT_TRUE(ok);
  ASSERT_EQ(ok->status, 200) << ok->body;
  EXPECT_EQ(json::parse(ok->body)["tenant"], "local");
}

TEST_F(DashboardApiTest, TheUiIsServedFromTheBinaryWithAStrictPolicy) {
  auto page = Client().Get("/_cosmo/ui");
  ASSERT_TRUE(page);
  ASSERT_EQ(page->status, 200);
  EXPECT_NE(page->body.find("/_cosmo/ui/app.js"), std::string::npos);
  EXPECT_NE(page->get_header_value("Content-Security-Policy").find("default-src 'self'"),
            std::string::npos);
  for (const char* file : {"app.js", "app.css", "uplot.js", "uplot.css"}) {
    auto r = Client().Get(absl::StrCat("/_cosmo/ui/", file));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << file;
    EXPECT_GT(r->body.size(), 100u) << file;
  }
  auto missing = Client().Get("/_cosmo/ui/../../etc/passwd");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  auto post = Client().Post("/_cosmo/ui", "{}", "application/json");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 405);
}

// `data` inflated as a gzip stream (zlib), or "<not gzip>".
std::string Gunzip(const std::string& data) {
  z_stream z{};
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) return "<not gzip>";
  std::string out;
  char buffer[16384];
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  int rc = Z_OK;
  while (rc == Z_OK) {
    z.next_out = reinterpret_cast<Bytef*>(buffer);
    z.avail_out = sizeof(buffer);
    rc = inflate(&z, Z_NO_FLUSH);
    out.append(buffer, sizeof(buffer) - z.avail_out);
  }
  inflateEnd(&z);
  return rc == Z_STREAM_END ? out : "<not gzip>";
}

// The value of header `name` in the raw response `response` ("" when absent).
std::string HeaderIn(const std::string& response, const std::string& name) {
  const std::string head = response.substr(0, response.find("\r\n\r\n") + 2);
  const size_t at = head.find(absl::StrCat("\r\n", name, ": "));
  if (at == std::string::npos) return "";
  const size_t start = at + name.size() + 4;
  return head.substr(start, head.find("\r\n", start) - start);
}

TEST_F(DashboardApiTest, PageFilesAreGzippedForClientsThatAcceptItAndPlainOtherwise) {
  const int port = server_->http->port();
  auto get = [&](const std::string& path, const std::string& extra) {
    auto r =
        testing::RawExchange(port, absl::StrCat("GET ", path, " HTTP/1.1\r\nHost: 127.0.0.1:", port,
                                                "\r\n", extra, "Connection: close\r\n\r\n"));
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : std::string();
  };
  const std::vector<dashboard::DashboardAsset> assets = dashboard::AllDashboardAssets();
  ASSERT_FALSE(assets.empty());
  for (const dashboard::DashboardAsset& asset : assets) {
    const std::string path = absl::StrCat("/_cosmo/ui/", asset.name);
    const std::string gz = get(path, "Accept-Encoding: gzip, deflate, br\r\n");
    ASSERT_EQ(gz.rfind("HTTP/1.1 200", 0), 0u) << path << ": " << gz.substr(0, 200);
    EXPECT_EQ(HeaderIn(gz, "Content-Encoding"), "gzip") << path;
    EXPECT_EQ(HeaderIn(gz, "Vary"), "Accept-Encoding") << path;
    const std::string body = testing::BodyOf(gz);
    EXPECT_LT(body.size(), asset.body.size()) << path;
    EXPECT_EQ(Gunzip(body), asset.body) << path;

    for (const char* plain_request : {"", "Accept-Encoding: gzip;q=0, identity\r\n"}) {
      const std::string plain = get(path, plain_request);
      ASSERT_EQ(plain.rfind("HTTP/1.1 200", 0), 0u) << path;
      EXPECT_EQ(HeaderIn(plain, "Content-Encoding"), "") << path << " " << plain_request;
      EXPECT_EQ(HeaderIn(plain, "Vary"), "Accept-Encoding") << path;
      EXPECT_EQ(testing::BodyOf(plain), asset.body) << path << " " << plain_request;
      EXPECT_NE(HeaderIn(plain, "ETag"), HeaderIn(gz, "ETag")) << path;
    }

    // A cached copy is revalidated by its own form's ETag.
    const std::string etag = HeaderIn(gz, "ETag");
    ASSERT_FALSE(etag.empty()) << path;
    const std::string same =
        get(path, absl::StrCat("Accept-Encoding: gzip\r\nIf-None-Match: ", etag, "\r\n"));
    EXPECT_EQ(same.rfind("HTTP/1.1 304", 0), 0u) << path << ": " << same.substr(0, 200);
    EXPECT_EQ(testing::BodyOf(same), "") << path;
    const std::string other = get(path, absl::StrCat("If-None-Match: ", etag, "\r\n"));
    EXPECT_EQ(other.rfind("HTTP/1.1 200", 0), 0u) << path;
  }
}

TEST(ContentNegotiationTest, AcceptsGzipReadsQualities) {
  using dashboard::AcceptsGzip;
  EXPECT_TRUE(AcceptsGzip({"gzip"}));
  EXPECT_TRUE(AcceptsGzip({"deflate, GZIP;q=0.5"}));
  EXPECT_TRUE(AcceptsGzip({"br", "x-gzip"}));
  EXPECT_TRUE(AcceptsGzip({"*"}));
  EXPECT_FALSE(AcceptsGzip({}));
  EXPECT_FALSE(AcceptsGzip({"identity"}));
  EXPECT_FALSE(AcceptsGzip({"gzip;q=0"}));
  EXPECT_FALSE(AcceptsGzip({"gzip; q=0.000"}));
  EXPECT_FALSE(AcceptsGzip({"*, gzip;q=0"}));
  EXPECT_FALSE(AcceptsGzip({"gzip;q=nonsense"}));
  EXPECT_FALSE(AcceptsGzip({"gzip;q=2"}));
  EXPECT_FALSE(AcceptsGzip({"gzipped, xgzip"}));
}

TEST(ContentNegotiationTest, ETagMatchesAnyListedTag) {
  using dashboard::ETagMatches;
  EXPECT_TRUE(ETagMatches("\"abc\"", "\"abc\""));
  EXPECT_TRUE(ETagMatches("\"x\", W/\"abc\"", "\"abc\""));
  EXPECT_TRUE(ETagMatches("*", "\"abc\""));
  EXPECT_FALSE(ETagMatches("", "\"abc\""));
  EXPECT_FALSE(ETagMatches("\"abcd\"", "\"abc\""));
  EXPECT_FALSE(ETagMatches("abc", "\"abc\""));
}

TEST_F(DashboardApiTest, AnAdminOnlyListenerServesNoFamilies) {
  Server s(/*tokens=*/false);
  s.Deploy("local", "hidden", Js("return new Response('x');"));
  HttpServerOptions options{.listen_address = "127.0.0.1:0", .serve_families = false};
  options.dashboard = [&s](const HostRequest& r) { return s.dashboard->Handle(r); };
  auto admin = NewHttpServer(options, s.runtime.get());
  ASSERT_TRUE(admin.ok()) << admin.status();
  (*admin)->Start();
  httplib::Client client("127.0.0.1", (*admin)->port());
  EXPECT_EQ(client.Get("/hidden/")->status, 404);
  EXPECT_EQ(client.Get("/_cosmo/api/families")->status, 200);
  (*admin)->Stop();
}

}  // namespace
}  // namespace cosmo
