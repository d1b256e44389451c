// console.* formatting as users know it from Node and browsers: objects, arrays, errors with
// their stack, format specifiers, levels. Real V8.
#include <memory>
#include <string>

#include "engine_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cosmo::v8engine {
namespace {

using ::cosmo::v8engine::testing::Get;
using ::cosmo::v8engine::testing::JsManifest;
using ::cosmo::v8engine::testing::SharedEngine;
using ::cosmo::v8engine::testing::Start;
using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(ConsoleTest, ObjectsArraysErrorsAndSpecifiersFormatLikeNode) {
  auto instance = Start(SharedEngine(), JsManifest(R"(export default { fetch() {
      console.log({ a: 1, b: 'two', c: [1, 2, { d: null }] });
      console.info([1, 'x', undefined, true]);
      console.warn('%s has %d items costing %f', 'cart', 3, 1.5);
      function thrower() { throw new TypeError('bad thing'); }
      try { thrower(); } catch (e) { console.error(e); }
      const cyclic = { name: 'loop' }; cyclic.self = cyclic;
      console.debug(cyclic);
      console.log(new Map([['k', 1]]), new Set([1]));
      return 'ok'; } };)"));
  ASSERT_TRUE(instance.ok()) << instance.status();
  InvokeResult r = (*instance)->Invoke(Get());
  ASSERT_EQ(r.outcome, Outcome::kOk) << r.error;
  ASSERT_EQ(r.console.size(), 6u);
  EXPECT_EQ(r.console[0].level, LogLevel::kLog);
  EXPECT_EQ(r.console[0].text, "{ a: 1, b: 'two', c: [ 1, 2, { d: null } ] }");
  EXPECT_EQ(r.console[1].level, LogLevel::kInfo);
  EXPECT_EQ(r.console[1].text, "[ 1, 'x', undefined, true ]");
  EXPECT_EQ(r.console[2].level, LogLevel::kWarn);
  EXPECT_EQ(r.console[2].text, "cart has 3 items costing 1.5");
  EXPECT_EQ(r.console[3].level, LogLevel::kError);
  EXPECT_THAT(r.console[3].text, StartsWith("TypeError: bad thing\n    at thrower (index.js:5:"));
  EXPECT_EQ(r.console[4].level, LogLevel::kDebug);
  EXPECT_EQ(r.console[4].text, "<ref *1> { name: 'loop', self: [Circular *1] }");
  EXPECT_EQ(r.console[5].text, "Map(1) { 'k' => 1 } Set(1) { 1 }");
}

TEST(ConsoleTest, AnUncaughtExceptionCarriesItsStack) {
  auto instance = Start(SharedEngine(), JsManifest(R"(export default { fetch() {
      return inner(); } };
      function inner() { throw new RangeError('out of range'); })"));
  ASSERT_TRUE(instance.ok()) << instance.status();
  InvokeResult r = (*instance)->Invoke(Get());
  EXPECT_EQ(r.outcome, Outcome::kException);
  EXPECT_THAT(r.error, StartsWith("Uncaught RangeError: out of range"));
  EXPECT_THAT(r.error, HasSubstr("at inner (index.js:3:"));
}

}  // namespace
}  // namespace cosmo::v8engine
