#include "cron/cron_expression.h"

#include <array>
#include <bit>
#include <limits>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/civil_time.h"
#include "cosmo/status_macros.h"

namespace cosmo {
namespace {

constexpr int64_t kMicrosPerMinute = 60'000'000;
constexpr int64_t kMinutesPerDay = 24 * 60;
// Longer expressions are typing accidents or hostile; the longest useful one is far shorter.
constexpr size_t kMaxExpressionBytes = 256;

const absl::CivilDay kEpochDay(1970, 1, 1);

constexpr std::array<absl::string_view, 12> kMonthNames = {
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
constexpr std::array<absl::string_view, 7> kWeekdayNames = {"SUN", "MON", "TUE", "WED",
                                                            "THU", "FRI", "SAT"};

enum class FieldKind { kMinute, kHour, kDayOfMonth, kMonth, kDayOfWeek };

struct FieldSpec {
  FieldKind kind;
  absl::string_view name;
  int min;
  int max;
};

constexpr std::array<FieldSpec, 5> kFields = {{
    {FieldKind::kMinute, "minute", 0, 59},
    {FieldKind::kHour, "hour", 0, 23},
    {FieldKind::kDayOfMonth, "day-of-month", 1, 31},
    {FieldKind::kMonth, "month", 1, 12},
    {FieldKind::kDayOfWeek, "day-of-week", 0, 7},
}};

// What one field parses to. Day-of-week values are folded to 0..6 (7 is Sunday) by the caller.
struct ParsedField {
  uint64_t bits = 0;
  uint32_t nearest_weekdays = 0;
  bool last_day = false;
  bool last_weekday_of_month = false;
  uint8_t last_weekdays = 0;
  std::array<uint8_t, 7> nth_weekdays = {};
};

// Parses one field of one expression; errors name the field and quote the offending text.
class FieldParser {
 public:
  FieldParser(const FieldSpec& spec, absl::string_view field) : spec_(spec), field_(field) {}

  absl::StatusOr<ParsedField> Parse() {
    ParsedField out;
    for (absl::string_view item : absl::StrSplit(field_, ',')) {
      if (item.empty()) return Error(absl::StrCat("an empty list item in '", Quote(field_), "'"));
      COSMO_RETURN_IF_ERROR(ParseItem(item, out));
    }
    return out;
  }

 private:
  absl::Status Error(absl::string_view detail) const {
    return absl::InvalidArgumentError(absl::StrCat(spec_.name, " field: ", detail));
  }
  static std::string Quote(absl::string_view text) { return absl::CHexEscape(text); }
  std::string RangeText() const { return absl::StrCat(spec_.min, "-", spec_.max); }

  // A number or, in the month and day-of-week fields, a three-letter name.
  absl::StatusOr<int> ParseValue(absl::string_view text) const {
    if (text.empty()) return Error("a value is missing");
    int value = 0;
    if (absl::ascii_isdigit(static_cast<unsigned char>(text[0]))) {
      if (text.size() > 4 || !absl::SimpleAtoi(text, &value)) {
        return Error(absl::StrCat("'", Quote(text), "' is not a number"));
      }
    } else {
      const std::string upper = absl::AsciiStrToUpper(text);
      bool found = false;
      if (spec_.kind == FieldKind::kMonth) {
        for (size_t i = 0; i < kMonthNames.size() && !found; ++i) {
          if (upper == kMonthNames[i]) value = static_cast<int>(i) + 1, found = true;
        }
        if (!found) {
          return Error(absl::StrCat("'", Quote(text), "' is not a month (1-12 or JAN-DEC)"));
        }
      } else if (spec_.kind == FieldKind::kDayOfWeek) {
        for (size_t i = 0; i < kWeekdayNames.size() && !found; ++i) {
          if (upper == kWeekdayNames[i]) value = static_cast<int>(i), found = true;
        }
        if (!found) {
          return Error(absl::StrCat("'", Quote(text), "' is not a weekday (0-7 or SUN-SAT)"));
        }
      } else {
        return Error(absl::StrCat("'", Quote(text), "' is not a number"));
      }
    }
    if (value < spec_.min || value > spec_.max) {
      return Error(absl::StrCat("'", Quote(text), "' is out of range ", RangeText()));
    }
    return value;
  }

  // `L`, `LW`, `15W` in day-of-month; `5L`, `MON#2` in day-of-week. Returns false when `item` is
  // none of them.
  absl::StatusOr<bool> ParseSpecial(absl::string_view item, ParsedField& out) const {
    if (spec_.kind == FieldKind::kDayOfMonth) {
      if (absl::EqualsIgnoreCase(item, "L")) return out.last_day = true;
      if (absl::EqualsIgnoreCase(item, "LW")) return out.last_weekday_of_month = true;
      if (item.size() >= 2 && absl::ascii_toupper(item.back()) == 'W') {
        COSMO_ASSIGN_OR_RETURN(int day, ParseValue(item.substr(0, item.size() - 1)));
        out.nearest_weekdays |= 1u << day;
        return true;
      }
      return false;
    }
    if (spec_.kind != FieldKind::kDayOfWeek) return false;
    if (const size_t hash = item.find('#'); hash != absl::string_view::npos) {
      COSMO_ASSIGN_OR_RETURN(int weekday, ParseValue(item.substr(0, hash)));
      const absl::string_view nth_text = item.substr(hash + 1);
      int nth = 0;
      if (nth_text.size() != 1 || !absl::SimpleAtoi(nth_text, &nth) || nth < 1 || nth > 5) {
        return Error(absl::StrCat("'", Quote(item), "' needs a week number 1-5 after '#'"));
      }
      out.nth_weekdays[weekday % 7] |= static_cast<uint8_t>(1u << (nth - 1));
      return true;
    }
    if (item.size() >= 2 && absl::ascii_toupper(item.back()) == 'L') {
      COSMO_ASSIGN_OR_RETURN(int weekday, ParseValue(item.substr(0, item.size() - 1)));
      out.last_weekdays |= static_cast<uint8_t>(1u << (weekday % 7));
      return true;
    }
    return false;
  }

  absl::Status ParseItem(absl::string_view item, ParsedField& out) const {
    const size_t slash = item.find('/');
    if (slash == absl::string_view::npos) {
      COSMO_ASSIGN_OR_RETURN(bool special, ParseSpecial(item, out));
      if (special) return absl::OkStatus();
    }
    const absl::string_view base = item.substr(0, slash);
    int low = spec_.min;
    int high = spec_.max;
    int step = 1;
    if (slash != absl::string_view::npos) {
      const absl::string_view step_text = item.substr(slash + 1);
      const int span = spec_.max - spec_.min + 1;
      if (step_text.empty() || step_text.size() > 4 || !absl::SimpleAtoi(step_text, &step) ||
          step < 1 || step > span) {
        return Error(absl::StrCat("the step in '", Quote(item), "' is not a number 1-", span));
      }
    }
    if (base != "*") {
      const size_t dash = base.find('-');
      if (dash == absl::string_view::npos) {
        COSMO_ASSIGN_OR_RETURN(low, ParseValue(base));
        // `10/5` steps from 10 to the end of the range; a lone value is just itself.
        high = slash == absl::string_view::npos ? low : spec_.max;
      } else {
        COSMO_ASSIGN_OR_RETURN(low, ParseValue(base.substr(0, dash)));
        COSMO_ASSIGN_OR_RETURN(high, ParseValue(base.substr(dash + 1)));
        // `FRI-SUN`: Sunday closes a weekday range as 7.
        if (spec_.kind == FieldKind::kDayOfWeek && high == 0 && low > 0) high = 7;
        if (low > high) {
          return Error(absl::StrCat("the range '", Quote(base), "' runs backwards"));
        }
      }
    }
    for (int v = low; v <= high; v += step) out.bits |= uint64_t{1} << v;
    return absl::OkStatus();
  }

  const FieldSpec& spec_;
  absl::string_view field_;
};

bool IsLeapYear(int64_t year) { return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0); }

int DaysInMonth(int64_t year, int month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && IsLeapYear(year) ? 29 : kDays[month - 1];
}

// Cron's weekday numbering (Sunday 0) of a civil day.
int CronWeekday(absl::CivilDay day) {
  return (static_cast<int>(absl::GetWeekday(day)) + 1) % 7;  // absl counts from Monday
}

// Bits d, d+7, d+14, ... up to bit 31, for days of one weekday.
constexpr uint64_t kEveryWeek = 1 | 1 << 7 | 1 << 14 | 1 << 21 | 1 << 28;

}  // namespace

absl::StatusOr<CronExpression> CronExpression::Parse(absl::string_view text) {
  auto fail = [&](const absl::Status& status) {
    return absl::InvalidArgumentError(
        absl::StrCat("cron expression \"", absl::CHexEscape(text), "\": ", status.message()));
  };
  if (text.size() > kMaxExpressionBytes) {
    return absl::InvalidArgumentError(absl::StrCat("cron expression of ", text.size(),
                                                   " bytes is longer than the limit of ",
                                                   kMaxExpressionBytes));
  }
  const std::vector<absl::string_view> fields =
      absl::StrSplit(text, absl::ByAnyChar(" \t"), absl::SkipEmpty());
  if (fields.size() != kFields.size()) {
    return fail(absl::InvalidArgumentError(absl::StrCat(
        "has ", fields.size(),
        " fields; a cron expression has five: minute hour day-of-month month day-of-week")));
  }
  CronExpression cron;
  cron.text_ = std::string(text);
  for (size_t i = 0; i < kFields.size(); ++i) {
    absl::StatusOr<ParsedField> parsed = FieldParser(kFields[i], fields[i]).Parse();
    if (!parsed.ok()) return fail(parsed.status());
    switch (kFields[i].kind) {
      case FieldKind::kMinute:
        cron.minutes_ = parsed->bits;
        break;
      case FieldKind::kHour:
        cron.hours_ = static_cast<uint32_t>(parsed->bits);
        break;
      case FieldKind::kDayOfMonth:
        cron.days_ = static_cast<uint32_t>(parsed->bits);
        cron.nearest_weekdays_ = parsed->nearest_weekdays;
        cron.last_day_ = parsed->last_day;
        cron.last_weekday_of_month_ = parsed->last_weekday_of_month;
        cron.day_of_month_star_ = fields[i].front() == '*';
        break;
      case FieldKind::kMonth:
        cron.months_ = static_cast<uint16_t>(parsed->bits);
        break;
      case FieldKind::kDayOfWeek:
        // 7 is Sunday, as 0 is.
        cron.weekdays_ = static_cast<uint8_t>((parsed->bits | parsed->bits >> 7) & 0x7f);
        cron.last_weekdays_ = parsed->last_weekdays;
        for (int d = 0; d < 7; ++d) cron.nth_weekdays_[d] = parsed->nth_weekdays[d];
        cron.day_of_week_star_ = fields[i].front() == '*';
        break;
    }
  }
  // The calendar repeats every 400 years, so an expression that matches no day in 400 years
  // (`0 0 30 2 *`, `0 0 31 4,6 *`) never fires at all.
  bool any_day = false;
  for (int64_t year = 2000; year < 2400 && !any_day; ++year) {
    for (int month = 1; month <= 12 && !any_day; ++month) {
      any_day = (cron.months_ >> month & 1) && cron.DayMask(year, month) != 0;
    }
  }
  if (!any_day) {
    return fail(absl::InvalidArgumentError(absl::StrCat(
        "day-of-month field: '", absl::CHexEscape(fields[2]), "' matches no day of month field '",
        absl::CHexEscape(fields[3]), "' together with day-of-week field '",
        absl::CHexEscape(fields[4]), "'; the expression would never fire")));
  }
  return cron;
}

uint32_t CronExpression::DayMask(int64_t year, int month) const {
  const int days = DaysInMonth(year, month);
  const uint32_t valid = static_cast<uint32_t>(((uint64_t{1} << days) - 1) << 1);
  const int first_weekday = CronWeekday(absl::CivilDay(year, month, 1));
  auto weekday_of = [&](int day) { return (first_weekday + day - 1) % 7; };

  uint32_t by_date = days_;
  if (last_day_) by_date |= 1u << days;
  if (last_weekday_of_month_) {
    const int w = weekday_of(days);
    by_date |= 1u << (w == 6 ? days - 1 : w == 0 ? days - 2 : days);
  }
  // `15W`: the weekday nearest the 15th, never leaving the month (`1W` on a Saturday is Monday
  // the 3rd; `31W` on a Sunday is Friday the 29th). A day the month lacks matches nothing.
  for (uint32_t w = nearest_weekdays_; w != 0; w &= w - 1) {
    const int day = std::countr_zero(w);
    if (day > days) continue;
    const int weekday = weekday_of(day);
    int target = day;
    if (weekday == 6) target = day == 1 ? 3 : day - 1;
    if (weekday == 0) target = day == days ? day - 2 : day + 1;
    by_date |= 1u << target;
  }
  by_date &= valid;

  uint32_t by_weekday = 0;
  for (int w = 0; w < 7; ++w) {
    const int first = 1 + (w - first_weekday + 7) % 7;  // first day of the month on weekday w
    if (weekdays_ >> w & 1) by_weekday |= static_cast<uint32_t>(kEveryWeek << first);
    if (last_weekdays_ >> w & 1) by_weekday |= 1u << (first + 7 * ((days - first) / 7));
    for (uint32_t n = nth_weekdays_[w]; n != 0; n &= n - 1) {
      const int day = first + 7 * std::countr_zero(n);
      if (day <= days) by_weekday |= 1u << day;
    }
  }
  by_weekday &= valid;

  return day_of_month_star_ || day_of_week_star_ ? by_date & by_weekday : by_date | by_weekday;
}

int64_t CronExpression::FirstMatchFromMinute(int64_t minute) const {
  int64_t day_index = minute / kMinutesPerDay;
  int64_t minute_of_day = minute % kMinutesPerDay;
  if (minute_of_day < 0) minute_of_day += kMinutesPerDay, --day_index;
  const absl::CivilDay start = kEpochDay + day_index;
  int64_t year = start.year();
  int month = start.month();
  int from_day = start.day();
  int from_hour = static_cast<int>(minute_of_day / 60);
  int from_minute = static_cast<int>(minute_of_day % 60);
  // 401 years of months: every expression Parse() accepts matches within 400.
  for (int months_scanned = 0; months_scanned < 401 * 12; ++months_scanned) {
    if (months_ >> month & 1) {
      uint32_t days = DayMask(year, month) & ~((uint32_t{1} << from_day) - 1);
      for (; days != 0; days &= days - 1) {
        const int day = std::countr_zero(days);
        if (day != from_day) from_hour = 0, from_minute = 0;
        for (uint32_t hours = hours_ & ~((uint32_t{1} << from_hour) - 1); hours != 0;
             hours &= hours - 1) {
          const int hour = std::countr_zero(hours);
          if (hour != from_hour) from_minute = 0;
          const uint64_t minutes = minutes_ & ~((uint64_t{1} << from_minute) - 1);
          if (minutes != 0) {
            return (absl::CivilDay(year, month, day) - kEpochDay) * kMinutesPerDay + hour * 60 +
                   std::countr_zero(minutes);
          }
        }
        from_day = day;  // the next day differs, which resets the hour and minute
      }
    }
    if (++month > 12) month = 1, ++year;
    from_day = 1, from_hour = 0, from_minute = 0;
    // The first day of a month always differs from the day the scan left off on, or is the
    // day it started on with the start's hour and minute, both handled above.
  }
  return std::numeric_limits<int64_t>::max() / kMicrosPerMinute;
}

int64_t CronExpression::NextAfterMicros(int64_t after_micros) const {
  int64_t minute = after_micros / kMicrosPerMinute;
  if (after_micros % kMicrosPerMinute < 0) --minute;  // floor for times before the epoch
  return FirstMatchFromMinute(minute + 1) * kMicrosPerMinute;
}

absl::Time CronExpression::NextAfter(absl::Time after) const {
  return absl::FromUnixMicros(NextAfterMicros(absl::ToUnixMicros(after)));
}

bool CronExpression::Matches(absl::Time t) const {
  const int64_t micros = absl::ToUnixMicros(t);
  int64_t minute = micros / kMicrosPerMinute;
  if (micros % kMicrosPerMinute < 0) --minute;
  return FirstMatchFromMinute(minute) == minute;
}

}  // namespace cosmo
