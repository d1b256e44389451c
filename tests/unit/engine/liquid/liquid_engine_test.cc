// The Liquid engine's contract (docs/liquid.md): the data model, content type, partials,
// deploy-time validation with locations, render errors, and a deploy through the Runtime.
#include "cosmo/liquid_engine.h"

#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "cosmo/javascript_engine.h"
#include "cosmo/runtime.h"
#include "cosmo/store.h"
#include "engine/liquid/js/liquid_runtime_source.h"
#include "engine/liquid/liquid_instance.h"
#include "engine/liquid/page_module.h"
#include "engine/v8/recycling_page_allocator.h"
#include "engine/v8/thread_stack.h"
#include "engine/v8/v8_platform.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "liquid_test_util.h"
#include "unit/engine/v8/engine_test_util.h"

namespace cosmo::liquid {
namespace {

using ::cosmo::liquid::testing::Get;
using ::cosmo::liquid::testing::HeaderOf;
using ::cosmo::liquid::testing::Page;
using ::cosmo::liquid::testing::Render;
using ::cosmo::liquid::testing::RenderingNotSpeed;
using ::cosmo::liquid::testing::SharedEngine;
using ::cosmo::liquid::testing::Start;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::StartsWith;

TEST(LiquidEngineTest, NameIsLiquid) { EXPECT_EQ(SharedEngine().name(), "liquid"); }

TEST(LiquidEngineTest, TemplateSeesRequestSegmentsAndEnv) {
  HttpRequest request = Get("http://example.com/shop/caf%C3%A9/item/?q=hat&q=cap&page=2");
  request.headers = {{"Accept", "text/html"}, {"X-Multi", "a"}, {"x-multi", "b"}};
  InvokeResult result = Render(
      "{{ request.method }}|{{ request.path }}|{{ request.url }}|{{ request.query.q }}"
      "|{{ request.query.page }}|{{ request.headers.accept }}|{{ request.headers['x-multi'] }}"
      "|{{ segments | join: ',' }}|{{ segments.size }}|{{ env.GREETING }}|[{{ request.body }}]",
      request, {{"GREETING", "Hello"}});
  ASSERT_EQ(result.outcome, Outcome::kOk) << result.error;
  EXPECT_EQ(result.response.status, 200);
  EXPECT_EQ(result.response.body,
            "GET|/shop/caf%C3%A9/item/|http://example.com/shop/caf%C3%A9/item/?q=hat&q=cap&page=2"
            "|hat|2|text/html|a, b|café,item|2|Hello|[]");
}

TEST(LiquidEngineTest, SegmentsOfTheFamilyRootAreEmpty) {
  InvokeResult result = Render("[{{ segments.size }}]{{ request.path }}", Get("http://x/shop"));
  ASSERT_EQ(result.outcome, Outcome::kOk) << result.error;
  EXPECT_EQ(result.response.body, "[0]/shop");
}

TEST(LiquidEngineTest, PostBodyIsVisible) {
  HttpRequest request = Get();
  request.method = "POST";
  request.body = "name=ada";
  InvokeResult result = Render("{{ request.method }} {{ request.body | upcase }}", request);
  ASSERT_EQ(result.outcome, Outcome::kOk) << result.error;
  EXPECT_EQ(result.response.body, "POST NAME=ADA");
}

TEST(LiquidEngineTest, AnswersHtmlByDefault) {
  InvokeResult result = Render("<p>hi</p>");
  ASSERT_EQ(result.outcome, Outcome::kOk) << result.error;
  EXPECT_EQ(HeaderOf(result.response, "content-type"), "text/html; charset=utf-8");
}

TEST(LiquidEngineTest, ContentTypeComesFromTheDeploysContentTypeVariable) {
  InvokeResult result = Render("{\"a\": 1}", Get(), {{"CONTENT_TYPE", "application/json"}});
  ASSERT_EQ(result.outcome, Outcome::kOk) << result.error;
  EXPECT_EQ(HeaderOf(result.response, "content-type"), "application/json");
  EXPECT_EQ(result.response.body, "{\"a\": 1}");
}

TEST(LiquidEngineTest, IncludeAndRenderFindOtherFilesOfTheDeploy) {
  Manifest manifest = Page(
      "{% include 'header', title: 'T' %}|{% render 'card.liquid', n: 2 %}|"
      "{% render 'partials/footer' %}",
      {},
      {{"header.liquid", "<h1>{{ title }}</h1>"},
       {"card.liquid", "card {{ n | times: 2 }}"},
       {"partials/footer.liquid", "footer"}});
  ASSERT_TRUE(SharedEngine().Validate(manifest).ok());
  auto instance = Start(SharedEngine(), manifest);
  ASSERT_TRUE(instance.ok()) << instance.status();
  InvokeResult result = (*instance)->Invoke(Get());
  ASSERT_EQ(result.outcome, Outcome::kOk) << result.error;
  EXPECT_EQ(result.response.body, "<h1>T</h1>|card 4|footer");
}

TEST(LiquidEngineTest, InstanceServesManyRequestsWithoutCarryingState) {
  auto instance =
      Start(SharedEngine(), Page("{% increment n %}{% assign seen = seen | append: 'x' %}{{ seen }}"
                                 "{% cycle 'a', 'b' %}{{ request.query.i }}"));
  ASSERT_TRUE(instance.ok()) << instance.status();
  for (int i = 0; i < 5; ++i) {
    InvokeResult result = (*instance)->Invoke(Get(absl::StrCat("http://x/shop/?i=", i)));
    ASSERT_EQ(result.outcome, Outcome::kOk) << result.error;
    EXPECT_EQ(result.response.body, absl::StrCat("0xa", i));
  }
  EXPECT_TRUE((*instance)->Reusable());
}

TEST(LiquidEngineTest, TemplatesSeeDataButNoPrototypesOrGlobals) {
  InvokeResult result = Render(
      "[{{ request.constructor }}][{{ env.constructor.name }}][{{ segments.constructor }}]"
      "[{{ Response }}][{{ globalThis }}][{{ __cosmo_liquid }}]");
  ASSERT_EQ(result.outcome, Outcome::kOk) << result.error;
  EXPECT_EQ(result.response.body, "[][][][][][]");
}

TEST(LiquidEngineTest, ValidateAcceptsAGoodPage) {
  EXPECT_TRUE(SharedEngine().Validate(Page("{% for i in (1..3) %}{{ i }}{% endfor %}")).ok());
}

TEST(LiquidEngineTest, ValidateLocatesSyntaxErrors) {
  absl::Status status = SharedEngine().Validate(Page("line one\nline two\n  {% if x %}\nopen"));
  EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
  EXPECT_THAT(std::string(status.message()), StartsWith("page.liquid:3:3: "));
  EXPECT_THAT(std::string(status.message()), HasSubstr("not closed"));

  status = SharedEngine().Validate(Page("ok\n {{ 'x' | }}\n {% frobnicate %}"));
  EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
  EXPECT_THAT(std::string(status.message()), StartsWith("page.liquid:3:2: "));
  EXPECT_THAT(std::string(status.message()), HasSubstr("frobnicate"));
}

TEST(LiquidEngineTest, ValidateLocatesErrorsInPartials) {
  absl::Status status = SharedEngine().Validate(
      Page("{% render 'card' %}", {}, {{"card.liquid", "a\nb {% endfor %}"}}));
  EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
  EXPECT_THAT(std::string(status.message()), MatchesRegex("card\\.liquid:2:3: .*"));
}

TEST(LiquidEngineTest, ValidateRejectsBadManifests) {
  Manifest wrong_engine = Page("x");
  wrong_engine.engine = "javascript";
  EXPECT_TRUE(absl::IsInvalidArgument(SharedEngine().Validate(wrong_engine)));
  Manifest no_main = Page("x");
  no_main.main = "other.liquid";
  absl::Status status = SharedEngine().Validate(no_main);
  EXPECT_TRUE(absl::IsInvalidArgument(status));
  EXPECT_THAT(std::string(status.message()), HasSubstr("main"));
  status = SharedEngine().Validate(Page("x", {{"CONTENT_TYPE", "text/html\r\nx-evil: 1"}}));
  EXPECT_TRUE(absl::IsInvalidArgument(status));
  EXPECT_THAT(std::string(status.message()), HasSubstr("CONTENT_TYPE"));
  EXPECT_TRUE(absl::IsInvalidArgument(SharedEngine().Prepare("v", wrong_engine).status()));
}

TEST(LiquidEngineTest, RenderErrorIsAnExceptionWithTheTemplatesLocation) {
  InvokeResult result = Render("ok\n  {% include 'missing' %}");
  EXPECT_EQ(result.outcome, Outcome::kException);
  EXPECT_THAT(result.error, StartsWith("Uncaught LiquidError: page.liquid:2:3: "));
  EXPECT_THAT(result.error, HasSubstr("missing"));

  result = Render("{{ 7 | divided_by: 0 }}");
  EXPECT_EQ(result.outcome, Outcome::kException);
  EXPECT_THAT(result.error, HasSubstr("divided by 0"));
}

TEST(LiquidEngineTest, OptionsAreValidated) {
  LiquidEngineOptions options;
  options.max_include_depth = 0;
  absl::StatusOr<std::unique_ptr<Engine>> engine = NewLiquidEngine(options);
  EXPECT_TRUE(absl::IsInvalidArgument(engine.status()));
  EXPECT_THAT(std::string(engine.status().message()), HasSubstr("max_include_depth"));
}

// The JavaScript engine under it is built by the first Validate() or Prepare(): its options are
// checked then, and that error is every later call's.
TEST(LiquidEngineTest, ItsJavaScriptEngineStartsOnFirstUse) {
  LiquidEngineOptions options;
  options.javascript.watchdog_interval = absl::ZeroDuration();
  absl::StatusOr<std::unique_ptr<Engine>> engine = NewLiquidEngine(options);
  ASSERT_TRUE(engine.ok()) << engine.status();
  absl::Status validated = (*engine)->Validate(Page("Hi"));
  EXPECT_TRUE(absl::IsInvalidArgument(validated)) << validated;
  EXPECT_THAT(std::string(validated.message()), HasSubstr("watchdog_interval"));
  absl::StatusOr<std::shared_ptr<Program>> prepared = (*engine)->Prepare("v1", Page("Hi"));
  EXPECT_EQ(prepared.status(), validated);
}

// The runtime's idle release reaches the JavaScript engine underneath: the heap pages pooled from a
// torn-down Liquid isolate are unmapped (before the engine started, there is nothing to release).
TEST(LiquidEngineTest, AnIdleReleaseGivesThePooledHeapPagesBack) {
  LiquidEngineOptions options;
  options.javascript.spare_isolates = 0;
  absl::StatusOr<std::unique_ptr<Engine>> engine = NewLiquidEngine(options);
  ASSERT_TRUE(engine.ok()) << engine.status();
  (*engine)->ReleaseIdleMemory();  // not started yet: a no-op

  auto instance = Start(**engine, Page("Hi"));
  ASSERT_TRUE(instance.ok()) << instance.status();
  ASSERT_EQ((*instance)->Invoke(Get()).response.body, "Hi");
  const uint64_t pooled_before = v8engine::V8Platform::Pages().stats().pooled;
  instance->reset();
  ASSERT_GT(v8engine::V8Platform::Pages().stats().pooled, pooled_before);

  (*engine)->ReleaseIdleMemory();
  EXPECT_EQ(v8engine::V8Platform::Pages().stats().pooled_bytes, 0u);
}

// Liquid spares are warmed with a page of the runtime's own (liquid_runtime.js, warmUp): the
// warm-up succeeds (else no spare would be made), and a family's page renders from the warmed spare
// exactly as in an isolate no warm-up ran in — no cycle, loop or scope state carried over.
TEST(LiquidEngineTest, AWarmedSpareRendersThePageAsAFreshIsolateDoes) {
  auto engine_with = [](size_t spares) {
    JavaScriptEngineOptions options;
    options.spare_isolates = spares;
    options.extra_runtime_scripts.emplace_back(LiquidRuntimeSource());
    return NewJavaScriptEngine(options);
  };
  auto warmed_engine = engine_with(1);
  ASSERT_TRUE(warmed_engine.ok()) << warmed_engine.status();
  const Manifest module =
      PageModule::ForPage(Page(R"liquid({%- assign items = "a,b,c" | split: "," -%}
{% for item in items %}<li class="{% cycle 'odd', 'even' %}">{{ forloop.index }} {% render 'row', item: item %}</li>{% endfor %}
{{ request.path | escape }} {{ request.query.q }} {{ segments | join: "/" }} {{ total | default: "no total" }})liquid",
                               {}, {{"row.liquid", "{{ item | upcase | append: '!' }}"}}),
                          LiquidEngineOptions());
  auto first = Start(**warmed_engine, module, RenderingNotSpeed());  // starts the refill
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_EQ(v8engine::testing::WaitForSparesWarmed(**warmed_engine, 1), 1u)
      << "the Liquid warm-up failed";
  auto from_spare = Start(**warmed_engine, module, RenderingNotSpeed());
  ASSERT_TRUE(from_spare.ok()) << from_spare.status();

  auto fresh_engine = engine_with(0);
  ASSERT_TRUE(fresh_engine.ok()) << fresh_engine.status();
  auto fresh = Start(**fresh_engine, module, RenderingNotSpeed());
  ASSERT_TRUE(fresh.ok()) << fresh.status();

  const HttpRequest request = Get("http://example.com/shop/a/b?q=1");
  const InvokeResult warmed = (*from_spare)->Invoke(request);
  const InvokeResult cold = (*fresh)->Invoke(request);
  ASSERT_EQ(warmed.outcome, Outcome::kOk) << warmed.error;
  ASSERT_EQ(cold.outcome, Outcome::kOk) << cold.error;
  EXPECT_EQ(warmed.response.body, cold.response.body);
  EXPECT_EQ(cold.response.body,
            "<li class=\"odd\">1 A!</li><li class=\"even\">2 B!</li><li class=\"odd\">3 C!</li>\n"
            "/shop/a/b 1 a/b no total");
}

TEST(LiquidInstanceTest, OnlyLiquidLimitErrorsAreLimitOutcomes) {
  EXPECT_EQ(LiquidInstance::OutcomeOf("Uncaught LiquidError: page.liquid:1:1: x"),
            Outcome::kException);
  EXPECT_EQ(LiquidInstance::OutcomeOf("Uncaught Error: Liquid limit exceeded"),
            Outcome::kException);
  EXPECT_EQ(LiquidInstance::OutcomeOf(
                "Uncaught LiquidLimitError: Liquid limit exceeded: output longer than 9"),
            Outcome::kExceededMemory);
  EXPECT_EQ(
      LiquidInstance::OutcomeOf(
          "Uncaught LiquidLimitError: page.liquid:1:1: Liquid limit exceeded: memory alloc (x)"),
      Outcome::kExceededMemory);
  EXPECT_EQ(LiquidInstance::OutcomeOf(
                "Uncaught LiquidLimitError: a.liquid:1:1: Liquid limit exceeded: includes nested"),
            Outcome::kExceededCpu);
}

TEST(LiquidEngineTest, DeployedThroughTheRuntimeBesideJavaScript) {
  std::vector<std::unique_ptr<Engine>> engines;
  auto javascript = NewJavaScriptEngine();
  ASSERT_TRUE(javascript.ok()) << javascript.status();
  engines.push_back(std::move(*javascript));
  auto liquid = NewLiquidEngine();
  ASSERT_TRUE(liquid.ok()) << liquid.status();
  engines.push_back(std::move(*liquid));
  RuntimeOptions options;
  options.background_maintenance = false;
  auto runtime = NewRuntime(options, NewInMemoryStore(), std::move(engines));
  ASSERT_TRUE(runtime.ok()) << runtime.status();

  auto deployed = (*runtime)->registry().Deploy(
      {.tenant = "t", .family = "shop", .manifest = Page("Hi {{ segments[0] }}")});
  ASSERT_TRUE(deployed.ok()) << deployed.status();
  InvokeResult result = (*runtime)->Family("shop").Invoke(Get("http://x/shop/ada"));
  ASSERT_EQ(result.outcome, Outcome::kOk) << result.error;
  EXPECT_EQ(result.response.body, "Hi ada");

  auto rejected = (*runtime)->registry().Deploy(
      {.tenant = "t", .family = "shop", .manifest = Page("{% if %}")});
  EXPECT_TRUE(absl::IsInvalidArgument(rejected.status())) << rejected.status();
  EXPECT_THAT(std::string(rejected.status().message()), HasSubstr("page.liquid:1:"));
}

// LiquidJS renders recursively (a tag's render awaits its children's), so this pins that an
// ordinary page — loops, conditions, filters, a partial — stays within the stack a request may
// use without its pages being given back afterwards (engine/v8/thread_stack.h).
TEST(LiquidEngineTest, OrdinaryPagesGiveNoStackBack) {
  std::thread([] {
    auto instance = Start(SharedEngine(),
                          Page(R"liquid(
{%- assign items = "a,b,c,d,e,f,g,h" | split: "," -%}
<h1>{{ request.path | escape }}</h1>
{% for item in items %}
  <li class="{% cycle 'odd', 'even' %}">
    {% if forloop.first %}first{% elsif forloop.last %}last{% else %}{{ forloop.index }}{% endif %}
    {% render 'row', item: item %}
  </li>
{% endfor %}
{% capture total %}{{ items | size | times: 3 | plus: 1 }}{% endcapture %}{{ total | strip }}
)liquid",
                               {}, {{"row.liquid", "{{ item | upcase | append: '!' }}"}}),
                          RenderingNotSpeed());
    ASSERT_TRUE(instance.ok()) << instance.status();
    const uint64_t releases = v8engine::ThreadStack::releases();
    for (int i = 0; i < 5; ++i) {
      InvokeResult result = (*instance)->Invoke(Get());
      ASSERT_EQ(result.outcome, Outcome::kOk) << result.error;
      ASSERT_THAT(result.response.body, HasSubstr("A!"));
    }
    EXPECT_EQ(v8engine::ThreadStack::releases(), releases);
  }).join();
}

}  // namespace
}  // namespace cosmo::liquid
