// fetch() end to end: real V8, real sockets on loopback, a local HTTP server and a local HTTPS
// server whose CA is generated at run time with the openssl command. Covers methods, headers,
// bodies, redirects, timeouts, limits, every refused destination class, and 50 concurrent
// requests each waiting 200 ms on an upstream.
#include <httplib.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "cosmo/javascript_engine.h"
#include "cosmo/runtime.h"
#include "cosmo/store.h"
#include "engine/v8/fetch/trust_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "support/background_http_server.h"
#include "support/temp_dir.h"

namespace cosmo {
namespace {

using ::cosmo::testing::BackgroundHttpServer;
using ::cosmo::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// The upstream the scripts fetch from.
void Routes(httplib::Server& server) {
  server.Get("/hello", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("hello from upstream", "text/plain");
    res.set_header("X-Upstream", "yes");
  });
  auto echo = [](const httplib::Request& req, httplib::Response& res) {
    std::string out =
        absl::StrCat(req.method, " ", req.body.size(), " ", req.get_header_value("Content-Type"),
                     " ", req.get_header_value("X-Custom"), "|", req.body);
    res.set_content(out, "text/plain");
  };
  server.Post("/echo", echo);
  server.Put("/echo", echo);
  server.Delete("/echo", echo);
  server.Patch("/echo", echo);
  server.Get("/method", echo);
  // cpp-httplib parses a multipart/form-data body into req.files; this lists its parts.
  server.Post("/form", [](const httplib::Request& req, httplib::Response& res) {
    std::string out = absl::StrCat(req.get_header_value("Content-Type").substr(0, 30), "|");
    for (const auto& [key, part] : req.files) {
      absl::StrAppend(&out, key, "=", part.content, " (", part.filename, ", ", part.content_type,
                      ")|");
    }
    res.set_content(out, "text/plain");
  });
  server.Get("/binary", [](const httplib::Request&, httplib::Response& res) {
    std::string bytes;
    for (int i = 0; i < 256; ++i) bytes.push_back(static_cast<char>(i));
    res.set_content(bytes, "application/octet-stream");
  });
  server.Get(R"(/redirect/(\d+))", [](const httplib::Request& req, httplib::Response& res) {
    int n = std::stoi(req.matches[1]);
    res.set_redirect(n == 0 ? "/hello" : absl::StrCat("/redirect/", n - 1), 302);
  });
  server.Post("/see-other", [](const httplib::Request&, httplib::Response& res) {
    res.set_redirect("/method", 303);
  });
  server.Get("/to", [](const httplib::Request& req, httplib::Response& res) {
    res.set_redirect(req.get_param_value("url"), 307);
  });
  server.Get("/slow", [](const httplib::Request& req, httplib::Response& res) {
    std::this_thread::sleep_for(std::chrono::milliseconds(std::stoi(req.get_param_value("ms"))));
    res.set_content("slow", "text/plain");
  });
  server.Get("/big", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::string(2 << 20, 'x'), "text/plain");
  });
  server.Get("/json", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"a":[1,2,3],"b":"c"})", "application/json");
  });
}

template <typename Server>
BackgroundHttpServer<Server>* StartServer(Server& server, int* port) {
  server.new_task_queue = [] { return new httplib::ThreadPool(64); };
  Routes(server);
  auto* serving = new BackgroundHttpServer<Server>(server);
  *port = serving->port();
  return serving;
}

class FetchTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    http_ = new httplib::Server();
    http_serving_ = StartServer(*http_, &http_port_);

    // A throwaway CA and a certificate for 127.0.0.1/localhost it signed.
    tls_dir_ = new TempDir();
    const std::string d = tls_dir_->path();
    const std::string script = absl::StrCat(
        "set -e; cd '", d, "'; ",
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
        "-subj '/CN=CosmoCompute Test CA' -keyout ca.key -out ca.pem 2>/dev/null; ",
        "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
        "-subj '/CN=localhost' -keyout server.key -out server.csr 2>/dev/null; ",
        "printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > ext.cnf; ",
        "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 "
        "-extfile ext.cnf -out server.pem 2>/dev/null");
    ASSERT_EQ(std::system(script.c_str()), 0) << "openssl could not make the test CA";
    https_ = new httplib::SSLServer((d + "/server.pem").c_str(), (d + "/server.key").c_str());
    ASSERT_TRUE(https_->is_valid());
    https_serving_ = StartServer(*https_, &https_port_);

    JavaScriptEngineOptions allowed;
    allowed.fetch_allow = {absl::StrCat("127.0.0.1:", http_port_),
                           absl::StrCat("127.0.0.1:", https_port_)};
    allowed.fetch_ca_file = d + "/ca.pem";
    allowed.fetch_max_response_bytes = 1 << 20;
    allowed.spare_isolates = 0;
    allowed_engine_ = NewJavaScriptEngine(allowed).value().release();
    JavaScriptEngineOptions strict;
    strict.spare_isolates = 0;
    strict_engine_ = NewJavaScriptEngine(strict).value().release();
  }

  static void TearDownTestSuite() {
    delete allowed_engine_;
    delete strict_engine_;
    delete http_serving_;
    delete https_serving_;
    delete http_;
    delete https_;
    delete tls_dir_;
  }

  static std::string Base() { return absl::StrCat("http://127.0.0.1:", http_port_); }
  static std::string TlsBase() { return absl::StrCat("https://127.0.0.1:", https_port_); }

  // Runs `body` (the inside of an async fetch handler; `base` and `tls` are in scope) once.
  static InvokeResult Run(JavaScriptEngine& engine, const std::string& body,
                          ScriptLimits limits = {}) {
    Manifest m;
    m.engine = "javascript";
    m.main = "index.js";
    m.files["index.js"] =
        absl::StrCat("const base = '", Base(), "'; const tls = '", TlsBase(),
                     "';\nexport default { async fetch(request, env, ctx) {\n", body, "\n} };");
    static std::atomic<int> n{0};
    auto program = engine.Prepare(absl::StrCat("fetch-test-", n++), m);
    EXPECT_TRUE(program.ok()) << program.status();
    auto instance = (*program)->Instantiate(limits);
    EXPECT_TRUE(instance.ok()) << instance.status();
    if (!instance.ok()) return {};
    HttpRequest request;
    request.url = "http://cosmo.test/fam/";
    return (*instance)->Invoke(request);
  }
  static std::string Body(JavaScriptEngine& engine, const std::string& body) {
    InvokeResult r = Run(engine, body);
    EXPECT_EQ(r.outcome, Outcome::kOk) << r.error;
    return r.response.body;
  }
  // What fetch(url) rejected with, as "Name: message", through the strict engine.
  static std::string Refusal(const std::string& url) {
    return Body(*strict_engine_, absl::StrCat("try { await fetch('", url,
                                              "'); return 'fetched'; } catch (e) {"
                                              " return `${e.name}: ${e.message}`; }"));
  }

  static inline httplib::Server* http_ = nullptr;
  static inline httplib::SSLServer* https_ = nullptr;
  static inline BackgroundHttpServer<httplib::Server>* http_serving_ = nullptr;
  static inline BackgroundHttpServer<httplib::SSLServer>* https_serving_ = nullptr;
  static inline int http_port_ = 0, https_port_ = 0;
  static inline TempDir* tls_dir_ = nullptr;
  static inline JavaScriptEngine* allowed_engine_ = nullptr;
  static inline JavaScriptEngine* strict_engine_ = nullptr;
};

TEST_F(FetchTest, GetReturnsStatusHeadersAndText) {
  EXPECT_EQ(Body(*allowed_engine_, R"(
      const r = await fetch(`${base}/hello`);
      return `${r.status} ${r.statusText} ${r.ok} ${r.headers.get('x-upstream')} ` +
             `${r.url === base + '/hello'} ${r.redirected} ${await r.text()}`;)"),
            "200 OK true yes true false hello from upstream");
}

TEST_F(FetchTest, PostPutPatchDeleteSendBodiesAndHeaders) {
  EXPECT_EQ(Body(*allowed_engine_, R"(
      const out = [];
      out.push(await (await fetch(`${base}/echo`, {method: 'POST', body: 'plain text',
                                                   headers: {'X-Custom': 'c1'}})).text());
      const put = new Uint8Array(await (await fetch(`${base}/echo`, {method: 'PUT',
          body: new Uint8Array([0, 1, 2, 255])})).arrayBuffer());
      out.push(`${new TextDecoder().decode(put.subarray(0, 6))}${put.subarray(-4).join(',')}`);
      out.push(await (await fetch(`${base}/echo`, {method: 'PATCH',
          body: new URLSearchParams({a: '1', b: 'x y'})})).text());
      out.push(await (await fetch(new Request(`${base}/echo`, {method: 'DELETE'}))).text());
      return out.join('\n');)"),
            "POST 10 text/plain;charset=UTF-8 c1|plain text\n"
            "PUT 4 0,1,2,255\n"
            "PATCH 9 application/x-www-form-urlencoded;charset=UTF-8 |a=1&b=x+y\n"
            "DELETE 0  |");
}

TEST_F(FetchTest, BinaryAndJsonBodiesRoundTrip) {
  EXPECT_EQ(Body(*allowed_engine_, R"(
      const bytes = new Uint8Array(await (await fetch(`${base}/binary`)).arrayBuffer());
      let ok = bytes.length === 256;
      for (let i = 0; i < 256; i++) ok = ok && bytes[i] === i;
      const json = await (await fetch(`${base}/json`)).json();
      return `${ok} ${json.a.length} ${json.b}`;)"),
            "true 3 c");
}

TEST_F(FetchTest, RedirectsFollowErrorAndManual) {
  EXPECT_EQ(Body(*allowed_engine_, R"(
      const followed = await fetch(`${base}/redirect/3`);
      const manual = await fetch(`${base}/redirect/1`, {redirect: 'manual'});
      let error = '';
      try { await fetch(`${base}/redirect/1`, {redirect: 'error'}); }
      catch (e) { error = e.name; }
      let tooMany = '';
      try { await fetch(`${base}/redirect/25`); } catch (e) { tooMany = e.message; }
      const seeOther = await (await fetch(`${base}/see-other`, {method: 'POST', body: 'x'})).text();
      return [followed.status, followed.redirected, followed.url.endsWith('/hello'),
              await followed.text(), manual.status, manual.headers.get('location'), error,
              tooMany.includes('too many redirects'), seeOther].join(' ');)"),
            "200 true true hello from upstream 302 /redirect/0 TypeError true GET 0  |");
}

TEST_F(FetchTest, HttpsIsVerifiedAgainstTheConfiguredCa) {
  EXPECT_EQ(Body(*allowed_engine_, "return (await fetch(`${tls}/hello`)).text();"),
            "hello from upstream");
  // The strict engine trusts only the system store, so the test CA's certificate is refused
  // (after the loopback check, which a --fetch-allow host skips: allow it there too).
  std::string refused = Refusal(TlsBase() + "/hello");
  EXPECT_THAT(refused, StartsWith("TypeError: "));
}

TEST_F(FetchTest, AnUntrustedCertificateIsATypeError) {
  JavaScriptEngineOptions options;
  options.fetch_allow = {absl::StrCat("127.0.0.1:", https_port_)};  // no CA: system store
  options.spare_isolates = 0;
  auto engine = NewJavaScriptEngine(options);
  ASSERT_TRUE(engine.ok());
  std::string out = Body(**engine, R"(
      try { await fetch(`${tls}/hello`); return 'fetched'; }
      catch (e) { return `${e.name}: ${e.message}`; })");
  EXPECT_THAT(out, StartsWith("TypeError: fetch to https://127.0.0.1:"));
  EXPECT_THAT(out, HasSubstr("certificate"));
}

TEST_F(FetchTest, HttpsFetchesShareTheCaStoreTheEngineParsedOnce) {
  // Parsing a CA bundle costs CPU (~16 ms for the system's 144 certificates); done for every
  // connection, it came out of each request's CPU limit, and six https fetches overran the
  // default 50 ms. The engine parses the bundle once, when created.
  const uint64_t loads = v8engine::TrustStore::loads();
  EXPECT_EQ(Body(*allowed_engine_, R"(
      const texts = [];
      for (let i = 0; i < 6; i++) texts.push(await (await fetch(`${tls}/hello`)).text());
      return texts.join("|");)"),
            "hello from upstream|hello from upstream|hello from upstream|"
            "hello from upstream|hello from upstream|hello from upstream");
  EXPECT_EQ(v8engine::TrustStore::loads(), loads);

  // The same with the system store, which does not trust the test CA.
  JavaScriptEngineOptions options;
  options.fetch_allow = {absl::StrCat("127.0.0.1:", https_port_)};
  options.spare_isolates = 0;
  auto system_store_engine = NewJavaScriptEngine(options);
  ASSERT_TRUE(system_store_engine.ok()) << system_store_engine.status();
  EXPECT_EQ(v8engine::TrustStore::loads(), loads + 1);
  EXPECT_EQ(Body(**system_store_engine, R"(
      const out = [];
      for (let i = 0; i < 6; i++) {
        try { await fetch(`${tls}/hello`); out.push("fetched"); }
        catch (e) { out.push(e.message.includes("certificate") ? "refused" : e.message); }
      }
      return out.join(" ");)"),
            "refused refused refused refused refused refused");
  EXPECT_EQ(v8engine::TrustStore::loads(), loads + 1);
}

TEST(FetchCaFileTest, AnUnreadableCaFileFailsEngineCreationNamingTheOption) {
  JavaScriptEngineOptions options;
  options.fetch_ca_file = "/nonexistent/cosmo-ca.pem";
  auto engine = NewJavaScriptEngine(options);
  ASSERT_FALSE(engine.ok());
  EXPECT_EQ(engine.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(engine.status().message(), HasSubstr("fetch_ca_file"));
  EXPECT_THAT(engine.status().message(), HasSubstr("/nonexistent/cosmo-ca.pem"));
}

TEST_F(FetchTest, EveryNonPublicDestinationClassIsRefusedWithATypeError) {
  const std::string port = std::to_string(http_port_);
  struct Case {
    std::string url;
    std::string expect;
  };
  const std::vector<Case> cases = {
      {"http://127.0.0.1:" + port + "/hello", "127.0.0.1 is a loopback address"},
      {"http://localhost:" + port + "/hello", "localhost resolves to"},
      {"http://2130706433:" + port + "/hello", "loopback"},  // 127.0.0.1 as one number
      {"http://[::1]:" + port + "/hello", "loopback address"},
      {"http://[::ffff:127.0.0.1]:" + port + "/hello", "loopback (IPv4 in IPv6)"},
      {"http://10.1.2.3/", "private address"},
      {"http://192.168.0.1/", "private address"},
      {"http://172.20.0.1/", "private address"},
      {"http://169.254.169.254/latest/meta-data/", "cloud metadata address"},
      {"http://169.254.10.10/", "link-local address"},
      {"http://100.100.100.200/", "carrier-grade NAT"},
      {"http://224.0.0.1/", "multicast address"},
      {"http://0.0.0.0:" + port + "/", "unspecified address"},
      {"http://[fe80::1]/", "link-local address"},
      {"http://[fd00:ec2::254]/", "cloud metadata address"},
      {"http://[fc00::1]/", "private address"},
      {"http://[ff02::1]/", "multicast address"},
  };
  for (const Case& c : cases) {
    std::string out = Refusal(c.url);
    EXPECT_THAT(out, StartsWith("TypeError: fetch to ")) << c.url;
    EXPECT_THAT(out, HasSubstr(c.expect)) << c.url;
    EXPECT_THAT(out, HasSubstr("--fetch-allow")) << c.url;
  }
  EXPECT_EQ(Refusal("ftp://example.com/"),
            "TypeError: fetch: unsupported URL scheme 'ftp:' (only http: and https: are fetched)");
}

TEST_F(FetchTest, RedirectsAreCheckedAgainEachHop) {
  // The allowed upstream redirects to a loopback port (and a name) nobody allowed.
  for (const std::string& target : {std::string("http://127.0.0.1:1/x"),
                                    absl::StrCat("http://localhost:", http_port_, "/hello")}) {
    std::string out =
        Body(*allowed_engine_, absl::StrCat("try { await fetch(`${base}/to?url=", target,
                                            "`); return 'fetched'; }"
                                            " catch (e) { return `${e.name}: ${e.message}`; }"));
    EXPECT_THAT(out, StartsWith("TypeError: fetch to " + target + " refused")) << target;
  }
}

TEST_F(FetchTest, SubrequestLimitAndResponseSizeLimitAreTypeErrors) {
  ScriptLimits limits;
  limits.subrequests = 2;
  InvokeResult r = Run(*allowed_engine_, R"(
      await fetch(`${base}/hello`); await fetch(`${base}/hello`);
      try { await fetch(`${base}/hello`); return 'third fetched'; }
      catch (e) { return `${e.name}: ${e.message}`; })",
                       limits);
  ASSERT_EQ(r.outcome, Outcome::kOk) << r.error;
  EXPECT_EQ(r.response.body,
            "TypeError: fetch: this request already made its 2 subrequests (limit `subrequests`)");
  EXPECT_THAT(Body(*allowed_engine_, R"(
      try { await fetch(`${base}/big`); return 'fetched'; }
      catch (e) { return `${e.name}: ${e.message}`; })"),
              HasSubstr("the response body exceeds 1048576 bytes"));
}

TEST_F(FetchTest, TimeoutsRaceATimerOrHitTheWallLimit) {
  // A handler racing its own timer does not wait for the slow upstream.
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(Body(*allowed_engine_, R"(
      const slow = fetch(`${base}/slow?ms=3000`).then((r) => r.text());
      return Promise.race([slow, new Promise((r) => setTimeout(() => r('timed out'), 100))]);)"),
            "timed out");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  // With no such timer the wall limit ends the request.
  ScriptLimits limits;
  limits.wall_per_request = absl::Milliseconds(300);
  InvokeResult r =
      Run(*allowed_engine_, "return (await fetch(`${base}/slow?ms=3000`)).text();", limits);
  EXPECT_EQ(r.outcome, Outcome::kExceededWallTime) << r.error;
  EXPECT_LT(r.usage.wall_us, 2'000'000);
}

TEST_F(FetchTest, AnAbortSignalRejectsWithItsReasonAndDropsTheTransfer) {
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(Body(*allowed_engine_, R"(
      try {
        await fetch(`${base}/slow?ms=3000`, {signal: AbortSignal.timeout(100)});
        return 'fetched';
      } catch (e) {
        const after = await (await fetch(`${base}/hello`)).text();
        return `${e.name} ${after}`;
      })"),
            "TimeoutError hello from upstream");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  // The aborted transfer is gone from the event loop: a promise nothing else can settle ends the
  // request at once instead of after the 3 s upstream.
  start = std::chrono::steady_clock::now();
  InvokeResult r = Run(*allowed_engine_, R"(
      const c = new AbortController();
      const p = fetch(`${base}/slow?ms=3000`, {signal: c.signal});
      setTimeout(() => c.abort(new Error('stopped')), 50);
      try { await p; } catch (e) { console.log(e.message); }
      await new Promise(() => {});)");
  EXPECT_EQ(r.outcome, Outcome::kException) << r.error;
  EXPECT_THAT(r.error, HasSubstr("never complete"));
  ASSERT_FALSE(r.console.empty());
  EXPECT_EQ(r.console[0].text, "stopped");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

TEST_F(FetchTest, FormDataAndBlobBodiesGoOutWithTheirContentTypes) {
  EXPECT_EQ(Body(*allowed_engine_, R"(
      const f = new FormData();
      f.append('k', 'v');
      f.append('up', new File(['data'], 'a.txt', {type: 'text/plain'}));
      const multipart = await (await fetch(`${base}/form`, {method: 'POST', body: f})).text();
      const blob = await (await fetch(`${base}/echo`, {method: 'POST',
          body: new Blob(['<a/>'], {type: 'application/xml'})})).text();
      return `${multipart}\n${blob}`;)"),
            "multipart/form-data; boundary=|k=v (, )|up=data (a.txt, text/plain)|\n"
            "POST 4 application/xml |<a/>");
}

TEST_F(FetchTest, FiftyConcurrentRequestsWaitingOnUpstreamOverlapAndMeterNoWait) {
  TempDir data;
  RuntimeOptions options;
  options.max_instances_per_version = 64;
  options.background_maintenance = false;
  options.javascript.fetch_allow = {absl::StrCat("127.0.0.1:", http_port_)};
  auto runtime = NewRuntime(options, NewInMemoryStore());
  ASSERT_TRUE(runtime.ok()) << runtime.status();
  Manifest m;
  m.engine = "javascript";
  m.main = "index.js";
  m.files["index.js"] = absl::StrCat(
      "export default { async fetch() {\n"
      "  const r = await fetch('",
      Base(),
      "/slow?ms=200');\n"
      "  return `${r.status} ${await r.text()}`; } };");
  ASSERT_TRUE((*runtime)->registry().Deploy({.tenant = "t", .family = "wait", .manifest = m}).ok());
  HttpRequest request;
  request.url = "http://cosmo.test/wait/";
  // Warm one instance so the figure is about waiting, not about the first activation.
  ASSERT_EQ((*runtime)->Invoke("wait", request).outcome, Outcome::kOk);

  constexpr int kRequests = 50;
  std::vector<InvokeResult> results(kRequests);
  std::vector<std::thread> threads;
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kRequests; ++i) {
    threads.emplace_back([&, i] { results[i] = (*runtime)->Invoke("wait", request); });
  }
  for (std::thread& t : threads) t.join();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  int64_t cpu_us = 0, max_cpu_us = 0;
  for (const InvokeResult& r : results) {
    ASSERT_EQ(r.outcome, Outcome::kOk) << r.error;
    EXPECT_EQ(r.response.body, "200 slow");
    EXPECT_GE(r.usage.wall_us, 195'000);
    cpu_us += r.usage.cpu_us;
    max_cpu_us = std::max(max_cpu_us, r.usage.cpu_us);
  }
  // Serially this is 50 x 200 ms = 10 s; overlapped it is one wait plus the instances' start.
  EXPECT_LT(seconds, 4.0);
  // Each request waited 200 ms; had the wait been metered it would also have hit the default
  // 50 ms CPU limit.
  EXPECT_LT(max_cpu_us, 50'000);
  std::printf(
      "[ figures  ] %d concurrent requests each waiting 200 ms on fetch: %.0f ms wall, "
      "metered CPU %.2f ms total, %.2f ms mean, %.2f ms max per request\n",
      kRequests, seconds * 1000, cpu_us / 1000.0, cpu_us / 1000.0 / kRequests, max_cpu_us / 1000.0);
}

}  // namespace
}  // namespace cosmo
