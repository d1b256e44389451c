// A request's CPU figure leaves out the time its thread spends blocked in host calls (reading
// the request body as it arrives here; KV operations and streamed writes take the same path),
// whether or not the CPU watchdog looked at the request meanwhile. The engine here has a
// watchdog that looks only every 5 s, so a request is charged the wall time it ran JavaScript
// (cpu_watchdog.h): without the pause the 300 ms wait below would be counted in full.
#include <memory>
#include <string>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "engine_test_util.h"
#include "gtest/gtest.h"

namespace cosmo::v8engine {
namespace {

using ::cosmo::v8engine::testing::Get;
using ::cosmo::v8engine::testing::JsManifest;
using ::cosmo::v8engine::testing::MakeTestEngine;
using ::cosmo::v8engine::testing::Start;

constexpr absl::Duration kWait = absl::Milliseconds(300);

// A body whose only piece arrives after kWait.
class SlowBody final : public RequestBodyReader {
 public:
  absl::StatusOr<std::string> Read(size_t, absl::Duration) override {
    if (sent_) return std::string();
    absl::SleepFor(kWait);
    sent_ = true;
    return std::string("late bytes");
  }

 private:
  bool sent_ = false;
};

TEST(CpuAccountingTest, TimeBlockedReadingTheBodyIsNotCpu) {
  JavaScriptEngineOptions options;
  options.watchdog_interval = absl::Seconds(5);
  auto engine = MakeTestEngine(options);
  ASSERT_TRUE(engine.ok()) << engine.status();
  auto instance = Start(**engine, JsManifest(R"(
      export default { async fetch(request) { return new Response(await request.text()); } };)"));
  ASSERT_TRUE(instance.ok()) << instance.status();
  SlowBody body;
  HttpRequest request = Get();
  request.method = "POST";
  request.body_reader = &body;
  const absl::Time start = absl::Now();
  InvokeResult result = (*instance)->Invoke(request);
  ASSERT_EQ(result.outcome, Outcome::kOk) << result.error;
  EXPECT_EQ(result.response.body, "late bytes");
  ASSERT_GE(absl::Now() - start, kWait);
  EXPECT_GE(result.usage.wall_us, absl::ToInt64Microseconds(kWait));
  EXPECT_LT(result.usage.cpu_us, absl::ToInt64Microseconds(kWait))
      << "the wait for the body was charged as CPU";
}

}  // namespace
}  // namespace cosmo::v8engine
