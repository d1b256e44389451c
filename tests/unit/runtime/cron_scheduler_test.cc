// Cron triggers through a Runtime with the real JavaScript engine, its time driven by a
// ManualClock: Maintain() polls the schedule, WaitForScheduledRuns() waits for the runs it
// started. What ran is read back from the family's logs, where the handler prints its
// controller.
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "cosmo/clock.h"
#include "cosmo/internal/store_records.pb.h"
#include "cosmo/manifest.h"
#include "cosmo/runtime.h"
#include "cosmo/store.h"
#include "cron/cron_expression.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "store/store_keys.h"
#include "support/files.h"

namespace cosmo {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// Prints "<type> <scheduledTime> <cron>" for each run; calls noRetry() when env.NO_RETRY is set.
constexpr char kModule[] = R"js(
export default {
  fetch() { return 'ok'; },
  async scheduled(controller, env, ctx) {
    if (env.NO_RETRY) controller.noRetry();
    ctx.waitUntil(Promise.resolve().then(() =>
        console.log(`${controller.type} ${controller.scheduledTime} ${controller.cron}`)));
  },
};
)js";

// A Store over another one that it does not own, so two runtimes can share one.
class SharedStore final : public Store {
 public:
  explicit SharedStore(Store* inner) : inner_(inner) {}
  absl::StatusOr<std::string> Get(absl::string_view key) override { return inner_->Get(key); }
  absl::StatusOr<std::vector<KeyValue>> Scan(absl::string_view prefix,
                                             const ScanOptions& options) override {
    return inner_->Scan(prefix, options);
  }
  absl::Status Commit(const WriteBatch& batch, Durability durability) override {
    return inner_->Commit(batch, durability);
  }
  std::string Describe() const override { return "shared:" + inner_->Describe(); }
  // Several runtimes write it, as servers of a cluster do.
  bool IsShared() const override { return true; }

 private:
  Store* const inner_;
};

// Monday 2026-06-01 00:00:07 UTC: seven seconds past the minute, so a run's scheduledTime is
// visibly the tick, not the clock.
absl::Time WeekStart() { return absl::FromUnixSeconds(1780272007); }

class CronSchedulerTest : public ::testing::Test {
 protected:
  CronSchedulerTest() : clock_(WeekStart()), store_(NewInMemoryStore()) {}

  std::unique_ptr<Runtime> NewServer(const std::string& server_id) {
    RuntimeOptions options;
    options.clock = &clock_;
    options.background_maintenance = false;
    options.server_id = server_id;
    options.log_ring_records = 5000;
    options.log_ring_bytes = 4 << 20;
    options.cron_lease_margin = absl::Minutes(1);
    options.idle_timeout = absl::ZeroDuration();  // keep the families warm all week
    auto runtime = NewRuntime(options, std::make_unique<SharedStore>(store_.get()));
    EXPECT_TRUE(runtime.ok()) << runtime.status();
    return runtime.ok() ? *std::move(runtime) : nullptr;
  }

  static std::string Deploy(Runtime& runtime, const std::string& family,
                            std::vector<std::string> crons, bool no_retry = false,
                            const std::string& source = kModule) {
    Manifest m;
    m.engine = "javascript";
    m.main = "index.js";
    m.files["index.js"] = source;
    m.crons = std::move(crons);
    if (no_retry) m.env["NO_RETRY"] = "1";
    absl::StatusOr<DeployResult> deployed =
        runtime.registry().Deploy({.tenant = "local", .family = family, .manifest = m});
    EXPECT_TRUE(deployed.ok()) << deployed.status();
    return deployed.ok() ? deployed->version : "";
  }

  // Moves the clock minute by minute up to `end`, polling and waiting for runs at each.
  void RunUntil(Runtime& runtime, absl::Time end) {
    while (clock_.Now() < end) {
      clock_.Advance(absl::Minutes(1));
      runtime.Maintain();
      runtime.WaitForScheduledRuns();
    }
  }

  // (scheduledTime, cron) of each run the family's handler logged, in log order.
  static std::vector<std::pair<absl::Time, std::string>> Runs(Runtime& runtime,
                                                              const std::string& family) {
    std::vector<std::pair<absl::Time, std::string>> runs;
    for (const LogRecord& record : runtime.ReadLogs(family, 0, 100000).records) {
      if (record.is_outcome || record.level != LogLevel::kLog) continue;
      std::vector<std::string> parts = absl::StrSplit(record.text, absl::MaxSplits(' ', 2));
      int64_t ms = 0;
      EXPECT_EQ(parts.size(), 3u) << record.text;
      if (parts.size() != 3 || !absl::SimpleAtoi(parts[1], &ms)) continue;
      EXPECT_EQ(parts[0], "scheduled");
      runs.emplace_back(absl::FromUnixMillis(ms), parts[2]);
    }
    return runs;
  }

  // Every minute in (from, to] that `cron` matches, by testing each minute on its own.
  static std::vector<std::pair<absl::Time, std::string>> Expected(const std::string& cron,
                                                                  absl::Time from, absl::Time to) {
    const CronExpression expression = *CronExpression::Parse(cron);
    std::vector<std::pair<absl::Time, std::string>> out;
    for (absl::Time t = absl::Floor(from - absl::UnixEpoch(), absl::Minutes(1)) +
                        absl::UnixEpoch() + absl::Minutes(1);
         t <= to; t += absl::Minutes(1)) {
      if (expression.Matches(t)) out.emplace_back(t, cron);
    }
    return out;
  }

  ManualClock clock_;
  std::unique_ptr<Store> store_;
};

TEST_F(CronSchedulerTest, FiftyFamiliesOverASimulatedWeekRunEveryTickOnceInOrder) {
  std::unique_ptr<Runtime> runtime = NewServer("a");
  const std::vector<std::string> kCrons = {"0 * * * *", "*/30 9-17 * * MON-FRI", "15 */6 * * *",
                                           "0 0 * * *", "45 12 * * SAT,SUN"};
  std::map<std::string, std::string> cron_of;
  for (int i = 0; i < 50; ++i) {
    const std::string family = absl::StrCat("job-", i);
    cron_of[family] = kCrons[i % kCrons.size()];
    Deploy(*runtime, family, {cron_of[family]});
  }
  const absl::Time start = clock_.Now();
  RunUntil(*runtime, start + absl::Hours(24 * 7));
  size_t total = 0;
  for (const auto& [family, cron] : cron_of) {
    SCOPED_TRACE(family);
    const auto expected = Expected(cron, start, clock_.Now());
    ASSERT_FALSE(expected.empty());
    EXPECT_THAT(Runs(*runtime, family), ElementsAreArray(expected));
    total += expected.size();
    absl::StatusOr<FamilyUsage> usage = runtime->Usage(family);
    ASSERT_TRUE(usage.ok()) << usage.status();
    EXPECT_EQ(usage->total.scheduled, expected.size());
  }
  EXPECT_GT(total, 2000u);
}

TEST_F(CronSchedulerTest, DeployRollbackAndDeleteChangeTheScheduleAtTheNextTick) {
  std::unique_ptr<Runtime> runtime = NewServer("a");
  const absl::Time start = clock_.Now();
  Deploy(*runtime, "jobs", {"0 * * * *"});
  RunUntil(*runtime, start + absl::Hours(3) - absl::Seconds(7));  // through 03:00
  Deploy(*runtime, "jobs", {"30 * * * *", "*/20 5 * * *"});
  RunUntil(*runtime, start + absl::Hours(6) - absl::Seconds(7));  // through 06:00
  ASSERT_TRUE(runtime->registry().Rollback("local", "jobs", std::nullopt).ok());
  RunUntil(*runtime, start + absl::Hours(8) - absl::Seconds(7));  // through 08:00
  ASSERT_TRUE(runtime->registry().DeleteFamily("local", "jobs").ok());
  const auto before_delete = Runs(*runtime, "jobs");
  RunUntil(*runtime, start + absl::Hours(12));

  auto at = [&](int hour, int minute) {
    return absl::FromUnixSeconds(1780272000) + absl::Hours(hour) + absl::Minutes(minute);
  };
  EXPECT_THAT(Runs(*runtime, "jobs"),
              ElementsAre(std::pair(at(1, 0), "0 * * * *"), std::pair(at(2, 0), "0 * * * *"),
                          std::pair(at(3, 0), "0 * * * *"), std::pair(at(3, 30), "30 * * * *"),
                          std::pair(at(4, 30), "30 * * * *"), std::pair(at(5, 0), "*/20 5 * * *"),
                          std::pair(at(5, 20), "*/20 5 * * *"), std::pair(at(5, 30), "30 * * * *"),
                          std::pair(at(5, 40), "*/20 5 * * *"), std::pair(at(7, 0), "0 * * * *"),
                          std::pair(at(8, 0), "0 * * * *")));
  EXPECT_EQ(Runs(*runtime, "jobs").size(), before_delete.size());
  EXPECT_THAT(store_->Scan(store_keys::CronFamilyPrefix("jobs"), {}).value(), IsEmpty());
}

TEST_F(CronSchedulerTest, AfterAnOutageOnlyTheMostRecentMissedTickRunsOnce) {
  const absl::Time start = clock_.Now();
  {
    std::unique_ptr<Runtime> before = NewServer("a");
    Deploy(*before, "jobs", {"0 * * * *", "*/10 * * * *"});
    RunUntil(*before, start + absl::Hours(1));
    EXPECT_EQ(Runs(*before, "jobs").size(), 7u);  // 00:10 ... 01:00, both at 01:00
  }
  // Nobody runs for five and a half hours: the ticks of 02:00-06:00 and 01:10-06:20 are missed.
  clock_.Advance(absl::Minutes(5 * 60 + 25));  // 06:25:07
  std::unique_ptr<Runtime> after = NewServer("b");
  after->Maintain();
  after->WaitForScheduledRuns();
  after->Maintain();
  after->WaitForScheduledRuns();
  const absl::Time day = absl::FromUnixSeconds(1780272000);
  EXPECT_THAT(
      Runs(*after, "jobs"),
      ::testing::UnorderedElementsAre(std::pair(day + absl::Hours(6), "0 * * * *"),
                                      std::pair(day + absl::Minutes(6 * 60 + 20), "*/10 * * * *")));
  // Then the schedule goes on as usual.
  RunUntil(*after, day + absl::Minutes(6 * 60 + 30));
  EXPECT_EQ(Runs(*after, "jobs").size(), 3u);
}

// A claim as the server that won it would write it, for a server that died holding it.
void WriteClaim(Store& store, const std::string& family, const std::string& cron, absl::Time tick,
                absl::Time lease_until, bool no_retry) {
  internal::CronRunRecord record;
  record.set_server("ghost");
  record.set_lease_until_unix_micros(absl::ToUnixMicros(lease_until));
  record.set_attempt(1);
  record.set_cron(cron);
  record.set_no_retry(no_retry);
  ASSERT_TRUE(
      store
          .Put(store_keys::CronRun(family, Sha256Hex(cron).substr(0, 16), absl::ToUnixMicros(tick)),
               record.SerializeAsString())
          .ok());
}

TEST_F(CronSchedulerTest, AClaimWhoseServerDiedRunsAgainWhenItsLeaseEnds) {
  std::unique_ptr<Runtime> runtime = NewServer("b");
  Deploy(*runtime, "jobs", {"0 * * * *"});
  Deploy(*runtime, "careful", {"0 * * * *"}, /*no_retry=*/true);
  const absl::Time tick = absl::FromUnixSeconds(1780272000) + absl::Hours(1);
  // "ghost" claimed 01:00 of both families, with a lease to 01:05, and died.
  WriteClaim(*store_, "jobs", "0 * * * *", tick, tick + absl::Minutes(5), false);
  WriteClaim(*store_, "careful", "0 * * * *", tick, tick + absl::Minutes(5), true);
  RunUntil(*runtime, tick + absl::Minutes(4));
  EXPECT_THAT(Runs(*runtime, "jobs"), IsEmpty());  // the claim holds while its lease lasts
  RunUntil(*runtime, tick + absl::Minutes(6));
  EXPECT_THAT(Runs(*runtime, "jobs"), ElementsAre(std::pair(tick, "0 * * * *")));
  EXPECT_THAT(Runs(*runtime, "careful"), IsEmpty());  // it had called noRetry()
  RunUntil(*runtime, tick + absl::Minutes(61));
  EXPECT_THAT(Runs(*runtime, "jobs"), ElementsAre(std::pair(tick, "0 * * * *"),
                                                  std::pair(tick + absl::Hours(1), "0 * * * *")));
  EXPECT_THAT(Runs(*runtime, "careful"),
              ElementsAre(std::pair(tick + absl::Hours(1), "0 * * * *")));
}

TEST_F(CronSchedulerTest, NoRetryIsRecordedInTheClaimAndTwoServersRunEachTickOnce) {
  std::unique_ptr<Runtime> a = NewServer("a");
  Deploy(*a, "careful", {"*/5 * * * *"}, /*no_retry=*/true);
  // The in-memory store has no watch: b reads the family when it starts.
  std::unique_ptr<Runtime> b = NewServer("b");
  const absl::Time start = clock_.Now();
  for (int i = 0; i < 60; ++i) {
    clock_.Advance(absl::Minutes(1));
    a->Maintain();
    b->Maintain();
    a->WaitForScheduledRuns();
    b->WaitForScheduledRuns();
  }
  const auto runs_a = Runs(*a, "careful");
  const auto runs_b = Runs(*b, "careful");
  EXPECT_EQ(runs_a.size() + runs_b.size(), Expected("*/5 * * * *", start, clock_.Now()).size());
  absl::StatusOr<std::vector<KeyValue>> claims =
      store_->Scan(store_keys::CronFamilyPrefix("careful"), {});
  ASSERT_TRUE(claims.ok());
  ASSERT_FALSE(claims->empty());
  internal::CronRunRecord record;
  ASSERT_TRUE(record.ParseFromString(claims->back().value));
  EXPECT_TRUE(record.no_retry());
  EXPECT_TRUE(record.done());
  EXPECT_EQ(record.outcome(), "ok");
}

TEST_F(CronSchedulerTest, CronsListsNextAndLastRunsAndLogsShowEachRun) {
  std::unique_ptr<Runtime> runtime = NewServer("a");
  Deploy(*runtime, "jobs", {"*/15 * * * *"});
  RunUntil(*runtime, clock_.Now() + absl::Minutes(20));
  absl::StatusOr<std::vector<CronStatus>> crons = runtime->Crons("jobs");
  ASSERT_TRUE(crons.ok()) << crons.status();
  ASSERT_EQ(crons->size(), 1u);
  const absl::Time day = absl::FromUnixSeconds(1780272000);
  EXPECT_EQ((*crons)[0].cron, "*/15 * * * *");
  EXPECT_THAT((*crons)[0].next_ticks,
              ElementsAre(day + absl::Minutes(30), day + absl::Minutes(45), day + absl::Hours(1)));
  EXPECT_EQ((*crons)[0].last_tick, day + absl::Minutes(15));
  EXPECT_EQ((*crons)[0].last_outcome, "ok");
  std::vector<std::string> summaries;
  for (const LogRecord& record : runtime->ReadLogs("jobs", 0, 100).records) {
    if (record.is_outcome) summaries.push_back(record.text);
  }
  EXPECT_THAT(summaries, ElementsAre(HasSubstr("scheduled \"*/15 * * * *\" at "
                                               "2026-06-01T00:15:00Z: ok in ")));
  EXPECT_EQ(runtime->Crons("nothing").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(CronSchedulerTest, AFailingRunIsLoggedWithItsOutcome) {
  std::unique_ptr<Runtime> runtime = NewServer("a");
  Deploy(*runtime, "bad", {"* * * * *"}, false,
         "export default { fetch() { return 'ok'; },"
         " scheduled() { throw new Error('disk full'); } };");
  RunUntil(*runtime, clock_.Now() + absl::Minutes(1));
  std::vector<std::string> texts;
  for (const LogRecord& record : runtime->ReadLogs("bad", 0, 100).records) {
    texts.push_back(record.text);
  }
  EXPECT_THAT(texts, ElementsAre(HasSubstr("Error: disk full"),
                                 HasSubstr("scheduled \"* * * * *\" at 2026-06-01T00:01:00Z: "
                                           "exception in ")));
}

TEST_F(CronSchedulerTest, TheCronCleanupExampleWritesAHeartbeatEveryMinute) {
  std::unique_ptr<Runtime> runtime = NewServer("a");
  Deploy(*runtime, "cron-cleanup", {"* * * * *"}, false,
         testing::ReadFile(COSMO_SOURCE_DIR "/examples/cron-cleanup/index.js").value());
  RunUntil(*runtime, clock_.Now() + absl::Minutes(2));
  std::vector<std::string> texts;
  for (const LogRecord& record : runtime->ReadLogs("cron-cleanup", 0, 100).records) {
    if (!record.is_outcome) texts.push_back(record.text);
  }
  EXPECT_THAT(texts, ElementsAre("heartbeat 2026-06-01T00:01:00.000Z (* * * * *)",
                                 "heartbeat 2026-06-01T00:02:00.000Z (* * * * *)"));
  InvokeResult page =
      runtime->Invoke("cron-cleanup", {.method = "GET", .url = "http://localhost/cron-cleanup/"});
  ASSERT_EQ(page.outcome, Outcome::kOk) << page.error;
  EXPECT_EQ(page.response.body,
            R"({"job":"cron-cleanup","storage":"log","last_run":{"cron":"* * * * *",)"
            R"("scheduled_time":"2026-06-01T00:02:00.000Z"}})");
}

}  // namespace
}  // namespace cosmo
