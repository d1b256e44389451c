// A parsed five-field cron expression and its next-fire computation (docs/cron.md, "Syntax").
#ifndef COSMO_LIB_CRON_CRON_EXPRESSION_H_
#define COSMO_LIB_CRON_CRON_EXPRESSION_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace cosmo {

// One cron expression: minute, hour, day-of-month, month, day-of-week, in UTC, with lists,
// ranges, steps, month and weekday names, day-of-week 0-7 (0 and 7 are Sunday), and the
// extensions `L` (last day of the month; `5L` the last Friday), `W` (`15W` the weekday nearest
// the 15th, `LW` the last weekday) and `#` (`MON#2`, the second Monday). Day-of-month and
// day-of-week combine as Vixie cron combines them: when either field starts with `*` a day must
// match both, otherwise it may match either.
//
// Every field is held as a bit set, so matching a month costs a few dozen instructions and
// NextAfter() is a scan over bits, with no allocation. A value type; thread-compatible (const
// methods may be called from any number of threads at once).
class CronExpression {
 public:
  // Parses `text`. An invalid expression, or one that matches no minute in any year (such as
  // `0 0 30 2 *`), is INVALID_ARGUMENT with a message naming the field and the offending text.
  static absl::StatusOr<CronExpression> Parse(absl::string_view text);

  // The first matching minute strictly after `after_micros` (microseconds since the Unix
  // epoch, UTC), in microseconds. Always exists: Parse() refuses expressions that never match,
  // and the Gregorian calendar repeats every 400 years.
  int64_t NextAfterMicros(int64_t after_micros) const;
  absl::Time NextAfter(absl::Time after) const;

  // True if the minute holding `t` matches.
  bool Matches(absl::Time t) const;

  // The text as given to Parse().
  const std::string& text() const { return text_; }

 private:
  CronExpression() = default;

  // Bit d of the result is set when day d (1..31) of `month` in `year` matches both day fields
  // as combined by Vixie cron.
  uint32_t DayMask(int64_t year, int month) const;

  // The first matching minute at or after `minute` (minutes since the Unix epoch).
  int64_t FirstMatchFromMinute(int64_t minute) const;

  std::string text_;
  uint64_t minutes_ = 0;                // bits 0..59
  uint32_t hours_ = 0;                  // bits 0..23
  uint32_t days_ = 0;                   // bits 1..31: plain day-of-month values
  uint32_t nearest_weekdays_ = 0;       // bits 1..31: `15W`
  uint16_t months_ = 0;                 // bits 1..12
  uint8_t weekdays_ = 0;                // bits 0..6, Sunday 0
  uint8_t last_weekdays_ = 0;           // bits 0..6: `5L`
  uint8_t nth_weekdays_[7] = {};        // per weekday, bit n-1 for `#n`
  bool last_day_ = false;               // `L` in day-of-month
  bool last_weekday_of_month_ = false;  // `LW`
  // Vixie cron's DOM_STAR / DOW_STAR: the field's text starts with `*`.
  bool day_of_month_star_ = false;
  bool day_of_week_star_ = false;
};

}  // namespace cosmo

#endif  // COSMO_LIB_CRON_CRON_EXPRESSION_H_
