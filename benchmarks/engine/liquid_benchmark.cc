// In-process costs of the Liquid engine (LiquidJS in V8, docs/liquid.md): rendering a small page
// and a 200-line page warm (instance reused) and cold (activation of a prepared version: isolate
// from the snapshot, templates parsed at the module's top level, first render), and deploy-time
// validation of the 200-line page. Uses the product engine. Figures: docs/performance.md, "Liquid".
#include <benchmark/benchmark.h>

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "cosmo/liquid_engine.h"
#include "engine_bench_util.h"

namespace cosmo {
namespace {

Engine& LiquidEngine(bool spare) {
  static Engine* with_spare = nullptr;
  static Engine* without_spare = nullptr;
  Engine*& engine = spare ? with_spare : without_spare;
  if (engine == nullptr) {
    LiquidEngineOptions options;
    options.javascript.spare_isolates = spare ? 1 : 0;
    engine = bench::OrDie(NewLiquidEngine(options), "engine").release();
  }
  return *engine;
}

Manifest LiquidPage(std::string source) {
  Manifest m;
  m.engine = "liquid";
  m.main = "page.liquid";
  m.files["page.liquid"] = std::move(source);
  m.env["SHOP"] = "cosmo shop";
  return m;
}

Manifest SmallPage() {
  return LiquidPage(
      "<h1>Hello {{ request.query.name | default: 'world' | escape }}</h1>\n"
      "<p>{{ env.SHOP | upcase }}: {{ segments | join: ' / ' }}</p>\n");
}

// 200 lines: a head, then 39 five-line sections with conditions, loops and filters.
Manifest PageOf200Lines() {
  std::string source =
      "<!doctype html>\n<html><head><title>{{ env.SHOP | capitalize }} - {{ segments.last }}"
      "</title></head>\n<body>\n"
      "{%- assign products = 'Blue shirt:19.99,Red hat:9.50,Green scarf:14.00,Socks:4.25' | "
      "split: ',' -%}\n";
  for (int i = 0; i < 39; ++i) {
    absl::StrAppend(
        &source, "<section id=\"s", i, "\"><h2>{{ 'section ", i, "' | capitalize }}</h2>\n",
        "{% if request.query.q contains '", i % 10,
        "' %}<p class=\"match\">{{ request.query.q | escape }}</p>{% else %}<p>{{ env.SHOP | "
        "upcase }}</p>{% endif %}\n",
        "{% for s in segments %}<a href=\"/{{ s | url_encode }}\">{{ s | escape }}</a>"
        "{% unless forloop.last %} &gt; {% endunless %}{% endfor %}\n",
        "{% assign p = products[", i % 4,
        "] | split: ':' %}<b>{{ p[0] }}</b> {{ p[1] | times: 1.2 | round: 2 }}\n", "</section>\n");
  }
  absl::StrAppend(&source, "</body></html>\n");
  return LiquidPage(source);
}

HttpRequest PageRequest() {
  return bench::BenchRequest("http://127.0.0.1:8080/shop/products/blue-shirt?q=12&name=Ada");
}

void RunWarm(benchmark::State& state, const Manifest& manifest) {
  static int next = 0;
  auto instance =
      bench::MustInstantiate(LiquidEngine(true), absl::StrCat("bench-warm-", next++), manifest);
  InvokeResult last = bench::RunWarmInvocations(state, *instance, PageRequest(), /*warmup=*/500);
  state.counters["page_bytes"] = static_cast<double>(last.response.body.size());
}

void BM_LiquidWarmSmall(benchmark::State& state) { RunWarm(state, SmallPage()); }
BENCHMARK(BM_LiquidWarmSmall)->Unit(benchmark::kMicrosecond);

void BM_LiquidWarm200Lines(benchmark::State& state) { RunWarm(state, PageOf200Lines()); }
BENCHMARK(BM_LiquidWarm200Lines)->Unit(benchmark::kMicrosecond);

// Activation of a prepared version, end to end: Instantiate() (isolate from the snapshot, page
// module from the code cache, templates parsed by its top level) plus the first render.
//   spare:1  the engine had a ready isolate (refilled outside the timing)
//   spare:0  the activation deserialises its own isolate
void RunCold(benchmark::State& state, const Manifest& manifest, const std::string& version) {
  const bool spare = state.range(0) != 0;
  Engine& engine = LiquidEngine(spare);
  auto program = bench::OrDie(engine.Prepare(absl::StrCat(version, spare), manifest), "prepare");
  bench::RunColdActivations(state, *program, PageRequest(), spare);
}

void BM_LiquidColdSmall(benchmark::State& state) { RunCold(state, SmallPage(), "bench-cold-s"); }
BENCHMARK(BM_LiquidColdSmall)
    ->ArgName("spare")
    ->Arg(0)
    ->Arg(1)
    ->Iterations(40)
    ->Unit(benchmark::kMicrosecond);

void BM_LiquidCold200Lines(benchmark::State& state) {
  RunCold(state, PageOf200Lines(), "bench-cold-200");
}
BENCHMARK(BM_LiquidCold200Lines)
    ->ArgName("spare")
    ->Arg(0)
    ->Arg(1)
    ->Iterations(40)
    ->Unit(benchmark::kMicrosecond);

// Deploy-time validation: a fresh isolate parses every file of the deploy.
void BM_LiquidValidate200Lines(benchmark::State& state) {
  Manifest manifest = PageOf200Lines();
  for (auto _ : state) {
    absl::Status status = LiquidEngine(true).Validate(manifest);
    if (!status.ok()) {
      state.SkipWithError(std::string(status.message()).c_str());
      break;
    }
  }
}
BENCHMARK(BM_LiquidValidate200Lines)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace cosmo
