"""Entitlements: what an award owes per month and per period, to the cent (issue 7)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.test import override_settings
from hypothesis import given
from hypothesis import strategies as st

from tests.aid.test_migration import grant
from tests.factories import StudentFactory
from zizhu.aid.models import Award, AwardChange, AwardChangeKind, AwardStatus, SchoolYear
from zizhu.aid.services.awards import change_award
from zizhu.core.models import OrgUnit, User
from zizhu.payments.services.entitlements import month_amounts, period_amount
from zizhu.registry.models import ChangeKind
from zizhu.registry.services import record_status_change

YEAR = SchoolYear(code="2026-2027", starts_on=date(2026, 9, 1), ends_on=date(2027, 8, 31))
MONTHS = [date(2026 + (8 + i) // 12, (8 + i) % 12 + 1, 1) for i in range(12)]
AUTUMN = (MONTHS[0], MONTHS[4])  # September–January
SPRING = (MONTHS[5], MONTHS[11])  # February–August


def award(annual: Decimal, *, start: int = 0, end: int | None = None) -> Award:
    return Award(
        annual_amount=annual,
        start_month=MONTHS[start],
        end_month=None if end is None else MONTHS[end],
        school_year=YEAR,
    )


def tier_changes(annual: Decimal, steps: list[tuple[int, Decimal]]) -> list[AwardChange]:
    changes, old = [], annual
    for month, new in sorted(steps, key=lambda step: step[0]):
        changes.append(
            AwardChange(
                kind=AwardChangeKind.CHANGE_TIER,
                effective_month=MONTHS[month],
                old_amount=old,
                new_amount=new,
            )
        )
        old = new
    return changes


amounts = st.integers(min_value=0, max_value=1_000_000).map(lambda c: Decimal(c) / 100)
steps = st.lists(st.tuples(st.integers(min_value=1, max_value=11), amounts), max_size=3)


# --- properties --------------------------------------------------------------------------


@given(
    annual=amounts,
    start=st.integers(min_value=0, max_value=11),
    end=st.none() | st.integers(min_value=0, max_value=11),
    changes=steps,
)
def test_semesters_add_up_to_the_months_to_the_cent(
    annual: Decimal, start: int, end: int | None, changes: list[tuple[int, Decimal]]
) -> None:
    subject = award(annual, start=start, end=end)
    rows = tier_changes(annual, changes)
    months = month_amounts(subject, changes=rows)
    semesters = period_amount(subject, *AUTUMN, changes=rows, rule="prorata") + period_amount(
        subject, *SPRING, changes=rows, rule="prorata"
    )
    assert semesters == sum(months.values(), Decimal("0.00"))
    for amount in months.values():
        assert amount >= 0
        assert amount.as_tuple().exponent == -2


@given(annual=amounts)
def test_an_unchanged_full_year_pays_exactly_its_annual_amount(annual: Decimal) -> None:
    months = month_amounts(award(annual), changes=[])
    assert len(months) == 12
    assert sum(months.values(), Decimal("0.00")) == annual


@given(
    annual=amounts,
    start=st.integers(min_value=0, max_value=11),
    stop=st.integers(min_value=0, max_value=11),
    changes=steps,
)
def test_stopping_in_a_month_pays_nothing_after_it(
    annual: Decimal, start: int, stop: int, changes: list[tuple[int, Decimal]]
) -> None:
    # change_award(STOP) decided in month M leaves end_month = M.
    months = month_amounts(
        award(annual, start=start, end=stop), changes=tier_changes(annual, changes)
    )
    assert all(month <= MONTHS[stop] for month in months)
    assert all(month >= MONTHS[start] for month in months)


# --- examples ----------------------------------------------------------------------------


def test_remainder_cents_go_to_the_last_months_of_the_year() -> None:
    months = month_amounts(award(Decimal("1250.00")), changes=[])
    assert [months[m] for m in MONTHS[:4]] == [Decimal("104.16")] * 4
    assert [months[m] for m in MONTHS[4:]] == [Decimal("104.17")] * 8
    assert period_amount(award(Decimal("1250.00")), *AUTUMN, changes=[]) == Decimal("520.81")


def test_a_tier_change_pays_each_month_at_the_amount_in_force() -> None:
    rows = tier_changes(Decimal("1200.00"), [(2, Decimal("2400.00"))])
    months = month_amounts(award(Decimal("2400.00")), changes=rows)
    assert months[MONTHS[0]] == months[MONTHS[1]] == Decimal("100.00")
    assert months[MONTHS[2]] == Decimal("200.00")


def test_an_award_that_ended_before_it_began_owes_nothing() -> None:
    assert month_amounts(award(Decimal("1250.00"), start=3, end=2), changes=[]) == {}


def test_months_before_the_school_year_are_not_owed() -> None:
    early = award(Decimal("1200.00"))
    early.start_month = date(2026, 5, 1)
    assert min(month_amounts(early, changes=[])) == MONTHS[0]


def test_whole_period_rule_pays_the_full_semester_for_one_owed_month() -> None:
    subject = award(Decimal("1200.00"), end=1)  # paid through October
    assert period_amount(subject, *AUTUMN, changes=[], rule="prorata") == Decimal("200.00")
    assert period_amount(subject, *AUTUMN, changes=[], rule="whole_period_if_any") == Decimal(
        "500.00"
    )
    assert period_amount(subject, *SPRING, changes=[], rule="whole_period_if_any") == 0


@override_settings(ZIZHU_PART_PERIOD_RULE="whole_period_if_any")
def test_the_part_period_rule_comes_from_settings() -> None:
    subject = award(Decimal("1200.00"), end=1)
    assert period_amount(subject, *AUTUMN, changes=[]) == Decimal("500.00")


# --- through the real services ------------------------------------------------------------


@pytest.fixture
def live_award(district_officer: User, school_a: OrgUnit) -> Award:
    return grant(StudentFactory(school=school_a), district_officer)


def test_stop_decided_in_october_pays_september_and_october_only(
    district_officer: User, live_award: Award
) -> None:
    change_award(
        live_award,
        actor=district_officer,
        kind=AwardChangeKind.STOP,
        decided_on=date(2026, 10, 15),
        reason="核实家庭经济状况好转",
    )
    live_award.refresh_from_db()
    assert list(month_amounts(live_award)) == [date(2026, 9, 1), date(2026, 10, 1)]
    assert period_amount(live_award, *AUTUMN) == Decimal("208.32")
    assert period_amount(live_award, *SPRING) == 0


@pytest.mark.parametrize("kind", [ChangeKind.DEATH, ChangeKind.DROPOUT])
def test_leaving_school_through_the_ledger_ends_payment_from_the_next_month(
    officer_a: User, live_award: Award, kind: str
) -> None:
    record_status_change(
        live_award.student,
        actor=officer_a,
        kind=kind,
        effective_on=date(2026, 10, 20),
        reason="学籍异动登记",
    )
    live_award.refresh_from_db()
    assert live_award.status == AwardStatus.ENDED
    assert max(month_amounts(live_award)) == date(2026, 10, 1)
    assert period_amount(live_award, *AUTUMN) == Decimal("208.32")


def test_a_tier_change_through_the_service_is_paid_from_the_next_month(
    district_officer: User, live_award: Award
) -> None:
    from zizhu.aid.models import DifficultyTier

    other = DifficultyTier.objects.exclude(pk=live_award.tier_id).order_by("rank").first()
    assert other is not None
    change = change_award(
        live_award,
        actor=district_officer,
        kind=AwardChangeKind.CHANGE_TIER,
        decided_on=date(2026, 10, 15),
        reason="春季复核调整等级",
        new_tier=other,
    )
    live_award.refresh_from_db()
    months = month_amounts(live_award)
    assert months[date(2026, 10, 1)] == Decimal("104.16")
    assert change.new_amount is not None
    assert sum(months.values()) == sum(
        month_amounts(award(Decimal(change.new_amount)), changes=[])[m] for m in MONTHS[2:]
    ) + Decimal("208.32")
