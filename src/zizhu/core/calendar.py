"""Working days under the State Council holiday schedule, including 调休 make-up weekends.

Deadlines in the seed are counted in working days (二(二)2: 3 working days for the school,
二(二)3: 2 for the district). A date in a year whose schedule is not marked complete raises
CalendarYearMissing: a deadline is never guessed.
"""

from __future__ import annotations

from datetime import date, timedelta

from zizhu.core.errors import CalendarYearMissing
from zizhu.core.models import CalendarDay, CalendarYear, DayKind

# Enough to cover the longest run of holidays plus weekends between two working days.
_SLACK_DAYS = 21


def _require_years(first: date, last: date) -> None:
    wanted = set(range(first.year, last.year + 1))
    complete = set(
        CalendarYear.objects.filter(year__in=wanted, complete=True).values_list("year", flat=True)
    )
    missing = sorted(wanted - complete)
    if missing:
        years = "、".join(str(y) for y in missing)
        raise CalendarYearMissing(
            f"{years}年的节假日安排尚未录入或未确认完整，无法计算工作日。"
            "请系统管理员在“节假日日历”中录入国务院公布的安排并确认。"
        )


def _special_days(first: date, last: date) -> dict[date, str]:
    rows = CalendarDay.objects.filter(date__gte=first, date__lte=last).values_list("date", "kind")
    return dict(rows)


def _is_working(day: date, specials: dict[date, str]) -> bool:
    kind = specials.get(day)
    if kind == DayKind.WORKDAY:
        return True
    if kind == DayKind.HOLIDAY:
        return False
    return day.weekday() < 5


def is_working_day(day: date) -> bool:
    _require_years(day, day)
    return _is_working(day, _special_days(day, day))


def add_working_days(start: date, n: int) -> date:
    """The n-th working day after `start` (day 1 is the first working day after it)."""
    if n < 1:
        raise ValueError("n must be at least 1")
    horizon = start + timedelta(days=n * 2 + _SLACK_DAYS)
    specials = _special_days(start, horizon)
    day, counted = start, 0
    while counted < n:
        day += timedelta(days=1)
        if day > horizon:  # an unusually long holiday: widen the window and go on
            horizon = day + timedelta(days=n * 2 + _SLACK_DAYS)
            specials |= _special_days(day, horizon)
        if _is_working(day, specials):
            counted += 1
    _require_years(start + timedelta(days=1), day)
    return day


def working_days_between(start: date, end: date) -> int:
    """Working days in (start, end]: how many of a deadline's days have been used."""
    if end <= start:
        return 0
    _require_years(start, end)
    specials = _special_days(start, end)
    days = (end - start).days
    return sum(_is_working(start + timedelta(days=i), specials) for i in range(1, days + 1))
