"""资金台账 (seed 二(二)3): budgets with four shares, allocation by quota to the cent,
disbursements, surplus with its cause moved to the district pool, and money out of it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.aid.test_migration import grant
from tests.conftest import PASSWORD
from tests.factories import StudentFactory
from tests.payments.funds_setup import living, paid_batch, year
from zizhu.aid.models import AwardChangeKind
from zizhu.aid.services.awards import change_award
from zizhu.aid.services.config import set_quotas
from zizhu.core.errors import DomainError, NotPermitted
from zizhu.core.models import AuditEntry, OrgUnit, User
from zizhu.payments.models import Budget, FundEntry, FundEntryKind
from zizhu.payments.services import funds

pytestmark = pytest.mark.django_db

SHARES = {"central": "3000.00", "provincial": "1000.00", "city": "500", "district": "500.00"}


@pytest.fixture
def budget(district_officer: User) -> Budget:
    return funds.set_budget(living(), year(), actor=district_officer, **SHARES)


def quotas(actor: User, places: dict[OrgUnit, int]) -> None:
    set_quotas(
        living(), actor=actor, school_year=year(), places={s.pk: n for s, n in places.items()}
    )


# --- budget ------------------------------------------------------------------------------


def test_budget_keeps_the_four_shares_and_is_audited(budget: Budget) -> None:
    assert funds.budget_total(budget) == Decimal("5000.00")
    assert AuditEntry.objects.filter(action="fund.budget_set").count() == 1


@pytest.mark.parametrize("bad", ["-1", "1.234", "abc"])
def test_budget_refuses_negative_or_sub_cent_amounts(district_officer: User, bad: str) -> None:
    with pytest.raises(DomainError):
        funds.set_budget(living(), year(), actor=district_officer, **{**SHARES, "central": bad})


def test_school_officer_cannot_set_a_budget(officer_a: User) -> None:
    with pytest.raises(NotPermitted):
        funds.set_budget(living(), year(), actor=officer_a, **SHARES)


# --- allocation -------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    cents=st.integers(min_value=0, max_value=10**12),
    weights=st.lists(st.integers(min_value=0, max_value=5000), min_size=1, max_size=40).filter(
        lambda w: sum(w) > 0
    ),
)
def test_split_by_weights_is_cent_exact(cents: int, weights: list[int]) -> None:
    total = Decimal(cents) / 100
    shares = funds.split_by_weights(total, weights)
    assert sum(shares) == total
    assert all(s >= 0 and s == s.quantize(Decimal("0.01")) for s in shares)
    whole = sum(weights)
    for share, weight in zip(shares, weights, strict=True):
        assert abs(share - total * weight / whole) < Decimal("0.01")


def test_allocation_splits_the_budget_by_quota_to_the_cent(
    budget: Budget, district_officer: User, school_a: OrgUnit, school_b: OrgUnit
) -> None:
    quotas(district_officer, {school_a: 1, school_b: 2})

    entries = funds.allocate_by_quota(budget, actor=district_officer)

    by_school = {e.school_id: e.amount for e in entries}
    assert by_school == {school_a.pk: Decimal("1666.67"), school_b.pk: Decimal("3333.33")}
    assert sum(by_school.values()) == Decimal("5000.00")
    with pytest.raises(DomainError, match="不能重复下达"):
        funds.allocate_by_quota(budget, actor=district_officer)


def test_allocation_needs_quotas(budget: Budget, district_officer: User) -> None:
    with pytest.raises(DomainError, match="名额"):
        funds.allocate_by_quota(budget, actor=district_officer)


# --- surplus and the pool ---------------------------------------------------------------


@pytest.fixture
def allocated(
    budget: Budget, district_officer: User, school_a: OrgUnit, school_b: OrgUnit
) -> Budget:
    quotas(district_officer, {school_a: 2, school_b: 2})
    funds.allocate_by_quota(budget, actor=district_officer)
    return budget


def test_surplus_causes_status_change_and_fewer_recipients(
    allocated: Budget, district_officer: User, school_a: OrgUnit, school_b: OrgUnit
) -> None:
    # School A fills its two places but one pupil leaves; school B uses one place of two.
    a1, a2 = (grant(StudentFactory(school=school_a), district_officer) for _ in range(2))
    grant(StudentFactory(school=school_b), district_officer)
    change_award(
        a2,
        actor=district_officer,
        kind=AwardChangeKind.END,
        decided_on=date(2026, 9, 20),
        reason="学生死亡",
    )

    moved = funds.move_surplus_to_pool(living(), year(), actor=district_officer)

    causes = {e.school_id: e.cause for e in moved}
    assert causes[school_a.pk] == funds.CAUSE_STATUS_CHANGE
    assert causes[school_b.pk] == funds.CAUSE_FEWER_RECIPIENTS
    balances = funds.fund_balances(living(), year())
    assert balances.pool_in == sum(e.amount for e in moved)
    # Allocated 2500 each; A still owes a1's year and a2's September, B one year.
    assert balances.pool_in < Decimal("5000.00")
    assert a1.annual_amount > 0
    # A second run finds nothing new to move.
    assert funds.move_surplus_to_pool(living(), year(), actor=district_officer) == []


def test_pool_out_beyond_the_balance_is_refused(
    allocated: Budget, district_officer: User, school_a: OrgUnit, school_b: OrgUnit
) -> None:
    moved = funds.move_surplus_to_pool(living(), year(), actor=district_officer)
    balance = sum(e.amount for e in moved)
    assert balance == Decimal("5000.00")  # nobody was awarded

    with pytest.raises(DomainError, match="余额"):
        funds.pool_out(
            living(),
            year(),
            actor=district_officer,
            school=school_a,
            amount=balance + Decimal("0.01"),
            cause="补足名额",
        )
    entry = funds.pool_out(
        living(), year(), actor=district_officer, school=school_a, amount="100", cause="补足名额"
    )
    assert entry.kind == FundEntryKind.POOL_OUT
    assert funds.fund_balances(living(), year()).pool_balance == balance - 100


def test_disbursement_is_recorded_once_per_settled_batch(
    allocated: Budget, district_officer: User, school_a: OrgUnit
) -> None:
    award = grant(StudentFactory(school=school_a), district_officer)
    batch = paid_batch([award], district_officer, Decimal("625.00"))

    first = funds.record_disbursement(batch, actor=district_officer)
    again = funds.record_disbursement(batch, actor=district_officer)

    assert [e.amount for e in first] == [Decimal("625.00")]
    assert [e.pk for e in again] == [e.pk for e in first]
    assert FundEntry.objects.filter(kind=FundEntryKind.DISBURSEMENT).count() == 1
    assert funds.fund_balances(living(), year()).disbursed == Decimal("625.00")


# --- pages --------------------------------------------------------------------------------


def test_fund_home_for_the_district_not_for_schools(
    allocated: Budget, district_officer: User, officer_a: User, client: Client
) -> None:
    client.login(username=district_officer.username, password=PASSWORD)
    page = client.get(reverse("payments:fund_home"), {"programme": living().pk, "year": year().pk})
    assert page.status_code == 200
    assert "5000.00" in page.content.decode()
    surplus = client.get(reverse("payments:fund_surplus"), {"programme": living().pk})
    assert "确认转入统筹" in surplus.content.decode()

    client.login(username=officer_a.username, password=PASSWORD)
    assert client.get(reverse("payments:fund_home")).status_code == 403


def test_budget_form_posts_through_the_service(
    district_officer: User, client: Client, make_user: Callable[..., User]
) -> None:
    client.login(username=district_officer.username, password=PASSWORD)
    response = client.post(
        reverse("payments:fund_budget"),
        {"programme": living().pk, "year": year().pk, **SHARES},
    )
    assert response.status_code == 302
    assert Budget.objects.get(programme=living()).central == Decimal("3000.00")
