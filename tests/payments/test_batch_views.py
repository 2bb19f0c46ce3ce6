"""Batch pages (issue 7): who may see, create, check, approve, export and import results."""

from __future__ import annotations

import io
from collections.abc import Callable

import factory
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from python_calamine import CalamineWorkbook

from tests.aid.test_migration import grant
from tests.factories import StudentFactory
from tests.payments.test_results import (
    draft_batch,
    exported_batch,
    paying_student,
    result_file,
    result_row,
    with_failure,
)
from zizhu.aid.models import Programme, SchoolYear, Term
from zizhu.core.models import OrgUnit, User
from zizhu.payments.models import BatchStatus, LineStatus, PaymentBatch
from zizhu.registry.models import Student

pytestmark = pytest.mark.django_db


@pytest.fixture
def login(client: Client) -> Callable[[User], Client]:
    def log_in(user: User) -> Client:
        client.force_login(user)
        return client

    return log_in


@pytest.fixture
def students(school_a: OrgUnit) -> list[Student]:
    return [paying_student(school_a) for _ in range(2)]


@pytest.fixture
def checked(district_officer: User, students: list[Student]) -> PaymentBatch:
    for student in students:
        grant(student, district_officer)
    return draft_batch(district_officer)


def detail(batch: PaymentBatch) -> str:
    return reverse("payments:batch_detail", args=[batch.pk])


def upload(data: bytes, name: str = "回盘.csv") -> dict[str, SimpleUploadedFile]:
    return {"file": SimpleUploadedFile(name, data, content_type="text/csv")}


def test_district_officer_creates_a_batch_on_the_form(
    login: Callable[[User], Client], district_officer: User, students: list[Student]
) -> None:
    for student in students:
        grant(student, district_officer)
    year = SchoolYear.objects.get(code="2026-2027")
    form = {
        "programme": Programme.objects.get(code="COMPULSORY_LIVING").pk,
        "school_year": year.pk,
        "semester": year.semesters.get(term=Term.AUTUMN).pk,
    }

    response = login(district_officer).post(reverse("payments:batch_create"), form)

    batch = PaymentBatch.objects.get()
    assert response.status_code == 302
    assert response["Location"] == detail(batch)
    assert batch.status == BatchStatus.CHECKED
    assert batch.lines.filter(status=LineStatus.PAYABLE).count() == 2


def test_school_officer_cannot_create_approve_export_or_import(
    login: Callable[[User], Client], officer_a: User, checked: PaymentBatch
) -> None:
    client = login(officer_a)
    assert client.get(reverse("payments:batch_create")).status_code == 403
    assert client.post(reverse("payments:batch_approve", args=[checked.pk])).status_code == 403
    assert client.post(reverse("payments:batch_export", args=[checked.pk])).status_code == 403
    assert client.post(reverse("payments:batch_check", args=[checked.pk])).status_code == 403
    results = reverse("payments:batch_results", args=[checked.pk])
    assert client.post(results, upload(b"x")).status_code == 403


def test_school_sees_its_own_lines_and_another_school_gets_404(
    login: Callable[[User], Client], officer_a: User, officer_b: User, checked: PaymentBatch
) -> None:
    response = login(officer_a).get(detail(checked))
    assert response.status_code == 200
    assert response.content.decode().count('data-testid="line-payable"') == 2

    client = login(officer_b)
    assert client.get(detail(checked)).status_code == 404
    assert checked.number not in client.get(reverse("payments:batch_list")).content.decode()


def test_blocked_line_shows_its_reason_in_chinese(
    login: Callable[[User], Client], district_officer: User, school_a: OrgUnit
) -> None:
    no_card = StudentFactory(
        school=school_a, bank_account="12345", card_holder_id=factory.SelfAttribute("id_number")
    )
    grant(no_card, district_officer)
    batch = draft_batch(district_officer)

    page = login(district_officer).get(detail(batch)).content.decode()

    assert 'data-testid="line-blocked"' in page
    assert "无有效银行卡" in page


def test_head_approves_after_confirmation_and_officer_downloads_the_bank_file(
    login: Callable[[User], Client],
    district_officer: User,
    district_head: User,
    checked: PaymentBatch,
) -> None:
    client = login(district_head)
    url = reverse("payments:batch_approve", args=[checked.pk])
    assert "确认审批" in client.get(url).content.decode()
    assert client.post(url).status_code == 302
    checked.refresh_from_db()
    assert checked.status == BatchStatus.APPROVED

    response = login(district_officer).post(reverse("payments:batch_export", args=[checked.pk]))

    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    rows = CalamineWorkbook.from_filelike(io.BytesIO(response.content))
    assert len(rows.get_sheet_by_index(0).to_python()) == 3
    checked.refresh_from_db()
    assert checked.status == BatchStatus.EXPORTED


def test_creator_cannot_approve_own_batch_on_the_page(
    login: Callable[[User], Client], district_officer: User, checked: PaymentBatch
) -> None:
    url = reverse("payments:batch_approve", args=[checked.pk])
    assert login(district_officer).post(url).status_code == 403


def test_result_upload_settles_and_a_bad_file_shows_the_row_report(
    login: Callable[[User], Client],
    district_officer: User,
    district_head: User,
    students: list[Student],
) -> None:
    batch = exported_batch(district_officer, district_head, students)
    client = login(district_officer)
    url = reverse("payments:batch_results", args=[batch.pk])
    rows = [result_row(batch, line) for line in batch.lines.select_related("student")]
    rows[0][0] = "PB-OTHER"

    refused = client.post(url, upload(result_file(batch, rows)))
    assert refused.status_code == 200
    assert "下载错误报告" in refused.content.decode()
    assert "属于其他批次" in refused.content.decode()

    response = client.post(url, upload(with_failure(batch, students[0])))
    assert response.status_code == 302
    batch.refresh_from_db()
    assert batch.status == BatchStatus.SETTLED
    page = client.get(detail(batch)).content.decode()
    assert "账户已销户" in page
    assert "已回盘" in page


def test_failed_payment_reaches_only_its_schools_officer(
    login: Callable[[User], Client],
    district_officer: User,
    district_head: User,
    students: list[Student],
    officer_a: User,
    officer_b: User,
) -> None:
    from zizhu.payments.services.results import import_bank_results

    batch = exported_batch(district_officer, district_head, students)
    import_bank_results(batch, with_failure(batch, students[1]), "回盘.csv", actor=district_officer)

    client = login(officer_a)
    home = client.get(reverse("core:home")).content.decode()
    assert "1 条资助发放失败，请核对银行卡信息" in home
    failed_page = client.get(reverse("payments:failed_lines")).content.decode()
    assert students[1].name in failed_page
    assert "账户已销户" in failed_page

    client = login(officer_b)
    assert "资助发放失败" not in client.get(reverse("core:home")).content.decode()
    assert students[1].name not in client.get(reverse("payments:failed_lines")).content.decode()


def test_lines_list_costs_the_same_queries_for_more_lines(
    login: Callable[[User], Client], district_officer: User, school_a: OrgUnit
) -> None:
    client = login(district_officer)
    few_students = [paying_student(school_a) for _ in range(2)]
    for student in few_students:
        grant(student, district_officer)
    few_batch = draft_batch(district_officer)
    client.get(detail(few_batch))
    with CaptureQueriesContext(connection) as few:
        client.get(detail(few_batch))
    for _ in range(6):
        grant(paying_student(school_a), district_officer)
    many_batch = draft_batch(district_officer)
    with CaptureQueriesContext(connection) as many:
        response = client.get(detail(many_batch))
    assert response.status_code == 200
    assert len(many) == len(few)

    client.get(reverse("payments:batch_list"))
    with CaptureQueriesContext(connection) as listing:
        assert client.get(reverse("payments:batch_list")).status_code == 200
    assert len(listing) < 10


def test_school_sees_only_its_own_payable_totals_in_list_and_detail(
    login: Callable[[User], Client],
    district_officer: User,
    officer_a: User,
    officer_b: User,
    school_b: OrgUnit,
    checked: PaymentBatch,
) -> None:
    """A batch spans schools: school B must not read school A's count or money from it."""
    grant(paying_student(school_b), district_officer)
    batch = draft_batch(district_officer)
    own_b = batch.lines.get(school=school_b)
    assert batch.payable_count == 3

    client = login(officer_b)
    listed = client.get(reverse("payments:batch_list")).context["page"].object_list
    row = next(b for b in listed if b.pk == batch.pk)
    assert (row.shown_payable_count, row.shown_payable_total) == (1, own_b.amount)
    totals = client.get(detail(batch)).context["totals"]
    assert (totals["payable_count"], totals["payable_total"]) == (1, own_b.amount)

    district = login(district_officer).get(reverse("payments:batch_list"))
    row = next(b for b in district.context["page"].object_list if b.pk == batch.pk)
    assert row.shown_payable_count == 3
    assert row.shown_payable_total == batch.payable_total
