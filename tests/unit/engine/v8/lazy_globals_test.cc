// The parts of the platform the runtime materialises on first use (WHATWG Streams, also reached
// through a body's `body`, Blob.stream() or crypto.DigestStream; URL and URLSearchParams, also
// reached through URL parsing the runtime does; SubtleCrypto and CryptoKey, also reached through
// crypto.subtle; URLPattern; CompressionStream and DecompressionStream; FileReader and
// ProgressEvent): whichever way a script touches one first, it behaves as when everything was built
// into the snapshot; each isolate materialises its own; limits hold. Real V8, real snapshot; every
// case starts a fresh instance, since materialisation is per isolate.
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "engine_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cosmo::v8engine {
namespace {

using ::cosmo::v8engine::testing::Get;
using ::cosmo::v8engine::testing::MustStart;
using ::testing::HasSubstr;

const std::vector<std::string>& LazyInterfaces() {
  static const auto* names = new std::vector<std::string>{"CryptoKey",
                                                          "SubtleCrypto",
                                                          "URLPattern",
                                                          "CompressionStream",
                                                          "DecompressionStream",
                                                          "FileReader",
                                                          "ProgressEvent",
                                                          "URL",
                                                          "URLSearchParams",
                                                          "ReadableStream",
                                                          "ReadableStreamDefaultReader",
                                                          "ReadableStreamBYOBReader",
                                                          "ReadableStreamBYOBRequest",
                                                          "ReadableStreamDefaultController",
                                                          "ReadableByteStreamController",
                                                          "WritableStream",
                                                          "WritableStreamDefaultWriter",
                                                          "WritableStreamDefaultController",
                                                          "TransformStream",
                                                          "TransformStreamDefaultController",
                                                          "ByteLengthQueuingStrategy",
                                                          "CountQueuingStrategy",
                                                          "TextEncoderStream",
                                                          "TextDecoderStream"};
  return *names;
}

// These tests assert behaviour, not speed: a first use compiles the interface's module, a few
// milliseconds here but tens under the sanitizers, past the default 50 ms CPU limit.
ScriptLimits Generous() {
  ScriptLimits limits;
  limits.cpu_per_request = absl::Seconds(5);
  return limits;
}

// `body` (statements ending in `return <string>`) run as the handler of a fresh instance.
std::string RunFresh(const std::string& body) {
  auto instance = MustStart("export default { async fetch() { " + body + " } };", Generous());
  if (instance == nullptr) return "<no instance>";
  InvokeResult result = instance->Invoke(Get());
  EXPECT_EQ(result.outcome, Outcome::kOk) << result.error;
  return result.response.body;
}

// Whatever touches it first, an interface is a function, a data property with an interface's
// attributes, carries its toStringTag and is not enumerable.
TEST(LazyGlobalsTest, EveryFirstTouchSeesAnInterface) {
  const std::vector<std::string> first_touches = {
      "typeof globalThis[name]",
      "JSON.stringify(Object.getOwnPropertyDescriptor(globalThis, name))",
      "name in globalThis",
      "Object.keys(globalThis).includes(name)",
      "Object.getOwnPropertyNames(globalThis).includes(name)",
      "Reflect.has(globalThis, name)",
  };
  for (const std::string& name : LazyInterfaces()) {
    for (const std::string& touch : first_touches) {
      const std::string body = R"(
          const name = ')" + name +
                               R"(';
          const first = String()" +
                               touch + R"();
          const d = Object.getOwnPropertyDescriptor(globalThis, name);
          const value = globalThis[name];
          return [first, typeof value, 'value' in d, d.writable, d.enumerable, d.configurable,
                  d.value === value, value.name, value.prototype[Symbol.toStringTag],
                  Object.keys(globalThis).includes(name)].join(' ');)";
      std::string expected_first;
      if (touch.rfind("typeof", 0) == 0) {
        expected_first = "function";
      } else if (touch.rfind("JSON", 0) == 0) {
        expected_first = R"({"writable":true,"enumerable":false,"configurable":true})";
      } else if (touch.find("keys") != std::string::npos) {
        expected_first = "false";
      } else {
        expected_first = "true";
      }
      EXPECT_EQ(RunFresh(body), expected_first + " function true true false true true " + name +
                                    " " + name + " false")
          << name << ", first touched by " << touch;
    }
  }
}

TEST(LazyGlobalsTest, SubtleReachedThroughCryptoFirstIsTheSameInterface) {
  EXPECT_EQ(RunFresh(R"(
      const subtle = crypto.subtle;
      const d = Object.getOwnPropertyDescriptor(globalThis, 'SubtleCrypto');
      let cloned = 'cloned';
      try { structuredClone(subtle); } catch (e) { cloned = e.name; }
      return [subtle instanceof SubtleCrypto, d.value === SubtleCrypto, String(subtle),
              Object.keys(SubtleCrypto.prototype).includes('digest'), cloned,
              crypto.subtle === subtle].join(' ');)"),
            "true true [object SubtleCrypto] true DataCloneError true");
  // DigestStream needs subtle's digests: the first one made loads them.
  EXPECT_EQ(RunFresh(R"(
      const stream = new crypto.DigestStream('SHA-256');
      const writer = stream.getWriter();
      await writer.write(new TextEncoder().encode('abc'));
      await writer.close();
      const digest = new Uint8Array(await stream.digest);
      return [...digest.slice(0, 4)].map((b) => b.toString(16)).join('');)"),
            "ba7816bf");
  // Through the interface first: the same objects.
  EXPECT_EQ(RunFresh(R"(
      const proto = SubtleCrypto.prototype;
      return String(Object.getPrototypeOf(crypto.subtle) === proto);)"),
            "true");
}

// A stream the runtime makes before any script named a stream interface (a body's `body`,
// Blob.stream(), crypto.DigestStream) is an instance of the very interfaces the globals then give,
// and a platform object structuredClone refuses.
TEST(LazyGlobalsTest, StreamsFirstMadeByTheRuntimeAreOfTheGlobalInterfaces) {
  for (const char* make : {"new Response('abc').body",
                           "new Request('http://a.test/', {method: 'POST', body: 'abc'}).body",
                           "new Blob(['abc']).stream()"}) {
    EXPECT_EQ(RunFresh(std::string("const body = ") + make + R"(;
        let cloned = 'cloned';
        try { structuredClone(body); } catch (e) { cloned = e.name; }
        const text = await new Response(body).text();
        return [body instanceof ReadableStream,
                Object.getPrototypeOf(body) === ReadableStream.prototype, String(body),
                Object.keys(ReadableStream.prototype).includes('getReader'), cloned,
                text].join(' ');)"),
              "true true [object ReadableStream] true DataCloneError abc")
        << make;
  }
  EXPECT_EQ(RunFresh(R"(
      const stream = new crypto.DigestStream('SHA-256');
      const writer = stream.getWriter();
      await writer.write('abc');
      await writer.close();
      const digest = new Uint8Array(await stream.digest);
      return [stream instanceof WritableStream, Object.getPrototypeOf(crypto.DigestStream) ===
              WritableStream, stream.bytesWritten, digest[0].toString(16)].join(' ');)"),
            "true true 3 ba");
  // DigestStream's members check their receiver as a class's do.
  EXPECT_EQ(RunFresh(R"(
      const out = [];
      for (const f of [() => crypto.DigestStream('SHA-256'), () => new crypto.DigestStream(),
                       () => Object.getOwnPropertyDescriptor(crypto.DigestStream.prototype,
                                                             'digest').get.call({})]) {
        try { f(); out.push('ok'); } catch (e) { out.push(e.constructor.name); }
      }
      return out.join(' ');)"),
            "TypeError TypeError TypeError");
}

// The URLs a Request or Response.redirect() parses, whether or not they are canonical, come out as
// the URL standard serializes them, before and after URL itself is materialised; URL objects made
// afterwards are refused by structuredClone.
TEST(LazyGlobalsTest, UrlParsingBeforeUrlIsMaterialisedIsTheStandards) {
  EXPECT_EQ(RunFresh(R"(
      const a = new Request('HTTP://Example.COM:80/a/./b/../c?q=%7e#f').url;
      const b = new Request('http://example.com/x?y=1').url;
      const c = Response.redirect('https://exämple.com/é').headers.get('location');
      let bad = 'parsed';
      try { new Request('http://user:pw@example.com/'); } catch (e) { bad = e.constructor.name; }
      let cloned = 'cloned';
      try { structuredClone(new URL(a)); } catch (e) { cloned = e.name; }
      return [a, b, c, bad, cloned, new URL(a).href === a].join(' ');)"),
            "http://example.com/a/c?q=%7e#f http://example.com/x?y=1 "
            "https://xn--exmple-cua.com/%C3%A9 TypeError DataCloneError true");
}

// The packages take the runtime's DOMException and TextEncoder/TextDecoder when they are
// materialised, whatever a script has done to those globals by then, and leave the globals as the
// script set them.
TEST(LazyGlobalsTest, MaterialisingTakesTheRuntimesGlobalsAndLeavesTheScripts) {
  EXPECT_EQ(RunFresh(R"(
      const original = DOMException;
      globalThis.DOMException = 'mine';
      delete globalThis.TextEncoder;
      globalThis.TextDecoder = 7;
      const href = new URL('http://example.com/é?x=é').href;
      const params = new URLSearchParams('a=%C3%A9').get('a');
      const reader = new ReadableStream().getReader();
      reader.releaseLock();
      let closed = 'open';
      await reader.closed.catch((e) => { closed = e.constructor.name; });
      return [href, params, closed, DOMException, typeof TextEncoder, TextDecoder,
              'TextEncoder' in globalThis].join(' ');)"),
            "http://example.com/%C3%A9?x=%C3%A9 \xC3\xA9 TypeError mine undefined 7 false");
}

// A script that freezes the global object (or pins a global the packages read) before the first
// use still gets working streams and URLs.
TEST(LazyGlobalsTest, MaterialisesUnderAFrozenGlobalObject) {
  EXPECT_EQ(RunFresh(R"(
      Object.defineProperty(globalThis, 'TextEncoder', { configurable: false });
      Object.freeze(globalThis);
      const text = await new Response(new Response('frozen').body).text();
      const url = new URL('http://example.com/\u00e9?a=b');
      return [text, url.href, url.searchParams.get('a'), typeof ReadableStream,
              Object.isFrozen(globalThis)].join(' ');)"),
            "frozen http://example.com/%C3%A9?a=b b function true");
}

TEST(LazyGlobalsTest, AssignedOrDeletedBeforeUseStaysSo) {
  EXPECT_EQ(RunFresh(R"(
      globalThis.URLPattern = 42;
      const d = Object.getOwnPropertyDescriptor(globalThis, 'URLPattern');
      return [URLPattern, d.value, d.writable, d.enumerable].join(' ');)"),
            "42 42 true false");
  EXPECT_EQ(RunFresh(R"(
      const deleted = delete globalThis.CompressionStream;
      return [deleted, typeof CompressionStream, 'CompressionStream' in globalThis,
              typeof DecompressionStream].join(' ');)"),
            "true undefined false function");
  EXPECT_EQ(RunFresh(R"(
      Object.defineProperty(globalThis, 'SubtleCrypto', { value: 'mine', enumerable: true });
      return [SubtleCrypto, typeof CryptoKey, Object.keys(globalThis).includes('SubtleCrypto'),
              String(crypto.subtle)].join(' ');)"),
            "mine function true [object SubtleCrypto]");
}

TEST(LazyGlobalsTest, MaterialisedPartsWork) {
  EXPECT_EQ(RunFresh(R"(
      const p = new URLPattern({ pathname: '/books/:id' });
      const m = p.exec('https://example.com/books/7');
      return m.pathname.groups.id;)"),
            "7");
  EXPECT_EQ(RunFresh(R"(
      const bytes = new TextEncoder().encode('hello hello hello');
      const packed = new Response(new Blob([bytes]).stream()
          .pipeThrough(new CompressionStream('gzip')));
      const unpacked = new Response((await packed.blob()).stream()
          .pipeThrough(new DecompressionStream('gzip')));
      return await unpacked.text();)"),
            "hello hello hello");
  EXPECT_EQ(RunFresh(R"(
      const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode('abc'));
      return [...new Uint8Array(digest).slice(0, 4)].map((b) => b.toString(16)).join('');)"),
            "ba7816bf");
  EXPECT_EQ(RunFresh(R"(
      const reader = new FileReader();
      const done = new Promise((resolve) => { reader.onload = (e) => resolve(e); });
      reader.readAsText(new Blob(['lazy']));
      const event = await done;
      return [reader.result, event instanceof ProgressEvent, event.type].join(' ');)"),
            "lazy true load");
}

TEST(LazyGlobalsTest, PlatformObjectsOfLazyInterfacesAreNotCloneable) {
  EXPECT_EQ(RunFresh(R"(
      const names = [];
      for (const value of [new URLPattern({}), new CompressionStream('gzip'), crypto,
                           crypto.subtle, new FileReader()]) {
        try { structuredClone(value); names.push('cloned'); } catch (e) { names.push(e.name); }
      }
      return names.join(' ');)"),
            "DataCloneError DataCloneError DataCloneError DataCloneError DataCloneError");
}

TEST(LazyGlobalsTest, ErrorsAreTheSameAsBefore) {
  EXPECT_EQ(RunFresh(R"(
      const out = [];
      for (const make of [() => new SubtleCrypto(), () => new CompressionStream('zip'),
                          () => URLPattern(), () => new CryptoKey()]) {
        try { make(); out.push('made'); } catch (e) { out.push(e.constructor.name); }
      }
      return out.join(' ');)"),
            "TypeError TypeError TypeError TypeError");
}

TEST(LazyGlobalsTest, EachIsolateMaterialisesItsOwn) {
  auto first = MustStart(R"(export default { fetch() {
      URLPattern.prototype.marker = 'first';
      crypto.subtle.marker = 'first';
      return [URLPattern.prototype.marker, crypto.subtle.marker].join(' '); } };)",
                         Generous());
  auto second = MustStart(R"(export default { fetch() {
      return [String(URLPattern.prototype.marker), String(crypto.subtle.marker)].join(' '); } };)",
                          Generous());
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  InvokeResult a = first->Invoke(Get());
  InvokeResult b = second->Invoke(Get());
  ASSERT_EQ(a.outcome, Outcome::kOk) << a.error;
  ASSERT_EQ(b.outcome, Outcome::kOk) << b.error;
  EXPECT_EQ(a.response.body, "first first");
  EXPECT_EQ(b.response.body, "undefined undefined");
  // And the first keeps its own on its next request.
  InvokeResult again = first->Invoke(Get());
  EXPECT_EQ(again.response.body, "first first");
}

TEST(LazyGlobalsTest, MemoryLimitStillStopsAHugeAllocationAfterMaterialising) {
  ScriptLimits limits = Generous();
  limits.memory_bytes = size_t{64} << 20;
  auto instance = MustStart(R"(export default { fetch() {
      new URLPattern({}); crypto.subtle; new CompressionStream('gzip'); new FileReader();
      const a = []; for (;;) a.push(new Array(1e5).fill(1)); } };)",
                            limits);
  ASSERT_NE(instance, nullptr);
  InvokeResult result = instance->Invoke(Get());
  EXPECT_EQ(result.outcome, Outcome::kExceededMemory) << result.error;
  EXPECT_THAT(result.error, HasSubstr("memory limit"));
  EXPECT_FALSE(instance->Reusable());
}

}  // namespace
}  // namespace cosmo::v8engine
