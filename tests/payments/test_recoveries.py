"""追缴: a clue decision "停止资助并追缴" opens a recovery; money paid for months after an award
ended is found and recovered once; collection feeds the pool; only the district head waives."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from tests.aid.test_migration import grant
from tests.cases.test_handling import decide, new_clue, verify
from tests.conftest import PASSWORD
from tests.factories import StudentFactory
from tests.payments.funds_setup import paid_batch, year
from zizhu.aid.models import Award, AwardChangeKind
from zizhu.aid.services.awards import change_award
from zizhu.cases.models import Opinion
from zizhu.cases.services import handling
from zizhu.core.errors import DomainError, InvalidTransition, NotPermitted
from zizhu.core.models import AuditEntry, OrgUnit, User
from zizhu.payments.models import FundEntry, FundEntryKind, Recovery, RecoveryStatus
from zizhu.payments.services import funds, recoveries
from zizhu.payments.services.entitlements import period_amount

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def calendar_ahead(db: None) -> None:
    from tests.aid.test_notices import ensure_calendar_ahead

    ensure_calendar_ahead()


@pytest.fixture
def award(school_a: OrgUnit, district_officer: User) -> Award:
    return grant(StudentFactory(school=school_a, name="张小花"), district_officer)


def a_recovery(award: Award, actor: User, amount: str = "500.00") -> Recovery:
    return recoveries.open_recovery(
        award, actor=actor, amount=amount, reason="虚报家庭情况", source={"manual": True}
    )


def test_a_recover_decision_opens_a_recovery(
    award: Award, district_officer: User, officer_a: User, school_a: OrgUnit
) -> None:
    clue = new_clue(district_officer, [award.student])
    handling.assign_clue(clue, actor=district_officer, school=school_a, note="请核查")
    verify(clue, officer_a)
    clue.refresh_from_db()

    decision = decide(
        clue,
        district_officer,
        opinion=Opinion.RECOVER,
        award=award,
        recover_amount=Decimal("625.00"),
    )

    recovery = Recovery.objects.get(award=award)
    assert recovery.amount == Decimal("625.00")
    assert recovery.source == {"clue": clue.pk, "decision": decision.pk}
    assert recovery.status == RecoveryStatus.OPEN


def test_payment_after_a_death_produces_a_recovery_once(
    award: Award, district_officer: User
) -> None:
    batch = paid_batch([award], district_officer, Decimal("625.00"))
    change_award(
        award,
        actor=district_officer,
        kind=AwardChangeKind.END,
        decided_on=date(2026, 10, 15),
        reason="学生死亡",
    )
    award.refresh_from_db()
    owed = period_amount(
        award, batch.period_start, batch.period_end, changes=tuple(award.changes.all())
    )
    assert owed < Decimal("625.00")

    opened = recoveries.detect_overpayments(actor=district_officer, school_year=year())

    assert [r.amount for r in opened] == [Decimal("625.00") - owed]
    assert opened[0].source["overpaid_line"] == batch.lines.get().pk
    assert recoveries.detect_overpayments(actor=district_officer, school_year=year()) == []


def test_a_live_award_paid_what_it_owes_is_not_overpaid(
    award: Award, district_officer: User
) -> None:
    owed = period_amount(award, date(2026, 9, 1), date(2027, 1, 1))
    paid_batch([award], district_officer, owed)
    assert recoveries.detect_overpayments(actor=district_officer, school_year=year()) == []


def test_collection_goes_into_the_pool(award: Award, district_officer: User) -> None:
    recovery = a_recovery(award, district_officer)

    recovery = recoveries.record_collection(recovery, actor=district_officer, amount="200")
    assert recovery.status == RecoveryStatus.PARTLY
    with pytest.raises(DomainError, match="不超过"):
        recoveries.record_collection(recovery, actor=district_officer, amount="300.01")
    recovery = recoveries.record_collection(recovery, actor=district_officer, amount="300")

    assert recovery.status == RecoveryStatus.COLLECTED
    assert FundEntry.objects.filter(kind=FundEntryKind.RECOVERY).count() == 2
    assert funds.fund_balances(award.programme, award.school_year).pool_balance == Decimal("500")
    with pytest.raises(InvalidTransition):
        recoveries.record_collection(recovery, actor=district_officer, amount="1")


def test_only_the_district_head_waives_with_a_reason(
    award: Award, district_officer: User, district_head: User
) -> None:
    recovery = a_recovery(award, district_officer)
    with pytest.raises(NotPermitted):
        recoveries.waive_recovery(recovery, actor=district_officer, reason="无力偿还")
    with pytest.raises(DomainError, match="原因"):
        recoveries.waive_recovery(recovery, actor=district_head, reason=" ")

    recovery = recoveries.waive_recovery(recovery, actor=district_head, reason="家庭无力偿还")

    assert recovery.status == RecoveryStatus.WAIVED
    assert AuditEntry.objects.filter(action="recovery.waived").count() == 1


def test_school_officer_cannot_open_a_recovery(award: Award, officer_a: User) -> None:
    with pytest.raises(NotPermitted):
        a_recovery(award, officer_a)


def test_schools_see_only_their_own_recoveries(
    award: Award, district_officer: User, officer_a: User, officer_b: User, client: Client
) -> None:
    recovery = a_recovery(award, district_officer)

    assert list(recoveries.recoveries_visible_to(officer_a)) == [recovery]
    assert list(recoveries.recoveries_visible_to(officer_b)) == []
    client.login(username=officer_b.username, password=PASSWORD)
    page = client.get(reverse("payments:recovery_list"))
    assert page.status_code == 200
    assert "张小花" not in page.content.decode()
    collect = reverse("payments:recovery_collect", args=[recovery.pk])
    assert client.post(collect, {"amount": "1"}).status_code == 404

    client.login(username=officer_a.username, password=PASSWORD)
    assert "张小花" in client.get(reverse("payments:recovery_list")).content.decode()


def test_recovery_pages_collect_and_waive(
    award: Award, district_officer: User, district_head: User, client: Client
) -> None:
    recovery = a_recovery(award, district_officer)
    client.login(username=district_officer.username, password=PASSWORD)
    client.post(reverse("payments:recovery_collect", args=[recovery.pk]), {"amount": "100"})
    client.login(username=district_head.username, password=PASSWORD)
    client.post(reverse("payments:recovery_waive", args=[recovery.pk]), {"reason": "无力偿还"})

    recovery.refresh_from_db()
    assert (recovery.collected, recovery.status) == (Decimal("100"), RecoveryStatus.WAIVED)
