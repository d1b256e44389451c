// Liquid templates read KV: `kv.BINDING["key"]` renders the text value of the key in the bound
// namespace (real V8 and LiquidJS over a real KvStore on an in-memory store), nil when missing,
// every key reaching the store (none shadowed by JavaScript property names), each read counted in
// the invocation's usage; the binding is not an env variable.
#include <memory>
#include <string>

#include "cosmo/kv.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "liquid_test_util.h"

namespace cosmo::liquid {
namespace {

using ::cosmo::liquid::testing::Get;
using ::cosmo::liquid::testing::MakeEngine;
using ::cosmo::liquid::testing::Page;
using ::cosmo::liquid::testing::Start;

class LiquidKvTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    store_ = NewInMemoryStore().release();
    kv_ = NewKvStore(store_, Clock::Real(), {.sweep_interval = absl::ZeroDuration()})->release();
    LiquidEngineOptions options;
    options.javascript.kv = kv_;
    engine_ = MakeEngine(options).release();
    for (const char* key : {"home", "constructor", "toString", "size", "liquidMethodMissing"}) {
      ASSERT_TRUE(kv_->Put("pages", key, std::string("value of ") + key, {}, "acme").ok());
    }
    ASSERT_TRUE(kv_->Put("pages", "bytes", std::string("caf\xc3\xa9", 5), {}, "acme").ok());
  }
  static void TearDownTestSuite() {
    delete engine_;
    delete kv_;
    delete store_;
  }

  static InvokeResult Render(const std::string& source) {
    Manifest page = Page(source, {{"TITLE", "Shop"}});
    page.kv["PAGES"] = "pages";
    auto instance = Start(*engine_, page);
    EXPECT_TRUE(instance.ok()) << instance.status();
    if (!instance.ok()) return {};
    return (*instance)->Invoke(Get("http://example.com/shop/home"));
  }

  static Store* store_;
  static KvStore* kv_;
  static Engine* engine_;
};

Store* LiquidKvTest::store_ = nullptr;
KvStore* LiquidKvTest::kv_ = nullptr;
Engine* LiquidKvTest::engine_ = nullptr;

TEST_F(LiquidKvTest, ReadsTheTextValueOfAKey) {
  InvokeResult r = Render(R"({{ kv.PAGES["home"] }}|{{ kv.PAGES.bytes }}|{{ env.TITLE }})");
  ASSERT_EQ(r.outcome, Outcome::kOk) << r.error;
  EXPECT_EQ(r.response.body, "value of home|caf\xc3\xa9|Shop");
  EXPECT_EQ(r.usage.kv_reads, 2u);
  EXPECT_EQ(r.usage.kv_bytes_read, 13u + 5u);
}

TEST_F(LiquidKvTest, TheKeyCanComeFromTheRequest) {
  InvokeResult r = Render(R"({% assign key = segments | first %}{{ kv.PAGES[key] }})");
  ASSERT_EQ(r.outcome, Outcome::kOk) << r.error;
  EXPECT_EQ(r.response.body, "value of home");
}

TEST_F(LiquidKvTest, AMissingKeyIsNil) {
  InvokeResult r = Render(
      R"({% if kv.PAGES["nope"] == nil %}missing{% endif %}[{{ kv.PAGES["nope"] }}]{{ kv.OTHER["home"] }})");
  ASSERT_EQ(r.outcome, Outcome::kOk) << r.error;
  EXPECT_EQ(r.response.body, "missing[]");
  EXPECT_EQ(r.usage.kv_reads, 2u);  // kv.OTHER is not a binding: no read
}

TEST_F(LiquidKvTest, KeysNamedLikeObjectPropertiesReachTheStore) {
  InvokeResult r = Render(
      R"({{ kv.PAGES["constructor"] }}|{{ kv.PAGES.toString }}|{{ kv.PAGES.size }}|{{ kv.PAGES["liquidMethodMissing"] }})");
  ASSERT_EQ(r.outcome, Outcome::kOk) << r.error;
  EXPECT_EQ(r.response.body,
            "value of constructor|value of toString|value of size|value of liquidMethodMissing");
}

TEST_F(LiquidKvTest, TheBindingIsNotAnEnvVariableAndPrintsNothing) {
  InvokeResult r = Render(R"([{{ env.PAGES }}][{{ kv.PAGES }}])");
  ASSERT_EQ(r.outcome, Outcome::kOk) << r.error;
  EXPECT_EQ(r.response.body, "[][]");
}

TEST_F(LiquidKvTest, AnInvalidKeyIsARenderError) {
  InvokeResult r = Render(R"({{ kv.PAGES[""] }})");
  EXPECT_EQ(r.outcome, Outcome::kException);
  EXPECT_THAT(r.error, ::testing::HasSubstr("key"));
}

}  // namespace
}  // namespace cosmo::liquid
