// env.BINDING in the real engine over a real KvStore (in-memory store, ManualClock): every method,
// option, value type and limit of the Workers KV API as a script sees it.
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cosmo/kv.h"
#include "engine_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cosmo::v8engine {
namespace {

using ::cosmo::v8engine::testing::Get;
using ::cosmo::v8engine::testing::JsManifest;
using ::testing::HasSubstr;

constexpr char kNs[] = "things";

class KvApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    clock_ = new ManualClock(absl::FromUnixSeconds(1'700'000'000));
    store_ = NewInMemoryStore().release();
    kv_ = NewKvStore(store_, clock_, {.sweep_interval = absl::ZeroDuration()})->release();
    auto engine = NewJavaScriptEngine({.kv = kv_});
    ASSERT_TRUE(engine.ok()) << engine.status();
    engine_ = engine->release();
  }
  static void TearDownTestSuite() {
    delete engine_;
    delete kv_;
    delete store_;
    delete clock_;
  }

  void SetUp() override {
    clock_->Set(absl::FromUnixSeconds(1'700'000'000));
    // Each test gets a fresh namespace.
    ns_ = absl::StrCat(kNs, "-", ++counter_);
    ASSERT_TRUE(kv_->Put(ns_, "seed", "", {}, "acme").ok());
    ASSERT_TRUE(kv_->Delete(ns_, "seed").ok());
  }

  // Runs `body` (statements of an async fetch handler with `kv` bound to the namespace) and
  // returns the response body; the handler's result is JSON-encoded.
  std::string Run(const std::string& body, size_t memory_mb = 128) {
    Manifest manifest = JsManifest(absl::StrCat(
        "export default { async fetch(request, env) { const kv = env.KV;\n", body, "\n} };"));
    manifest.kv["KV"] = ns_;
    ScriptLimits limits;
    limits.cpu_per_request = absl::Seconds(20);
    limits.memory_bytes = memory_mb << 20;
    auto instance = ::cosmo::testing::StartInstance(*engine_, manifest, limits);
    EXPECT_TRUE(instance.ok()) << instance.status();
    if (!instance.ok()) return "";
    InvokeResult result = (*instance)->Invoke(Get());
    EXPECT_EQ(result.outcome, Outcome::kOk) << result.error;
    last_usage_ = result.usage;
    return result.response.body;
  }

  static ManualClock* clock_;
  static Store* store_;
  static KvStore* kv_;
  static JavaScriptEngine* engine_;
  static int counter_;
  std::string ns_;
  InvocationUsage last_usage_;
};

ManualClock* KvApiTest::clock_ = nullptr;
Store* KvApiTest::store_ = nullptr;
KvStore* KvApiTest::kv_ = nullptr;
JavaScriptEngine* KvApiTest::engine_ = nullptr;
int KvApiTest::counter_ = 0;

TEST_F(KvApiTest, GetReturnsEveryTypeAndNullForMissingKeys) {
  EXPECT_EQ(
      Run(R"(
    await kv.put('k', '{"a":[1,"é"]}');
    const out = [];
    out.push(await kv.get('k'));
    out.push(await kv.get('k', 'text'));
    out.push(JSON.stringify(await kv.get('k', {type: 'json'})));
    out.push(JSON.stringify(await kv.get('k', 'json')));
    const buf = await kv.get('k', 'arrayBuffer');
    out.push(buf instanceof ArrayBuffer, buf.byteLength);
    const stream = await kv.get('k', {type: 'stream'});
    out.push(stream instanceof ReadableStream, await new Response(stream).text());
    out.push(await kv.get('missing'), await kv.get('missing', 'json'));
    try { await kv.get('k', 'blob'); } catch (e) { out.push(e.constructor.name + ': ' + e.message); }
    return Response.json(out);)"),
      R"(["{\"a\":[1,\"é\"]}","{\"a\":[1,\"é\"]}","{\"a\":[1,\"é\"]}","{\"a\":[1,\"é\"]}",)"
      R"(true,14,true,"{\"a\":[1,\"é\"]}",null,null,)"
      R"("TypeError: KV get: unknown type \"blob\"; use \"text\", \"json\", \"arrayBuffer\" or \"stream\""])");
}

TEST_F(KvApiTest, PutTakesStringsBuffersViewsAndStreams) {
  EXPECT_EQ(Run(R"(
    const bytes = new Uint8Array([0, 1, 2, 250, 255]);
    await kv.put('buffer', bytes.buffer);
    await kv.put('view', new Uint8Array(bytes.buffer, 1, 3));
    await kv.put('dataview', new DataView(bytes.buffer, 3, 2));
    await kv.put('stream', new ReadableStream({start(c) {
      c.enqueue(new Uint8Array([104, 105])); c.enqueue(new Uint8Array([33])); c.close(); }}));
    await kv.put('empty', '');
    const hex = async (k) => [...new Uint8Array(await kv.get(k, 'arrayBuffer'))].join(',');
    const out = [await hex('buffer'), await hex('view'), await hex('dataview'),
                 await kv.get('stream'), await kv.get('empty')];
    for (const bad of [42, null, undefined, {}, [1]]) {
      try { await kv.put('bad', bad); out.push('stored ' + bad); }
      catch (e) { out.push(e.constructor.name); }
    }
    out.push(await kv.get('bad'));
    return Response.json(out);)"),
            R"(["0,1,2,250,255","1,2,250","250,255","hi!","","TypeError","TypeError","TypeError",)"
            R"("TypeError","TypeError",null])");
}

TEST_F(KvApiTest, MetadataAndExpirationRoundTrip) {
  EXPECT_EQ(Run(R"(
    await kv.put('m', 'v', {metadata: {owner: 'ada', tags: [1, 2], nested: {ok: true}}});
    await kv.put('t', 'v', {expirationTtl: 120});
    await kv.put('e', 'v', {expiration: 1700000600, metadata: 'just a string'});
    await kv.put('plain', 'v');
    const out = [];
    out.push(await kv.getWithMetadata('m'));
    out.push(await kv.getWithMetadata('m', 'json').catch((e) => e.constructor.name));
    out.push(await kv.getWithMetadata('plain'));
    out.push(await kv.getWithMetadata('missing'));
    out.push((await kv.list()).keys);
    return Response.json(out);)"),
            R"([{"value":"v","metadata":{"owner":"ada","tags":[1,2],"nested":{"ok":true}}},)"
            R"("SyntaxError",{"value":"v","metadata":null},{"value":null,"metadata":null},)"
            R"([{"name":"e","expiration":1700000600,"metadata":"just a string"},)"
            R"({"name":"m","metadata":{"owner":"ada","tags":[1,2],"nested":{"ok":true}}},)"
            R"({"name":"plain"},{"name":"t","expiration":1700000120}]])");
}

TEST_F(KvApiTest, DeleteRemovesAKeyAndIgnoresMissingOnes) {
  EXPECT_EQ(Run(R"(
    await kv.put('a', '1');
    const first = await kv.delete('a');
    await kv.delete('never-there');
    return Response.json([first === undefined, await kv.get('a'), (await kv.list()).keys.length]);)"),
            "[true,null,0]");
  EXPECT_EQ(last_usage_.kv_writes, 1u);
  EXPECT_EQ(last_usage_.kv_deletes, 2u);
  EXPECT_EQ(last_usage_.kv_reads, 1u);
  EXPECT_EQ(last_usage_.kv_lists, 1u);
  EXPECT_EQ(last_usage_.kv_bytes_written, 1u);
}

TEST_F(KvApiTest, ListPagesOver2500KeysInByteOrder) {
  for (int i = 0; i < 2500; ++i) {
    kv_->PutAsync(ns_, absl::StrFormat("k%04d", i), "v", {}, [](absl::Status) {});
  }
  ASSERT_TRUE(kv_->Put(ns_, "\xC3\xA9", "v", {}).ok());  // "é" sorts after every ASCII key
  ASSERT_TRUE(kv_->Put(ns_, "K", "v", {}).ok());         // and "K" before "k..."
  EXPECT_EQ(Run(R"(
    const pages = [];
    let cursor;
    const names = [];
    for (;;) {
      const page = await kv.list({cursor});
      pages.push([page.keys.length, page.list_complete, typeof page.cursor]);
      for (const k of page.keys) names.push(k.name);
      if (page.list_complete) break;
      cursor = page.cursor;
    }
    const sorted = names.every((n, i) => i === 0 || names[i - 1] < n);
    const prefixed = await kv.list({prefix: 'k00', limit: 7});
    const rest = await kv.list({prefix: 'k00', cursor: prefixed.cursor});
    const bad = [];
    for (const limit of [0, 1001, 1.5, 'x']) {
      try { await kv.list({limit}); bad.push('ok'); } catch (e) { bad.push(e.constructor.name); }
    }
    return Response.json([pages, names.length, names[0], names[1], names[names.length - 1], sorted,
                          prefixed.keys.map((k) => k.name).join(' '), prefixed.list_complete,
                          rest.keys.length, rest.list_complete, bad]);)"),
            R"([[[1000,false,"string"],[1000,false,"string"],[502,true,"undefined"]],2502,"K",)"
            R"("k0000","é",true,"k0000 k0001 k0002 k0003 k0004 k0005 k0006",false,93,true,)"
            R"(["TypeError","TypeError","TypeError","TypeError"]])");
}

TEST_F(KvApiTest, EveryLimitThrowsNamingItAndWritesNothing) {
  EXPECT_EQ(Run(R"(
    const out = [];
    const attempt = async (what, f) => {
      try { await f(); out.push(what + ': stored'); }
      catch (e) { out.push(what + ': ' + e.constructor.name + ': ' + e.message); }
    };
    await attempt('key', () => kv.put('k'.repeat(513), 'v'));
    await attempt('empty key', () => kv.put('', 'v'));
    await attempt('dot', () => kv.put('..', 'v'));
    await attempt('value', () => kv.put('big', 'x'.repeat(25 * 1024 * 1024 + 1)));
    await attempt('metadata', () => kv.put('m', 'v', {metadata: 'x'.repeat(1023)}));
    await attempt('ttl', () => kv.put('t', 'v', {expirationTtl: 59}));
    await attempt('expiration', () => kv.put('t', 'v', {expiration: 1700000059}));
    await attempt('get key', () => kv.get('k'.repeat(513)));
    out.push((await kv.list()).keys.length);
    return new Response(out.join('\n'));)",
                256),
            "key: TypeError: KV key: 513 bytes exceed the key size limit of 512 bytes\n"
            "empty key: TypeError: KV key: a key must not be empty\n"
            "dot: TypeError: KV key: \".\" and \"..\" are not allowed as keys\n"
            "value: TypeError: KV value: 26214401 bytes exceed the value size limit of 26214400 "
            "bytes\n"
            "metadata: TypeError: KV metadata: 1025 bytes of serialized JSON exceed the metadata "
            "limit of 1024 bytes\n"
            "ttl: TypeError: KV expirationTtl: 59 s is below the minimum expirationTtl of 60 s\n"
            "expiration: TypeError: KV expiration: 1700000059 is less than the minimum of 60 s in "
            "the future (now is 1700000000 Unix seconds)\n"
            "get key: TypeError: KV key: 513 bytes exceed the key size limit of 512 bytes\n"
            "0");
}

TEST_F(KvApiTest, AThousandOperationsPerInvocation) {
  EXPECT_EQ(Run(R"(
    let done = 0;
    try {
      for (let i = 0; i < 1001; ++i) { await kv.get('k'); ++done; }
    } catch (e) {
      return new Response(done + ' ' + e.constructor.name + ': ' + e.message);
    }
    return new Response('no limit');)"),
            "1000 Error: KV operations: more than 1000 in one invocation (the limit of "
            "operations per invocation)");
  // The budget is per invocation: the next one starts afresh.
  EXPECT_EQ(Run("return new Response(String(await kv.get('k')));"), "null");
}

TEST_F(KvApiTest, ExpiredKeysVanishWhenTheClockPassesThem) {
  EXPECT_EQ(Run("await kv.put('soon', 'x', {expirationTtl: 60}); return new Response('ok');"),
            "ok");
  EXPECT_EQ(Run("return Response.json([await kv.get('soon'), (await kv.list()).keys.length]);"),
            R"(["x",1])");
  clock_->Advance(absl::Seconds(60));
  EXPECT_EQ(Run("return Response.json([await kv.get('soon'), (await kv.list()).keys.length]);"),
            "[null,0]");
}

TEST_F(KvApiTest, AStreamed20MiBValueRoundTrips) {
  EXPECT_EQ(Run(R"(
    const total = 20 * 1024 * 1024, piece = 64 * 1024;
    let made = 0;
    await kv.put('big', new ReadableStream({pull(c) {
      if (made === total) { c.close(); return; }
      const chunk = new Uint8Array(piece);
      for (let i = 0; i < piece; i += 4096) chunk[i] = ((made + i) / 4096) & 0xff;
      made += piece;
      c.enqueue(chunk);
    }}));
    let read = 0, chunks = 0, ok = true;
    for await (const chunk of await kv.get('big', 'stream')) {
      for (let i = 0; i < chunk.byteLength; i += 4096) {
        if (chunk[i] !== ((read + i) / 4096 & 0xff)) ok = false;
      }
      read += chunk.byteLength;
      ++chunks;
    }
    return Response.json([read, chunks > 1, ok]);)",
                512),
            "[20971520,true,true]");
  EXPECT_EQ(last_usage_.kv_bytes_written, 20u << 20);
  EXPECT_EQ(last_usage_.kv_bytes_read, 20u << 20);
}

TEST_F(KvApiTest, EnvHoldsTheBindingAsAKvNamespace) {
  EXPECT_EQ(Run(R"(
    return new Response(typeof kv + ' ' + Object.prototype.toString.call(kv) + ' ' +
                        Object.keys(env).join());)"),
            "object [object KvNamespace] KV");
}

}  // namespace
}  // namespace cosmo::v8engine
