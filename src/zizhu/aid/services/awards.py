"""Awards and their dated changes: the input to payments (issue 7).

Stopping, changing tier, ending or moving an award always takes effect from the first day
of the month after the decision (seed 二(二)3), and is recorded with who and why. Nothing
here deletes or rewrites history: each change is an `AwardChange` row; the award's own
columns (status, tier, amount, school, end month) are the state those changes lead to.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction

from zizhu.aid.models import (
    Application,
    AppStatus,
    Award,
    AwardChange,
    AwardChangeKind,
    AwardSource,
    AwardStatus,
    DifficultyTier,
    Semester,
)
from zizhu.aid.rules import annual_amount, next_month
from zizhu.core import audit
from zizhu.core.errors import Conflict, DomainError
from zizhu.core.models import OrgUnit, User
from zizhu.core.reach import require_permission, scope_for


def award_start_month(application: Application, decided_on: date) -> date:
    """Aid is assessed per semester (seed 二(一)4): an award decided during a semester covers
    that whole semester, from its first month; decided outside any semester, it starts the
    month after the decision."""
    semester = Semester.objects.filter(
        school_year=application.school_year, starts_on__lte=decided_on, ends_on__gte=decided_on
    ).first()
    return semester.starts_on.replace(day=1) if semester else next_month(decided_on)


@transaction.atomic
def grant_award(application: Application, *, actor: User, decided_on: date) -> Award:
    """The awarded application becomes a live award from the month after the decision."""
    if application.status != AppStatus.AWARDED:
        raise DomainError("只有已通过三榜公示的申请才能生成资助。")
    award = Award.objects.create(
        student=application.student,
        school=application.school,
        programme=application.programme,
        school_year=application.school_year,
        application=application,
        category=application.identification.category,
        tier=application.tier,
        annual_amount=application.annual_amount,
        start_month=award_start_month(application, decided_on),
        source=AwardSource.APPLICATION,
    )
    audit.record(
        "award.granted",
        actor=actor,
        subject=award,
        org_unit=award.school,
        after={
            "programme": award.programme.code,
            "tier": award.tier.name,
            "annual_amount": award.annual_amount,
            "start_month": award.start_month,
        },
    )
    return award


def _last_month_before(month: date) -> date:
    return (month - timedelta(days=1)).replace(day=1)


@transaction.atomic
def change_award(
    award: Award,
    *,
    actor: User,
    kind: str,
    decided_on: date,
    reason: str,
    new_tier: DifficultyTier | None = None,
    new_school: OrgUnit | None = None,
    check_permission: bool = True,
) -> AwardChange:
    """Record a decision about a live award, effective from the next month.

    `check_permission=False` is for workflows that already hold their own permission and
    call down here (a ledger entry ending the award, a spring-review outcome).
    """
    if check_permission:
        require_permission(actor, "award:change")
        if not scope_for(actor, "award:change").covers(award.school_id):
            raise DomainError("该资助不在您的管辖范围内。")
    if not reason.strip():
        raise DomainError("请填写变更原因。")
    locked = Award.objects.select_for_update().get(pk=award.pk)
    if locked.status != AwardStatus.LIVE:
        raise Conflict(f"该资助当前为“{locked.get_status_display()}”，不能再变更。")
    effective = next_month(decided_on)
    change = AwardChange(
        award=locked,
        kind=kind,
        decided_on=decided_on,
        effective_month=effective,
        reason=reason.strip(),
        actor=actor,
    )
    before = {"status": locked.status, "tier": locked.tier.name, "amount": locked.annual_amount}
    previous_school = locked.school
    _apply(locked, change, effective, new_tier=new_tier, new_school=new_school)
    change.save()
    locked.save()
    if kind == AwardChangeKind.MOVE:
        # Filed under the school the award left too, so its inspectors see it go.
        audit.record(
            "award.moved_out", actor=actor, subject=locked, org_unit=previous_school, before=before
        )
    audit.record(
        f"award.{kind}",
        actor=actor,
        subject=locked,
        org_unit=locked.school,
        before=before,
        after={
            "status": locked.status,
            "tier": locked.tier.name,
            "amount": locked.annual_amount,
            "effective_month": effective,
            "reason": change.reason,
        },
    )
    return change


def _apply(
    award: Award,
    change: AwardChange,
    effective: date,
    *,
    new_tier: DifficultyTier | None,
    new_school: OrgUnit | None,
) -> None:
    if change.kind in (AwardChangeKind.STOP, AwardChangeKind.END):
        award.status = (
            AwardStatus.STOPPED if change.kind == AwardChangeKind.STOP else AwardStatus.ENDED
        )
        # Paid through the month before the effective month. Decided before the award began,
        # that is before its start month: the award then never pays a month.
        award.end_month = _last_month_before(effective)
    elif change.kind == AwardChangeKind.CHANGE_TIER:
        if new_tier is None or new_tier.pk == award.tier_id:
            raise DomainError("请选择与当前不同的困难等级。")
        change.new_tier = new_tier
        change.old_amount = award.annual_amount
        change.new_amount = annual_amount(
            award.programme, award.school_year, new_tier, award.student
        )
        award.tier, award.annual_amount = new_tier, Decimal(change.new_amount)
    elif change.kind == AwardChangeKind.MOVE:
        if new_school is None:
            raise DomainError("请选择转入学校。")
        change.new_school = new_school
        award.school = new_school
    else:
        raise DomainError(f"未知的变更类型“{change.kind}”。")
