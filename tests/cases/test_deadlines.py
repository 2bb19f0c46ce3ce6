"""The clue clock after it is set: sweep, escalation, notifications, e-mail, the command and
the task (issue 5, "Deadlines"), and the demo district's clues."""

from __future__ import annotations

from datetime import date, datetime, tzinfo
from io import StringIO
from typing import Any

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.utils import timezone

from zizhu.cases.models import Channel, Clue, ClueEvent, ClueStatus
from zizhu.cases.services.deadlines import (
    ESCALATED_ACTION,
    REMINDER_NOTE,
    SYSTEM_LABEL,
    escalate_overdue,
    escalated_clues,
    remind_due_today,
    sweep_deadlines,
    sweep_deadlines_task,
)
from zizhu.cases.services.intake import register_clue
from zizhu.cases.services.workflow import move_clue
from zizhu.core.audit import verify_chain
from zizhu.core.models import AuditEntry, Notification, OrgUnit, User
from zizhu.registry.demo import seed_demo

pytestmark = pytest.mark.django_db

# 2026: 1–7 October is the National Day holiday and Saturday 10 October a make-up working
# day, so a clue assigned on Wednesday 30 September is due on Saturday 10 October.
ASSIGNED_ON = date(2026, 9, 30)
DUE_ON = date(2026, 10, 10)
OVERDUE_DAY = date(2026, 10, 11)

_real_localdate = timezone.localdate


# --- helpers shared with test_sla ---------------------------------------------------------


def set_today(monkeypatch: pytest.MonkeyPatch, day: date) -> None:
    """`timezone.localdate()` answers `day` (transitions compute due dates from it); explicit
    values still convert as usual."""

    def localdate(value: datetime | None = None, timezone: tzinfo | None = None) -> date:
        return day if value is None else _real_localdate(value, timezone)

    monkeypatch.setattr("django.utils.timezone.localdate", localdate)


def make_clue(
    monkeypatch: pytest.MonkeyPatch,
    actor: User,
    school: OrgUnit,
    *,
    assigned_on: date | None = None,
    received_on: date | None = None,
    channel: str = Channel.HOTLINE,
) -> Clue:
    """Registered by `actor` (the district) and, with `assigned_on`, assigned to `school` on
    that day: its verification is then due 3 working days later. Assignment uses the
    workflow primitive so the test does not depend on the handling screens' URLs."""
    received_on = received_on or assigned_on or date(2026, 11, 2)
    set_today(monkeypatch, received_on)
    clue = register_clue(
        actor=actor,
        channel=channel,
        allegation="反映某学生家庭已购置商品房，经济情况与认定等级不符。",
        school=school,
        received_on=received_on,
    )
    if assigned_on is not None:
        set_today(monkeypatch, assigned_on)
        clue = move_clue(clue, ClueStatus.ASSIGNED, actor=actor, school=school)
    return clue


def escalations(clue: Clue) -> int:
    return AuditEntry.objects.filter(action=ESCALATED_ACTION, subject_id=str(clue.pk)).count()


def inbox(user: User) -> list[str]:
    return list(Notification.objects.filter(recipient=user).values_list("title", flat=True))


@pytest.fixture
def assigned(monkeypatch: pytest.MonkeyPatch, district_officer: User, school_a: OrgUnit) -> Clue:
    return make_clue(monkeypatch, district_officer, school_a, assigned_on=ASSIGNED_ON)


# --- due dates across the holiday ---------------------------------------------------------


def test_verification_due_date_skips_national_day_and_counts_the_make_up_saturday(
    assigned: Clue,
) -> None:
    assert assigned.due_on == DUE_ON


def test_sweep_before_the_due_date_touches_nothing(assigned: Clue, officer_a: User) -> None:
    report = sweep_deadlines(today=date(2026, 10, 9))

    assert (report.checked, report.reminded, report.escalated) == (0, 0, 0)
    assert inbox(officer_a) == []


def test_clue_due_today_reminds_the_school_once(
    assigned: Clue, officer_a: User, town_supervisor: User, district_officer: User
) -> None:
    first = sweep_deadlines(today=DUE_ON)
    second = sweep_deadlines(today=DUE_ON)

    assert (first.reminded, second.reminded) == (1, 0)
    assert inbox(officer_a) == [f"线索 {assigned.number}“学校核查中”今日到期"]
    assert inbox(town_supervisor) == []
    assigned.refresh_from_db()
    assert (assigned.overdue_since, assigned.escalated_at) == (None, None)
    assert ClueEvent.objects.filter(clue=assigned, note=REMINDER_NOTE).count() == 1


def test_overdue_clue_is_marked_and_escalated_to_town_and_district(
    assigned: Clue,
    officer_a: User,
    officer_b: User,
    town_supervisor: User,
    district_officer: User,
    district_head: User,
) -> None:
    report = sweep_deadlines(today=OVERDUE_DAY)

    assert (report.newly_overdue, report.escalated, report.numbers) == (1, 1, [assigned.number])
    assigned.refresh_from_db()
    assert assigned.overdue_since == OVERDUE_DAY  # the first day after the due date
    assert assigned.escalated_at is not None
    title = f"线索 {assigned.number}“学校核查中”已逾期，系统督办"
    assert inbox(town_supervisor) == [title]
    assert inbox(district_officer) == [title]
    # Escalation goes up, not to the school (reminded the day before) nor to other schools.
    assert inbox(officer_a) == inbox(officer_b) == inbox(district_head) == []
    assert report.notifications == 2


def test_escalation_writes_a_system_audit_row_and_a_clue_event(assigned: Clue) -> None:
    sweep_deadlines(today=OVERDUE_DAY)

    entry = AuditEntry.objects.get(action=ESCALATED_ACTION)
    assert entry.actor is None
    assert entry.actor_label == SYSTEM_LABEL
    assert entry.subject_id == str(assigned.pk)
    assert entry.org_unit == assigned.school
    assert entry.after is not None
    assert entry.after["due_on"] == str(DUE_ON)
    assert entry.after["notified"] == 1  # the district officer; no town supervisor yet
    event = ClueEvent.objects.get(clue=assigned, note__startswith="逾期督办")
    assert (event.from_status, event.to_status, event.actor) == ("assigned", "assigned", None)


def test_sweep_missed_for_days_still_dates_overdue_from_the_day_after_the_deadline(
    assigned: Clue,
) -> None:
    sweep_deadlines(today=date(2026, 10, 15))

    assigned.refresh_from_db()
    assert assigned.overdue_since == OVERDUE_DAY


def test_second_sweep_changes_nothing(
    assigned: Clue, town_supervisor: User, district_officer: User
) -> None:
    sweep_deadlines(today=OVERDUE_DAY)
    assigned.refresh_from_db()
    marked = (assigned.overdue_since, assigned.escalated_at)
    counts = (Notification.objects.count(), AuditEntry.objects.count(), ClueEvent.objects.count())

    again = sweep_deadlines(today=date(2026, 10, 12))

    assert (again.checked, again.newly_overdue, again.escalated, again.notifications) == (0,) * 4
    assigned.refresh_from_db()
    assert (assigned.overdue_since, assigned.escalated_at) == marked
    assert (
        Notification.objects.count(),
        AuditEntry.objects.count(),
        ClueEvent.objects.count(),
    ) == counts


def test_submission_restarts_the_clock_and_a_new_step_can_be_escalated_again(
    monkeypatch: pytest.MonkeyPatch, assigned: Clue, district_officer: User
) -> None:
    sweep_deadlines(today=OVERDUE_DAY)
    set_today(monkeypatch, date(2026, 10, 12))
    submitted = move_clue(assigned, ClueStatus.SUBMITTED, actor=district_officer)
    assert submitted.due_on == date(2026, 10, 14)
    assert (submitted.overdue_since, submitted.escalated_at) == (None, None)

    assert sweep_deadlines(today=date(2026, 10, 14)).reminded == 1
    assert sweep_deadlines(today=date(2026, 10, 15)).escalated == 1
    assert escalations(assigned) == 2


def test_stale_read_of_a_clue_that_moved_on_does_not_escalate(
    monkeypatch: pytest.MonkeyPatch, assigned: Clue, district_officer: User
) -> None:
    stale = Clue.objects.get(pk=assigned.pk)
    set_today(monkeypatch, OVERDUE_DAY)
    move_clue(assigned, ClueStatus.SUBMITTED, actor=district_officer)

    outcome = escalate_overdue(stale, today=OVERDUE_DAY)

    assert (outcome.marked, outcome.escalated) == (False, False)
    assert escalations(assigned) == 0


def test_clue_kept_by_the_district_is_escalated_to_the_district_only(
    monkeypatch: pytest.MonkeyPatch, district_officer: User, town_supervisor: User
) -> None:
    set_today(monkeypatch, ASSIGNED_ON)
    clue = register_clue(
        actor=district_officer, channel=Channel.LETTER, allegation="来信反映资助对象不准。"
    )
    Clue.objects.filter(pk=clue.pk).update(due_on=DUE_ON)  # as handling.assign_clue(None)

    assert sweep_deadlines(today=OVERDUE_DAY).escalated == 1
    assert inbox(district_officer) == [f"线索 {clue.number}“区资助中心自行核查”已逾期，系统督办"]
    assert inbox(town_supervisor) == []


def test_closed_and_decided_clues_are_never_swept(
    monkeypatch: pytest.MonkeyPatch, assigned: Clue, district_officer: User
) -> None:
    set_today(monkeypatch, date(2026, 10, 9))
    clue = assigned
    for status in (ClueStatus.SUBMITTED, ClueStatus.DECIDED):
        clue = move_clue(clue, status, actor=district_officer)

    assert sweep_deadlines(today=date(2026, 12, 1)).checked == 0


# --- e-mail -------------------------------------------------------------------------------


def test_escalation_is_emailed_after_commit_when_addresses_are_configured(
    assigned: Clue, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.ZIZHU_ALERT_EMAILS = ["zizhu@xinzhou.example", "jiaoyu@xinzhou.example"]

    with django_capture_on_commit_callbacks(execute=True):
        sweep_deadlines(today=OVERDUE_DAY)
        assert mail.outbox == []  # nothing leaves before the escalation commits

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["zizhu@xinzhou.example", "jiaoyu@xinzhou.example"]
    assert assigned.number in message.subject
    assert "2026年10月10日" in message.body


def test_no_email_without_configured_addresses(
    assigned: Clue, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.ZIZHU_ALERT_EMAILS = []

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        sweep_deadlines(today=OVERDUE_DAY)

    assert callbacks == []
    assert mail.outbox == []


def test_reminders_are_not_emailed(
    assigned: Clue, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.ZIZHU_ALERT_EMAILS = ["zizhu@xinzhou.example"]

    with django_capture_on_commit_callbacks(execute=True):
        sweep_deadlines(today=DUE_ON)

    assert mail.outbox == []


# --- concurrency --------------------------------------------------------------------------


def test_two_stale_copies_escalate_exactly_once(
    assigned: Clue, town_supervisor: User, district_officer: User
) -> None:
    """What two concurrent sweeps see: both read the clue unescalated, both try. The
    compare-and-set lets one through, on SQLite and PostgreSQL alike.

    Not threads: the in-memory SQLite test database is one shared cache whose table locks
    fail a second writer at once ("table is locked") instead of making it wait, so a
    threaded test could only run on PostgreSQL; these stale copies are the same race."""
    first, second = Clue.objects.get(pk=assigned.pk), Clue.objects.get(pk=assigned.pk)

    outcomes = [escalate_overdue(c, today=OVERDUE_DAY) for c in (first, second)]

    assert [o.escalated for o in outcomes] == [True, False]
    assert [o.marked for o in outcomes] == [True, False]
    assert escalations(assigned) == 1
    assert len(inbox(town_supervisor)) == len(inbox(district_officer)) == 1


def test_two_stale_copies_remind_exactly_once(assigned: Clue, officer_a: User) -> None:
    first, second = Clue.objects.get(pk=assigned.pk), Clue.objects.get(pk=assigned.pk)

    sent = [remind_due_today(c, today=DUE_ON) for c in (first, second)]

    assert sent == [1, None]
    assert len(inbox(officer_a)) == 1


# --- command, task, work list -------------------------------------------------------------


def test_command_prints_counts(assigned: Clue) -> None:
    out = StringIO()
    call_command("sweep_deadlines", "--date", "2026-10-11", stdout=out)

    assert "2026-10-11 巡检完成" in out.getvalue()
    assert "督办 1 条" in out.getvalue()
    assert f"已督办：{assigned.number}" in out.getvalue()


def test_command_refuses_a_malformed_date() -> None:
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("sweep_deadlines", "--date", "2026/10/11")


def test_task_sweeps_as_of_today(
    monkeypatch: pytest.MonkeyPatch, assigned: Clue, district_officer: User
) -> None:
    set_today(monkeypatch, OVERDUE_DAY)

    result = sweep_deadlines_task.enqueue()

    assert result.return_value == {
        "checked": 1,
        "reminded": 0,
        "newly_overdue": 1,
        "escalated": 1,
        "notifications": 1,
    }


def test_work_list_line_for_those_escalated_to(
    monkeypatch: pytest.MonkeyPatch,
    assigned: Clue,
    district_officer: User,
    town_supervisor: User,
    officer_a: User,
    officer_b: User,
) -> None:
    set_today(monkeypatch, OVERDUE_DAY)

    for actor in (district_officer, town_supervisor):
        [item] = escalated_clues(actor)
        assert (item.title, item.due_on, item.overdue) == (
            "1 条线索已逾期，请督促办理",
            DUE_ON,
            True,
        )
    # Schools see their own clues in handling's work list; nothing is escalated to them.
    assert escalated_clues(officer_a) == escalated_clues(officer_b) == []


def test_work_list_is_empty_when_nothing_is_overdue(
    monkeypatch: pytest.MonkeyPatch, assigned: Clue, district_officer: User
) -> None:
    set_today(monkeypatch, DUE_ON)

    assert escalated_clues(district_officer) == []


# --- the demo district ---------------------------------------------------------------------


def test_demo_district_has_clues_in_every_state_two_overdue_and_escalated(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A fixed Thursday keeps the demo's working-day arithmetic inside the seeded calendar.
    set_today(monkeypatch, date(2026, 11, 26))
    out = StringIO()

    # seed-demo seeds the register, the aid year and the clues together.
    call_command("seed_demo", "--students", "300", "--seed", "3", stdout=out)

    statuses = set(Clue.objects.values_list("status", flat=True))
    assert statuses == set(ClueStatus.values)
    assert len(set(Clue.objects.values_list("channel", flat=True))) >= 5
    late = Clue.objects.filter(overdue_since__isnull=False, escalated_at__isnull=False)
    assert late.count() == 2
    assert all(c.due_on is not None and c.due_on < date(2026, 11, 26) for c in late)
    assert AuditEntry.objects.filter(action=ESCALATED_ACTION).count() == 2
    town = User.objects.get(username="demo_town")
    assert len(inbox(town)) == 2
    assert "逾期已督办" in out.getvalue()
    assert verify_chain().ok


def test_demo_clues_seed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    set_today(monkeypatch, date(2026, 11, 26))
    seed_demo(students=50, seed=3)
    call_command("seed_demo_clues", stdout=StringIO())

    with pytest.raises(CommandError, match="已有线索"):
        call_command("seed_demo_clues", stdout=StringIO())


def test_demo_clues_need_the_demo_district() -> None:
    with pytest.raises(CommandError, match="seed-demo"):
        call_command("seed_demo_clues", stdout=StringIO())
