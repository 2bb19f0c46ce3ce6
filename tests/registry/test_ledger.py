"""The status-change ledger service (学籍异动, seed 二(二)1): rules, derived status, reach."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from tests.factories import GuardianFactory, SchoolFactory, StudentFactory
from zizhu.core.errors import DomainError, InvalidTransition, NotPermitted
from zizhu.core.models import AuditEntry, OrgUnit, User
from zizhu.registry.models import (
    CHANGE_RULES,
    ChangeKind,
    ChangeSource,
    StatusChange,
    Student,
    StudentStatus,
)
from zizhu.registry.services import record_status_change

TODAY = timezone.localdate


@pytest.fixture
def alice(school_a: OrgUnit) -> Student:
    return StudentFactory(school=school_a, name="张小花")


def record(
    student: Student,
    actor: User,
    kind: str,
    *,
    effective_on: date | None = None,
    reason: str = "家长申请",
    evidence: ContentFile[bytes] | None = None,
    to_school: OrgUnit | None = None,
) -> StatusChange:
    return record_status_change(
        student,
        actor=actor,
        kind=kind,
        effective_on=effective_on or TODAY(),
        reason=reason,
        evidence=evidence,
        to_school=to_school,
    )


# --- the rules table ------------------------------------------------------------------------

RULE_CASES = [
    pytest.param(kind, status, status in allowed_from, id=f"{kind}-from-{status}")
    for kind, (allowed_from, _) in CHANGE_RULES.items()
    for status in StudentStatus.values
]


@pytest.mark.parametrize(("kind", "status", "allowed"), RULE_CASES)
def test_each_kind_is_allowed_or_refused_from_each_status_as_the_table_says(
    district_officer: User,
    school_a: OrgUnit,
    school_b: OrgUnit,
    kind: str,
    status: str,
    allowed: bool,
) -> None:
    student = StudentFactory(school=school_a, status=status)
    to_school = school_b if kind == ChangeKind.TRANSFER else None

    if not allowed:
        with pytest.raises(InvalidTransition, match="不能登记"):
            record(student, district_officer, kind, to_school=to_school)
        student.refresh_from_db()
        assert student.status == status
        assert not StatusChange.objects.filter(student=student).exists()
        return

    entry = record(student, district_officer, kind, to_school=to_school)

    student.refresh_from_db()
    expected = CHANGE_RULES[kind][1] or status
    assert (entry.status_before, entry.status_after) == (status, expected)
    assert student.status == expected


def test_the_status_follows_the_ledger_through_suspension_and_resumption(
    officer_a: User, alice: Student
) -> None:
    record(alice, officer_a, ChangeKind.SUSPENSION, effective_on=TODAY() - timedelta(days=30))
    alice.refresh_from_db()
    assert alice.status == StudentStatus.SUSPENDED

    record(alice, officer_a, ChangeKind.RESUMPTION)
    alice.refresh_from_db()
    assert alice.status == StudentStatus.ENROLLED

    record(alice, officer_a, ChangeKind.FAMILY_CHANGE, reason="父亲因病失去劳动能力")
    alice.refresh_from_db()
    assert alice.status == StudentStatus.ENROLLED
    kinds = list(StatusChange.objects.filter(student=alice).values_list("kind", flat=True))
    assert kinds == [ChangeKind.SUSPENSION, ChangeKind.RESUMPTION, ChangeKind.FAMILY_CHANGE]


def test_death_ends_every_further_change_but_a_family_change(
    officer_a: User, alice: Student
) -> None:
    record(alice, officer_a, ChangeKind.DEATH, reason="病故")
    alice.refresh_from_db()

    assert alice.status == StudentStatus.DECEASED
    with pytest.raises(InvalidTransition):
        record(alice, officer_a, ChangeKind.DEATH)
    with pytest.raises(InvalidTransition):
        record(alice, officer_a, ChangeKind.RESUMPTION)
    record(alice, officer_a, ChangeKind.FAMILY_CHANGE, reason="家庭申请丧葬救助")
    alice.refresh_from_db()
    assert alice.status == StudentStatus.DECEASED


def test_an_entry_records_who_what_when_and_the_evidence(officer_a: User, alice: Student) -> None:
    entry = record(
        alice,
        officer_a,
        ChangeKind.SUSPENSION,
        effective_on=TODAY() - timedelta(days=3),
        reason="  因病休学一年  ",
        evidence=ContentFile(b"%PDF-1.4 test", name="scan.pdf"),
    )

    entry.refresh_from_db()
    assert entry.actor == officer_a
    assert entry.source == ChangeSource.SCREEN
    assert entry.reason == "因病休学一年"
    assert entry.effective_on == TODAY() - timedelta(days=3)
    assert entry.from_school == alice.school
    assert entry.to_school is None
    assert entry.evidence.read() == b"%PDF-1.4 test"


# --- transfer within the district -------------------------------------------------------------


def test_transfer_moves_the_student_and_the_history_to_the_new_school(
    officer_a: User, officer_b: User, alice: Student, school_a: OrgUnit, school_b: OrgUnit
) -> None:
    guardian = GuardianFactory(student=alice)
    earlier = record(alice, officer_a, ChangeKind.FAMILY_CHANGE, reason="父母离异")

    entry = record(alice, officer_a, ChangeKind.TRANSFER, to_school=school_b, reason="随父母迁居")

    alice.refresh_from_db()
    assert alice.school == school_b
    assert alice.status == StudentStatus.ENROLLED
    assert (entry.from_school, entry.to_school) == (school_a, school_b)
    assert list(alice.ledger.order_by("pk")) == [earlier, entry]
    assert list(alice.guardians.all()) == [guardian]
    assert Student.objects.visible_to(officer_b).filter(pk=alice.pk).exists()
    assert not Student.objects.visible_to(officer_a).filter(pk=alice.pk).exists()
    assert StatusChange.objects.visible_to(officer_b).filter(student=alice).count() == 2
    assert not StatusChange.objects.visible_to(officer_a).filter(student=alice).exists()


def test_transfer_may_go_to_a_school_outside_the_officers_reach(
    officer_a: User, alice: Student
) -> None:
    elsewhere = SchoolFactory(name="仓埠中心小学")

    record(alice, officer_a, ChangeKind.TRANSFER, to_school=elsewhere)

    alice.refresh_from_db()
    assert alice.school == elsewhere


def test_transfer_needs_a_school_other_than_the_current_one(
    officer_a: User, alice: Student, school_a: OrgUnit
) -> None:
    with pytest.raises(DomainError, match="须选择一所在用的转入学校"):
        record(alice, officer_a, ChangeKind.TRANSFER)
    with pytest.raises(DomainError, match="转入学校与当前学校相同"):
        record(alice, officer_a, ChangeKind.TRANSFER, to_school=school_a)
    assert not StatusChange.objects.exists()


# --- refusals ----------------------------------------------------------------------------------


def test_an_effective_date_in_the_future_is_refused(officer_a: User, alice: Student) -> None:
    with pytest.raises(DomainError, match="不能晚于今天"):
        record(alice, officer_a, ChangeKind.SUSPENSION, effective_on=TODAY() + timedelta(days=1))

    alice.refresh_from_db()
    assert alice.status == StudentStatus.ENROLLED
    assert not StatusChange.objects.exists()


def test_a_blank_reason_is_refused(officer_a: User, alice: Student) -> None:
    with pytest.raises(DomainError, match="请填写异动原因"):
        record(alice, officer_a, ChangeKind.DROPOUT, reason="   ")

    assert not StatusChange.objects.exists()


def test_an_officer_of_another_school_is_refused(officer_b: User, alice: Student) -> None:
    with pytest.raises(DomainError, match="不在您的管辖范围内"):
        record(alice, officer_b, ChangeKind.DROPOUT)

    alice.refresh_from_db()
    assert alice.status == StudentStatus.ENROLLED
    assert not StatusChange.objects.exists()


@pytest.mark.parametrize("persona", ["principal_a", "inspector_a", "town_supervisor", "outsider"])
def test_roles_without_change_status_are_refused(
    request: pytest.FixtureRequest, alice: Student, persona: str
) -> None:
    actor: User = request.getfixturevalue(persona)

    with pytest.raises(NotPermitted):
        record(alice, actor, ChangeKind.SUSPENSION)

    assert not StatusChange.objects.exists()
    assert not AuditEntry.objects.filter(action__startswith="student.").exists()


def test_a_district_officer_may_record_for_any_school(
    district_officer: User, alice: Student
) -> None:
    entry = record(alice, district_officer, ChangeKind.GRADUATION, reason="小学毕业")

    assert entry.status_after == StudentStatus.GRADUATED


# --- audit -------------------------------------------------------------------------------------


def test_each_change_writes_an_audit_row_with_before_and_after(
    officer_a: User, alice: Student, school_a: OrgUnit, school_b: OrgUnit
) -> None:
    record(alice, officer_a, ChangeKind.SUSPENSION, reason="因病休学")
    alice.refresh_from_db()
    record(alice, officer_a, ChangeKind.TRANSFER_OUT, reason="转往外省")

    suspension = AuditEntry.objects.get(action="student.suspension")
    assert suspension.actor == officer_a
    assert suspension.subject_type == "registry.student"
    assert suspension.subject_id == str(alice.pk)
    assert suspension.org_unit == school_a
    assert suspension.before == {"status": "enrolled", "school": school_a.code}
    assert suspension.after == {
        "status": "suspended",
        "school": school_a.code,
        "effective_on": str(TODAY()),
        "reason": "因病休学",
        "source": "screen",
    }
    transfer_out = AuditEntry.objects.get(action="student.transfer_out")
    assert transfer_out.before == {"status": "suspended", "school": school_a.code}
    assert transfer_out.after is not None
    assert transfer_out.after["status"] == "transferred_out"


def test_a_transfer_is_audited_under_the_new_school(
    officer_a: User, alice: Student, school_a: OrgUnit, school_b: OrgUnit
) -> None:
    record(alice, officer_a, ChangeKind.TRANSFER, to_school=school_b, reason="随父母迁居")

    entry = AuditEntry.objects.get(action="student.transfer")
    assert entry.before == {"status": "enrolled", "school": school_a.code}
    assert entry.after is not None
    assert entry.after["school"] == school_b.code


def test_a_transfer_is_filed_under_both_schools(
    officer_a: User, alice: Student, school_a: OrgUnit, school_b: OrgUnit
) -> None:
    record(alice, officer_a, ChangeKind.TRANSFER, to_school=school_b)

    left = AuditEntry.objects.get(action="student.transfer", subject_id=str(alice.pk))
    arrived = AuditEntry.objects.get(action="student.transfer_in", subject_id=str(alice.pk))
    assert left.org_unit_id == school_a.pk
    assert arrived.org_unit_id == school_b.pk


def test_a_transfer_to_an_inactive_school_is_refused(
    officer_a: User, alice: Student, school_b: OrgUnit
) -> None:
    OrgUnit.objects.filter(pk=school_b.pk).update(active=False)
    school_b.refresh_from_db()
    with pytest.raises(DomainError, match="在用的转入学校"):
        record(alice, officer_a, ChangeKind.TRANSFER, to_school=school_b)
