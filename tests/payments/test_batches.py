"""Payment batches: creation, the pre-payment check, approval and the bank file (issue 7)."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone
from python_calamine import CalamineWorkbook

from tests.aid.test_migration import grant
from tests.factories import GuardianFactory, StudentFactory, district, fake_id
from zizhu.aid.models import Award, AwardChangeKind, Programme, SchoolYear, Semester
from zizhu.aid.services.awards import change_award
from zizhu.cases.models import Channel, Clue, ClueStatus, FamilyAnswer, Opinion, Verification
from zizhu.core import services
from zizhu.core.errors import DomainError, InvalidTransition, NotCertified, NotPermitted
from zizhu.core.models import AuditEntry, OrgUnit, Role, User
from zizhu.payments.models import BatchStatus, LineStatus, PaymentBatch, PaymentLine
from zizhu.payments.services import batches
from zizhu.registry.models import ChangeKind, Student
from zizhu.registry.services import record_status_change


def year() -> SchoolYear:
    return SchoolYear.objects.get(code="2026-2027")


def semester(term: str = "autumn") -> Semester:
    return Semester.objects.get(school_year=year(), term=term)


def programme() -> Programme:
    return Programme.objects.get(code="COMPULSORY_LIVING")


def student(school: OrgUnit, **fields: Any) -> Student:
    """A student who holds their own valid card."""
    id_number = fake_id()
    fields.setdefault("card_holder_id", id_number)
    made: Student = StudentFactory(school=school, id_number=id_number, **fields)
    return made


def create(actor: User, term: str = "autumn") -> PaymentBatch:
    return batches.create_batch(
        actor=actor, programme=programme(), school_year=year(), semester=semester(term)
    )


def line_of(batch: PaymentBatch, pupil: Student) -> PaymentLine:
    return PaymentLine.objects.get(batch=batch, student=pupil)


@pytest.fixture
def awarded(district_officer: User, school_a: OrgUnit) -> Callable[..., Award]:
    def make(**fields: Any) -> Award:
        return grant(student(school_a, **fields), district_officer)

    return make


# --- creating ----------------------------------------------------------------------------


def test_district_officer_creates_a_checked_batch_with_cent_exact_totals(
    district_officer: User, awarded: Callable[..., Award]
) -> None:
    for _ in range(3):
        awarded()

    autumn, spring = create(district_officer), create(district_officer, "spring")

    assert autumn.number == f"PF{timezone.localdate().year}0001"
    assert spring.number == f"PF{timezone.localdate().year}0002"
    assert (autumn.period_start, autumn.period_end) == (date(2026, 9, 1), date(2027, 1, 1))
    assert autumn.status == BatchStatus.CHECKED
    assert autumn.payable_count == 3
    assert autumn.payable_total == Decimal("1562.43")  # 3 × 520.81
    assert spring.payable_total == Decimal("2187.57")  # 3 × 729.19
    assert autumn.payable_total + spring.payable_total == 3 * Decimal("1250.00")
    assert AuditEntry.objects.filter(action="payment.batch_checked").count() == 2


def test_awards_owing_nothing_for_the_period_get_no_line(
    district_officer: User, awarded: Callable[..., Award]
) -> None:
    stopped = awarded()
    change_award(
        stopped,
        actor=district_officer,
        kind=AwardChangeKind.STOP,
        decided_on=date(2026, 8, 20),
        reason="开学前已停止资助",
    )
    batch = create(district_officer)
    assert not batch.lines.exists()


def test_school_officer_cannot_create_a_batch(officer_a: User) -> None:
    with pytest.raises(NotPermitted):
        create(officer_a)


def test_district_head_cannot_create_a_batch(district_head: User) -> None:
    with pytest.raises(NotPermitted):
        create(district_head)


def test_semester_of_another_year_is_refused(district_officer: User) -> None:
    other = Semester.objects.get(school_year__code="2025-2026", term="autumn")
    with pytest.raises(DomainError):
        batches.create_batch(
            actor=district_officer, programme=programme(), school_year=year(), semester=other
        )


# --- the pre-payment check ---------------------------------------------------------------


def open_clue(pupil: Student, actor: User, *, status: str = ClueStatus.SUBMITTED) -> Clue:
    clue = Clue.objects.create(
        number=f"XS{pupil.pk:06d}",
        channel=Channel.HOTLINE,
        allegation="反映家庭经济状况良好",
        status=status,
        received_on=date(2026, 10, 1),
    )
    clue.students.add(pupil)
    Verification.objects.create(
        clue=clue,
        contacted_on=date(2026, 10, 2),
        contacted_person="学生家长",
        contact_method="电话",
        answer=FamilyAnswer.CONFIRMED,
        conclusion="情况属实",
        opinion=Opinion.STOP,
        submitted_by=actor,
    )
    return clue


def test_each_blocking_reason_is_found(
    district_officer: User, officer_a: User, awarded: Callable[..., Award]
) -> None:
    clean = awarded().student
    no_card = awarded(bank_account=None).student
    bad_card = awarded(bank_account="12-34").student
    stranger = awarded(card_holder_id=fake_id(date(1980, 1, 1))).student
    suspended = awarded().student
    record_status_change(
        suspended,
        actor=officer_a,
        kind=ChangeKind.SUSPENSION,
        effective_on=date(2026, 11, 2),
        reason="因病休学",
    )
    clued = awarded().student
    open_clue(clued, district_officer)

    batch = create(district_officer)

    reasons = {line.student_id: line.reasons for line in batch.lines.all()}
    assert reasons == {
        clean.pk: [],
        no_card.pk: [batches.NO_CARD],
        bad_card.pk: [batches.NO_CARD],
        stranger.pk: [batches.HOLDER_MISMATCH],
        suspended.pk: [batches.NOT_ENROLLED],
        clued.pk: [batches.OPEN_CLUE],
    }
    assert line_of(batch, clean).status == LineStatus.PAYABLE
    assert line_of(batch, clued).status == LineStatus.BLOCKED
    assert batch.payable_count == 1
    assert batch.payable_total == Decimal("520.81")


def test_guardian_card_and_closed_clue_do_not_block(
    district_officer: User, awarded: Callable[..., Award]
) -> None:
    parent_id = fake_id(date(1985, 6, 1))
    award = awarded(card_holder_id=parent_id)
    GuardianFactory(student=award.student, id_number=parent_id)
    open_clue(award.student, district_officer, status=ClueStatus.CLOSED)

    batch = create(district_officer)

    assert line_of(batch, award.student).reasons == []


def test_a_line_paid_in_an_overlapping_batch_is_blocked(
    district_officer: User, awarded: Callable[..., Award]
) -> None:
    award = awarded()
    first = create(district_officer)
    PaymentLine.objects.filter(batch=first).update(status=LineStatus.PAID)

    second = create(district_officer)
    spring = create(district_officer, "spring")

    assert line_of(second, award.student).reasons == [batches.ALREADY_PAID]
    assert line_of(spring, award.student).reasons == []


def test_an_award_ended_since_creation_is_blocked_on_recheck(
    district_officer: User, awarded: Callable[..., Award]
) -> None:
    award = awarded()
    batch = create(district_officer)
    change_award(
        award,
        actor=district_officer,
        kind=AwardChangeKind.STOP,
        decided_on=date(2026, 8, 20),
        reason="补录：开学前已停止资助",
    )

    report = batches.check_batch(batch, actor=district_officer)

    assert report.blocked[0][1] == [batches.AWARD_ENDED]
    line = line_of(batch, award.student)
    assert (line.status, line.amount) == (LineStatus.BLOCKED, Decimal("0.00"))
    batch.refresh_from_db()
    assert (batch.payable_count, batch.payable_total) == (0, Decimal("0.00"))


def test_dry_run_reports_without_writing(
    district_officer: User, awarded: Callable[..., Award]
) -> None:
    award = awarded()
    batch = create(district_officer)
    Student.objects.filter(pk=award.student_id).update(bank_account=None, bank_account_hash=None)
    audits = AuditEntry.objects.count()

    report = batches.check_batch(batch, actor=district_officer, dry_run=True)

    assert [reasons for _, reasons in report] == [[batches.NO_CARD]]
    assert line_of(batch, award.student).status == LineStatus.PAYABLE
    assert AuditEntry.objects.count() == audits


def test_fixed_card_is_snapshot_on_recheck(
    district_officer: User, awarded: Callable[..., Award]
) -> None:
    award = awarded(bank_account=None)
    batch = create(district_officer)
    fixed = Student.objects.get(pk=award.student_id)
    fixed.bank_account = "6228480000123456789"
    fixed.save()

    batches.check_batch(batch, actor=district_officer)

    line = line_of(batch, fixed)
    assert (line.status, line.bank_account) == (LineStatus.PAYABLE, "6228480000123456789")


def test_school_officer_cannot_check(
    district_officer: User, officer_a: User, awarded: Callable[..., Award]
) -> None:
    awarded()
    batch = create(district_officer)
    with pytest.raises(NotPermitted):
        batches.check_batch(batch, actor=officer_a, dry_run=True)


# --- approval ----------------------------------------------------------------------------


def test_certified_head_approves_a_checked_batch(
    district_officer: User, district_head: User, awarded: Callable[..., Award]
) -> None:
    awarded()
    batch = batches.approve_batch(create(district_officer), actor=district_head)
    assert batch.status == BatchStatus.APPROVED
    assert PaymentBatch.objects.get(pk=batch.pk).approved_by == district_head
    assert AuditEntry.objects.filter(action="payment.batch_approved").exists()
    with pytest.raises(InvalidTransition):
        batches.check_batch(batch, actor=district_officer)


def test_batch_creator_cannot_approve(
    make_user: Callable[..., User], awarded: Callable[..., Award]
) -> None:
    both = make_user("officer_and_head", Role.DISTRICT_OFFICER, district(), certified=True)
    services.assign_role(both, actor=None, role=Role.DISTRICT_HEAD, org_unit=district())
    awarded()
    batch = create(both)
    with pytest.raises(NotPermitted, match="批次创建人不能审批自己创建的批次"):
        batches.approve_batch(batch, actor=both)


def test_uncertified_head_cannot_approve(
    district_officer: User, make_user: Callable[..., User], awarded: Callable[..., Award]
) -> None:
    uncertified = make_user("head_uncertified", Role.DISTRICT_HEAD, district())
    awarded()
    with pytest.raises(NotCertified):
        batches.approve_batch(create(district_officer), actor=uncertified)


def test_officer_without_approve_permission_cannot_approve(
    district_officer: User, officer_a: User, awarded: Callable[..., Award]
) -> None:
    awarded()
    batch = create(district_officer)
    for actor in (district_officer, officer_a):
        with pytest.raises(NotPermitted):
            batches.approve_batch(batch, actor=actor)


# --- the bank file -----------------------------------------------------------------------


def rows_of(content: bytes) -> list[list[Any]]:
    workbook = CalamineWorkbook.from_filelike(io.BytesIO(content))
    rows: list[list[Any]] = workbook.get_sheet_by_index(0).to_python()
    return rows


def test_bank_file_has_only_payable_lines_and_is_audited(
    district_officer: User, district_head: User, awarded: Callable[..., Award], school_a: OrgUnit
) -> None:
    paid = awarded(bank_account="6217000010009876543")
    awarded(bank_account=None)
    batch = create(district_officer)
    with pytest.raises(InvalidTransition):
        batches.export_bank_file(batch, actor=district_officer)
    batches.approve_batch(batch, actor=district_head)

    content = batches.export_bank_file(batch, actor=district_officer)

    rows = rows_of(content)
    assert rows[0] == list(batches.BANK_FILE_HEADER)
    assert rows[1:] == [
        [
            batch.number,
            "1",
            school_a.code,
            school_a.name,
            paid.student.name,
            paid.student.id_number,
            "6217000010009876543",
            "520.81",
        ]
    ]
    batch.refresh_from_db()
    assert batch.status == BatchStatus.EXPORTED
    entry = AuditEntry.objects.get(action="payment.bank_file_exported")
    assert entry.after == {"filters": {"batch": batch.number}, "rows": 1}
    assert rows_of(batches.export_bank_file(batch, actor=district_officer)) == rows


def test_head_and_school_cannot_export(
    district_officer: User,
    district_head: User,
    officer_a: User,
    awarded: Callable[..., Award],
) -> None:
    awarded()
    batch = batches.approve_batch(create(district_officer), actor=district_head)
    for actor in (district_head, officer_a):
        with pytest.raises(NotPermitted):
            batches.export_bank_file(batch, actor=actor)
