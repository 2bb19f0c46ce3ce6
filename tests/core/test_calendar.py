"""Working days under the State Council schedules, and the page that enters a new year."""

from __future__ import annotations

from datetime import date, timedelta

import chinese_calendar
import pytest
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zizhu.core import services
from zizhu.core.calendar import add_working_days, is_working_day, working_days_between
from zizhu.core.errors import CalendarYearMissing, DomainError, NotPermitted
from zizhu.core.models import AuditEntry, CalendarDay, CalendarYear, DayKind, User

pytestmark = pytest.mark.django_db


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


# --- the seeded State Council schedules --------------------------------------------------

# 国务院办公厅关于2025年部分节假日安排的通知 (国办发明电〔2024〕12号).
SCHEDULE_2025 = {
    "holidays": [
        date(2025, 1, 1),
        *_days(date(2025, 1, 28), date(2025, 2, 4)),
        *_days(date(2025, 4, 4), date(2025, 4, 6)),
        *_days(date(2025, 5, 1), date(2025, 5, 5)),
        *_days(date(2025, 5, 31), date(2025, 6, 2)),
        *_days(date(2025, 10, 1), date(2025, 10, 8)),
    ],
    "workdays": [
        date(2025, 1, 26),
        date(2025, 2, 8),
        date(2025, 4, 27),
        date(2025, 9, 28),
        date(2025, 10, 11),
    ],
}

# 国务院办公厅关于2026年部分节假日安排的通知.
SCHEDULE_2026 = {
    "holidays": [
        *_days(date(2026, 1, 1), date(2026, 1, 3)),
        *_days(date(2026, 2, 15), date(2026, 2, 23)),
        *_days(date(2026, 4, 4), date(2026, 4, 6)),
        *_days(date(2026, 5, 1), date(2026, 5, 5)),
        *_days(date(2026, 6, 19), date(2026, 6, 21)),
        *_days(date(2026, 9, 25), date(2026, 9, 27)),
        *_days(date(2026, 10, 1), date(2026, 10, 7)),
    ],
    "workdays": [
        date(2026, 1, 4),
        date(2026, 2, 14),
        date(2026, 2, 28),
        date(2026, 5, 9),
        date(2026, 9, 20),
        date(2026, 10, 10),
    ],
}


@pytest.mark.parametrize(("year", "schedule"), [(2025, SCHEDULE_2025), (2026, SCHEDULE_2026)])
def test_seeded_year_matches_the_state_council_notice(
    year: int, schedule: dict[str, list[date]]
) -> None:
    seeded = CalendarDay.objects.filter(date__year=year)
    assert sorted(seeded.filter(kind=DayKind.HOLIDAY).values_list("date", flat=True)) == sorted(
        schedule["holidays"]
    )
    assert sorted(seeded.filter(kind=DayKind.WORKDAY).values_list("date", flat=True)) == sorted(
        schedule["workdays"]
    )
    assert CalendarYear.objects.get(year=year).complete


@pytest.mark.parametrize(
    ("day", "working"),
    [
        # 2025 Spring Festival: Jan 28 – Feb 4 off, Sunday Jan 26 and Saturday Feb 8 worked.
        (date(2025, 1, 26), True),
        (date(2025, 1, 27), True),
        (date(2025, 1, 28), False),
        (date(2025, 2, 3), False),
        (date(2025, 2, 4), False),
        (date(2025, 2, 5), True),
        (date(2025, 2, 8), True),
        (date(2025, 2, 9), False),
        # 2025 National Day and Mid-Autumn: Oct 1–8 off, Sunday Sep 28 and Saturday Oct 11 worked.
        (date(2025, 9, 28), True),
        (date(2025, 10, 1), False),
        (date(2025, 10, 8), False),
        (date(2025, 10, 9), True),
        (date(2025, 10, 11), True),
        (date(2025, 10, 12), False),
        # 2026 Spring Festival: Feb 15–23 off, Saturdays Feb 14 and Feb 28 worked.
        (date(2026, 2, 14), True),
        (date(2026, 2, 15), False),
        (date(2026, 2, 23), False),
        (date(2026, 2, 24), True),
        (date(2026, 2, 28), True),
        # 2026 Labour Day: May 1–5 off, Saturday May 9 worked.
        (date(2026, 4, 30), True),
        (date(2026, 5, 4), False),
        (date(2026, 5, 5), False),
        (date(2026, 5, 6), True),
        (date(2026, 5, 9), True),
        (date(2026, 5, 10), False),
        # 2026 National Day: Oct 1–7 off, Sunday Sep 20 and Saturday Oct 10 worked.
        (date(2026, 9, 20), True),
        (date(2026, 9, 30), True),
        (date(2026, 10, 1), False),
        (date(2026, 10, 7), False),
        (date(2026, 10, 8), True),
        (date(2026, 10, 10), True),
        (date(2026, 10, 11), False),
        # An ordinary week.
        (date(2026, 3, 13), True),
        (date(2026, 3, 14), False),
        (date(2026, 3, 15), False),
    ],
)
def test_is_working_day_follows_the_schedule(day: date, working: bool) -> None:
    assert is_working_day(day) is working


@pytest.mark.parametrize(
    ("start", "n", "due"),
    [
        # Across the 2026 National Day holiday into the Saturday 调休 workday.
        (date(2026, 9, 30), 3, date(2026, 10, 10)),
        (date(2026, 9, 30), 1, date(2026, 10, 8)),
        (date(2026, 9, 30), 4, date(2026, 10, 12)),
        # The Sunday make-up workday before National Day counts.
        (date(2026, 9, 18), 1, date(2026, 9, 20)),
        # Across the 2026 Spring Festival: Saturday Feb 14 worked, Feb 15–23 off.
        (date(2026, 2, 12), 2, date(2026, 2, 14)),
        (date(2026, 2, 12), 3, date(2026, 2, 24)),
        # 2026 Labour Day, then Saturday May 9 worked.
        (date(2026, 4, 30), 2, date(2026, 5, 7)),
        (date(2026, 4, 30), 4, date(2026, 5, 9)),
        # 2025: Sunday Jan 26 worked, Spring Festival, then Saturday Feb 8 worked.
        (date(2025, 1, 24), 1, date(2025, 1, 26)),
        (date(2025, 1, 27), 1, date(2025, 2, 5)),
        (date(2025, 2, 5), 3, date(2025, 2, 8)),
        # 2025 National Day: Oct 1–8 off, Saturday Oct 11 worked.
        (date(2025, 9, 30), 3, date(2025, 10, 11)),
        # Starting on a holiday: day 1 is the first working day after it.
        (date(2026, 10, 3), 1, date(2026, 10, 8)),
        # Into the next year (both complete): Jan 1–3 off, Sunday Jan 4 worked.
        (date(2025, 12, 31), 1, date(2026, 1, 4)),
        (date(2025, 12, 31), 2, date(2026, 1, 5)),
    ],
)
def test_add_working_days_crosses_holidays_and_make_up_weekends(
    start: date, n: int, due: date
) -> None:
    assert add_working_days(start, n) == due


def test_add_working_days_needs_a_positive_count() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        add_working_days(date(2026, 3, 2), 0)


def test_a_year_never_entered_raises_a_clear_error() -> None:
    with pytest.raises(CalendarYearMissing) as raised:
        is_working_day(date(2027, 3, 1))
    assert "2027年的节假日安排尚未录入或未确认完整" in raised.value.message
    assert "节假日日历" in raised.value.message


def test_a_deadline_running_into_a_missing_year_is_refused_not_guessed() -> None:
    with pytest.raises(CalendarYearMissing, match="2027"):
        add_working_days(date(2026, 12, 28), 10)
    with pytest.raises(CalendarYearMissing, match="2027"):
        working_days_between(date(2026, 12, 1), date(2027, 1, 10))


def test_an_incomplete_year_raises(sysadmin: User) -> None:
    services.save_calendar_year(
        2027,
        actor=sysadmin,
        holidays=[(date(2027, 1, 1), "元旦")],
        workdays=[],
        source="测试",
    )
    with pytest.raises(CalendarYearMissing, match="2027"):
        is_working_day(date(2027, 1, 4))


def test_a_year_before_the_seeded_range_raises() -> None:
    with pytest.raises(CalendarYearMissing, match="2003"):
        is_working_day(date(2003, 6, 2))


def test_re_saving_a_complete_year_takes_it_out_of_use(sysadmin: User) -> None:
    year = CalendarYear.objects.get(year=2026)
    days = CalendarDay.objects.filter(date__year=2026)
    services.save_calendar_year(
        2026,
        actor=sysadmin,
        holidays=[(d.date, d.name) for d in days if d.kind == DayKind.HOLIDAY],
        workdays=[(d.date, d.name) for d in days if d.kind == DayKind.WORKDAY],
        source=year.source,
    )
    with pytest.raises(CalendarYearMissing, match="2026"):
        is_working_day(date(2026, 5, 6))


# --- properties over the seeded years ----------------------------------------------------

_starts = st.dates(min_value=date(2004, 1, 1), max_value=date(2026, 11, 30))
_counts = st.integers(min_value=1, max_value=20)
_db_settings = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@_db_settings
@given(day=st.dates(min_value=date(2004, 1, 1), max_value=date(2026, 12, 31)))
def test_is_working_day_agrees_with_chinesecalendar(day: date) -> None:
    assert is_working_day(day) is chinese_calendar.is_workday(day)


@_db_settings
@given(start=_starts, n=_counts)
def test_add_working_days_lands_on_the_nth_working_day(start: date, n: int) -> None:
    due = add_working_days(start, n)
    assert due > start
    assert chinese_calendar.is_workday(due)
    between = _days(start + timedelta(days=1), due)
    assert sum(chinese_calendar.is_workday(d) for d in between) == n
    assert working_days_between(start, due) == n


@_db_settings
@given(start=_starts, n=_counts)
def test_add_working_days_is_strictly_monotonic_in_n(start: date, n: int) -> None:
    assert add_working_days(start, n) < add_working_days(start, n + 1)


# --- the administrator's page ------------------------------------------------------------

HOLIDAYS_2027 = "2027-01-01 元旦\n2027-01-02 元旦\n2027-01-03 元旦\n\n2027-10-01 国庆节\n"
WORKDAYS_2027 = "2027-09-26 国庆节调休\n"


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_admin_enters_2027_then_completes_it_and_deadlines_reach_into_2027(
    sysadmin: User,
) -> None:
    client = _client(sysadmin)
    edit = reverse("core:calendar_edit", args=[2027])
    response = client.post(
        edit,
        {
            "source": "国办发明电〔2026〕测试号",
            "holidays": HOLIDAYS_2027,
            "workdays": WORKDAYS_2027,
        },
    )
    assert response.status_code == 302
    saved = CalendarYear.objects.get(year=2027)
    assert not saved.complete
    assert CalendarDay.objects.filter(date__year=2027).count() == 5
    with pytest.raises(CalendarYearMissing):
        add_working_days(date(2026, 12, 30), 3)

    complete = reverse("core:calendar_complete", args=[2027])
    assert client.post(complete, {"confirmed": "on"}).status_code == 302

    saved.refresh_from_db()
    assert saved.complete
    assert saved.completed_by == sysadmin
    # Dec 31 (Thu), Jan 1–3 off, Jan 4 (Mon), Jan 5 (Tue).
    assert add_working_days(date(2026, 12, 30), 3) == date(2027, 1, 5)
    assert is_working_day(date(2027, 9, 26))
    actions = list(AuditEntry.objects.filter(subject_id="2027").values_list("action", flat=True))
    assert actions == ["calendar.completed", "calendar.saved"]


def test_completing_needs_the_confirmation_checkbox(sysadmin: User) -> None:
    services.save_calendar_year(
        2027, actor=sysadmin, holidays=[(date(2027, 1, 1), "元旦")], workdays=[], source="测试"
    )
    client = _client(sysadmin)
    response = client.post(reverse("core:calendar_complete", args=[2027]), {}, follow=True)
    assert "已核对国务院办公厅通知" in response.content.decode()
    assert not CalendarYear.objects.get(year=2027).complete


def test_completing_is_post_only(sysadmin: User) -> None:
    response = _client(sysadmin).get(reverse("core:calendar_complete", args=[2026]))
    assert response.status_code == 405


@pytest.mark.parametrize(
    ("holidays", "workdays", "message"),
    [
        ("2027-01-01 元旦\n2027-13-01 元旦", "", "第 2 行“2027-13-01 元旦”中的日期不存在"),
        ("元旦 2027-01-01", "", "第 1 行“元旦 2027-01-01”格式不对"),
        ("2026-12-31 元旦", "", "第 1 行“2026-12-31 元旦”不属于 2027 年"),
        ("2027-01-01 元旦\n2027-01-01 元旦", "", "第 2 行“2027-01-01 元旦”与前面的日期重复"),
        ("", "2027-02-03 春节调休", "第 1 行“2027-02-03 春节调休”是工作日"),
        ("2027-02-06 春节", "2027-02-06 春节调休", "2027-02-06 不能同时是节假日和调休上班日"),
    ],
)
def test_each_bad_line_is_named_in_chinese(
    sysadmin: User, holidays: str, workdays: str, message: str
) -> None:
    response = _client(sysadmin).post(
        reverse("core:calendar_edit", args=[2027]),
        {"source": "测试", "holidays": holidays, "workdays": workdays},
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not CalendarYear.objects.filter(year=2027).exists()


def test_calendar_pages_show_years_and_month_grids(sysadmin: User) -> None:
    client = _client(sysadmin)
    listing = client.get(reverse("core:calendar_list")).content.decode()
    assert "2026" in listing
    assert "已确认完整" in listing
    page = client.get(reverse("core:calendar_edit", args=[2026])).content.decode()
    assert "2026-10-10 国庆节" in page
    assert page.count("<caption>") == 12
    assert client.get(reverse("core:calendar_list"), {"year": "2031"}).url == reverse(
        "core:calendar_edit", args=[2031]
    )


@pytest.mark.parametrize("persona", ["district_head", "officer_a", "inspection_team", "outsider"])
def test_only_the_system_administrator_manages_the_calendar(
    persona: str, request: pytest.FixtureRequest
) -> None:
    user: User = request.getfixturevalue(persona)
    client = _client(user)
    assert client.get(reverse("core:calendar_list")).status_code == 403
    assert client.get(reverse("core:calendar_edit", args=[2027])).status_code == 403
    response = client.post(
        reverse("core:calendar_edit", args=[2027]),
        {"source": "x", "holidays": "2027-01-01 元旦", "workdays": ""},
    )
    assert response.status_code == 403
    assert client.post(reverse("core:calendar_complete", args=[2026])).status_code == 403
    assert not CalendarYear.objects.filter(year=2027).exists()


def test_the_calendar_services_refuse_other_roles(district_head: User) -> None:
    with pytest.raises(NotPermitted):
        services.save_calendar_year(2027, actor=district_head, holidays=[], workdays=[], source="")


def test_the_service_refuses_a_weekday_make_up_day(sysadmin: User) -> None:
    with pytest.raises(DomainError, match="只能是周六或周日"):
        services.save_calendar_year(
            2027,
            actor=sysadmin,
            holidays=[(date(2027, 1, 1), "元旦")],
            workdays=[(date(2027, 1, 4), "元旦")],  # a Monday
            source="测试",
        )


def test_a_year_without_holidays_cannot_be_completed(sysadmin: User) -> None:
    year = services.save_calendar_year(
        2027, actor=sysadmin, holidays=[], workdays=[], source="测试"
    )
    with pytest.raises(DomainError, match="尚未录入任何法定节假日"):
        services.complete_calendar_year(year, actor=sysadmin)
    assert not CalendarYear.objects.get(year=2027).complete
