"""办理时效: on time / due soon / overdue, the share closed within deadline, breakdowns,
reach, the export's audit row and the overdue work list (issue 5, "Deadlines")."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date

import openpyxl
import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.cases.test_deadlines import make_clue, set_today
from zizhu.cases.models import Channel, Clue, ClueStatus
from zizhu.cases.services.deadlines import SlaReport, sla_report, sweep_deadlines
from zizhu.cases.services.workflow import move_clue
from zizhu.core.models import AuditEntry, OrgUnit, User

pytestmark = pytest.mark.django_db

# Thursday 26 November 2026; the next working day is Friday the 27th.
TODAY = date(2026, 11, 26)


@dataclass
class Clues:
    on_time: Clue  # school A, due 1 December
    due_today: Clue  # school A
    due_tomorrow: Clue  # school A, due on the next working day
    overdue: Clue  # school B, by letter, due 23 November
    waiting: Clue  # school A, received, not yet assigned
    closed_in_time: Clue  # school A
    closed_late: Clue  # school B, received in October, escalated before it closed


def _close(monkeypatch: pytest.MonkeyPatch, clue: Clue, actor: User, day: date) -> Clue:
    set_today(monkeypatch, day)
    for status in (ClueStatus.SUBMITTED, ClueStatus.DECIDED, ClueStatus.CLOSED):
        clue = move_clue(clue, status, actor=actor)
    return clue


@pytest.fixture
def clues(
    monkeypatch: pytest.MonkeyPatch, district_officer: User, school_a: OrgUnit, school_b: OrgUnit
) -> Clues:
    def on(school: OrgUnit, day: date, channel: str = Channel.HOTLINE) -> Clue:
        return make_clue(monkeypatch, district_officer, school, assigned_on=day, channel=channel)

    late = on(school_b, date(2026, 10, 20))  # due 23 October
    sweep_deadlines(today=date(2026, 10, 26))
    made = Clues(
        on_time=on(school_a, TODAY),
        due_today=on(school_a, date(2026, 11, 23)),
        due_tomorrow=on(school_a, date(2026, 11, 24)),
        overdue=on(school_b, date(2026, 11, 18), channel=Channel.LETTER),
        waiting=make_clue(monkeypatch, district_officer, school_a, received_on=date(2026, 11, 20)),
        closed_in_time=_close(
            monkeypatch,
            on(school_a, date(2026, 11, 2)),
            district_officer,
            date(2026, 11, 3),
        ),
        closed_late=_close(monkeypatch, late, district_officer, date(2026, 10, 27)),
    )
    set_today(monkeypatch, TODAY)
    return made


def _numbers(row_owner: SlaReport) -> tuple[int, ...]:
    t = row_owner.total
    return (t.on_time, t.due_soon, t.overdue, t.waiting, t.closed, t.closed_in_time)


# --- the numbers --------------------------------------------------------------------------


def test_fixture_due_dates(clues: Clues) -> None:
    assert clues.on_time.due_on == date(2026, 12, 1)
    assert clues.due_today.due_on == TODAY
    assert clues.due_tomorrow.due_on == date(2026, 11, 27)
    assert clues.overdue.due_on == date(2026, 11, 23)
    assert clues.waiting.due_on is None
    assert clues.closed_late.status == ClueStatus.CLOSED
    # Closing cleared the marks; the escalation's audit row is what the SLA reads.
    assert (clues.closed_late.overdue_since, clues.closed_late.escalated_at) == (None, None)


def test_district_totals(clues: Clues, district_officer: User) -> None:
    report = sla_report(district_officer, today=TODAY)

    assert report.soon_until == date(2026, 11, 27)
    assert _numbers(report) == (1, 2, 1, 1, 2, 1)
    assert report.total.open == 5
    assert report.total.share_in_time == 50.0


def test_breakdown_by_school(clues: Clues, district_officer: User) -> None:
    rows = {row.label: row for row in sla_report(district_officer, today=TODAY).by_school}

    a, b = rows["邾城第一小学"], rows["阳逻第一小学"]
    assert (a.on_time, a.due_soon, a.overdue, a.waiting, a.closed, a.share_in_time) == (
        1,
        2,
        0,
        1,
        1,
        100.0,
    )
    assert (b.on_time, b.due_soon, b.overdue, b.waiting, b.closed, b.share_in_time) == (
        0,
        0,
        1,
        0,
        1,
        0.0,
    )


def test_breakdown_by_channel_and_month(clues: Clues, district_officer: User) -> None:
    report = sla_report(district_officer, today=TODAY)

    channels = {row.label: (row.overdue, row.open, row.closed) for row in report.by_channel}
    assert channels == {"热线电话": (0, 4, 2), "来信": (1, 1, 0)}
    months = {row.key: (row.open, row.closed, row.closed_late) for row in report.by_month}
    assert months == {"2026-10": (0, 1, 1), "2026-11": (5, 1, 0)}


def test_share_is_empty_before_anything_closes(
    monkeypatch: pytest.MonkeyPatch, district_officer: User, school_a: OrgUnit
) -> None:
    make_clue(monkeypatch, district_officer, school_a, assigned_on=TODAY)

    assert sla_report(district_officer, today=TODAY).total.share_in_time is None


# --- reach --------------------------------------------------------------------------------


def test_school_sees_only_its_own_clues(clues: Clues, officer_b: User) -> None:
    report = sla_report(officer_b, today=TODAY)

    assert [row.label for row in report.by_school] == ["阳逻第一小学"]
    assert _numbers(report) == (0, 0, 1, 0, 1, 0)


def test_town_supervisor_sees_the_towns_schools(clues: Clues, town_supervisor: User) -> None:
    report = sla_report(town_supervisor, today=TODAY)

    assert [row.label for row in report.by_school] == ["邾城第一小学"]
    assert report.total.overdue == 0


# --- the pages ----------------------------------------------------------------------------


def test_sla_page_for_the_district(client: Client, clues: Clues, district_officer: User) -> None:
    client.force_login(district_officer)

    response = client.get(reverse("cases:sla_home"))

    assert response.status_code == 200
    page = response.content.decode()
    assert "线索办理时效" in page
    assert "50.0%" in page
    assert "阳逻第一小学" in page
    assert "受理月份" in page


def test_sla_page_refuses_someone_without_clue_access(client: Client, outsider: User) -> None:
    client.force_login(outsider)

    assert client.get(reverse("cases:sla_home")).status_code == 403
    assert client.get(reverse("cases:sla_overdue")).status_code == 403
    assert client.get(reverse("cases:sla_export")).status_code == 403


def test_overdue_list_shows_only_clues_within_reach(
    client: Client, clues: Clues, officer_a: User, officer_b: User
) -> None:
    client.force_login(officer_b)
    page = client.get(reverse("cases:sla_overdue")).content.decode()
    assert clues.overdue.number in page
    assert clues.due_today.number not in page

    client.force_login(officer_a)
    page = client.get(reverse("cases:sla_overdue")).content.decode()
    assert clues.overdue.number not in page
    assert "没有逾期线索" in page


def test_overdue_list_sorted_by_due_date_with_constant_queries(
    monkeypatch: pytest.MonkeyPatch,
    client: Client,
    clues: Clues,
    district_officer: User,
    school_a: OrgUnit,
) -> None:
    client.force_login(district_officer)
    url = reverse("cases:sla_overdue")
    client.get(url)  # the session's first write
    with CaptureQueriesContext(connection) as one:
        client.get(url)
    older = make_clue(monkeypatch, district_officer, school_a, assigned_on=date(2026, 11, 9))
    make_clue(monkeypatch, district_officer, school_a, assigned_on=date(2026, 11, 10))
    set_today(monkeypatch, TODAY)

    with CaptureQueriesContext(connection) as three:
        response = client.get(url)

    assert len(three) == len(one)
    rows = list(response.context["page"].object_list)
    assert len(rows) == 3
    assert rows[0] == older
    assert [c.due_on for c in rows] == sorted(c.due_on for c in rows)


def test_export_is_audited_with_its_slice(
    client: Client, clues: Clues, district_officer: User
) -> None:
    client.force_login(district_officer)

    response = client.get(reverse("cases:sla_export"), {"by": "school"})

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None
    cells = [[c.value for c in row] for row in sheet.iter_rows()]
    assert cells[-1][0] == "合计"
    assert cells[-1][-1] == "50.0"
    entry = AuditEntry.objects.get(action="clue.sla_exported")
    assert entry.actor == district_officer
    assert entry.after is not None
    assert entry.after["filters"]["by"] == "school"
    assert entry.after["rows"] == 3  # two schools and the total


def test_overdue_export_for_a_school_holds_only_its_clues(
    client: Client, clues: Clues, officer_b: User
) -> None:
    client.force_login(officer_b)

    response = client.get(reverse("cases:sla_export"), {"by": "overdue"})

    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None
    numbers = [row[0].value for row in sheet.iter_rows(min_row=2)]
    assert numbers == [clues.overdue.number]
    entry = AuditEntry.objects.get(action="clue.sla_exported")
    assert (entry.actor, entry.org_unit) == (officer_b, clues.overdue.school)


def test_unknown_export_is_refused_and_not_logged(
    client: Client, clues: Clues, district_officer: User
) -> None:
    client.force_login(district_officer)

    response = client.get(reverse("cases:sla_export"), {"by": "students"})

    assert response.status_code == 400
    assert not AuditEntry.objects.filter(action="clue.sla_exported").exists()
