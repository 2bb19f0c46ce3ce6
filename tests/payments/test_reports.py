"""Payment reports per school, programme and period within reach, and the national system's
aided-students export (dates YYYYMMDD, clear ID numbers for the district only)."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from python_calamine import CalamineWorkbook

from tests.aid.test_migration import grant
from tests.conftest import PASSWORD
from tests.factories import StudentFactory
from tests.payments.funds_setup import paid_batch, year
from zizhu.aid.models import Award, AwardChangeKind
from zizhu.aid.services.awards import change_award
from zizhu.core.errors import NotPermitted
from zizhu.core.models import AuditEntry, OrgUnit, User
from zizhu.payments.models import LineStatus
from zizhu.payments.services import reports

pytestmark = pytest.mark.django_db


@pytest.fixture
def awards(school_a: OrgUnit, school_b: OrgUnit, district_officer: User) -> list[Award]:
    a = grant(StudentFactory(school=school_a, name="张小花"), district_officer)
    b = grant(StudentFactory(school=school_b, name="李小明"), district_officer)
    paid_batch([a], district_officer, Decimal("625.00"))
    paid_batch([b], district_officer, Decimal("625.00"), status=LineStatus.FAILED)
    return [a, b]


def sheet(content: bytes) -> list[list[str]]:
    book = CalamineWorkbook.from_filelike(io.BytesIO(content))
    return [[str(c) for c in row] for row in book.get_sheet_by_index(0).to_python()]


def test_report_by_school_within_reach(
    awards: list[Award], district_officer: User, officer_a: User
) -> None:
    rows = reports.payment_report(district_officer, by="school")
    assert [(r.label, r.paid, r.failed) for r in rows] == [
        ("邾城第一小学", Decimal("625.00"), Decimal("0.00")),
        ("阳逻第一小学", Decimal("0.00"), Decimal("625.00")),
    ]
    assert [r.label for r in reports.payment_report(officer_a, by="school")] == ["邾城第一小学"]
    by_period = reports.payment_report(district_officer, by="period")
    assert [r.label for r in by_period] == ["2026年09月起"]


def test_national_export_columns_and_dates(
    awards: list[Award], district_officer: User, client: Client
) -> None:
    change_award(
        awards[1],
        actor=district_officer,
        kind=AwardChangeKind.END,
        decided_on=date(2026, 10, 15),
        reason="转出",
    )
    client.login(username=district_officer.username, password=PASSWORD)

    response = client.get(reverse("payments:report_national"), {"year": year().pk})

    rows = sheet(response.content)
    assert tuple(rows[0]) == reports.NATIONAL_HEADERS
    by_name = {row[4]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
    alice = by_name["张小花"]
    assert alice["身份证号"] == str(awards[0].student.id_number)
    assert alice["开始日期"] == f"{awards[0].start_month:%Y%m%d}"
    assert len(alice["开始日期"]) == 8
    assert alice["结束日期"] == ""
    assert alice["发放金额合计"] == "625.00"
    assert by_name["李小明"]["结束日期"] == "20261031"
    assert AuditEntry.objects.filter(action="payment.national_exported").count() == 1


def test_schools_cannot_export_clear_id_numbers(awards: list[Award], officer_a: User) -> None:
    with pytest.raises(NotPermitted):
        reports.national_rows(officer_a, school_year=year())


def test_report_page_and_export_for_a_school(
    awards: list[Award], officer_a: User, client: Client
) -> None:
    client.login(username=officer_a.username, password=PASSWORD)
    page = client.get(reverse("payments:report_home"))
    assert "邾城第一小学" in page.content.decode()
    assert "阳逻第一小学" not in page.content.decode()
    export = client.get(reverse("payments:report_export"), {"by": "school"})
    assert [r[0] for r in sheet(export.content)[1:]] == ["邾城第一小学"]
    assert client.get(reverse("payments:report_national")).status_code == 403
