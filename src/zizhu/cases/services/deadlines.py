"""The clue clock after it is set: the daily sweep, escalation, the work list and the SLA.

`due_on` is computed once, on each transition (workflow.due_after; style.md, "States and
deadlines"); this module only reads it. `zizhu sweep-deadlines` runs each working morning:
the step that falls due today is reminded to whoever handles it, and a step past its date
is marked overdue and escalated to the school's town branch and the district centre (issue
5, "Deadlines"). Each mark is a compare-and-set on the clue row, so two sweeps running at
once, or a sweep racing the school's submission, escalate a clue exactly once or not at all.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import models, transaction
from django.db.models import Count, Exists, OuterRef, Q
from django.db.models.functions import Cast, TruncMonth
from django.urls import reverse
from django.utils import timezone
from django_tasks import task

from zizhu.cases.models import Channel, Clue, ClueEvent, ClueQuerySet, ClueStatus
from zizhu.core import audit, worklist
from zizhu.core.calendar import add_working_days
from zizhu.core.errors import CalendarYearMissing
from zizhu.core.models import AuditEntry, OrgUnit, Role, UnitKind, User
from zizhu.core.notifications import notify_unit
from zizhu.core.reach import has_permission, roles_of

logger = logging.getLogger(__name__)

# A clue is on the clock while it is open and its step has a due date: assigned, submitted
# or appealed (workflow.due_after), and received when the district keeps it to verify
# itself (handling.assign_clue). A received clue awaiting assignment and a decided one
# awaiting its reply have none.
OPEN = tuple(status for status in ClueStatus if status != ClueStatus.CLOSED)
VIEW_PERM = "clue:view"
# Who is told: the town branch's supervisors (the only role held at a town that reads
# clues) and the district centre's officers, who assign clues.
TOWN_PERM = "clue:view"
DISTRICT_PERM = "clue:assign"
# Who acts on each clocked step, reminded on the day it falls due.
HANDLER_PERM = {
    ClueStatus.RECEIVED: "clue:verify",
    ClueStatus.ASSIGNED: "clue:verify",
    ClueStatus.SUBMITTED: "clue:decide",
    ClueStatus.APPEALED: "clue:decide",
}
SYSTEM_LABEL = "系统督办"
ESCALATED_ACTION = "clue.escalated"
REMINDER_NOTE = "系统提醒：本环节今日到期"


# --- the sweep ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Escalation:
    marked: bool  # this call set overdue_since
    escalated: bool  # this call won the escalation
    notified: int = 0


@dataclass
class SweepReport:
    today: date
    checked: int = 0
    reminded: int = 0
    newly_overdue: int = 0
    escalated: int = 0
    notifications: int = 0
    numbers: list[str] = field(default_factory=list)  # the clues escalated by this run


def _district_of(school: OrgUnit | None) -> OrgUnit | None:
    unit = school
    while unit is not None and unit.kind != UnitKind.DISTRICT:
        unit = unit.parent
    return unit or OrgUnit.objects.filter(kind=UnitKind.DISTRICT).order_by("pk").first()


def _town_of(school: OrgUnit | None) -> OrgUnit | None:
    parent = school.parent if school is not None else None
    return parent if parent is not None and parent.kind == UnitKind.TOWN else None


def _step(clue: Clue) -> str:
    if clue.status == ClueStatus.RECEIVED:  # on the clock only when the district kept it
        return "区资助中心自行核查"
    return str(ClueStatus(clue.status).label)


def _clue_url(clue: Clue) -> str:
    return reverse("cases:intake_detail", args=[clue.pk])


def _where(clue: Clue) -> str:
    return clue.school.name if clue.school is not None else "区资助中心"


@transaction.atomic
def remind_due_today(clue: Clue, *, today: date) -> int | None:
    """Tell the step's handlers it is due today; None when already told or moved on.

    No column marks a reminder (the model is fixed), so its marker is a ClueEvent for this
    due date. The row lock makes a second, concurrent sweep wait and then see that event;
    on SQLite the IMMEDIATE transaction serialises the two writers the same way.
    """
    locked = (
        Clue.objects.select_for_update(of=("self",))
        .filter(pk=clue.pk, status=clue.status, due_on=today)
        .select_related("school__parent__parent")
        .first()
    )
    if locked is None:
        return None
    if ClueEvent.objects.filter(clue=locked, note=REMINDER_NOTE, due_on=today).exists():
        return None
    ClueEvent.objects.create(
        clue=locked,
        from_status=locked.status,
        to_status=locked.status,
        actor=None,
        note=REMINDER_NOTE,
        due_on=today,
    )
    audit.record(
        "clue.due_today_reminded",
        actor=None,
        actor_label="系统督办",
        subject=locked,
        org_unit=locked.school,
        after={"status": locked.status, "due_on": today},
    )
    unit = locked.school if locked.status == ClueStatus.ASSIGNED else None
    unit = unit or _district_of(locked.school)
    if unit is None:
        return 0
    return notify_unit(
        unit,
        perm=HANDLER_PERM.get(ClueStatus(locked.status), "clue:decide"),
        title=f"线索 {locked.number}“{_step(locked)}”今日到期",
        body=f"线索 {locked.number}（{_where(locked)}）的“{_step(locked)}”环节应于今日"
        f"（{today:%Y年%m月%d日}）办结，逾期将督办至街镇教育总支和区资助中心。",
        url=_clue_url(locked),
    )


@transaction.atomic
def escalate_overdue(clue: Clue, *, today: date) -> Escalation:
    """Mark a clue past its due date overdue and escalate it, once.

    Both marks are compare-and-set on the step the caller read (status and due date): a clue
    that moved on meanwhile has a new due date and is left alone, and of two sweeps only the
    one whose UPDATE changes the row escalates (style.md, "Writes").
    """
    due_on = clue.due_on
    if due_on is None or due_on >= today or clue.status not in OPEN:
        return Escalation(marked=False, escalated=False)
    same_step = Clue.objects.filter(pk=clue.pk, status=clue.status, due_on=due_on)
    # Overdue from the first calendar day after the deadline, whenever the sweep runs.
    since = due_on + timedelta(days=1)
    marked = same_step.filter(overdue_since__isnull=True).update(overdue_since=since) == 1
    now = timezone.now()
    if same_step.filter(escalated_at__isnull=True).update(escalated_at=now) != 1:
        return Escalation(marked=marked, escalated=False)
    clue.refresh_from_db(fields=["overdue_since", "escalated_at"])
    title = f"线索 {clue.number}“{_step(clue)}”已逾期，系统督办"
    body = (
        f"线索 {clue.number}（{_where(clue)}）的“{_step(clue)}”环节应于"
        f"{due_on:%Y年%m月%d日}前办结，截至{today:%Y年%m月%d日}仍未办结，请督促办理。"
    )
    ClueEvent.objects.create(
        clue=clue,
        from_status=clue.status,
        to_status=clue.status,
        actor=None,
        note=f"逾期督办：应于{due_on:%Y-%m-%d}前办结，已通知街镇教育总支和区资助中心。",
        due_on=due_on,
    )
    notified = _notify_escalation(clue, title=title, body=body)
    audit.record(
        ESCALATED_ACTION,
        actor=None,
        actor_label=SYSTEM_LABEL,
        subject=clue,
        org_unit=clue.school,
        before={"escalated_at": None},
        after={
            "status": clue.status,
            "due_on": due_on,
            "overdue_since": clue.overdue_since,
            "notified": notified,
        },
    )
    _email_after_commit(title, body)
    return Escalation(marked=marked, escalated=True, notified=notified)


def _notify_escalation(clue: Clue, *, title: str, body: str) -> int:
    url = _clue_url(clue)
    sent = 0
    town = _town_of(clue.school)
    if town is not None:
        sent += notify_unit(town, perm=TOWN_PERM, title=title, body=body, url=url)
    district = _district_of(clue.school)
    if district is not None:
        sent += notify_unit(district, perm=DISTRICT_PERM, title=title, body=body, url=url)
    return sent


def _email_after_commit(subject: str, body: str) -> None:
    """E-mail only once the escalation has committed; a mail server that is down is logged
    and does not undo the escalation (robust on_commit)."""
    recipients = list(settings.ZIZHU_ALERT_EMAILS)
    if not recipients:
        return
    send = partial(send_mail, f"【学生资助平台】{subject}", body, None, recipients)
    transaction.on_commit(send, robust=True)


def _candidates(today: date) -> ClueQuerySet:
    due_today = Q(due_on=today)
    unescalated = Q(due_on__lt=today, escalated_at__isnull=True)
    return (
        Clue.objects.filter(status__in=OPEN)
        .filter(due_today | unescalated)
        .select_related("school__parent__parent")
        .order_by("due_on", "pk")
    )


def sweep_deadlines(*, today: date | None = None) -> SweepReport:
    """Remind the steps due today and escalate the ones past due. Each clue is its own
    transaction, so a long sweep holds no lock for long and a rerun resumes where it stopped."""
    report = SweepReport(today=today or timezone.localdate())
    for clue in _candidates(report.today):
        report.checked += 1
        if clue.due_on == report.today:
            sent = remind_due_today(clue, today=report.today)
            if sent is not None:
                report.reminded += 1
                report.notifications += sent
            continue
        outcome = escalate_overdue(clue, today=report.today)
        report.newly_overdue += outcome.marked
        if outcome.escalated:
            report.escalated += 1
            report.notifications += outcome.notified
            report.numbers.append(clue.number)
    return report


@task()
def sweep_deadlines_task() -> dict[str, int]:
    """The sweep for `zizhu db_worker`, for sites that schedule through the task queue."""
    report = sweep_deadlines()
    logger.info("sweep-deadlines %s: %s escalated", report.today, report.escalated)
    return {
        "checked": report.checked,
        "reminded": report.reminded,
        "newly_overdue": report.newly_overdue,
        "escalated": report.escalated,
        "notifications": report.notifications,
    }


# --- the work list ------------------------------------------------------------------------


@worklist.register
def escalated_clues(actor: User) -> list[worklist.WorkItem]:
    """One line for those overdue clues are escalated to (district officers, town
    supervisors). Each handler's own clues, by due date, are handling.clues_due."""
    if not (has_permission(actor, DISTRICT_PERM) or Role.TOWN_SUPERVISOR in roles_of(actor)):
        return []
    overdue = overdue_clues(actor)
    first = overdue.values_list("due_on", flat=True).first()
    if first is None:
        return []
    return [
        worklist.WorkItem(
            title=f"{overdue.count()} 条线索已逾期，请督促办理",
            url=reverse("cases:sla_overdue"),
            due_on=first,
            overdue=True,
        )
    ]


# --- the SLA view -------------------------------------------------------------------------


def overdue_clues(actor: User, *, today: date | None = None) -> ClueQuerySet:
    """Open clues past their due date within reach, the longest overdue first. Read from
    `due_on`, not `overdue_since`, so the list is right even before the morning sweep."""
    today = today or timezone.localdate()
    return (
        Clue.objects.visible_to(actor, VIEW_PERM)
        .filter(status__in=OPEN, due_on__lt=today)
        .select_related("school")
        .order_by("due_on", "pk")
    )


@dataclass(frozen=True)
class SlaRow:
    key: str
    label: str
    on_time: int = 0
    due_soon: int = 0
    overdue: int = 0
    waiting: int = 0  # open without a clock: awaiting assignment or the reply
    closed: int = 0
    closed_late: int = 0

    @property
    def open(self) -> int:
        return self.on_time + self.due_soon + self.overdue + self.waiting

    @property
    def closed_in_time(self) -> int:
        return self.closed - self.closed_late

    @property
    def share_in_time(self) -> float | None:
        """Percent of closed clues closed within deadline; None when none are closed."""
        return round(self.closed_in_time * 100 / self.closed, 1) if self.closed else None


@dataclass(frozen=True)
class SlaReport:
    today: date
    soon_until: date
    total: SlaRow
    by_school: list[SlaRow]
    by_channel: list[SlaRow]
    by_month: list[SlaRow]
    calendar_missing: bool = False


COUNTS = ("on_time", "due_soon", "overdue", "waiting", "closed", "closed_late")


def _counts(today: date, soon_until: date) -> dict[str, Count]:
    clocked = Q(status__in=OPEN, due_on__isnull=False)
    closed = Q(status=ClueStatus.CLOSED)
    # The escalation's audit row is the lasting mark: every transition clears overdue_since
    # and escalated_at (workflow.move_clue), so a closed clue no longer carries them.
    escalated = Exists(
        AuditEntry.objects.filter(
            action=ESCALATED_ACTION,
            subject_type=Clue._meta.label_lower,
            subject_id=Cast(OuterRef("pk"), models.CharField()),
        )
    )
    return {
        "on_time": Count("pk", filter=clocked & Q(due_on__gt=soon_until)),
        "due_soon": Count("pk", filter=clocked & Q(due_on__gte=today, due_on__lte=soon_until)),
        "overdue": Count("pk", filter=clocked & Q(due_on__lt=today)),
        "waiting": Count("pk", filter=~closed & ~clocked),
        "closed": Count("pk", filter=closed),
        "closed_late": Count("pk", filter=closed & escalated),
    }


def _row(key: str, label: str, values: dict[str, Any]) -> SlaRow:
    return SlaRow(key, label, **{name: int(values.get(name) or 0) for name in COUNTS})


def _soon_until(today: date) -> tuple[date, bool]:
    """The next working day: a clue due by then is "due soon". Without next year's holiday
    schedule only today counts, and the page says why."""
    try:
        return add_working_days(today, 1), False
    except CalendarYearMissing:
        return today, True


def sla_report(actor: User, *, today: date | None = None) -> SlaReport:
    today = today or timezone.localdate()
    soon_until, missing = _soon_until(today)
    clues = Clue.objects.visible_to(actor, VIEW_PERM).order_by()
    counts = _counts(today, soon_until)
    by_school = [
        _row(str(v["school"] or ""), str(v["school__name"] or "区资助中心直办"), v)
        for v in clues.values("school", "school__name", "school__code")
        .annotate(**counts)
        .order_by("school__code")
    ]
    by_channel = [
        _row(str(v["channel"]), str(Channel(v["channel"]).label), v)
        for v in clues.values("channel").annotate(**counts).order_by("channel")
    ]
    by_month = [
        _row(f"{v['month']:%Y-%m}", f"{v['month']:%Y年%m月}", v)
        for v in clues.annotate(month=TruncMonth("received_on"))
        .values("month")
        .annotate(**counts)
        .order_by("month")
    ]
    total = _row("total", "合计", clues.aggregate(**counts))
    return SlaReport(today, soon_until, total, by_school, by_channel, by_month, missing)
