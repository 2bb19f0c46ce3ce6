"""Applications up to and including the district review (seed 二(一)2, 二(三)1; issue 4).

The school officer enters an application from the family's signed form and submits it; a
certified officer other than the submitter reviews it; the principal, first responsible
person, signs it; after the school's first notice the district centre reviews it against
the quota. The moves into and out of the notice rounds live in `notices.py`; every move
goes through `transitions.move_application`, after the guards here have passed.

Guards raise `NotPermitted` when the refusal is about who the actor is (role, reach,
certification, own submission, recusal) — those are audited as denied attempts — and
`DomainError` when it is about the application (student, programme, quota, notice).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import TYPE_CHECKING

from django.db import models, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from zizhu.aid.models import (
    APP_HOLDS_PLACE,
    Application,
    ApplicationEvent,
    AppStatus,
    Award,
    AwardSource,
    AwardStatus,
    DifficultyTier,
    Identification,
    Notice,
    NoticeRound,
    Programme,
    Quota,
    SchoolYear,
)
from zizhu.aid.rules import annual_amount, eligible_stage
from zizhu.aid.services.transitions import can_move, move_application
from zizhu.core import audit, worklist
from zizhu.core.errors import DomainError, InvalidTransition, NotPermitted
from zizhu.core.models import User
from zizhu.core.reach import has_permission, scope_for
from zizhu.core.services import require_certified
from zizhu.registry.models import Guardian, Staff, Student, StudentStatus

if TYPE_CHECKING:
    from django.core.files import File


class Decision(models.TextChoices):
    """What a reviewer decides at a review step: the diagram's three ways out of it."""

    APPROVE = "approve", "同意"
    RETURN = "return", "退回修改"
    REJECT = "reject", "不予通过"


EDITABLE = frozenset({AppStatus.DRAFT, AppStatus.RETURNED})

SIGNED_FORM_MAX_BYTES = 10 * 1024 * 1024
# Extension → the bytes such a file starts with: the extension is what the person called
# the file, the leading bytes are what it is.
SIGNED_FORM_SIGNATURES: dict[str, bytes] = {
    ".pdf": b"%PDF-",
    ".jpg": b"\xff\xd8\xff",
    ".jpeg": b"\xff\xd8\xff",
}
SIGNED_FORM_ACCEPT = ".pdf,.jpg,.jpeg,application/pdf,image/jpeg"


# --- guards -----------------------------------------------------------------------------


def _require_in_reach(actor: User, perm: str, school_id: int) -> None:
    if not has_permission(actor, perm):
        raise NotPermitted("您的角色没有此项操作权限。如需办理，请联系区资助中心。")
    if not scope_for(actor, perm).covers(school_id):
        raise NotPermitted("该学生不在您的管辖范围内，不能办理其资助申请。")


def _require_enrolled(student: Student) -> None:
    if student.status != StudentStatus.ENROLLED:
        raise DomainError(
            f"{student.name}当前学籍状态为“{student.get_status_display()}”，不是在读学生，"
            "不能申请或审核通过资助。如学籍有误，请先在学籍异动台账中更正。"
        )


def _require_live_identification(
    identification: Identification, *, student: Student, school_year: SchoolYear
) -> None:
    if identification.student_id != student.pk or identification.school_year_id != school_year.pk:
        raise DomainError(f"所选困难认定不是{student.name}在{school_year.code}学年的认定。")
    if identification.revoked_at is not None:
        raise DomainError(
            f"{student.name}在{school_year.code}学年的困难认定已撤销，不能据此申请资助。"
            "请先重新认定。"
        )


def _require_tier_within(tier: DifficultyTier, identification: Identification) -> None:
    # The tier is the identification's level (认定级别) or a lower one, never a higher one:
    # a higher tier means more money than the evidence supports.
    if tier.rank < identification.tier.rank:
        raise DomainError(
            f"申请的困难等级“{tier.name}”高于认定等级“{identification.tier.name}”，"
            "请按认定等级或更低等级申请。"
        )


def _require_programme_fits(programme: Programme, student: Student) -> None:
    if not programme.active:
        raise DomainError(f"“{programme.name}”已停用，不能申请。")
    if not eligible_stage(programme, student):
        raise DomainError(
            f"“{programme.name}”不适用于{student.school.name}{student.grade}的学生，请选择适用的资助项目。"
        )
    if programme.boarders_only and not student.boarder:
        raise DomainError(f"“{programme.name}”仅限寄宿生申请，{student.name}不是寄宿生。")


def _require_no_conflict(
    student: Student,
    programme: Programme,
    school_year: SchoolYear,
    *,
    except_pk: int | None = None,
) -> None:
    """Seed 二(四) "重复或互斥资助": one open application or live award per programme and
    year, and none in a programme configured as mutually exclusive with it."""
    programme_ids = {programme.pk, *programme.excludes.values_list("pk", flat=True)}
    award = (
        Award.objects.filter(
            student=student,
            school_year=school_year,
            programme_id__in=programme_ids,
            status=AwardStatus.LIVE,
        )
        .select_related("programme")
        .first()
    )
    if award is not None:
        raise DomainError(
            _conflict_message(student, programme, award.programme, f"正在享受“{award.programme}”")
        )
    others = Application.objects.filter(
        student=student, school_year=school_year, programme_id__in=programme_ids
    ).exclude(status=AppStatus.REJECTED)
    if except_pk is not None:
        others = others.exclude(pk=except_pk)
    other = others.select_related("programme").first()
    if other is not None:
        held = f"已有“{other.programme}”的申请（{other.get_status_display()}）"
        raise DomainError(_conflict_message(student, programme, other.programme, held))


def _conflict_message(
    student: Student, programme: Programme, conflicting: Programme, held: str
) -> str:
    year_held = f"{student.name}本学年{held}"
    if conflicting.pk == programme.pk:
        return f"{year_held}，同一项目每学年只能申请一次。"
    return f"{year_held}，与“{programme.name}”互斥，不能同时享受。"


def _require_reason(decision: str, note: str) -> str:
    note = note.strip()
    if decision != Decision.APPROVE and not note:
        raise DomainError("退回或不予通过必须填写理由，理由将记入审核记录。")
    if len(note) > 500:
        raise DomainError("意见不能超过 500 字。")
    return note


def _require_not_recused(app: Application, actor: User) -> None:
    """Recusal (回避, seed 二(四)1 "优亲厚友"): a decider who is a guardian of the applicant
    or of another student in the same household may not decide on the application. The
    actor's staff record carries the keyed hash of their ID number; guardians carry theirs."""
    staff_hash = (
        Staff.objects.filter(user=actor, id_number_hash__isnull=False)
        .values_list("id_number_hash", flat=True)
        .first()
    )
    if not staff_hash:
        return
    family = Q(student_id=app.student_id)
    household_id = app.student.household_id
    if household_id is not None:
        family |= Q(student__household_id=household_id)
    relation = (
        Guardian.objects.filter(family, id_number_hash=staff_hash).select_related("student").first()
    )
    if relation is None:
        return
    whose = "该生" if relation.student_id == app.student_id else f"同一家庭学生{relation.student}"
    raise NotPermitted(
        f"您登记为{whose}的监护人（{relation.relation}），按回避规定不能审核或签批该生的资助申请。"
        "请由本校其他持证人员或上级办理。"
    )


def _guard_school_review(app: Application, actor: User) -> None:
    _require_in_reach(actor, "application:school_review", app.school_id)
    require_certified(actor)
    if app.submitted_by_id == actor.pk:
        raise NotPermitted(
            "该申请由您本人提交，不能由您本人初审（审核与经办相分离）。请由本校其他持证人员审核。"
        )
    _require_not_recused(app, actor)


def _guard_sign(app: Application, actor: User) -> None:
    _require_in_reach(actor, "application:sign", app.school_id)
    _require_not_recused(app, actor)


def _guard_district(app: Application, actor: User) -> None:
    _require_in_reach(actor, "application:district_review", app.school_id)
    require_certified(actor)
    _require_not_recused(app, actor)


# Who decides an application waiting in each status. Notice rounds 2 and 3 follow the
# district review, so a return or rejection there is again the district's decision.
_DECIDER_GUARDS: dict[str, Callable[[Application, User], None]] = {
    AppStatus.SUBMITTED: _guard_school_review,
    AppStatus.SCHOOL_REVIEWED: _guard_sign,
    AppStatus.NOTICE_1: _guard_district,
    AppStatus.NOTICE_2: _guard_district,
    AppStatus.NOTICE_3: _guard_district,
}

_APPROVE_TO: dict[str, str] = {
    AppStatus.SUBMITTED: AppStatus.SCHOOL_REVIEWED,
    AppStatus.SCHOOL_REVIEWED: AppStatus.PRINCIPAL_SIGNED,
    AppStatus.NOTICE_1: AppStatus.DISTRICT_REVIEWED,
}


def _target(app: Application, decision: str) -> str:
    if decision == Decision.RETURN:
        to: str | None = AppStatus.RETURNED
    elif decision == Decision.REJECT:
        to = AppStatus.REJECTED
    elif decision == Decision.APPROVE:
        to = _APPROVE_TO.get(app.status)
    else:
        raise DomainError("请选择审核结果：同意、退回修改或不予通过。")
    if to is None or not can_move(app.status, to):
        raise InvalidTransition(
            f"该申请当前为“{AppStatus(app.status).label}”，不能“{Decision(decision).label}”。"
            "请刷新页面查看最新状态。"
        )
    return to


def _require_status(app: Application, status: str, step: str) -> None:
    if app.status != status:
        raise InvalidTransition(
            f"该申请当前为“{AppStatus(app.status).label}”，不在{step}环节。请刷新页面查看最新状态。"
        )


# --- the round-1 notice and its objections ------------------------------------------------


def round_one_notice(app: Application) -> Notice | None:
    return app.notices.filter(round=NoticeRound.SCHOOL).order_by("-ends_on", "-pk").first()


def _require_notice_ended(app: Application) -> Notice:
    """Seed 二(一)2: "公示期满无异议再报区学生资助管理中心审核" — the district decides only
    after the school's notice has run its full period."""
    notice = round_one_notice(app)
    if notice is None:
        raise DomainError("该申请尚未列入学校初审公示（第一榜），不能进行区级审核。")
    if notice.ends_on >= timezone.localdate():
        raise DomainError(
            f"第一榜公示至 {notice.ends_on:%Y年%m月%d日} 结束，公示期满后才能进行区级审核。"
        )
    return notice


def _require_no_open_objection(app: Application) -> None:
    # One rule for every step: the notices service decides what an open objection blocks.
    from zizhu.aid.services.notices import has_open_objection

    if has_open_objection(app):
        raise DomainError(
            "公示期间收到的异议尚未处理完毕，处理完毕前该申请不能审核通过。请先处理异议。"
        )


def quota_usage(app: Application) -> tuple[int | None, int]:
    """(places, places held) for the application's school, programme and year; places is
    None when no quota has been set."""
    same = Q(school=app.school_id, programme=app.programme_id, school_year=app.school_year_id)
    places = Quota.objects.filter(same).values_list("places", flat=True).first()
    held = (
        Application.objects.filter(same, status__in=APP_HOLDS_PLACE).count()
        + Award.objects.filter(same, source=AwardSource.MIGRATION, status=AwardStatus.LIVE).count()
    )
    return places, held


def _require_place(app: Application) -> None:
    """The quota (名额) of the school, programme and year. Applications from the district
    review on hold a place, as do live migrated awards. The quota row is locked so that
    two district officers approving at once cannot both take the last place."""
    quota = (
        Quota.objects.select_for_update()
        .filter(school=app.school_id, programme=app.programme_id, school_year=app.school_year_id)
        .first()
    )
    where = f"{app.school}{app.school_year.code}学年“{app.programme}”"
    if quota is None:
        raise DomainError(f"{where}尚未下达名额，请先在资助配置中设置名额后再审核。")
    _, held = quota_usage(app)
    if held >= quota.places:
        raise DomainError(
            f"{where}名额 {quota.places} 个已用满（已占用 {held} 个），不能再审核通过。"
            "可退回或不予通过，或由区资助中心调整名额后再审核。"
        )


def _require_still_eligible(app: Application) -> None:
    _require_enrolled(app.student)
    _require_live_identification(
        app.identification, student=app.student, school_year=app.school_year
    )
    _require_no_conflict(app.student, app.programme, app.school_year, except_pk=app.pk)


# --- the signed form ----------------------------------------------------------------------


def validate_signed_form(upload: File[bytes]) -> str:
    """The family's signed application form: a PDF or JPG scan of at most 10 MB. Returns the
    random name it is stored under (a scan's own name often holds the child's name)."""
    suffix = PurePath(upload.name or "").suffix.lower()
    if suffix not in SIGNED_FORM_SIGNATURES:
        raise DomainError("家庭签字申请表只能是 PDF 或 JPG 文件，请转换格式后再上传。")
    size = upload.size or 0
    if size == 0:
        raise DomainError("上传的家庭签字申请表是空文件，请重新选择。")
    if size > SIGNED_FORM_MAX_BYTES:
        raise DomainError(
            f"家庭签字申请表不能超过 10 MB（所选文件约 {size / 1024 / 1024:.1f} MB），"
            "请压缩或降低扫描分辨率后再上传。"
        )
    signature = SIGNED_FORM_SIGNATURES[suffix]
    upload.seek(0)
    head = upload.read(len(signature))
    upload.seek(0)
    if head != signature:
        raise DomainError("文件内容与扩展名不符，不是有效的 PDF 或 JPG 文件，请重新选择。")
    return f"{uuid.uuid4().hex}{'.jpg' if suffix == '.jpeg' else suffix}"


def _store_signed_form(app: Application, upload: File[bytes]) -> None:
    name = validate_signed_form(upload)
    app.signed_form.save(name, upload, save=False)


# --- entering and submitting --------------------------------------------------------------


@transaction.atomic
def create_application(
    student: Student,
    *,
    actor: User,
    programme: Programme,
    school_year: SchoolYear,
    tier: DifficultyTier,
    identification: Identification,
    family_statement: str,
    signed_form: File[bytes] | None = None,
) -> Application:
    """A draft entered by the school officer from the family's signed form."""
    _require_in_reach(actor, "application:create", student.school_id)
    # Locking the student serialises two officers entering applications for one child, so
    # the exclusion check below cannot be raced.
    student = Student.objects.select_for_update().select_related("school").get(pk=student.pk)
    _require_enrolled(student)
    _require_live_identification(identification, student=student, school_year=school_year)
    _require_tier_within(tier, identification)
    _require_programme_fits(programme, student)
    _require_no_conflict(student, programme, school_year)
    now = timezone.now()
    app = Application(
        student=student,
        school=student.school,
        programme=programme,
        school_year=school_year,
        identification=identification,
        tier=tier,
        annual_amount=annual_amount(programme, school_year, tier, student),
        family_statement=family_statement.strip(),
        created_by=actor,
        created_at=now,
        updated_at=now,
    )
    if signed_form is not None:
        _store_signed_form(app, signed_form)
    app.save()
    ApplicationEvent.objects.create(
        application=app, from_status="", to_status=AppStatus.DRAFT, actor=actor, at=now
    )
    audit.record(
        "application.created",
        actor=actor,
        subject=app,
        org_unit=app.school,
        after={
            "programme": programme.code,
            "school_year": school_year.code,
            "tier": tier.name,
            "annual_amount": app.annual_amount,
            "signed_form": bool(app.signed_form),
        },
    )
    return app


def _lock_editable(app: Application, actor: User) -> Application:
    _require_in_reach(actor, "application:create", app.school_id)
    locked = (
        Application.objects.select_for_update()
        .select_related("student__school", "identification__tier", "tier", "programme")
        .select_related("school_year", "school")
        .get(pk=app.pk)
    )
    if locked.status not in EDITABLE:
        raise InvalidTransition(
            f"该申请当前为“{locked.get_status_display()}”，只有草稿或已退回的申请才能修改。"
        )
    return locked


@transaction.atomic
def edit_application(
    app: Application,
    *,
    actor: User,
    tier: DifficultyTier | None = None,
    family_statement: str | None = None,
) -> Application:
    """Correct a draft or a returned application; the amount follows the tier."""
    locked = _lock_editable(app, actor)
    before = {"tier": locked.tier.name, "annual_amount": locked.annual_amount}
    before["family_statement"] = locked.family_statement
    if tier is not None:
        _require_tier_within(tier, locked.identification)
        locked.tier = tier
        locked.annual_amount = annual_amount(
            locked.programme, locked.school_year, tier, locked.student
        )
    if family_statement is not None:
        locked.family_statement = family_statement.strip()
    locked.updated_at = timezone.now()
    locked.save(update_fields=["tier", "annual_amount", "family_statement", "updated_at"])
    after = {"tier": locked.tier.name, "annual_amount": locked.annual_amount}
    after["family_statement"] = locked.family_statement
    audit.record(
        "application.edited",
        actor=actor,
        subject=locked,
        org_unit=locked.school,
        before=before,
        after=after,
    )
    return locked


@transaction.atomic
def attach_signed_form(app: Application, *, actor: User, upload: File[bytes]) -> Application:
    """Attach (or replace) the scan of the family's signed form on a draft or returned
    application; the earlier scan stays in storage and in the audit trail."""
    locked = _lock_editable(app, actor)
    previous = locked.signed_form.name or ""
    _store_signed_form(locked, upload)
    locked.updated_at = timezone.now()
    locked.save(update_fields=["signed_form", "updated_at"])
    audit.record(
        "application.signed_form_attached",
        actor=actor,
        subject=locked,
        org_unit=locked.school,
        before={"signed_form": previous},
        after={"signed_form": locked.signed_form.name},
    )
    return locked


@transaction.atomic
def submit_application(app: Application, *, actor: User, note: str = "") -> Application:
    """Draft (or returned) → submitted, for the school's first review."""
    _require_in_reach(actor, "application:create", app.school_id)
    if not can_move(app.status, AppStatus.SUBMITTED):
        raise InvalidTransition(
            f"该申请当前为“{app.get_status_display()}”，只有草稿或已退回的申请才能提交。"
        )
    if not app.signed_form:
        raise DomainError(
            "提交前请上传家庭签字的申请表（PDF 或 JPG 扫描件）：申请须由学生或监护人本人签字确认。"
        )
    _require_still_eligible(app)
    moved = move_application(app, AppStatus.SUBMITTED, actor=actor, note=note.strip())
    Application.objects.filter(pk=moved.pk).update(submitted_by=actor)
    moved.submitted_by = actor
    return moved


# --- reviews --------------------------------------------------------------------------------


@transaction.atomic
def school_review(app: Application, *, actor: User, decision: str, note: str = "") -> Application:
    """First review by a certified school officer (seed 二(三)1(1) "初审申请材料")."""
    _require_status(app, AppStatus.SUBMITTED, "学校初审")
    to = _target(app, decision)
    note = _require_reason(decision, note)
    _guard_school_review(app, actor)
    if decision == Decision.APPROVE:
        _require_still_eligible(app)
    return move_application(app, to, actor=actor, note=note)


@transaction.atomic
def sign_application(
    app: Application, *, actor: User, decision: str = Decision.APPROVE, note: str = ""
) -> Application:
    """The principal, first responsible person (seed 二(三)1), signs or sends it back."""
    _require_status(app, AppStatus.SCHOOL_REVIEWED, "校长签批")
    to = _target(app, decision)
    note = _require_reason(decision, note)
    _guard_sign(app, actor)
    if decision == Decision.APPROVE:
        _require_enrolled(app.student)
    return move_application(app, to, actor=actor, note=note)


@transaction.atomic
def district_review(app: Application, *, actor: User, decision: str, note: str = "") -> Application:
    """The district centre's review after the school's notice. Approving takes a place of the
    school's quota; open objections must be dealt with first. A return or rejection is how
    an upheld objection ends, so only approval waits for objections."""
    _require_status(app, AppStatus.NOTICE_1, "区级审核")
    to = _target(app, decision)
    note = _require_reason(decision, note)
    _guard_district(app, actor)
    _require_notice_ended(app)
    if decision == Decision.APPROVE:
        _require_no_open_objection(app)
        _require_still_eligible(app)
        _require_place(app)
    return move_application(app, to, actor=actor, note=note)


_REVIEWS: dict[str, Callable[..., Application]] = {
    AppStatus.SUBMITTED: school_review,
    AppStatus.SCHOOL_REVIEWED: sign_application,
    AppStatus.NOTICE_1: district_review,
}


@transaction.atomic
def decide_application(
    app: Application, *, actor: User, decision: str, note: str = ""
) -> Application:
    """The decision on whatever review the application is waiting for. At notice rounds 2
    and 3 only a return or rejection is decided here; moving on is the notices' business."""
    review = _REVIEWS.get(app.status)
    if review is not None:
        return review(app, actor=actor, decision=decision, note=note)
    if decision == Decision.APPROVE or app.status not in _DECIDER_GUARDS:
        raise InvalidTransition(
            f"该申请当前为“{app.get_status_display()}”，此环节不能由您在此作出审核决定。"
        )
    to = _target(app, decision)
    note = _require_reason(decision, note)
    _DECIDER_GUARDS[app.status](app, actor)
    return move_application(app, to, actor=actor, note=note)


@transaction.atomic
def return_application(app: Application, *, actor: User, reason: str) -> Application:
    return decide_application(app, actor=actor, decision=Decision.RETURN, note=reason)


@transaction.atomic
def reject_application(app: Application, *, actor: User, reason: str) -> Application:
    return decide_application(app, actor=actor, decision=Decision.REJECT, note=reason)


# --- what the screen offers this actor ------------------------------------------------------


@dataclass(frozen=True)
class Actions:
    """What the detail page offers one actor on one application. `blocked` explains why a
    person who holds the step's permission still may not act (own submission, recusal,
    certification); the services check all of it again on the way in."""

    can_edit: bool = False
    can_submit: bool = False
    decisions: list[tuple[str, str]] = field(default_factory=list)
    step: str = ""
    blocked: str = ""


_STEP_LABELS: dict[str, str] = {
    AppStatus.SUBMITTED: "学校初审",
    AppStatus.SCHOOL_REVIEWED: "校长签批",
    AppStatus.NOTICE_1: "区级审核",
    AppStatus.NOTICE_2: "退回或不予通过（第二榜公示期间）",
    AppStatus.NOTICE_3: "退回或不予通过（第三榜公示期间）",
}

_STEP_PERMS: dict[str, str] = {
    AppStatus.SUBMITTED: "application:school_review",
    AppStatus.SCHOOL_REVIEWED: "application:sign",
    AppStatus.NOTICE_1: "application:district_review",
    AppStatus.NOTICE_2: "application:district_review",
    AppStatus.NOTICE_3: "application:district_review",
}


def actions_for(app: Application, actor: User) -> Actions:
    if app.status in EDITABLE:
        may = scope_for(actor, "application:create").covers(app.school_id)
        return Actions(can_edit=may, can_submit=may)
    perm = _STEP_PERMS.get(app.status)
    if perm is None or not scope_for(actor, perm).covers(app.school_id):
        return Actions()
    try:
        _DECIDER_GUARDS[app.status](app, actor)
    except NotPermitted as refusal:
        return Actions(step=_STEP_LABELS[app.status], blocked=refusal.message)
    decisions = [
        (value, label)
        for value, label in Decision.choices
        if value != Decision.APPROVE or app.status in _APPROVE_TO
    ]
    return Actions(decisions=decisions, step=_STEP_LABELS[app.status])


# --- the home page's work list ------------------------------------------------------------


def _list_url(status: str) -> str:
    return f"{reverse('aid:application_list')}?status={status}"


@worklist.register
def applications_awaiting(actor: User) -> list[worklist.WorkItem]:
    """Applications waiting for this actor's step: the school review (not their own
    submissions), the principal's signature, the district review after notice 1 ended."""
    items: list[worklist.WorkItem] = []
    if has_permission(actor, "application:school_review"):
        count = (
            Application.objects.visible_to(actor, "application:school_review")
            .filter(status=AppStatus.SUBMITTED)
            .exclude(submitted_by=actor)
            .count()
        )
        if count:
            items.append(
                worklist.WorkItem(f"{count} 份资助申请待学校初审", _list_url(AppStatus.SUBMITTED))
            )
    if has_permission(actor, "application:sign"):
        count = (
            Application.objects.visible_to(actor, "application:sign")
            .filter(status=AppStatus.SCHOOL_REVIEWED)
            .count()
        )
        if count:
            url = _list_url(AppStatus.SCHOOL_REVIEWED)
            items.append(worklist.WorkItem(f"{count} 份资助申请待校长签批", url))
    if has_permission(actor, "application:district_review"):
        count = (
            Application.objects.visible_to(actor, "application:district_review")
            .filter(
                status=AppStatus.NOTICE_1,
                notices__round=NoticeRound.SCHOOL,
                notices__ends_on__lt=timezone.localdate(),
            )
            .distinct()
            .count()
        )
        if count:
            url = _list_url(AppStatus.NOTICE_1)
            items.append(worklist.WorkItem(f"{count} 份资助申请第一榜公示期满，待区级审核", url))
    return items
