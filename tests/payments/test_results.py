"""发放回盘 import (issue 7, "Batches"): successes close lines, failures go back to the school
and into the next batch; the same file twice changes nothing; totals must match."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

import factory
import pytest

from tests.aid.test_migration import grant
from tests.factories import StudentFactory
from zizhu.aid.models import AwardStatus, Programme, SchoolYear, Term
from zizhu.core.audit import AuditEntry
from zizhu.core.errors import ImportRejected, InvalidTransition, NotPermitted
from zizhu.core.models import OrgUnit, User
from zizhu.core.worklist import work_items_for
from zizhu.payments.models import (
    BankResultImport,
    BatchStatus,
    LineStatus,
    PaymentBatch,
    PaymentLine,
)
from zizhu.payments.services.batches import approve_batch, create_batch, export_bank_file
from zizhu.payments.services.results import failed_payments, import_bank_results, retry_failed
from zizhu.registry.models import Student

pytestmark = pytest.mark.django_db

HEADER = ("批次号", "身份证号", "银行卡号", "金额", "结果", "失败原因")


def paying_student(school: OrgUnit) -> Student:
    """A student whose own card passes the pre-payment check."""
    return StudentFactory(school=school, card_holder_id=factory.SelfAttribute("id_number"))


def draft_batch(actor: User) -> PaymentBatch:
    """create_batch for the autumn semester of 2026-2027 (it runs the check too)."""
    year = SchoolYear.objects.get(code="2026-2027")
    return create_batch(
        actor=actor,
        programme=Programme.objects.get(code="COMPULSORY_LIVING"),
        school_year=year,
        semester=year.semesters.get(term=Term.AUTUMN),
    )


def exported_batch(officer: User, head: User, students: Sequence[Student]) -> PaymentBatch:
    """A batch as the bank saw it: granted, created, checked, approved and exported."""
    for student in students:
        if not student.awards.filter(status=AwardStatus.LIVE).exists():
            grant(student, officer)
    batch = draft_batch(officer)
    approve_batch(batch, actor=head)
    export_bank_file(batch, actor=officer)
    batch.refresh_from_db()
    return batch


def result_file(batch: PaymentBatch, rows: Sequence[Sequence[str]] | None = None) -> bytes:
    """A 发放回盘 CSV; by default every line of `batch` succeeded."""
    if rows is None:
        rows = [result_row(batch, line) for line in batch.lines.select_related("student")]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    writer.writerows(rows)
    return buffer.getvalue().encode()


def result_row(
    batch: PaymentBatch, line: PaymentLine, result: str = "成功", reason: str = ""
) -> list[str]:
    return [
        batch.number,
        str(line.student.id_number),
        str(line.bank_account),
        f"{line.amount:.2f}",
        result,
        reason,
    ]


def with_failure(batch: PaymentBatch, failed: Student, reason: str = "账户已销户") -> bytes:
    rows = [
        result_row(batch, line, *(("失败", reason) if line.student_id == failed.pk else ()))
        for line in batch.lines.select_related("student").order_by("pk")
    ]
    return result_file(batch, rows)


@pytest.fixture
def students(school_a: OrgUnit) -> list[Student]:
    return [paying_student(school_a) for _ in range(3)]


@pytest.fixture
def batch(district_officer: User, district_head: User, students: list[Student]) -> PaymentBatch:
    return exported_batch(district_officer, district_head, students)


def test_all_successes_close_lines_and_settle_the_batch(
    batch: PaymentBatch, district_officer: User
) -> None:
    result = import_bank_results(batch, result_file(batch), "回盘.csv", actor=district_officer)

    assert (result.rows, result.succeeded, result.failed) == (3, 3, 0)
    assert set(batch.lines.values_list("status", flat=True)) == {LineStatus.PAID}
    batch.refresh_from_db()
    assert batch.status == BatchStatus.SETTLED
    assert batch.settled_at is not None
    assert AuditEntry.objects.filter(action="payment.results_imported").count() == 1


def test_failure_marks_the_line_failed_with_the_banks_reason(
    batch: PaymentBatch, district_officer: User, students: list[Student]
) -> None:
    result = import_bank_results(
        batch, with_failure(batch, students[1]), "回盘.csv", actor=district_officer
    )

    assert (result.succeeded, result.failed) == (2, 1)
    failed = batch.lines.get(student=students[1])
    assert failed.status == LineStatus.FAILED
    assert failed.result_reason == "账户已销户"
    assert batch.lines.filter(status=LineStatus.PAID).count() == 2


def test_totals_mismatch_is_refused_with_both_totals(
    batch: PaymentBatch, district_officer: User
) -> None:
    lines = list(batch.lines.select_related("student"))
    partial = result_file(batch, [result_row(batch, line) for line in lines[:2]])

    with pytest.raises(ImportRejected) as refused:
        import_bank_results(batch, partial, "回盘.csv", actor=district_officer)

    share = lines[0].amount
    assert f"2 笔、合计 {share * 2:.2f} 元" in refused.value.message
    assert f"3 笔、合计 {share * 3:.2f} 元" in refused.value.message
    assert not BankResultImport.objects.exists()
    assert set(batch.lines.values_list("status", flat=True)) == {LineStatus.PAYABLE}


def test_importing_the_same_file_twice_changes_nothing(
    batch: PaymentBatch, district_officer: User, students: list[Student]
) -> None:
    data = with_failure(batch, students[0])
    first = import_bank_results(batch, data, "回盘.csv", actor=district_officer)
    statuses = dict(batch.lines.values_list("pk", "status"))

    again = import_bank_results(batch, data, "回盘-副本.csv", actor=district_officer)

    assert again.pk == first.pk
    assert BankResultImport.objects.count() == 1
    assert dict(batch.lines.values_list("pk", "status")) == statuses
    assert AuditEntry.objects.filter(action="payment.result_reimported").count() == 1
    assert AuditEntry.objects.filter(action="payment.results_imported").count() == 1


def test_unknown_row_refuses_the_whole_file(
    batch: PaymentBatch, district_officer: User, school_a: OrgUnit
) -> None:
    stranger = StudentFactory(school=school_a)
    lines = list(batch.lines.select_related("student"))
    rows = [result_row(batch, line) for line in lines[:2]]
    share = f"{lines[0].amount:.2f}"
    rows.append([batch.number, stranger.id_number, stranger.bank_account, share, "成功", ""])

    with pytest.raises(ImportRejected) as refused:
        import_bank_results(batch, result_file(batch, rows), "回盘.csv", actor=district_officer)

    assert [row["row"] for row in refused.value.report] == [4]
    assert set(batch.lines.values_list("status", flat=True)) == {LineStatus.PAYABLE}


def test_rows_of_another_batch_are_refused(batch: PaymentBatch, district_officer: User) -> None:
    rows = [result_row(batch, line) for line in batch.lines.select_related("student")]
    rows[0][0] = "PB2026999999"

    with pytest.raises(ImportRejected) as refused:
        import_bank_results(batch, result_file(batch, rows), "回盘.csv", actor=district_officer)

    assert refused.value.report[0]["column"] == "批次号"
    assert not BankResultImport.objects.exists()


def test_amount_differing_from_the_line_is_refused(
    batch: PaymentBatch, district_officer: User
) -> None:
    rows = [result_row(batch, line) for line in batch.lines.select_related("student")]
    rows[0][3] = "1.00"

    with pytest.raises(ImportRejected) as refused:
        import_bank_results(batch, result_file(batch, rows), "回盘.csv", actor=district_officer)

    assert refused.value.report[0]["column"] == "金额"


def test_batch_not_yet_exported_takes_no_results(
    district_officer: User, students: list[Student]
) -> None:
    for student in students:
        grant(student, district_officer)
    checked = draft_batch(district_officer)

    with pytest.raises(InvalidTransition):
        import_bank_results(checked, result_file(checked), "回盘.csv", actor=district_officer)


def test_school_officer_and_head_cannot_import(
    batch: PaymentBatch, officer_a: User, district_head: User
) -> None:
    for actor in (officer_a, district_head):
        with pytest.raises(NotPermitted):
            import_bank_results(batch, result_file(batch), "回盘.csv", actor=actor)


def test_failure_reaches_the_schools_officer_and_not_another_school(
    batch: PaymentBatch,
    district_officer: User,
    students: list[Student],
    officer_a: User,
    officer_b: User,
) -> None:
    import_bank_results(batch, with_failure(batch, students[2]), "回盘.csv", actor=district_officer)

    titles = [item.title for item in work_items_for(officer_a)]
    assert "1 条资助发放失败，请核对银行卡信息" in titles
    assert failed_payments(officer_b) == []
    assert failed_payments(district_officer) == []


def test_failed_line_goes_into_the_next_batch_of_the_period_with_the_fixed_card(
    batch: PaymentBatch, district_officer: User, students: list[Student], officer_a: User
) -> None:
    import_bank_results(batch, with_failure(batch, students[0]), "回盘.csv", actor=district_officer)
    failed = batch.lines.get(student=students[0])
    Student.objects.filter(pk=students[0].pk).update(bank_account="6228480000000000001")
    follow_up = draft_batch(district_officer)

    assert retry_failed(follow_up, actor=district_officer) == 1

    retry = follow_up.lines.get(status=LineStatus.PAYABLE)
    assert retry.retry_of == failed
    assert retry.amount == failed.amount
    assert retry.bank_account == "6228480000000000001"
    # The paid students are blocked as already paid for the period.
    assert follow_up.lines.filter(status=LineStatus.BLOCKED).count() == 2
    assert failed_payments(officer_a) == []
    assert retry_failed(follow_up, actor=district_officer) == 0
