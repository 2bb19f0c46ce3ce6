"""追缴: money paid after an award should have ended (issue 7, "Funds").

A recovery opens from a clue decision "停止资助并追缴已发资金" (through the cases app's
decision hook) or from the overpayment check over paid lines. Collected money goes into the
district pool as a RECOVERY entry; only the district head may waive what cannot be collected.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import QuerySet

from zizhu.aid.models import Award, SchoolYear
from zizhu.core import audit
from zizhu.core.errors import DomainError, InvalidTransition
from zizhu.core.models import User
from zizhu.core.reach import get_for, require_permission, scope_for
from zizhu.payments.models import (
    FundEntry,
    FundEntryKind,
    LineStatus,
    PaymentLine,
    Recovery,
    RecoveryStatus,
)
from zizhu.payments.services.entitlements import period_amount
from zizhu.payments.services.funds import money, require_district

if TYPE_CHECKING:
    from zizhu.cases.models import Decision

MANAGE_PERM = "recovery:manage"
VIEW_PERM = "payment:view"
WAIVE_PERM = "payment:approve"
OPEN_STATUSES = (RecoveryStatus.OPEN, RecoveryStatus.PARTLY)


def recoveries_visible_to(actor: User, perm: str = VIEW_PERM) -> QuerySet[Recovery]:
    """The list door: a school sees its own recoveries, the district all."""
    return scope_for(actor, perm).filter(Recovery.objects.all(), "school")


def get_recovery_for(actor: User, pk: int | str, *, perm: str = VIEW_PERM) -> Recovery:
    return get_for(actor, Recovery.objects.select_related("award"), "school", perm=perm, pk=pk)


@transaction.atomic
def open_recovery(
    award: Award,
    *,
    actor: User,
    amount: Any,
    reason: str,
    source: dict[str, Any],
    check_permission: bool = True,
) -> Recovery:
    """`check_permission=False` is for workflows holding their own permission (a decision)."""
    if check_permission:
        require_permission(actor, MANAGE_PERM)
        if not scope_for(actor, MANAGE_PERM).covers(award.school_id):
            raise DomainError("该资助不在您的管辖范围内。")
    amount = money(amount, "追缴金额")
    if amount <= 0:
        raise DomainError("追缴金额必须大于 0。")
    if not reason.strip():
        raise DomainError("请填写追缴原因。")
    recovery = Recovery.objects.create(
        award=award,
        school_id=award.school_id,
        amount=amount,
        reason=reason.strip()[:300],
        source=source,
        created_by=actor,
    )
    audit.record(
        "recovery.opened",
        actor=actor,
        subject=recovery,
        org_unit=recovery.school,
        after={"award": award.pk, "amount": amount, "reason": recovery.reason, "source": source},
    )
    return recovery


def recover_on_decision(decision: Decision, actor: User) -> None:
    """The cases decision hook: "停止资助并追缴已发资金" opens a recovery for its amount."""
    from zizhu.cases.models import Opinion

    if decision.opinion != Opinion.RECOVER or decision.award is None:
        return
    if not decision.recover_amount or decision.recover_amount <= 0:
        return
    open_recovery(
        decision.award,
        actor=actor,
        amount=decision.recover_amount,
        reason=f"线索{decision.clue.number}处理决定：{decision.reasoning}"[:300],
        source={"clue": decision.clue_id, "decision": decision.pk},
        check_permission=False,
    )


def _recovered_lines(awards: set[int]) -> set[int]:
    sources = Recovery.objects.filter(award_id__in=awards).values_list("source", flat=True)
    return {s["overpaid_line"] for s in sources if isinstance(s, dict) and "overpaid_line" in s}


@transaction.atomic
def detect_overpayments(*, actor: User, school_year: SchoolYear) -> list[Recovery]:
    """Paid lines worth more than the award owes for the line's period (an award ended or
    lowered after the batch was paid) → one recovery per line, never twice."""
    require_district(actor, MANAGE_PERM)
    lines = list(
        PaymentLine.objects.filter(
            batch__school_year=school_year,
            status=LineStatus.PAID,
            award__changes__isnull=False,
        )
        .distinct()
        .select_related("batch", "award__school_year")
        .prefetch_related("award__changes")
        .order_by("pk")
    )
    done = _recovered_lines({line.award_id for line in lines})
    opened = []
    for line in lines:
        if line.pk in done:
            continue
        award = line.award
        owed = period_amount(
            award,
            line.batch.period_start,
            line.batch.period_end,
            changes=tuple(award.changes.all()),
        )
        excess = line.amount - owed
        if excess <= 0:
            continue
        period = f"{line.batch.period_start:%Y年%m月}至{line.batch.period_end:%Y年%m月}"
        opened.append(
            open_recovery(
                award,
                actor=actor,
                amount=excess,
                reason=f"批次{line.batch.number}：{period}已发 {line.amount} 元，应发 {owed} 元",
                source={"overpaid_line": line.pk, "batch": line.batch_id},
                check_permission=False,
            )
        )
    return opened


def _lock(recovery: Recovery) -> Recovery:
    return Recovery.objects.select_for_update().select_related("award").get(pk=recovery.pk)


@transaction.atomic
def record_collection(recovery: Recovery, *, actor: User, amount: Any) -> Recovery:
    """Money collected back: the recovery moves to 部分收回 or 已收回 and the pool grows."""
    require_district(actor, MANAGE_PERM)
    recovery = _lock(recovery)
    if recovery.status not in OPEN_STATUSES:
        raise InvalidTransition("该追缴已办结，不能再登记收回。")
    amount = money(amount, "收回金额")
    remaining = recovery.amount - recovery.collected
    if amount <= 0 or amount > remaining:
        raise DomainError(f"收回金额须大于 0 且不超过尚未收回的 {remaining} 元。")
    before = {"status": recovery.status, "collected": recovery.collected}
    recovery.collected += amount
    recovery.status = (
        RecoveryStatus.COLLECTED if recovery.collected == recovery.amount else RecoveryStatus.PARTLY
    )
    recovery.save(update_fields=["collected", "status"])
    FundEntry.objects.create(
        kind=FundEntryKind.RECOVERY,
        programme_id=recovery.award.programme_id,
        school_year_id=recovery.award.school_year_id,
        school_id=recovery.school_id,
        amount=amount,
        cause=f"追缴收回：{recovery.reason}"[:200],
        actor=actor,
    )
    audit.record(
        "recovery.collected",
        actor=actor,
        subject=recovery,
        org_unit=recovery.school,
        before=before,
        after={"status": recovery.status, "collected": recovery.collected, "amount": amount},
    )
    return recovery


@transaction.atomic
def waive_recovery(recovery: Recovery, *, actor: User, reason: str) -> Recovery:
    """经批准核销: the district head writes off what cannot be collected, with a reason."""
    require_district(actor, WAIVE_PERM)
    if not reason.strip():
        raise DomainError("请填写核销原因。")
    recovery = _lock(recovery)
    if recovery.status not in OPEN_STATUSES:
        raise InvalidTransition("该追缴已办结，不能核销。")
    before = recovery.status
    recovery.status = RecoveryStatus.WAIVED
    recovery.save(update_fields=["status"])
    audit.record(
        "recovery.waived",
        actor=actor,
        subject=recovery,
        org_unit=recovery.school,
        before={"status": before},
        after={
            "status": recovery.status,
            "reason": reason.strip(),
            "waived": recovery.amount - recovery.collected,
        },
    )
    return recovery


def outstanding(recovery: Recovery) -> Decimal:
    return recovery.amount - recovery.collected
