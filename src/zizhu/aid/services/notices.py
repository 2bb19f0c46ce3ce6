"""三榜公示 — the three rounds of public notice (seed 二(一)2), their objections, and the
step from the last round to the award.

Round 1 is the school's notice after the principal signs; round 2 the school's on-site notice
after district review; round 3 the district's online notice. Each lasts at least
`ZIZHU_NOTICE_MIN_WORKING_DAYS` working days (default 5) counted on the holiday calendar,
shows only six fields about each student, and comes down when it ends. Anyone may object to
a live notice; while an objection is open, the application it names (or every application
of its notice, when it names none) cannot move on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac

from zizhu.aid.models import (
    Application,
    AppStatus,
    Award,
    AwardChange,
    AwardChangeKind,
    DifficultyTier,
    Notice,
    NoticeRound,
    Objection,
    ObjectionStatus,
    SchoolYear,
)
from zizhu.aid.services.awards import change_award, grant_award
from zizhu.aid.services.transitions import move_application
from zizhu.core import audit, worklist
from zizhu.core.calendar import add_working_days
from zizhu.core.errors import Conflict, DomainError, NotPermitted
from zizhu.core.models import OrgUnit, UnitKind, User
from zizhu.core.reach import has_permission, require_permission, scope_for
from zizhu.core.services import require_certified

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from django.core.files.uploadedfile import UploadedFile

# Each round takes applications from one status to the next.
ROUND_STEPS: dict[int, tuple[str, str]] = {
    NoticeRound.SCHOOL: (AppStatus.PRINCIPAL_SIGNED, AppStatus.NOTICE_1),
    NoticeRound.SCHOOL_ON_SITE: (AppStatus.DISTRICT_REVIEWED, AppStatus.NOTICE_2),
    NoticeRound.DISTRICT_ONLINE: (AppStatus.NOTICE_2, AppStatus.NOTICE_3),
}
ROUND_PERMISSION: dict[int, str] = {
    NoticeRound.SCHOOL: "notice:publish_school",
    NoticeRound.SCHOOL_ON_SITE: "notice:publish_school",
    NoticeRound.DISTRICT_ONLINE: "notice:publish_district",
}
ROUND_SHORT: dict[int, str] = {1: "第一榜", 2: "第二榜", 3: "第三榜"}

# Who stays on a notice's public table: applications still at the round's step or past it.
# One returned or rejected during the period (after an objection, say) comes off the board.
_LATER = (AppStatus.NOTICE_3, AppStatus.AWARDED)
_STILL_LISTED: dict[int, frozenset[str]] = {
    1: frozenset({AppStatus.NOTICE_1, AppStatus.DISTRICT_REVIEWED, AppStatus.NOTICE_2, *_LATER}),
    2: frozenset({AppStatus.NOTICE_2, *_LATER}),
    3: frozenset(_LATER),
}

# A typo of 50 instead of 5 would keep a list of minors on a board for months.
MAX_WORKING_DAYS = 30
TEXT_MAX = 2000
CONTACT_MAX = 100
RESOLUTION_MAX = 2000
_NOTICE_SALT = "zizhu.aid.notice"
_ENTRY_SALT = "zizhu.aid.notice-entry"
PUBLIC_LABEL = "公众"

# Called with each new objection inside `raise_objection`'s transaction. An objection
# becomes a clue (issue 5), but aid may not import cases: the higher app registers here.
OBJECTION_HOOKS: list[Callable[[Objection], None]] = []


# --- period -----------------------------------------------------------------------------


def min_working_days() -> int:
    return int(settings.ZIZHU_NOTICE_MIN_WORKING_DAYS)


def notice_end(starts_on: date, working_days: int) -> date:
    """The last day of a notice holding `working_days` working days counted from
    `starts_on` inclusive (from the next working day when `starts_on` is not one).

    A year whose holiday schedule is not entered raises CalendarYearMissing: the end of a
    public notice is never guessed.
    """
    return add_working_days(starts_on - timedelta(days=1), working_days)


class NoticeState:
    SCHEDULED = "scheduled"
    LIVE = "live"
    ENDED = "ended"
    LABELS: dict[str, str] = {SCHEDULED: "未开始", LIVE: "公示中", ENDED: "已结束"}
    CHOICES = tuple(LABELS.items())


def notice_state(notice: Notice, *, today: date | None = None) -> str:
    today = today or timezone.localdate()
    if today < notice.starts_on:
        return NoticeState.SCHEDULED
    if today > notice.ends_on:
        return NoticeState.ENDED
    return NoticeState.LIVE


def is_live(notice: Notice, *, today: date | None = None) -> bool:
    return notice_state(notice, today=today) == NoticeState.LIVE


def state_filter(state: str, *, today: date | None = None) -> Q:
    """The rows of a notice queryset in `state` today."""
    today = today or timezone.localdate()
    if state == NoticeState.SCHEDULED:
        return Q(starts_on__gt=today)
    if state == NoticeState.ENDED:
        return Q(ends_on__lt=today)
    return Q(starts_on__lte=today, ends_on__gte=today)


# --- public reading: token, live notices, the six fields ---------------------------------


def notice_token(notice: Notice) -> str:
    """A stable, unguessable handle for the public pages and the printed link: the pk signed
    with the secret key, so nobody can walk the notices by counting."""
    return signing.Signer(salt=_NOTICE_SALT, sep=".").sign(str(notice.pk))


def live_notice_by_token(token: str) -> Notice | None:
    """The notice a public token names, only while it is live; None otherwise (404)."""
    try:
        pk = int(signing.Signer(salt=_NOTICE_SALT, sep=".").unsign(token))
    except (signing.BadSignature, ValueError):
        return None
    return (
        Notice.objects.filter(state_filter(NoticeState.LIVE), pk=pk)
        .select_related("org_unit", "school_year")
        .first()
    )


def live_district_notices() -> QuerySet[Notice]:
    """The round-3 notices the portal lists: the district's online notice, live today."""
    return (
        Notice.objects.filter(state_filter(NoticeState.LIVE), round=NoticeRound.DISTRICT_ONLINE)
        .select_related("school_year")
        .order_by("-starts_on", "-pk")
    )


@dataclass(frozen=True)
class PublicEntry:
    """One row of a public notice. These six fields and nothing else: never the ID number,
    birth date, address, phone, bank card, hardship category or reason (seed 二(一)2)."""

    name: str
    school: str
    grade: str
    class_name: str
    programme: str
    tier: str


_PUBLIC_COLUMNS = (
    "pk",
    "student__name",
    "school__name",
    "student__grade",
    "student__class_name",
    "programme__name",
    "tier__name",
)


def _public_rows(notice: Notice) -> list[tuple[int, PublicEntry]]:
    # values_list: only these columns ever leave the database for a public page.
    rows = (
        notice.applications.filter(status__in=_STILL_LISTED[notice.round])
        .order_by("school__code", "student__grade", "student__class_name", "student__name", "pk")
        .values_list(*_PUBLIC_COLUMNS)
    )
    return [
        (pk, PublicEntry(name, school, grade, class_name or "", programme, tier))
        for pk, name, school, grade, class_name, programme, tier in rows
    ]


def public_entries(notice: Notice) -> list[PublicEntry]:
    """The public table of a notice: the same rows for the printed PDF and the portal."""
    return [entry for _, entry in _public_rows(notice)]


def entry_key(notice: Notice, application_id: int) -> str:
    """An opaque key for one row, so the objection form can name a student without putting
    an internal number on the public page."""
    return salted_hmac(_ENTRY_SALT, f"{notice.pk}:{application_id}").hexdigest()[:20]


def objection_choices(notice: Notice) -> list[tuple[str, PublicEntry]]:
    return [(entry_key(notice, pk), entry) for pk, entry in _public_rows(notice)]


def application_for_key(notice: Notice, key: str) -> Application | None:
    for pk, _ in _public_rows(notice):
        if entry_key(notice, pk) == key:
            return Application.objects.get(pk=pk)
    return None


# --- which applications may go on a notice -------------------------------------------------


def _open_objections() -> QuerySet[Objection]:
    return Objection.objects.filter(status=ObjectionStatus.OPEN)


def has_open_objection(app: Application) -> bool:
    """True while an open objection names `app`, or names nobody on a notice listing it.

    District review, round 3 and the award refuse such an application until it is dealt with.
    """
    return (
        _open_objections()
        .filter(Q(application=app) | Q(application__isnull=True, notice__applications=app))
        .exists()
    )


def without_open_objections(apps: QuerySet[Application]) -> QuerySet[Application]:
    named = _open_objections().filter(application=OuterRef("pk"))
    notice_wide = _open_objections().filter(
        application__isnull=True, notice__applications=OuterRef("pk")
    )
    return apps.exclude(Exists(named)).exclude(Exists(notice_wide))


def round2_over(apps: QuerySet[Application], *, today: date) -> QuerySet[Application]:
    """Applications whose round-2 notice has ended. One returned and resubmitted may sit on
    two round-2 notices: none of them may still be running."""
    round2 = Notice.objects.filter(round=NoticeRound.SCHOOL_ON_SITE, applications=OuterRef("pk"))
    return apps.filter(Exists(round2.filter(ends_on__lt=today))).exclude(
        Exists(round2.filter(ends_on__gte=today))
    )


def eligible_applications(
    round_: int, *, actor: User, org_unit: OrgUnit, school_year: SchoolYear
) -> QuerySet[Application]:
    """What the publish form offers: applications within the actor's reach for publishing
    that this round may list today."""
    from_status, _ = ROUND_STEPS[round_]
    apps = Application.objects.visible_to(actor, ROUND_PERMISSION[round_]).filter(
        status=from_status, school_year=school_year
    )
    if round_ != NoticeRound.DISTRICT_ONLINE:
        return without_open_objections(apps.filter(school=org_unit))
    return without_open_objections(round2_over(apps, today=timezone.localdate()))


def _describe(app: Application) -> str:
    return f"{app.student.name}（{app.programme.name}）"


def _problem(
    round_: int,
    app: Application,
    *,
    org_unit: OrgUnit,
    school_year: SchoolYear,
    blocked: set[int],
    round2_done: set[int],
) -> str | None:
    from_status, _ = ROUND_STEPS[round_]
    if app.school_year_id != school_year.pk:
        return f"{_describe(app)}不是{school_year.code}学年的申请"
    if app.status != from_status:
        return f"{_describe(app)}当前为“{app.get_status_display()}”，不能列入{ROUND_SHORT[round_]}"
    if app.pk in blocked:
        return f"{_describe(app)}有未处理的公示异议，须先处理"
    if round_ != NoticeRound.DISTRICT_ONLINE:
        if app.school_id != org_unit.pk:
            return f"{_describe(app)}不是{org_unit.name}的申请"
        return None
    if app.pk not in round2_done:
        return f"{_describe(app)}的第二榜公示尚未期满"
    return None


def _lock(applications: Iterable[Application | int]) -> list[Application]:
    ids = sorted({a if isinstance(a, int) else a.pk for a in applications})
    if not ids:
        raise DomainError("请至少选择一份申请列入公示。")
    # Locked so nobody moves them between the checks and the notice (a no-op on SQLite,
    # whose IMMEDIATE transactions already serialise writers).
    found = list(
        Application.objects.select_for_update(of=("self",))
        .filter(pk__in=ids)
        .select_related("student", "programme")
        .order_by("pk")
    )
    if len(found) != len(ids):
        raise DomainError("所选申请中有已不存在的记录，请刷新页面后重新选择。")
    return found


# --- publishing ------------------------------------------------------------------------


def _check_publisher(round_: int, actor: User, org_unit: OrgUnit) -> None:
    perm = ROUND_PERMISSION[round_]
    require_permission(actor, perm)
    wanted = UnitKind.DISTRICT if round_ == NoticeRound.DISTRICT_ONLINE else UnitKind.SCHOOL
    if org_unit.kind != wanted:
        raise DomainError(
            "第三榜由区学生资助管理中心发布。"
            if wanted == UnitKind.DISTRICT
            else "第一榜、第二榜由学校发布，请选择学校。"
        )
    if not scope_for(actor, perm).covers(org_unit.pk):
        raise NotPermitted(f"“{org_unit.name}”不在您的管辖范围内，不能以其名义发布公示。")
    require_certified(actor)


def _check_period(starts_on: date, working_days: int) -> None:
    minimum = min_working_days()
    if working_days < minimum:
        raise DomainError(
            f"三榜公示每一榜的公示期不少于 {minimum} 个工作日（新教办〔2022〕12号），"
            f"请将公示期设为 {minimum} 个工作日或以上。"
        )
    if working_days > MAX_WORKING_DAYS:
        raise DomainError(f"公示期最长 {MAX_WORKING_DAYS} 个工作日，请核对天数。")
    if starts_on < timezone.localdate():
        raise DomainError("公示开始日期不能早于今天，请重新选择。")


def _district_name() -> str:
    name = OrgUnit.objects.filter(kind=UnitKind.DISTRICT).values_list("name", flat=True).first()
    return name or "新洲区"


def notice_title(
    round_: int, *, school_year: SchoolYear, programmes: list[str], org_unit: OrgUnit
) -> str:
    """e.g. 新洲区2026-2027学年普通高中国家助学金第一榜公示（邾城第一中学）."""
    names = sorted(set(programmes))
    subject = "、".join(names) if len(names) <= 2 else "学生资助"
    title = f"{_district_name()}{school_year.code}学年{subject}{ROUND_SHORT[round_]}公示"
    if round_ != NoticeRound.DISTRICT_ONLINE:
        title += f"（{org_unit.name}）"
    return title[:200]


def _problems(
    round_: int, apps: list[Application], *, org_unit: OrgUnit, school_year: SchoolYear
) -> list[str]:
    ids = [a.pk for a in apps]
    chosen = Application.objects.filter(pk__in=ids)
    blocked = set(ids) - set(without_open_objections(chosen).values_list("pk", flat=True))
    round2_done = set(round2_over(chosen, today=timezone.localdate()).values_list("pk", flat=True))
    found = (
        _problem(
            round_,
            app,
            org_unit=org_unit,
            school_year=school_year,
            blocked=blocked,
            round2_done=round2_done,
        )
        for app in apps
    )
    return [problem for problem in found if problem]


def _refuse_problems(problems: list[str]) -> None:
    if not problems:
        return
    shown = "；".join(problems[:5])
    more = f"等 {len(problems)} 项" if len(problems) > 5 else ""
    raise DomainError(f"以下申请不能列入本次公示：{shown}{more}。请调整所选名单后再发布。")


@transaction.atomic
def publish_notice(
    round: int,
    *,
    actor: User,
    school_year: SchoolYear,
    applications: Iterable[Application | int],
    starts_on: date,
    working_days: int = 5,
    org_unit: OrgUnit,
) -> Notice:
    """Publish one round for a school (rounds 1–2) or the district (round 3) and move the
    listed applications onto it."""
    try:
        round_ = NoticeRound(round)
    except ValueError:
        raise DomainError("公示轮次只能是第一、二、三榜。") from None
    _check_publisher(round_, actor, org_unit)
    _check_period(starts_on, working_days)
    ends_on = notice_end(starts_on, working_days)
    apps = _lock(applications)
    _refuse_problems(_problems(round_, apps, org_unit=org_unit, school_year=school_year))
    notice = Notice.objects.create(
        round=round_,
        org_unit=org_unit,
        school_year=school_year,
        title=notice_title(
            round_,
            school_year=school_year,
            programmes=[a.programme.name for a in apps],
            org_unit=org_unit,
        ),
        starts_on=starts_on,
        working_days=working_days,
        ends_on=ends_on,
        published_by=actor,
    )
    notice.applications.set(apps)
    note = f"列入{notice.title}，公示期 {starts_on:%Y-%m-%d} 至 {ends_on:%Y-%m-%d}"
    _, to_status = ROUND_STEPS[round_]
    for app in apps:
        move_application(app, to_status, actor=actor, note=note)
    audit.record(
        "notice.published",
        actor=actor,
        subject=notice,
        org_unit=org_unit,
        after={
            "round": int(round_),
            "school_year": school_year.code,
            "starts_on": starts_on,
            "ends_on": ends_on,
            "working_days": working_days,
            "applications": [a.pk for a in apps],
        },
    )
    return notice


# --- objections ------------------------------------------------------------------------


def _clean_text(value: str, *, label: str, limit: int, required: bool) -> str:
    value = (value or "").strip()
    if required and not value:
        raise DomainError(f"请填写{label}。")
    if len(value) > limit:
        raise DomainError(
            f"{label}不能超过 {limit} 个字（现有 {len(value)} 个字），请精简后再提交。"
        )
    return value


@transaction.atomic
def raise_objection(
    notice: Notice, *, text: str, contact: str = "", application: Application | None = None
) -> Objection:
    """Anyone may object to a live notice, anonymously if they wish. The objection is kept
    with the notice and holds the application back until it is dealt with."""
    if not is_live(notice):
        raise DomainError(
            "该公示不在公示期内，不能提出异议。如有问题，请拨打区学生资助监督电话反映。"
        )
    text = _clean_text(text, label="异议内容", limit=TEXT_MAX, required=True)
    contact = _clean_text(contact, label="联系方式", limit=CONTACT_MAX, required=False)
    if application is not None and application.pk not in dict(_public_rows(notice)):
        raise DomainError("所选学生不在本公示名单中，请重新选择。")
    objection = Objection.objects.create(
        notice=notice, application=application, text=text, contact=contact
    )
    # Neither the text nor the contact goes into the log: the row holds them, and the
    # reporter's identity is shown only to those entitled to it.
    audit.record(
        "objection.raised",
        actor=None,
        actor_label=PUBLIC_LABEL,
        subject=objection,
        org_unit=notice.org_unit,
        after={
            "notice": notice.pk,
            "application": application.pk if application else None,
            "contact_left": bool(contact),
        },
    )
    for hook in OBJECTION_HOOKS:
        hook(objection)
    return objection


def can_resolve(actor: User, notice: Notice) -> bool:
    """School notices: the school's officer or the district; round 3: the district."""
    return scope_for(actor, "objection:resolve").covers(notice.org_unit_id)


@transaction.atomic
def resolve_objection(objection: Objection, *, actor: User, resolution: str) -> Objection:
    require_permission(actor, "objection:resolve")
    notice = Notice.objects.select_related("org_unit").get(pk=objection.notice_id)
    if not can_resolve(actor, notice):
        raise NotPermitted("该公示异议不在您的处理范围内：第三榜的异议由区学生资助管理中心处理。")
    require_certified(actor)
    resolution = _clean_text(resolution, label="处理结果", limit=RESOLUTION_MAX, required=True)
    now = timezone.now()
    updated = Objection.objects.filter(pk=objection.pk, status=ObjectionStatus.OPEN).update(
        status=ObjectionStatus.RESOLVED, resolution=resolution, resolved_by=actor, resolved_at=now
    )
    if updated != 1:
        raise Conflict("该异议已被处理，请刷新页面查看处理结果。")
    objection.refresh_from_db()
    audit.record(
        "objection.resolved",
        actor=actor,
        subject=objection,
        org_unit=notice.org_unit,
        before={"status": ObjectionStatus.OPEN},
        after={"status": ObjectionStatus.RESOLVED, "resolution": resolution},
    )
    return objection


@transaction.atomic
def reveal_objection_contact(objection: Objection, *, actor: User) -> str:
    """The objector's contact, for those entitled to reporters' identities; every look is
    logged (issue 5: the reporter's identity is protected)."""
    notice = Notice.objects.select_related("org_unit").get(pk=objection.notice_id)
    if not scope_for(actor, "reporter:view").covers(notice.org_unit_id):
        raise NotPermitted("只有区资助中心负责人和纪检人员可以查看异议人的联系方式。")
    audit.record(
        "objection.contact_viewed", actor=actor, subject=objection, org_unit=notice.org_unit
    )
    return objection.contact or ""


# --- from the last round to the award ---------------------------------------------------


def held_applications(notice: Notice) -> list[Application]:
    """The round-3 applications an open objection holds back."""
    apps = notice.applications.filter(status=AppStatus.NOTICE_3).select_related("student")
    held = apps.exclude(pk__in=without_open_objections(apps).values("pk"))
    return list(held.order_by("student__name", "pk"))


def _check_finaliser(notice: Notice, actor: User) -> None:
    require_permission(actor, "application:finalise")
    if notice.round != NoticeRound.DISTRICT_ONLINE:
        raise DomainError("只有第三榜（区网上公示）期满后才能确认资助。")
    if not scope_for(actor, "application:finalise").covers(notice.org_unit_id):
        raise NotPermitted("确认资助由区学生资助管理中心办理。")
    require_certified(actor)
    if notice_state(notice) != NoticeState.ENDED:
        raise DomainError(
            f"第三榜公示期至 {notice.ends_on:%Y年%m月%d日} 结束，期满后才能确认资助。"
        )


@transaction.atomic
def finalise_awards(notice: Notice, *, actor: User) -> list[Award]:
    """After round 3 ends, every listed application without an open objection becomes an
    award; those with one stay at round 3 (see `held_applications`)."""
    _check_finaliser(notice, actor)
    listed = notice.applications.filter(status=AppStatus.NOTICE_3)
    ready = list(
        without_open_objections(listed)
        .select_related("school", "student", "programme", "tier", "identification")
        .order_by("pk")
    )
    held = listed.count() - len(ready)
    if not ready and not held:
        raise DomainError("本公示中已没有待确认资助的申请。")
    today = timezone.localdate()
    awards = []
    for app in ready:
        move_application(app, AppStatus.AWARDED, actor=actor, note=f"{notice.title}期满无异议")
        awards.append(grant_award(app, actor=actor, decided_on=today))
    audit.record(
        "notice.finalised",
        actor=actor,
        subject=notice,
        org_unit=notice.org_unit,
        after={"awarded": len(awards), "held_by_objection": held},
    )
    return awards


# --- award decisions from the award page ---------------------------------------------------

DECISION_KINDS = (AwardChangeKind.STOP, AwardChangeKind.CHANGE_TIER)


@transaction.atomic
def decide_award(
    award: Award,
    *,
    actor: User,
    kind: str,
    reason: str,
    new_tier: DifficultyTier | None = None,
    evidence: UploadedFile | None = None,
) -> AwardChange:
    """Stop an award or change its tier from the award page, decided today and effective
    from the first day of next month (`awards.change_award`), with the evidence attached
    in the same transaction (change_award itself takes no file)."""
    if kind not in DECISION_KINDS:
        raise DomainError("这里只能停止资助或调整困难等级。")
    change = change_award(
        award,
        actor=actor,
        kind=kind,
        decided_on=timezone.localdate(),
        reason=reason,
        new_tier=new_tier,
    )
    if evidence is not None:
        change.evidence.save(evidence.name or "evidence", evidence, save=True)
    return change


# --- the home page's work list ------------------------------------------------------------


def _publish_item(actor: User, round_: int) -> worklist.WorkItem | None:
    perm = ROUND_PERMISSION[round_]
    from_status, _ = ROUND_STEPS[round_]
    apps: QuerySet[Application] = Application.objects.visible_to(actor, perm).filter(
        status=from_status
    )
    if round_ == NoticeRound.DISTRICT_ONLINE:
        apps = without_open_objections(round2_over(apps, today=timezone.localdate()))
    count = apps.count()
    if not count:
        return None
    url = reverse("aid:notice_publish", args=[round_])
    return worklist.WorkItem(f"{count} 份资助申请待列入{ROUND_SHORT[round_]}公示", url)


def _objection_items(actor: User) -> list[worklist.WorkItem]:
    waiting = (
        Notice.objects.visible_to(actor, "objection:resolve")
        .annotate(open=Count("objections", filter=Q(objections__status=ObjectionStatus.OPEN)))
        .filter(open__gt=0)
        .order_by("ends_on", "pk")
        .values_list("pk", "title", "open")[:10]
    )
    return [
        worklist.WorkItem(
            f"“{title}”有 {count} 条异议待处理", reverse("aid:notice_detail", args=[pk])
        )
        for pk, title, count in waiting
    ]


def _finalise_items(actor: User) -> list[worklist.WorkItem]:
    ended = (
        Notice.objects.visible_to(actor, "application:finalise")
        .filter(
            state_filter(NoticeState.ENDED),
            round=NoticeRound.DISTRICT_ONLINE,
            applications__status=AppStatus.NOTICE_3,
        )
        .distinct()
        .order_by("ends_on", "pk")
        .values_list("pk", "title")[:10]
    )
    return [
        worklist.WorkItem(f"“{title}”已期满，待确认资助", reverse("aid:notice_finalise", args=[pk]))
        for pk, title in ended
    ]


@worklist.register
def notices_awaiting(actor: User) -> list[worklist.WorkItem]:
    """Applications ready for the actor's next notice, objections to deal with, and ended
    round-3 notices waiting for the award."""
    items: list[worklist.WorkItem] = []
    for round_, perm in ROUND_PERMISSION.items():
        if has_permission(actor, perm) and (item := _publish_item(actor, round_)):
            items.append(item)
    if has_permission(actor, "objection:resolve"):
        items += _objection_items(actor)
    if has_permission(actor, "application:finalise"):
        items += _finalise_items(actor)
    return items
