"""How a clue arrives (seed 二(一)5, issue 5 "Portal and intake"): registered by staff from
any channel, reported by the public on the portal, or raised as an objection to a public
notice (二(一)2). Also the reporter's protected identity and the public tracking lookup.

The reporter's name and contact sit apart from the clue, encrypted (`ClueReporter`). This
module is the only writer of that row, and `reveal_reporter` the only reader that hands out
the clear values: district head and discipline inspectors only, a reason every time, and an
audit row every time. Nothing here puts the identity into a list, an export, an audit row's
values or the public tracking page.
"""

from __future__ import annotations

import hmac
import secrets
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import PurePath
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.files import File
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone

from zizhu.aid.models import Objection
from zizhu.cases.models import (
    Channel,
    Clue,
    ClueAttachment,
    ClueEvent,
    ClueReporter,
    ClueStatus,
    Decision,
    Reply,
)
from zizhu.cases.services.handling import appeal_deadline, lodge_appeal
from zizhu.core import audit
from zizhu.core.crypto import blind_index
from zizhu.core.errors import DomainError, NotPermitted
from zizhu.core.models import OrgUnit, UnitKind, User
from zizhu.core.notifications import notify_unit
from zizhu.core.reach import home_unit, require_permission, scope_for
from zizhu.registry.models import Student

PUBLIC_LABEL = "公众"
ALLEGATION_MAX = 2000
PUBLIC_ALLEGATION_MIN = 10
WHO_MAX = 200
NAME_MAX = 50
CONTACT_MAX = 100
REASON_MAX = 200

# Channels a person registers by hand. An objection arrives only through its notice, and a
# monitoring hit only from the cross-check run (which passes its `source_ref`).
STAFF_CHANNELS = tuple(
    (value, label)
    for value, label in Channel.choices
    if value not in (Channel.NOTICE_OBJECTION, Channel.MONITORING)
)

# No 0/O, 1/I/L: the code is read off a phone screen and typed back in weeks later.
LOOKUP_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
LOOKUP_LENGTH = 8
_LOOKUP_KIND = "clue_lookup"
_NUMBER_RETRIES = 5

# The public form's limits: a family needs a few reports at most; a script is stopped early.
# The global cap keeps a distributed flood from burying the district's queue.
REPORTS_PER_IP_HOUR = 5
TRACK_FAILURES_PER_IP_HOUR = 10
_WINDOW_SECONDS = 60 * 60

ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024
ATTACHMENT_MAX_COUNT = 5
# Extension → the bytes such a file starts with (the same check as a signed form).
ATTACHMENT_SIGNATURES: dict[str, bytes] = {
    ".pdf": b"%PDF-",
    ".jpg": b"\xff\xd8\xff",
    ".jpeg": b"\xff\xd8\xff",
    ".png": b"\x89PNG\r\n\x1a\n",
}
ATTACHMENT_ACCEPT = ".pdf,.jpg,.jpeg,.png"


class TooManyRequests(DomainError):
    status = 429


def reports_per_hour_total() -> int:
    return int(getattr(settings, "ZIZHU_PORTAL_REPORTS_PER_HOUR", 200))


# --- small checks ----------------------------------------------------------------------


def _clean(value: str, *, label: str, limit: int, minimum: int = 0) -> str:
    value = (value or "").strip()
    if minimum and not value:
        raise DomainError(f"请填写{label}。")
    if len(value) < minimum:
        raise DomainError(f"{label}至少 {minimum} 个字，请写明具体情况（涉及谁、什么问题）。")
    if len(value) > limit:
        raise DomainError(
            f"{label}不能超过 {limit} 个字（现有 {len(value)} 个字），请精简后再提交。"
        )
    return value


def _check_attachment(upload: File[bytes]) -> str:
    """Returns the random name the file is stored under: a scan's own name often holds a
    child's or the reporter's name."""
    suffix = PurePath(upload.name or "").suffix.lower()
    if suffix not in ATTACHMENT_SIGNATURES:
        raise DomainError("附件只能是 PDF、JPG 或 PNG 文件，请转换格式后再上传。")
    size = upload.size or 0
    if size == 0 or size > ATTACHMENT_MAX_BYTES:
        raise DomainError("每个附件须为 10 MB 以内的非空文件，请重新选择。")
    signature = ATTACHMENT_SIGNATURES[suffix]
    upload.seek(0)
    head = upload.read(len(signature))
    upload.seek(0)
    if head != signature:
        raise DomainError("附件内容与扩展名不符，请重新选择。")
    return f"{uuid.uuid4().hex}{'.jpg' if suffix == '.jpeg' else suffix}"


def _check_attachments(attachments: Sequence[File[bytes]]) -> list[str]:
    """Every file checked before anything is written; returns their random stored names."""
    if len(attachments) > ATTACHMENT_MAX_COUNT:
        raise DomainError(f"附件最多 {ATTACHMENT_MAX_COUNT} 个，请合并后再上传。")
    return [_check_attachment(upload) for upload in attachments]


def _store_attachments(
    clue: Clue, attachments: Sequence[File[bytes]], names: Sequence[str], *, actor: User | None
) -> list[ClueAttachment]:
    """One row per file, in the clue's transaction. A rollback leaves the stored file behind
    without a row: unreachable, and never shown."""
    stored: list[ClueAttachment] = []
    for number, (upload, name) in enumerate(zip(attachments, names, strict=True), start=1):
        attachment = ClueAttachment(
            clue=clue, label=f"附件{number}{PurePath(name).suffix}", uploaded_by=actor
        )
        attachment.file.save(name, upload, save=False)
        attachment.save()
        stored.append(attachment)
    return stored


# --- numbers and lookup codes ------------------------------------------------------------


def _next_number(year: int) -> str:
    prefix = f"XZ{year}"
    last = Clue.objects.filter(number__startswith=prefix).aggregate(top=Max("number"))["top"]
    sequence = int(last[len(prefix) :]) + 1 if last else 1
    return f"{prefix}{sequence:06d}"


def _insert_numbered(clue: Clue) -> Clue:
    """Save `clue` under the next free number of its year. Two transactions may read the
    same maximum; the loser's insert fails on the unique number (PostgreSQL waits for the
    winner's commit first), its savepoint rolls back and it reads the maximum again."""
    for _ in range(_NUMBER_RETRIES):
        clue.number = _next_number(clue.received_on.year)
        try:
            with transaction.atomic():
                clue.save(force_insert=True)
        except IntegrityError:
            clue.pk = None
            continue
        return clue
    raise DomainError("系统繁忙，线索编号分配失败，请稍后重试。")


def new_lookup_code() -> str:
    return "".join(secrets.choice(LOOKUP_ALPHABET) for _ in range(LOOKUP_LENGTH))


def lookup_hash(code: str) -> str:
    """Keyed hash of the code: a copy of the database alone cannot test guesses."""
    return blind_index(code.strip().upper(), _LOOKUP_KIND)


# --- the one writer of a clue and its reporter ------------------------------------------


@dataclass(frozen=True)
class _Reporter:
    name: str = ""
    contact: str = ""
    anonymous: bool = True


def _create(
    *,
    channel: str,
    allegation: str,
    students: Sequence[Student],
    school: OrgUnit | None,
    reporter: _Reporter,
    received_on: date,
    actor: User | None,
    actor_label: str = "",
    attachments: Sequence[File[bytes]] = (),
    attachment_names: Sequence[str] = (),
    **extra: Any,
) -> Clue:
    clue = _insert_numbered(
        Clue(
            channel=channel,
            allegation=allegation,
            school=school,
            received_on=received_on,
            created_by=actor,
            **extra,
        )
    )
    if students:
        clue.students.set(students)
    ClueReporter.objects.create(
        clue=clue,
        anonymous=reporter.anonymous,
        name=reporter.name or None,
        contact=reporter.contact or None,
    )
    stored = _store_attachments(clue, attachments, attachment_names, actor=actor)
    ClueEvent.objects.create(
        clue=clue, from_status="", to_status=ClueStatus.RECEIVED, actor=actor, note="受理"
    )
    # Who reported stays out of the log: only that someone did and whether they can be
    # reached (the reply rule of 二(二)4 depends on it).
    audit.record(
        "clue.registered",
        actor=actor,
        actor_label=actor_label,
        subject=clue,
        org_unit=school,
        after={
            "number": clue.number,
            "channel": channel,
            "school": school.pk if school else None,
            "students": [s.pk for s in students],
            "received_on": received_on,
            "anonymous": reporter.anonymous,
            "contact_left": bool(reporter.contact),
            "objection": clue.objection_id,
            "attachments": len(stored),
        },
    )
    return clue


# --- staff registration ------------------------------------------------------------------


def _check_school(actor: User, school: OrgUnit | None) -> OrgUnit | None:
    scope = scope_for(actor, "clue:register")
    if school is None:
        # A school registers what reaches it about itself; only the district may leave the
        # school open for the assignment step.
        return None if scope.everything else home_unit(actor, "clue:register")
    if school.kind != UnitKind.SCHOOL:
        raise DomainError("请选择线索涉及的学校（或不选，由区资助中心分派）。")
    if not scope.covers(school.pk):
        raise NotPermitted(f"“{school.name}”不在您的管辖范围内，不能登记该校的线索。")
    return school


def _check_students(
    actor: User, students: Iterable[Student], school: OrgUnit | None
) -> list[Student]:
    chosen = list(dict.fromkeys(students))
    if not chosen:
        return chosen
    ids = [s.pk for s in chosen]
    reachable = set(
        Student.objects.visible_to(actor, "student:view")
        .filter(pk__in=ids)
        .values_list("pk", flat=True)
    )
    register_scope = scope_for(actor, "clue:register")
    for student in chosen:
        if student.pk not in reachable or not register_scope.covers(student.school_id):
            raise NotPermitted("所选学生不在您的管辖范围内，不能登记涉及该生的线索。")
        if school is not None and student.school_id != school.pk:
            raise DomainError(f"{student.name}不是{school.name}的学生，请核对所选学校或学生。")
    return chosen


def _common_school(students: list[Student]) -> OrgUnit | None:
    schools = {s.school_id for s in students}
    if len(schools) != 1:
        return None
    return OrgUnit.objects.get(pk=schools.pop())


def _staff_reporter(name: str, contact: str, anonymous: bool) -> _Reporter:
    name = _clean(name, label="举报人姓名", limit=NAME_MAX)
    contact = _clean(contact, label="联系方式", limit=CONTACT_MAX)
    if anonymous and name:
        raise DomainError("已选择匿名，请不要填写举报人姓名；举报人愿意留名的，请取消“匿名”。")
    return _Reporter(name=name, contact=contact, anonymous=anonymous or not name)


@transaction.atomic
def register_clue(
    *,
    actor: User,
    channel: str,
    allegation: str,
    students: Iterable[Student] = (),
    school: OrgUnit | None = None,
    reporter_name: str = "",
    reporter_contact: str = "",
    anonymous: bool = True,
    received_on: date | None = None,
    attachments: Sequence[File[bytes]] = (),
    source_ref: dict[str, Any] | None = None,
) -> Clue:
    """Register a clue that reached staff by any channel (seed 二(一)5). A school registers
    clues about its own school and students; the district any clue."""
    require_permission(actor, "clue:register")
    if channel not in Channel.values or channel == Channel.NOTICE_OBJECTION:
        raise DomainError("请选择线索来源渠道（公示异议由公示页面自动转为线索）。")
    allegation = _clean(allegation, label="反映内容", limit=ALLEGATION_MAX, minimum=1)
    school = _check_school(actor, school)
    chosen = _check_students(actor, students, school)
    if school is None:
        school = _common_school(chosen)
    today = timezone.localdate()
    received_on = received_on or today
    if received_on > today:
        raise DomainError("受理日期不能晚于今天。")
    names = _check_attachments(attachments)
    return _create(
        channel=channel,
        allegation=allegation,
        students=chosen,
        school=school,
        reporter=_staff_reporter(reporter_name, reporter_contact, anonymous),
        received_on=received_on,
        actor=actor,
        attachments=attachments,
        attachment_names=names,
        source_ref=dict(source_ref or {}),
    )


@dataclass(frozen=True)
class MonitoringItem:
    """One machine finding to open as a clue: the student, what was found, where from."""

    student: Student
    allegation: str
    source_ref: dict[str, Any]


@transaction.atomic
def open_monitoring_clues(actor: User, items: Sequence[MonitoringItem], *, note: str) -> list[Clue]:
    """Register and assign many monitoring clues at once (a cross-check run): each is what
    `register_clue` + `assign_clue` to the student's school would leave — clue, reporter row,
    the 受理 and 分派 events with the 3-working-day deadline, two audit rows — written in bulk,
    and each school told once how many it received."""
    from zizhu.cases.services.workflow import due_after

    require_permission(actor, "clue:register")
    require_permission(actor, "clue:assign")
    if not (
        scope_for(actor, "clue:register").everything and scope_for(actor, "clue:assign").everything
    ):
        raise NotPermitted("系统监测线索由区资助中心登记并分派。")
    if not items:
        return []
    today = timezone.localdate()
    due_on = due_after(ClueStatus.ASSIGNED, today)
    clues = [
        Clue(
            channel=Channel.MONITORING,
            allegation=_clean(item.allegation, label="反映内容", limit=ALLEGATION_MAX, minimum=1),
            school=item.student.school,
            status=ClueStatus.ASSIGNED,
            received_on=today,
            due_on=due_on,
            source_ref=dict(item.source_ref),
            created_by=actor,
        )
        for item in items
    ]
    _bulk_numbered(clues, today.year)
    Clue.students.through.objects.bulk_create(
        [
            Clue.students.through(clue_id=clue.pk, student_id=item.student.pk)
            for clue, item in zip(clues, items, strict=True)
        ],
        batch_size=2000,
    )
    ClueReporter.objects.bulk_create(
        [ClueReporter(clue=clue, anonymous=True) for clue in clues], batch_size=2000
    )
    events: list[ClueEvent] = []
    rows: list[audit.Pending] = []
    for clue, item in zip(clues, items, strict=True):
        events += [
            ClueEvent(
                clue=clue, from_status="", to_status=ClueStatus.RECEIVED, actor=actor, note="受理"
            ),
            ClueEvent(
                clue=clue,
                from_status=ClueStatus.RECEIVED,
                to_status=ClueStatus.ASSIGNED,
                actor=actor,
                note=note[:500],
                due_on=due_on,
            ),
        ]
        rows += [
            audit.Pending(
                "clue.registered",
                subject=clue,
                org_unit=clue.school,
                after={
                    "number": clue.number,
                    "channel": Channel.MONITORING,
                    "school": clue.school_id,
                    "students": [item.student.pk],
                    "received_on": today,
                    "anonymous": True,
                    "contact_left": False,
                    "objection": None,
                    "attachments": 0,
                    "source_ref": clue.source_ref,
                },
            ),
            audit.Pending(
                f"clue.{ClueStatus.ASSIGNED}",
                subject=clue,
                org_unit=clue.school,
                before={"status": ClueStatus.RECEIVED},
                after={"status": ClueStatus.ASSIGNED, "due_on": due_on, "note": note[:500]},
            ),
        ]
    ClueEvent.objects.bulk_create(events, batch_size=2000)
    audit.record_many(rows, actor=actor)
    per_school: dict[OrgUnit, int] = {}
    for clue in clues:
        if clue.school is not None:
            per_school[clue.school] = per_school.get(clue.school, 0) + 1
    for school, count in per_school.items():
        notify_unit(
            school,
            perm="clue:verify",
            title=f"系统比对预警线索 {count} 条已分派本校核查，"
            f"请于 {due_on:%Y年%m月%d日} 前提交核实结论",
            url=reverse("cases:intake_list") + "?channel=" + Channel.MONITORING,
        )
    return clues


def _bulk_numbered(clues: list[Clue], year: int) -> None:
    """Number and insert `clues` as one block after the year's highest number; a concurrent
    insert taking one of the numbers fails the block's savepoint, which then retries."""
    prefix = f"XZ{year}"
    for _ in range(_NUMBER_RETRIES):
        first = int(_next_number(year)[len(prefix) :])
        for offset, clue in enumerate(clues):
            clue.number = f"{prefix}{first + offset:06d}"
        try:
            with transaction.atomic():
                Clue.objects.bulk_create(clues, batch_size=2000)
        except IntegrityError:
            for clue in clues:
                clue.pk = None
            continue
        if any(clue.pk is None for clue in clues):  # backends without RETURNING
            numbers = {clue.number: clue for clue in clues}
            for pk, number in Clue.objects.filter(number__in=list(numbers)).values_list(
                "pk", "number"
            ):
                numbers[number].pk = pk
        return
    raise DomainError("系统繁忙，线索编号分配失败，请稍后重试。")


# --- the public report form ---------------------------------------------------------------


def _hour_key(kind: str, ip: str | None) -> str:
    return f"zizhu:cases:{kind}:{ip or 'unknown'}"


def _count(key: str) -> None:
    # add() starts the hour on the first hit; incr() keeps that expiry.
    if not cache.add(key, 1, _WINDOW_SECONDS):
        try:
            cache.incr(key)
        except ValueError:  # expired between the two calls
            cache.add(key, 1, _WINDOW_SECONDS)


def _reached(key: str, limit: int) -> bool:
    return int(cache.get(key, 0)) >= limit


def check_report_rate(ip: str | None) -> None:
    """Refuse before any work when this address, or everyone together, sent too many."""
    if _reached(_hour_key("reports", ip), REPORTS_PER_IP_HOUR) or _reached(
        _hour_key("reports", "all"), reports_per_hour_total()
    ):
        raise TooManyRequests(
            f"同一网络一小时内最多提交 {REPORTS_PER_IP_HOUR} 条举报，或当前提交人数过多。"
            f"请稍后再试，或拨打监督电话 {settings.ZIZHU_HOTLINE} 反映。"
        )


def active_schools() -> Any:
    """The schools the public form offers: every school in use (public facts)."""
    return OrgUnit.objects.schools().filter(active=True).order_by("code")


@transaction.atomic
def submit_public_report(
    *,
    allegation: str,
    who: str = "",
    school: OrgUnit | None = None,
    contact: str = "",
    name: str = "",
    ip: str | None,
) -> tuple[Clue, str]:
    """A report from the portal: no login, anonymous unless a name is given. The public
    never picks students by ID; who is concerned is described in words and kept with the
    allegation. Returns the clue and its lookup code, which is shown once and never stored."""
    check_report_rate(ip)
    text = _clean(allegation, label="反映内容", limit=ALLEGATION_MAX, minimum=PUBLIC_ALLEGATION_MIN)
    who = _clean(who, label="涉及的学校或学生", limit=WHO_MAX)
    if who:
        text = f"{text}\n\n【涉及的学校或学生】{who}"
    if school is not None and not active_schools().filter(pk=school.pk).exists():
        raise DomainError("所选学校不在名单中，请重新选择，或在“涉及的学校或学生”中填写。")
    name = _clean(name, label="姓名", limit=NAME_MAX)
    contact = _clean(contact, label="联系方式", limit=CONTACT_MAX)
    code = new_lookup_code()
    clue = _create(
        channel=Channel.ONLINE,
        allegation=text,
        students=(),
        school=school,
        reporter=_Reporter(name=name, contact=contact, anonymous=not name),
        received_on=timezone.localdate(),
        actor=None,
        actor_label=PUBLIC_LABEL,
        lookup_code_hash=lookup_hash(code),
    )
    _count(_hour_key("reports", ip))
    _count(_hour_key("reports", "all"))
    return clue, code


# --- objections to public notices ----------------------------------------------------------


def _objection_school(objection: Objection) -> OrgUnit | None:
    unit = objection.notice.org_unit
    if unit.kind == UnitKind.SCHOOL:
        return unit
    # A round-3 (district) notice: the named student's school verifies (二(二)2).
    return objection.application.school if objection.application else None


def clue_from_objection(objection: Objection) -> Clue:
    """Run by `objection_hook` (registered on `aid.services.notices.OBJECTION_HOOKS` in
    `CasesConfig.ready`) inside `raise_objection`'s transaction, so the objection and its
    clue are kept together or not at all (二(一)2: an objection becomes a clue)."""
    application = objection.application
    students = [application.student] if application else []
    return _create(
        channel=Channel.NOTICE_OBJECTION,
        allegation=f"【对“{objection.notice.title}”的异议】\n{objection.text}",
        students=students,
        school=_objection_school(objection),
        reporter=_Reporter(contact=objection.contact or ""),
        received_on=timezone.localdate(timezone.localtime(objection.created_at)),
        actor=None,
        actor_label=PUBLIC_LABEL,
        objection=objection,
    )


def objection_hook(objection: Objection) -> None:
    clue_from_objection(objection)


def objection_clue(objection: Objection) -> Clue | None:
    return Clue.objects.filter(objection=objection).first()


# --- the reporter's identity ----------------------------------------------------------------


def can_reveal_reporter(actor: User, clue: Clue) -> bool:
    return scope_for(actor, "reporter:view").covers(clue.school_id)


def reporter_reachable(clue: Clue) -> bool:
    """Whether the reporter left a way to reach them; says nothing about who they are."""
    return ClueReporter.objects.filter(clue=clue, contact_hash__isnull=False).exists()


@transaction.atomic
def reveal_reporter(clue: Clue, *, actor: User, reason: str) -> ClueReporter:
    """The reporter's name and contact, for the district head and the discipline inspector
    of the clue's school only, with a reason, every look audited (issue 5)."""
    if not can_reveal_reporter(actor, clue):
        raise NotPermitted("只有区资助中心负责人和本校纪检人员可以查看举报人信息。")
    reason = _clean(reason, label="查看事由", limit=REASON_MAX, minimum=1)
    reporter = ClueReporter.objects.get(clue=clue)
    audit.record(
        "clue.reporter_viewed",
        actor=actor,
        subject=clue,
        org_unit=clue.school,
        after={"reason": reason},
    )
    return reporter


# --- the public tracking page ---------------------------------------------------------------

# Four plain words for the public (issue 5); the staff labels say more than a reporter needs.
PUBLIC_STAGE: dict[str, str] = {
    ClueStatus.RECEIVED: "受理",
    ClueStatus.ASSIGNED: "核查中",
    ClueStatus.SUBMITTED: "审核中",
    ClueStatus.DECIDED: "审核中",
    ClueStatus.APPEALED: "审核中",
    ClueStatus.CLOSED: "已办结",
}


@dataclass(frozen=True)
class PublicReply:
    replied_on: date
    method: str
    content: str


@dataclass(frozen=True)
class PublicProgress:
    """All the tracking page shows: no names, no school, no internal notes."""

    number: str
    stage: str
    received_on: date
    updated_on: date
    closed_on: date | None
    replies: list[PublicReply]
    # The latest decision's public outcome (二(二)4, "必要时应以适当方式予以公示"), when set.
    outcome: str = ""
    # A closed clue: the last day to appeal, and whether that day has not yet passed.
    appeal_until: date | None = None
    appeal_open: bool = False


TRACK_FAILED = "线索编号或查询码不正确。请核对后重试；如遗失查询码，请拨打监督电话咨询。"


def _check_track_rate(ip: str | None) -> None:
    if _reached(_hour_key("track-failures", ip), TRACK_FAILURES_PER_IP_HOUR):
        raise TooManyRequests("查询失败次数过多，请一小时后再试，或拨打监督电话咨询。")


def _progress(clue: Clue) -> PublicProgress:
    last = clue.events.order_by("-at", "-id").values_list("at", flat=True).first()
    replies = Reply.objects.filter(clue=clue).order_by("replied_on", "id")
    outcome = (
        Decision.objects.filter(clue=clue)
        .order_by("-decided_at", "-pk")
        .values_list("public_outcome", flat=True)
        .first()
    )
    until = appeal_deadline(clue) if clue.status == ClueStatus.CLOSED else None
    return PublicProgress(
        number=clue.number,
        stage=PUBLIC_STAGE[clue.status],
        received_on=clue.received_on,
        updated_on=timezone.localdate(last) if last else clue.received_on,
        closed_on=timezone.localdate(clue.closed_at) if clue.closed_at else None,
        replies=[PublicReply(r.replied_on, r.get_method_display(), r.content) for r in replies],
        outcome=outcome or "",
        appeal_until=until,
        appeal_open=until is not None and timezone.localdate() <= until,
    )


def _verified_clue(number: str, code: str, *, ip: str | None) -> Clue:
    """The clue whose number and lookup code both match. A wrong pair, whichever half is
    wrong, gets the same answer and counts against the address."""
    _check_track_rate(ip)
    clue = (
        Clue.objects.filter(number=(number or "").strip().upper())
        .exclude(lookup_code_hash="")
        .only("pk", "number", "status", "received_on", "closed_at", "lookup_code_hash")
        .first()
    )
    given = lookup_hash(code or "")
    if clue is None or not hmac.compare_digest(clue.lookup_code_hash, given):
        _count(_hour_key("track-failures", ip))
        raise DomainError(TRACK_FAILED)
    return clue


def track_clue(number: str, code: str, *, ip: str | None) -> PublicProgress:
    """The progress of one clue for whoever holds its number and lookup code."""
    return _progress(_verified_clue(number, code, ip=ip))


def appeal_by_lookup(number: str, code: str, *, text: str, ip: str | None) -> PublicProgress:
    """The reporter's appeal from the tracking page (二(二)4, issue 5 "Appeal"). The number
    and code are checked again here, as on every lookup: the appeal form carries them in
    its body, never in the address, and a forged pair counts against the address."""
    clue = _verified_clue(number, code, ip=ip)
    if clue.status != ClueStatus.CLOSED:
        # The staff wording names internal stages; the public gets the plain rule.
        raise DomainError("线索尚未办结，办结后对处理结果有异议的，可在申诉期内申诉。")
    lodge_appeal(clue, text=text)
    clue.refresh_from_db()
    return _progress(clue)
