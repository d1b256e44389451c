#include "cron/cron_expression.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cosmo {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

absl::Time At(const std::string& rfc3339) {
  absl::Time t;
  std::string error;
  EXPECT_TRUE(absl::ParseTime(absl::RFC3339_full, rfc3339, &t, &error)) << error;
  return t;
}

std::string Format(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d %H:%M %a", t, absl::UTCTimeZone());
}

// The next `count` fire times of `expression` after `start`, as "YYYY-MM-DD HH:MM Day".
std::vector<std::string> Next(const std::string& expression, const std::string& start,
                              int count = 1) {
  absl::StatusOr<CronExpression> cron = CronExpression::Parse(expression);
  EXPECT_TRUE(cron.ok()) << cron.status();
  std::vector<std::string> out;
  if (!cron.ok()) return out;
  absl::Time t = At(start);
  for (int i = 0; i < count; ++i) {
    t = cron->NextAfter(t);
    out.push_back(Format(t));
  }
  return out;
}

std::string ParseError(const std::string& expression) {
  absl::StatusOr<CronExpression> cron = CronExpression::Parse(expression);
  EXPECT_FALSE(cron.ok()) << expression << " parsed";
  if (cron.ok()) return "";
  EXPECT_EQ(cron.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(cron.status().message());
}

TEST(CronExpressionTest, NextFireIsStrictlyAfterTheStartMinute) {
  EXPECT_THAT(Next("* * * * *", "2026-03-01T12:00:00Z", 2),
              ElementsAre("2026-03-01 12:01 Sun", "2026-03-01 12:02 Sun"));
  EXPECT_THAT(Next("* * * * *", "2026-03-01T12:00:59.999999Z"),
              ElementsAre("2026-03-01 12:01 Sun"));
  EXPECT_THAT(Next("* * * * *", "2026-03-01T11:59:59.999999Z"),
              ElementsAre("2026-03-01 12:00 Sun"));
}

TEST(CronExpressionTest, NextFireIsInMicrosecondsOnTheMinute) {
  absl::StatusOr<CronExpression> cron = CronExpression::Parse("*/15 * * * *");
  ASSERT_TRUE(cron.ok()) << cron.status();
  const int64_t start = absl::ToUnixMicros(At("2026-03-01T12:07:12.345678Z"));
  EXPECT_EQ(cron->NextAfterMicros(start), absl::ToUnixMicros(At("2026-03-01T12:15:00Z")));
  EXPECT_EQ(cron->NextAfterMicros(start) % 60'000'000, 0);
}

TEST(CronExpressionTest, TimesBeforeTheEpochRoundDown) {
  EXPECT_THAT(Next("* * * * *", "1969-12-31T23:59:30Z"), ElementsAre("1970-01-01 00:00 Thu"));
  EXPECT_THAT(Next("0 0 1 1 *", "1969-06-01T00:00:00Z"), ElementsAre("1970-01-01 00:00 Thu"));
}

TEST(CronExpressionTest, ListsRangesAndSteps) {
  EXPECT_THAT(Next("5,10-12,*/20 * * * *", "2026-03-01T12:00:00Z", 6),
              ElementsAre("2026-03-01 12:05 Sun", "2026-03-01 12:10 Sun", "2026-03-01 12:11 Sun",
                          "2026-03-01 12:12 Sun", "2026-03-01 12:20 Sun", "2026-03-01 12:40 Sun"));
  EXPECT_THAT(Next("0 8-18/5 * * *", "2026-03-01T00:00:00Z", 4),
              ElementsAre("2026-03-01 08:00 Sun", "2026-03-01 13:00 Sun", "2026-03-01 18:00 Sun",
                          "2026-03-02 08:00 Mon"));
  // `50/4` steps from 50 to the end of the field.
  EXPECT_THAT(Next("50/4 0 * * *", "2026-03-01T00:00:00Z", 4),
              ElementsAre("2026-03-01 00:50 Sun", "2026-03-01 00:54 Sun", "2026-03-01 00:58 Sun",
                          "2026-03-02 00:50 Mon"));
}

TEST(CronExpressionTest, MonthAndWeekdayNamesIgnoreCase) {
  EXPECT_THAT(Next("0 0 1 jan-MAR/2 *", "2026-01-01T00:00:00Z", 3),
              ElementsAre("2026-03-01 00:00 Sun", "2027-01-01 00:00 Fri", "2027-03-01 00:00 Mon"));
  EXPECT_THAT(Next("0 0 * * Fri-Sun", "2026-03-02T00:00:00Z", 4),
              ElementsAre("2026-03-06 00:00 Fri", "2026-03-07 00:00 Sat", "2026-03-08 00:00 Sun",
                          "2026-03-13 00:00 Fri"));
}

TEST(CronExpressionTest, SundayIsZeroAndSeven) {
  const std::vector<std::string> expected = {"2026-03-08 00:00 Sun", "2026-03-15 00:00 Sun"};
  EXPECT_EQ(Next("0 0 * * 0", "2026-03-02T00:00:00Z", 2), expected);
  EXPECT_EQ(Next("0 0 * * 7", "2026-03-02T00:00:00Z", 2), expected);
  EXPECT_EQ(Next("0 0 * * SUN", "2026-03-02T00:00:00Z", 2), expected);
  EXPECT_EQ(Next("0 0 * * 6-7", "2026-03-02T00:00:00Z", 2),
            (std::vector<std::string>{"2026-03-07 00:00 Sat", "2026-03-08 00:00 Sun"}));
}

TEST(CronExpressionTest, MonthEndsAndYearEnds) {
  EXPECT_THAT(Next("59 23 31 * *", "2026-01-31T23:59:00Z", 2),
              ElementsAre("2026-03-31 23:59 Tue", "2026-05-31 23:59 Sun"));
  EXPECT_THAT(Next("0 0 1 1 *", "2026-06-01T00:00:00Z"), ElementsAre("2027-01-01 00:00 Fri"));
  EXPECT_THAT(Next("30 23 * * *", "2026-12-31T23:45:00Z"), ElementsAre("2027-01-01 23:30 Fri"));
}

TEST(CronExpressionTest, LeapYearsFollowTheGregorianRules) {
  // 2100 is not a leap year, so the 29th of February after 2096's is 2104's.
  EXPECT_THAT(Next("0 0 29 2 *", "2096-03-01T00:00:00Z"), ElementsAre("2104-02-29 00:00 Fri"));
  EXPECT_THAT(Next("0 0 29 2 *", "1999-03-01T00:00:00Z"), ElementsAre("2000-02-29 00:00 Tue"));
  EXPECT_THAT(Next("0 0 L 2 *", "2100-01-01T00:00:00Z"), ElementsAre("2100-02-28 00:00 Sun"));
}

TEST(CronExpressionTest, LastDayOfTheMonth) {
  EXPECT_THAT(Next("0 0 L * *", "2024-02-10T00:00:00Z", 3),
              ElementsAre("2024-02-29 00:00 Thu", "2024-03-31 00:00 Sun", "2024-04-30 00:00 Tue"));
  EXPECT_THAT(Next("0 0 L * *", "2023-02-10T00:00:00Z"), ElementsAre("2023-02-28 00:00 Tue"));
  EXPECT_THAT(Next("0 0 1,L * *", "2026-04-02T00:00:00Z", 2),
              ElementsAre("2026-04-30 00:00 Thu", "2026-05-01 00:00 Fri"));
}

TEST(CronExpressionTest, LastWeekdayOfTheMonth) {
  // January 2026 ends on a Saturday: its last Friday is the 30th.
  EXPECT_THAT(Next("0 12 * * 5L", "2026-01-01T00:00:00Z", 3),
              ElementsAre("2026-01-30 12:00 Fri", "2026-02-27 12:00 Fri", "2026-03-27 12:00 Fri"));
  const std::vector<std::string> last_sundays = {"2026-02-22 00:00 Sun", "2026-03-29 00:00 Sun"};
  EXPECT_EQ(Next("0 0 * * 0L", "2026-02-01T00:00:00Z", 2), last_sundays);
  EXPECT_EQ(Next("0 0 * * 7L", "2026-02-01T00:00:00Z", 2), last_sundays);
  EXPECT_EQ(Next("0 0 * * SUNL", "2026-02-01T00:00:00Z", 2), last_sundays);
}

TEST(CronExpressionTest, NearestWeekday) {
  // The 15th of February 2026 is a Sunday: Monday the 16th. August's is a Saturday: Friday.
  EXPECT_THAT(Next("0 9 15W * *", "2026-02-01T00:00:00Z"), ElementsAre("2026-02-16 09:00 Mon"));
  EXPECT_THAT(Next("0 9 15W * *", "2026-08-01T00:00:00Z"), ElementsAre("2026-08-14 09:00 Fri"));
  EXPECT_THAT(Next("0 9 15W * *", "2026-04-01T00:00:00Z"), ElementsAre("2026-04-15 09:00 Wed"));
  // Never into another month: Saturday the 1st moves to Monday the 3rd, Sunday the 31st to
  // Friday the 29th.
  EXPECT_THAT(Next("0 9 1W * *", "2026-07-20T00:00:00Z"), ElementsAre("2026-08-03 09:00 Mon"));
  EXPECT_THAT(Next("0 9 1W * *", "2026-01-05T00:00:00Z"), ElementsAre("2026-02-02 09:00 Mon"));
  EXPECT_THAT(Next("0 9 31W * *", "2026-05-01T00:00:00Z"), ElementsAre("2026-05-29 09:00 Fri"));
  // April has no 31st, so nothing in April.
  EXPECT_THAT(Next("0 9 31W * *", "2026-04-01T00:00:00Z"), ElementsAre("2026-05-29 09:00 Fri"));
  EXPECT_THAT(Next("0 9 LW * *", "2026-01-05T00:00:00Z", 3),
              ElementsAre("2026-01-30 09:00 Fri", "2026-02-27 09:00 Fri", "2026-03-31 09:00 Tue"));
}

TEST(CronExpressionTest, NthWeekdayOfTheMonth) {
  EXPECT_THAT(Next("0 0 * * MON#2", "2026-06-01T00:00:00Z", 2),
              ElementsAre("2026-06-08 00:00 Mon", "2026-07-13 00:00 Mon"));
  // A fifth Friday: January 2026 has one, then not again until May.
  EXPECT_THAT(Next("0 0 * * 5#5", "2026-01-01T00:00:00Z", 2),
              ElementsAre("2026-01-30 00:00 Fri", "2026-05-29 00:00 Fri"));
  EXPECT_THAT(Next("0 0 * * 1#1,5#3", "2026-06-01T00:00:00Z", 3),
              ElementsAre("2026-06-19 00:00 Fri", "2026-07-06 00:00 Mon", "2026-07-17 00:00 Fri"));
}

TEST(CronExpressionTest, DayFieldsCombineAsVixieCron) {
  // Both restricted: either matches.
  EXPECT_THAT(Next("0 0 10 * MON", "2026-06-02T00:00:00Z", 3),
              ElementsAre("2026-06-08 00:00 Mon", "2026-06-10 00:00 Wed", "2026-06-15 00:00 Mon"));
  // A field starting with `*` makes it "both must match", even when stepped.
  EXPECT_THAT(Next("0 0 */2 * MON", "2026-06-01T00:00:00Z", 2),
              ElementsAre("2026-06-15 00:00 Mon", "2026-06-29 00:00 Mon"));
  EXPECT_THAT(Next("0 0 13 * *", "2026-06-01T00:00:00Z"), ElementsAre("2026-06-13 00:00 Sat"));
  EXPECT_THAT(Next("0 0 * * FRI", "2026-06-01T00:00:00Z"), ElementsAre("2026-06-05 00:00 Fri"));
}

TEST(CronExpressionTest, MatchesTellsWhetherAMinuteFires) {
  absl::StatusOr<CronExpression> cron = CronExpression::Parse("30 9 * * MON-FRI");
  ASSERT_TRUE(cron.ok()) << cron.status();
  EXPECT_TRUE(cron->Matches(At("2026-06-01T09:30:00Z")));
  EXPECT_TRUE(cron->Matches(At("2026-06-01T09:30:59Z")));
  EXPECT_FALSE(cron->Matches(At("2026-06-01T09:31:00Z")));
  EXPECT_FALSE(cron->Matches(At("2026-06-06T09:30:00Z")));  // a Saturday
  EXPECT_EQ(cron->text(), "30 9 * * MON-FRI");
}

TEST(CronExpressionTest, FieldsMaySeparateWithSeveralSpacesAndTabs) {
  EXPECT_THAT(Next(" 0\t0  1 1\t *", "2026-06-01T00:00:00Z"), ElementsAre("2027-01-01 00:00 Fri"));
}

TEST(CronExpressionTest, RejectsTheWrongNumberOfFields) {
  EXPECT_THAT(ParseError(""), HasSubstr("has 0 fields; a cron expression has five"));
  EXPECT_THAT(ParseError("* * * *"), HasSubstr("has 4 fields"));
  EXPECT_THAT(ParseError("0 * * * * *"), HasSubstr("has 6 fields"));
  EXPECT_THAT(ParseError("@daily"), HasSubstr("has 1 fields"));
}

TEST(CronExpressionTest, RejectionsNameTheFieldAndTheText) {
  struct Case {
    const char* expression;
    const char* field;
    const char* text;
  };
  const Case cases[] = {
      {"60 * * * *", "minute field", "'60' is out of range 0-59"},
      {"* 24 * * *", "hour field", "'24' is out of range 0-23"},
      {"* * 0 * *", "day-of-month field", "'0' is out of range 1-31"},
      {"* * 32 * *", "day-of-month field", "'32' is out of range 1-31"},
      {"* * * 0 *", "month field", "'0' is out of range 1-12"},
      {"* * * 13 *", "month field", "'13' is out of range 1-12"},
      {"* * * * 8", "day-of-week field", "'8' is out of range 0-7"},
      {"*/0 * * * *", "minute field", "step in '*/0' is not a number 1-60"},
      {"*/61 * * * *", "minute field", "step in '*/61'"},
      {"1-5/x * * * *", "minute field", "step in '1-5/x'"},
      {"*/ * * * *", "minute field", "step in '*/'"},
      {"5-2 * * * *", "minute field", "the range '5-2' runs backwards"},
      {"* * * FOO *", "month field", "'FOO' is not a month (1-12 or JAN-DEC)"},
      {"* * * * FUN", "day-of-week field", "'FUN' is not a weekday (0-7 or SUN-SAT)"},
      {"JAN * * * *", "minute field", "'JAN' is not a number"},
      {"* * MON * *", "day-of-month field", "'MON' is not a number"},
      {"* * * * MON#6", "day-of-week field", "'MON#6' needs a week number 1-5 after '#'"},
      {"* * * * MON#0", "day-of-week field", "'MON#0' needs a week number 1-5"},
      {"* * * * MON#", "day-of-week field", "'MON#' needs a week number"},
      {"* * * * #2", "day-of-week field", "a value is missing"},
      {"* * * * 1-3#2", "day-of-week field", "'1-3' is not a number"},
      {"* * * * 9L", "day-of-week field", "'9' is out of range 0-7"},
      {"* * * * L", "day-of-week field", "'L' is not a weekday"},
      {"* * 32W * *", "day-of-month field", "'32' is out of range 1-31"},
      {"* * W * *", "day-of-month field", "'W' is not a number"},
      {"* * L5 * *", "day-of-month field", "'L5' is not a number"},
      {"1,,2 * * * *", "minute field", "an empty list item in '1,,2'"},
      {"1, * * * *", "minute field", "an empty list item in '1,'"},
      {"-1 * * * *", "minute field", "a value is missing"},
      {"1- * * * *", "minute field", "a value is missing"},
      {"+1 * * * *", "minute field", "'+1' is not a number"},
      {"00005 * * * *", "minute field", "'00005' is not a number"},
      {"99999999999 * * * *", "minute field", "'99999999999' is not a number"},
      {"\xff * * * *", "minute field", "'\\xff' is not a number"},
      {"*\n * * * *", "minute field", "'*\\n'"},
      {"0 0 30 2 *", "day-of-month field", "'30' matches no day of month field '2'"},
      {"0 0 31 4,6,9,11 *", "day-of-month field", "would never fire"},
  };
  for (const Case& c : cases) {
    const std::string message = ParseError(c.expression);
    EXPECT_THAT(message, AllOf(HasSubstr(c.field), HasSubstr(c.text))) << c.expression;
    EXPECT_THAT(message, HasSubstr("cron expression \"")) << c.expression;
  }
}

TEST(CronExpressionTest, RejectsOversizedExpressions) {
  const std::string huge = absl::StrCat(std::string(300, '1'), " * * * *");
  EXPECT_THAT(ParseError(huge), HasSubstr("longer than the limit of 256"));
  std::string long_list = "0";
  for (int i = 1; i < 60; ++i) absl::StrAppend(&long_list, ",", i);
  EXPECT_TRUE(CronExpression::Parse(long_list + " * * * *").ok());
}

TEST(CronExpressionTest, RarelyFiringExpressionsAreAccepted) {
  // `*/7` makes the day fields combine with "and": the 29th of February on a Sunday.
  EXPECT_THAT(Next("0 0 29 2 */7", "2026-01-01T00:00:00Z"), ElementsAre("2032-02-29 00:00 Sun"));
  // A fifth Monday in February needs the 29th to be a Monday.
  EXPECT_THAT(Next("0 0 * 2 MON#5", "2026-01-01T00:00:00Z"), ElementsAre("2044-02-29 00:00 Mon"));
}

}  // namespace
}  // namespace cosmo
