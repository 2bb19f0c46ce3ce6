"""What an award owes, month by month and per payment period (issue 7, "Entitlements").

Computed from the award and its dated changes every time, never stored beside them: "from
the next month" (seed 二(二)3) and status-ledger endings are already in `end_month` and in
each CHANGE_TIER's `effective_month`, so nothing here special-cases them.

A year's amount is split into the school year's months to the cent: every month gets the
floor of amount ÷ months, and the remainder cents go one each to the last months of the
school year, so twelve months of an unchanged award add up exactly to its annual amount.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from functools import lru_cache

from django.conf import settings

from zizhu.aid.models import Award, AwardChange, AwardChangeKind
from zizhu.aid.rules import CENT, first_of_month, next_month

PRORATA = "prorata"
WHOLE_PERIOD_IF_ANY = "whole_period_if_any"
PART_PERIOD_RULES = frozenset({PRORATA, WHOLE_PERIOD_IF_ANY})


def year_months(award: Award) -> tuple[date, ...]:
    """First days of the months of the award's school year, in order."""
    return _months(award.school_year.starts_on, award.school_year.ends_on)


@lru_cache(maxsize=64)
def _months(starts_on: date, ends_on: date) -> tuple[date, ...]:
    month, last = first_of_month(starts_on), first_of_month(ends_on)
    months = []
    while month <= last:
        months.append(month)
        month = next_month(month)
    return tuple(months)


@lru_cache(maxsize=64)
def _month_index(starts_on: date, ends_on: date) -> dict[date, int]:
    return {month: i for i, month in enumerate(_months(starts_on, ends_on))}


@lru_cache(maxsize=4096)
def _split(annual: Decimal, months: int) -> tuple[Decimal, ...]:
    """`annual` over `months` months, cent-exact, remainder cents on the last months."""
    cents = int((annual / CENT).to_integral_value())
    base, remainder = divmod(cents, months)
    return tuple(
        (Decimal(base + (1 if index >= months - remainder else 0)) * CENT).quantize(CENT)
        for index in range(months)
    )


def _tier_changes(award: Award, changes: Sequence[AwardChange] | None) -> list[AwardChange]:
    rows = list(award.changes.all()) if changes is None else list(changes)
    return sorted(
        (c for c in rows if c.kind == AwardChangeKind.CHANGE_TIER and c.new_amount is not None),
        key=lambda c: (c.effective_month, c.pk or 0),
    )


def _amount_in_force(award: Award, tiers: Sequence[AwardChange], month: date) -> Decimal:
    amount = award.annual_amount
    if tiers:
        amount = tiers[0].old_amount if tiers[0].old_amount is not None else amount
    for change in tiers:
        if change.effective_month > month:
            break
        amount = change.new_amount if change.new_amount is not None else amount
    return Decimal(amount)


def _owed_months(award: Award, months: Sequence[date]) -> list[date]:
    if not months:
        return []
    first = max(first_of_month(award.start_month), months[0])
    last = months[-1]
    if award.end_month is not None:
        last = min(last, first_of_month(award.end_month))
    return [m for m in months if first <= m <= last]


def month_amounts(
    award: Award, *, changes: Sequence[AwardChange] | None = None
) -> dict[date, Decimal]:
    """Each owed month (first day) → the amount owed that month.

    `changes` lets a caller pass the award's changes it already loaded (batches do, for
    tens of thousands of awards at once); otherwise they are read from the award.
    """
    months = year_months(award)
    owed = _owed_months(award, months)
    if not owed:
        return {}
    tiers = _tier_changes(award, changes)
    index = _month_index(award.school_year.starts_on, award.school_year.ends_on)
    return {
        month: _split(_amount_in_force(award, tiers, month), len(months))[index[month]]
        for month in owed
    }


def part_period_rule() -> str:
    rule: str = getattr(settings, "ZIZHU_PART_PERIOD_RULE", PRORATA)
    return rule if rule in PART_PERIOD_RULES else PRORATA


def period_amount(
    award: Award,
    start: date,
    end: date,
    *,
    changes: Sequence[AwardChange] | None = None,
    rule: str | None = None,
) -> Decimal:
    """What the award owes for the months [start, end] (first days, inclusive).

    Under "prorata" that is the owed months' amounts. Under "whole_period_if_any" one owed
    month in the period pays every month of the period (within the school year) at the
    amount in force in the first owed month.
    """
    owed = {m: a for m, a in month_amounts(award, changes=changes).items() if start <= m <= end}
    if not owed:
        return Decimal("0.00")
    if (rule or part_period_rule()) != WHOLE_PERIOD_IF_ANY:
        return sum(owed.values(), Decimal("0.00"))
    months = year_months(award)
    annual = _amount_in_force(award, _tier_changes(award, changes), min(owed))
    split = _split(annual, len(months))
    return sum(
        (split[i] for i, month in enumerate(months) if start <= month <= end), Decimal("0.00")
    )
