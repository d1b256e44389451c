#!/usr/bin/python3
"""Differential test of our cron expressions against Debian's python3-croniter.

Generates random five-field expressions and start times, runs them through our CronExpression
(the cron_next_tool binary, one process for the whole batch) and through croniter, and requires
the same next five fire times wherever croniter implements the expression the way docs/cron.md
specifies it. Expressions are skipped, and counted, only for these reasons:

  w        `15W` and `LW`: croniter has no `W`.
  mixed    `#`/`L` weekdays mixed with plain weekdays in one field: croniter refuses that
           (CroniterUnsupportedSyntaxError).
  far      croniter gives up after 50 years without a match, where ours finds one later.
  l-counted
           a day-of-month list of 30 days plus `L`: croniter counts `L` as a 31st value and
           takes the list for `*`, so it fires on the day the list leaves out.
  croniter-skips
           croniter's scan passes over a matching day (a listed day of month beyond the current
           month's length makes it jump into the next month): counted only when every one of our
           times matches the expression as croniter parsed it and croniter's times are among ours.

When both day fields are restricted (neither starts with `*`), Vixie cron fires when either
matches; croniter's own "or" mishandles `#` weekdays and full ranges, so its two halves are asked
for separately, each with "and", and merged.

Everything else must agree: the same fire times, or both rejecting the expression (croniter's
CroniterBadDateError for an expression that never fires counts as a rejection). Exits non-zero on
any disagreement or when fewer than --min-compared expressions were compared.
"""
import argparse
import calendar
import datetime
import multiprocessing
import os
import random
import subprocess
import sys

try:
    from croniter import croniter, CroniterBadCronError, CroniterBadDateError
    from croniter import CroniterUnsupportedSyntaxError
except ImportError:
    sys.exit("croniter_differential: python3-croniter is missing; scripts/setup installs it")

MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
WEEKDAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]
# (low, high, names indexed from low)
FIELDS = [(0, 59, None), (0, 23, None), (1, 31, None), (1, 12, MONTHS), (0, 7, WEEKDAYS)]


def value_text(rng, field, value):
    low, _, names = FIELDS[field]
    if names and value - low < len(names) and rng.random() < 0.4:
        name = names[value - low]
        return name if rng.random() < 0.5 else name.lower()
    return str(value)


def random_item(rng, field):
    low, high, _ = FIELDS[field]
    kind = rng.random()
    if kind < 0.45:
        return value_text(rng, field, rng.randint(low, high))
    if kind < 0.7:
        a, b = sorted(rng.sample(range(low, high + 1), 2))
        return value_text(rng, field, a) + "-" + value_text(rng, field, b)
    step = rng.randint(1, max(1, (high - low + 1) // 2))
    if kind < 0.85:
        a, b = sorted(rng.sample(range(low, high + 1), 2))
        return "%s-%s/%d" % (value_text(rng, field, a), value_text(rng, field, b), step)
    if kind < 0.93:
        return "%s/%d" % (value_text(rng, field, rng.randint(low, high)), step)
    return "*/%d" % step


def random_field(rng, field):
    if rng.random() < (0.3 if field < 2 else 0.5):
        return "*"
    if field == 4 and rng.random() < 0.15:  # nth and last weekdays
        items = []
        for _ in range(rng.randint(1, 2)):
            weekday = rng.randint(0, 7)
            if rng.random() < 0.5:
                items.append("%s#%d" % (value_text(rng, 4, weekday), rng.randint(1, 5)))
            else:
                items.append("%dL" % weekday)
        return ",".join(items)
    items = [random_item(rng, field) for _ in range(rng.choice([1, 1, 1, 2, 3]))]
    if field == 2:
        special = rng.random()
        if special < 0.1:
            items.append("L")
        elif special < 0.12:
            items.append("%dW" % rng.randint(1, 31))
        elif special < 0.13:
            items.append("LW")
        rng.shuffle(items)
    return ",".join(items)


def random_case(rng):
    expression = " ".join(random_field(rng, f) for f in range(5))
    start = rng.randint(631152000, 3786912000)  # 1990 to 2090
    shape = rng.random()
    if shape < 0.3:
        start -= start % 60
    elif shape < 0.45:  # just before a day ends, where months and years roll over
        start = start - start % 86400 + 86400 - rng.randint(1, 180)
    return expression, start


def croniter_syntax(expression):
    """Our `5L` (last Friday) is croniter's `L5`; everything else is spelled alike."""
    fields = expression.split()
    items = []
    for item in fields[4].split(","):
        items.append("L" + item[:-1] if item.endswith("L") else item)
    fields[4] = ",".join(items)
    return " ".join(fields)


def croniter_next(expression, start):
    """croniter's next five fire times, combining the day fields with "and"; None if it finds
    none within its 50-year horizon."""
    cron = croniter(expression, start, day_or=False)
    try:
        return [int(cron.get_next(float)) for _ in range(5)]
    except CroniterBadDateError:
        return None


def matches(cron, t, vixie_or):
    """Whether minute `t` matches the expression as croniter parsed it (`cron.expanded`), with
    the day fields combined as Vixie cron does: an independent check of a single time."""
    d = datetime.datetime.utcfromtimestamp(t)
    minutes, hours, days, months, weekdays = cron.expanded[:5]
    if minutes != ["*"] and d.minute not in minutes:
        return False
    if hours != ["*"] and d.hour not in hours:
        return False
    if months != ["*"] and d.month not in months:
        return False
    last = calendar.monthrange(d.year, d.month)[1]
    by_date = days == ["*"] or d.day in days or ("l" in days and d.day == last)
    weekday = d.isoweekday() % 7
    if cron.nth_weekday_of_month:
        nths = cron.nth_weekday_of_month.get(weekday, set())
        by_weekday = (d.day - 1) // 7 + 1 in nths or ("l" in nths and d.day + 7 > last)
    else:
        by_weekday = weekdays == ["*"] or weekday in weekdays
    return (by_date or by_weekday) if vixie_or else (by_date and by_weekday)


def compare(case):
    """Returns (category, detail) for one (expression, start, our_result)."""
    expression, start, ours = case
    fields = expression.split()
    vixie_or = fields[2][0] != "*" and fields[4][0] != "*"
    if "W" in fields[2].upper():
        return "w", None
    translated = croniter_syntax(expression)
    try:
        cron = croniter(translated, start)
    except CroniterUnsupportedSyntaxError:
        return "mixed", None
    except (CroniterBadCronError, ValueError) as e:
        if ours.startswith("error"):
            return "both-reject", None
        return "fail", "croniter rejects (%s), we accept: %s" % (e, ours)
    if "L" in fields[2].upper().split(",") and cron.expanded[2] == ["*"]:
        return "l-counted", None
    if vixie_or:
        # croniter's own "or" mishandles `#` weekdays and full ranges and gives up when either
        # half never fires, so the two halves are asked for separately and merged.
        t = translated.split()
        halves = [croniter_next(" ".join(t[:4] + ["*"]), start),
                  croniter_next(" ".join(t[:2] + ["*"] + t[3:]), start)]
        merged = sorted(set(sum((h for h in halves if h), [])))[:5]
        theirs = merged if any(halves) else None
    else:
        theirs = croniter_next(translated, start)
    if ours.startswith("error"):
        if theirs is None and "never fire" in ours:
            return "both-reject", None
        return "fail", "we reject (%s), croniter gives %s" % (ours, theirs)
    mine = [int(x) for x in ours.split()[1:]]
    if mine == theirs:
        return "same", None
    if theirs is None and mine[0] - start > 50 * 366 * 86400:
        return "far", None
    theirs = theirs or []
    # croniter's scan jumps past matching days when a listed day of month is beyond the current
    # month's length (`29,L` in February, `*/10` reaching the 31st). Such a case counts as
    # croniter skipping only when each of our times matches, ours are increasing, and every
    # time croniter gives up to our fifth is one of ours.
    if (all(matches(cron, t, vixie_or) for t in mine) and mine == sorted(set(mine)) and
            all(t in mine for t in theirs if t <= mine[-1]) and mine[0] > start):
        return "croniter-skips", None
    return "fail", "ours %s, croniter %s" % (mine, theirs or "no date")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tool", required=True, help="path of cron_next_tool")
    parser.add_argument("--cases", type=int, default=105000)
    parser.add_argument("--min-compared", type=int, default=100000)
    parser.add_argument("--seed", type=int, default=20261202)
    args = parser.parse_args()

    rng = random.Random(args.seed)
    cases = [random_case(rng) for _ in range(args.cases)]
    stdin = "".join("%s\t%d\n" % c for c in cases)
    run = subprocess.run([args.tool], input=stdin, capture_output=True, text=True, check=True)
    ours = run.stdout.splitlines()
    if len(ours) != len(cases):
        sys.exit("cron_next_tool answered %d of %d lines" % (len(ours), len(cases)))

    counts = {}
    failures = []
    with multiprocessing.Pool(os.cpu_count()) as pool:
        work = [(e, s, o) for (e, s), o in zip(cases, ours)]
        for (expression, start, _), (category, detail) in zip(
                work, pool.imap(compare, work, chunksize=2000)):
            counts[category] = counts.get(category, 0) + 1
            if category == "fail":
                failures.append("%r from %d: %s" % (expression, start, detail))

    compared = counts.get("same", 0) + counts.get("both-reject", 0)
    print("croniter_differential: seed %d, %d cases: %s" % (
        args.seed, len(cases), ", ".join("%s %d" % kv for kv in sorted(counts.items()))))
    for f in failures[:30]:
        print("  DIFFERS " + f)
    if failures:
        print("croniter_differential: %d disagreement(s)" % len(failures))
        return 1
    if compared < args.min_compared:
        print("croniter_differential: only %d compared, fewer than %d" % (
            compared, args.min_compared))
        return 1
    print("croniter_differential: %d compared, all agree" % compared)
    return 0


if __name__ == "__main__":
    sys.exit(main())
