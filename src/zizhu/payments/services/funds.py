"""The fund ledger (seed 二(二)3, issue 7 "Funds"): a programme's budget per school year with
the four levels' shares, allocated to schools by quota, disbursed by settled batches, the
surplus moved to the district pool (统筹) with its cause, and money paid out of the pool.

Every movement is a `FundEntry`; balances are sums over the ledger, never stored beside it.
Writes lock the programme's budget row so two officers cannot overdraw the pool together.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.db.models import Count, Q, Sum

from zizhu.aid.models import Award, AwardChangeKind, AwardStatus, Programme, Quota, SchoolYear
from zizhu.aid.rules import CENT, first_of_month
from zizhu.core import audit
from zizhu.core.errors import DomainError, NotPermitted
from zizhu.core.models import OrgUnit, User
from zizhu.core.reach import require_permission, scope_for
from zizhu.payments.models import (
    BatchStatus,
    Budget,
    FundEntry,
    FundEntryKind,
    LineStatus,
    PaymentBatch,
    PaymentLine,
)
from zizhu.payments.services.entitlements import period_amount

FUND_PERM = "fund:manage"
SHARES = ("central", "provincial", "city", "district")
# Causes named by seed 二(二)3: "因正常异动核减或实际受助人数少于下达指标人数等原因造成结余".
CAUSE_STATUS_CHANGE = "学籍异动核减"
CAUSE_FEWER_RECIPIENTS = "实际受助人数少于下达名额"
CAUSE_OTHER = "其他结余"
POOL_IN_KINDS = (FundEntryKind.SURPLUS, FundEntryKind.RECOVERY)


def money(value: Any, label: str = "金额") -> Decimal:
    """A non-negative amount in yuan with at most 2 decimal places."""
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise DomainError(f"{label}不是有效的金额，请填写数字，例如 1250.00。") from None
    if not amount.is_finite() or amount < 0:
        raise DomainError(f"{label}不能为负数。")
    if amount != amount.quantize(CENT):
        raise DomainError(f"{label}最多保留两位小数（到分）。")
    return amount.quantize(CENT)


def require_district(actor: User, perm: str = FUND_PERM) -> None:
    require_permission(actor, perm)
    if not scope_for(actor, perm).everything:
        raise NotPermitted("资金台账由区资助中心管理。")


def budget_total(budget: Budget) -> Decimal:
    return sum((getattr(budget, share) for share in SHARES), Decimal("0.00"))


def _entries(programme: Programme, school_year: SchoolYear) -> Any:
    return FundEntry.objects.filter(programme=programme, school_year=school_year)


def _lock_budget(programme: Programme, school_year: SchoolYear) -> Budget:
    budget = (
        Budget.objects.select_for_update()
        .filter(programme=programme, school_year=school_year)
        .first()
    )
    if budget is None:
        raise DomainError(f"{programme}{school_year}尚未设定预算，请先设定预算。")
    return budget


# --- budget and allocation ------------------------------------------------------------------


@transaction.atomic
def set_budget(
    programme: Programme,
    school_year: SchoolYear,
    *,
    actor: User,
    central: Any,
    provincial: Any,
    city: Any,
    district: Any,
) -> Budget:
    """Set the four shares. Once allocated, the total is fixed: schools hold their shares."""
    require_district(actor)
    amounts = {
        "central": money(central, "中央资金"),
        "provincial": money(provincial, "省级资金"),
        "city": money(city, "市级资金"),
        "district": money(district, "区级资金"),
    }
    budget, created = Budget.objects.select_for_update().get_or_create(
        programme=programme, school_year=school_year, defaults=amounts
    )
    before = {share: getattr(budget, share) for share in SHARES}
    if not created:
        allocated = _entries(programme, school_year).filter(kind=FundEntryKind.ALLOCATION)
        if allocated.exists() and sum(amounts.values()) != budget_total(budget):
            raise DomainError("预算已按名额下达学校，合计金额不能再改；可调整各级分担比例。")
        for share, amount in amounts.items():
            setattr(budget, share, amount)
        budget.full_clean()
        budget.save()
    audit.record(
        "fund.budget_set",
        actor=actor,
        subject=budget,
        before=None if created else before,
        after={**amounts, "total": budget_total(budget)},
    )
    return budget


def split_by_weights(total: Decimal, weights: list[int]) -> list[Decimal]:
    """Split `total` in proportion to `weights`, to the cent, summing exactly to `total`.

    Largest remainder: everyone gets the floor of their share in cents, and the cents left
    over go to the largest fractional parts (ties to the earlier weight)."""
    cents = int((total / CENT).to_integral_value())
    whole = sum(weights)
    if whole <= 0:
        raise DomainError("名额合计为 0，无法按名额分配。")
    floors = [cents * w // whole for w in weights]
    remainders = [cents * w % whole for w in weights]
    left = cents - sum(floors)
    order = sorted(range(len(weights)), key=lambda i: (-remainders[i], i))
    for index in order[:left]:
        floors[index] += 1
    return [Decimal(c) * CENT for c in floors]


@transaction.atomic
def allocate_by_quota(budget: Budget, *, actor: User) -> list[FundEntry]:
    """下达: one ALLOCATION entry per school in proportion to its places (名额)."""
    require_district(actor)
    budget = _lock_budget(budget.programme, budget.school_year)
    entries = _entries(budget.programme, budget.school_year)
    if entries.filter(kind=FundEntryKind.ALLOCATION).exists():
        raise DomainError("该项目本学年的预算已下达学校，不能重复下达。")
    quotas = list(
        Quota.objects.filter(
            programme=budget.programme, school_year=budget.school_year, places__gt=0
        ).order_by("school_id")
    )
    if not quotas:
        raise DomainError("该项目本学年尚未下达名额，请先在“资助配置”中设定各校名额。")
    shares = split_by_weights(budget_total(budget), [q.places for q in quotas])
    created = FundEntry.objects.bulk_create(
        FundEntry(
            kind=FundEntryKind.ALLOCATION,
            programme=budget.programme,
            school_year=budget.school_year,
            school_id=quota.school_id,
            amount=share,
            cause=f"按名额 {quota.places} 人下达",
            actor=actor,
        )
        for quota, share in zip(quotas, shares, strict=True)
    )
    audit.record(
        "fund.allocated",
        actor=actor,
        subject=budget,
        after={"schools": len(created), "total": budget_total(budget)},
    )
    return created


@transaction.atomic
def record_disbursement(batch: PaymentBatch, *, actor: User) -> list[FundEntry]:
    """DISBURSEMENT entries per school for a settled batch's paid lines; once per batch."""
    require_district(actor)
    batch = PaymentBatch.objects.select_for_update().get(pk=batch.pk)
    if batch.status != BatchStatus.SETTLED:
        raise DomainError("批次尚未回盘，回盘后才能记入资金台账。")
    existing = list(FundEntry.objects.filter(batch=batch, kind=FundEntryKind.DISBURSEMENT))
    if existing:
        return existing
    per_school = (
        PaymentLine.objects.filter(batch=batch, status=LineStatus.PAID)
        .values("school_id")
        .annotate(total=Sum("amount"))
        .order_by("school_id")
    )
    created = FundEntry.objects.bulk_create(
        FundEntry(
            kind=FundEntryKind.DISBURSEMENT,
            programme_id=batch.programme_id,
            school_year_id=batch.school_year_id,
            school_id=row["school_id"],
            amount=row["total"],
            cause=f"批次 {batch.number}",
            batch=batch,
            actor=actor,
        )
        for row in per_school
        if row["total"]
    )
    audit.record(
        "fund.disbursed",
        actor=actor,
        subject=batch,
        after={"schools": len(created), "total": sum((e.amount for e in created), Decimal(0))},
    )
    return created


# --- balances -----------------------------------------------------------------------------


@dataclass
class SchoolFunds:
    school: OrgUnit
    places: int = 0
    allocated: Decimal = Decimal("0.00")
    disbursed: Decimal = Decimal("0.00")
    surplus: Decimal = Decimal("0.00")  # already moved to the pool
    pool_out: Decimal = Decimal("0.00")  # received from the pool

    @property
    def available(self) -> Decimal:
        return self.allocated + self.pool_out - self.disbursed - self.surplus


@dataclass
class FundBalances:
    budget: Budget | None
    allocated: Decimal = Decimal("0.00")
    disbursed: Decimal = Decimal("0.00")
    pool_in: Decimal = Decimal("0.00")
    pool_out: Decimal = Decimal("0.00")
    schools: list[SchoolFunds] = field(default_factory=list)

    @property
    def pool_balance(self) -> Decimal:
        return self.pool_in - self.pool_out

    @property
    def budget_total(self) -> Decimal:
        return budget_total(self.budget) if self.budget else Decimal("0.00")


_SCHOOL_SUMS = {
    "allocated": FundEntryKind.ALLOCATION,
    "disbursed": FundEntryKind.DISBURSEMENT,
    "surplus": FundEntryKind.SURPLUS,
    "pool_out": FundEntryKind.POOL_OUT,
}


def fund_balances(programme: Programme, school_year: SchoolYear) -> FundBalances:
    """The programme's year in two queries over the ledger and one over the quotas."""
    entries = _entries(programme, school_year)
    totals = entries.aggregate(
        allocated=Sum("amount", filter=Q(kind=FundEntryKind.ALLOCATION)),
        disbursed=Sum("amount", filter=Q(kind=FundEntryKind.DISBURSEMENT)),
        pool_in=Sum("amount", filter=Q(kind__in=POOL_IN_KINDS)),
        pool_out=Sum("amount", filter=Q(kind=FundEntryKind.POOL_OUT)),
    )
    balances = FundBalances(
        budget=Budget.objects.filter(programme=programme, school_year=school_year).first(),
        allocated=totals["allocated"] or Decimal("0.00"),
        disbursed=totals["disbursed"] or Decimal("0.00"),
        pool_in=totals["pool_in"] or Decimal("0.00"),
        pool_out=totals["pool_out"] or Decimal("0.00"),
    )
    schools: dict[int, SchoolFunds] = {}
    quotas = Quota.objects.filter(programme=programme, school_year=school_year)
    for quota in quotas.select_related("school").order_by("school__code"):
        schools[quota.school_id] = SchoolFunds(school=quota.school, places=quota.places)
    rows = (
        entries.filter(school__isnull=False)
        .values("school_id", "kind")
        .annotate(total=Sum("amount"))
        .order_by()
    )
    missing = {r["school_id"] for r in rows} - schools.keys()
    for unit in OrgUnit.objects.filter(pk__in=missing):
        schools[unit.pk] = SchoolFunds(school=unit)
    for row in rows:
        for attr, kind in _SCHOOL_SUMS.items():
            if row["kind"] == kind:
                setattr(schools[row["school_id"]], attr, row["total"])
    balances.schools = list(schools.values())
    return balances


def pool_ledger(programme: Programme, school_year: SchoolYear) -> Any:
    """The pool's ins (surplus, recoveries) and outs, oldest first."""
    kinds = (*POOL_IN_KINDS, FundEntryKind.POOL_OUT)
    return (
        _entries(programme, school_year)
        .filter(kind__in=kinds)
        .select_related("school", "actor")
        .order_by("at", "id")
    )


# --- surplus ------------------------------------------------------------------------------


@dataclass
class SurplusRow:
    school: OrgUnit
    places: int
    awards: int
    live: int
    status_changes: int
    available: Decimal
    still_owed: Decimal

    @property
    def surplus(self) -> Decimal:
        return max(self.available - self.still_owed, Decimal("0.00"))

    @property
    def cause(self) -> str:
        causes = []
        if self.status_changes:
            causes.append(CAUSE_STATUS_CHANGE)
        if self.awards < self.places:
            causes.append(CAUSE_FEWER_RECIPIENTS)
        return "；".join(causes) or CAUSE_OTHER


def _paid_by_award(awards: list[Award]) -> dict[int, Decimal]:
    rows = (
        PaymentLine.objects.filter(award__in=awards, status=LineStatus.PAID)
        .values("award_id")
        .annotate(total=Sum("amount"))
        .order_by()
    )
    return {r["award_id"]: r["total"] for r in rows}


def _year_entitlement(award: Award, school_year: SchoolYear) -> Decimal:
    start = first_of_month(school_year.starts_on)
    end = first_of_month(school_year.ends_on)
    # The changes are passed so a cached computation never outlives a new change.
    return period_amount(award, start, end, changes=tuple(award.changes.all()))


def still_owed(awards: list[Award], school_year: SchoolYear) -> Decimal:
    """What the school's awards are still owed this year: entitlement less what was paid."""
    paid = _paid_by_award(awards)
    owed = Decimal("0.00")
    for award in awards:
        owed += max(_year_entitlement(award, school_year) - paid.get(award.pk, 0), Decimal(0))
    return owed


def surplus_preview(programme: Programme, school_year: SchoolYear) -> list[SurplusRow]:
    """Per school: available (allocated + from pool − disbursed − moved) less still owed."""
    balances = fund_balances(programme, school_year)
    awards = list(
        Award.objects.filter(programme=programme, school_year=school_year)
        .select_related("school_year")
        .prefetch_related("changes")
        .annotate(
            ended=Count(
                "changes",
                filter=Q(changes__kind__in=(AwardChangeKind.END, AwardChangeKind.STOP)),
            )
        )
    )
    by_school: dict[int, list[Award]] = {}
    for award in awards:
        by_school.setdefault(award.school_id, []).append(award)
    rows = []
    for funds in balances.schools:
        mine = by_school.get(funds.school.pk, [])
        rows.append(
            SurplusRow(
                school=funds.school,
                places=funds.places,
                awards=len(mine),
                live=sum(1 for a in mine if a.status == AwardStatus.LIVE),
                status_changes=sum(1 for a in mine if getattr(a, "ended", 0)),
                available=funds.available,
                still_owed=still_owed(mine, school_year),
            )
        )
    return rows


@transaction.atomic
def move_surplus_to_pool(
    programme: Programme, school_year: SchoolYear, *, actor: User
) -> list[FundEntry]:
    """结余结转统筹 (seed 二(二)3): each school's surplus becomes a SURPLUS entry with its cause.
    Running it again moves only what became surplus since (moved amounts are deducted)."""
    require_district(actor)
    _lock_budget(programme, school_year)
    created = FundEntry.objects.bulk_create(
        FundEntry(
            kind=FundEntryKind.SURPLUS,
            programme=programme,
            school_year=school_year,
            school=row.school,
            amount=row.surplus,
            cause=row.cause,
            actor=actor,
        )
        for row in surplus_preview(programme, school_year)
        if row.surplus > 0
    )
    audit.record(
        "fund.surplus_moved",
        actor=actor,
        after={
            "programme": programme.code,
            "school_year": school_year.code,
            "schools": {e.school_id: [e.amount, e.cause] for e in created},
        },
    )
    return created


@transaction.atomic
def pool_out(
    programme: Programme,
    school_year: SchoolYear,
    *,
    actor: User,
    school: OrgUnit,
    amount: Any,
    cause: str,
) -> FundEntry:
    """统筹资金调出 to a school; never beyond the pool balance."""
    require_district(actor)
    amount = money(amount)
    if amount <= 0:
        raise DomainError("调出金额必须大于 0。")
    if not cause.strip():
        raise DomainError("请填写调出原因。")
    _lock_budget(programme, school_year)
    balance = fund_balances(programme, school_year).pool_balance
    if amount > balance:
        raise DomainError(f"统筹资金余额为 {balance} 元，不足以调出 {amount} 元。")
    entry = FundEntry.objects.create(
        kind=FundEntryKind.POOL_OUT,
        programme=programme,
        school_year=school_year,
        school=school,
        amount=amount,
        cause=cause.strip()[:200],
        actor=actor,
    )
    audit.record(
        "fund.pool_out",
        actor=actor,
        subject=entry,
        org_unit=school,
        after={"amount": amount, "cause": entry.cause, "balance_before": balance},
    )
    return entry
