"""Identification services: category proposals from department data, their confirmation,
category-7 evidence, and the identification triple with its evidence rule (seed 二(一)3)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.factories import GuardianFactory, StudentFactory, fake_id
from zizhu.aid.models import (
    CategoryProposal,
    DifficultyTier,
    HardshipCategory,
    Identification,
    ProposalStatus,
    SchoolYear,
)
from zizhu.aid.services import identification as svc
from zizhu.core import jobs
from zizhu.core.errors import Conflict, DomainError, NotCertified, NotPermitted, OutOfReach
from zizhu.core.models import AuditEntry, JobStatus, OrgUnit, User
from zizhu.core.worklist import work_items_for
from zizhu.registry.models import Student, StudentStatus
from zizhu.sources.models import DatasetVersion
from zizhu.sources.services import import_dataset

CIVIL = "身份证号,姓名,救助类别,状态,开始日期,结束日期,户主身份证号"
RURAL = "身份证号,姓名,户主身份证号,户类型,状态"
DISABILITY = "身份证号,姓名,残疾类别,残疾等级,持证状态"
MARTYRS = "身份证号,姓名,烈士姓名"


# --- helpers (imported by the view tests) -------------------------------------------------


def dataset(kind: str, header: str, rows: Sequence[str], *, actor: User) -> DatasetVersion:
    """A department file imported through the real service, as a new version."""
    content = "\n".join([header, *rows]).encode()
    as_of = timezone.localdate() - timedelta(days=1)
    return import_dataset(kind, content, f"{kind}.csv", actor=actor, as_of=as_of)


def civil(id_number: str, category: str = "低保", status: str = "在册") -> str:
    return f"{id_number},某某,{category},{status},2024-01-01,,"


def current_year() -> SchoolYear:
    return SchoolYear.objects.get(current=True)


def category(number: int) -> HardshipCategory:
    return HardshipCategory.objects.get(number=number)


def tier(code: str = "special") -> DifficultyTier:
    return DifficultyTier.objects.get(code=code)


def proposals(student: Student, number: int | None = None) -> list[CategoryProposal]:
    found = CategoryProposal.objects.filter(student=student).order_by("pk")
    if number is not None:
        found = found.filter(category__number=number)
    return list(found)


def propose(actor: User) -> dict[str, object]:
    return svc.propose_categories(actor=actor, school_year=current_year())


def visit(student: Student, actor: User, year: SchoolYear | None = None) -> None:
    svc.record_home_visit(
        student,
        actor=actor,
        school_year=year or current_year(),
        kind="家访",
        visited_on=min(timezone.localdate(), (year or current_year()).ends_on),
        visitors="王老师、李老师",
        met_with="学生母亲、村委会主任",
        findings="父亲去年因病去世，母亲务农，家中两个孩子上学。",
    )


def evaluate(student: Student, actor: User, *, agreed: bool = True) -> None:
    svc.record_evaluation(
        student,
        actor=actor,
        school_year=current_year(),
        members="校长、资助专干、班主任、家长代表",
        agreed=agreed,
        opinion="情况属实，同意认定为其他家庭经济困难学生。",
        held_on=timezone.localdate(),
    )


def identify(student: Student, actor: User, number: int, **kwargs: Any) -> Identification:
    return svc.identify_student(
        student,
        actor=actor,
        school_year=current_year(),
        category=category(number),
        tier=tier(),
        reason="家庭经济困难",
        **kwargs,
    )


# --- fixtures -----------------------------------------------------------------------------


@pytest.fixture
def alice(school_a: OrgUnit) -> Student:
    return StudentFactory(school=school_a, name="张小花", id_number=fake_id(date(2014, 5, 1)))


@pytest.fixture
def bob(school_a: OrgUnit) -> Student:
    """Matched through his father."""
    student = StudentFactory(school=school_a, name="李小明")
    GuardianFactory(student=student, name="李大明", relation="父亲")
    return student


@pytest.fixture
def carol(school_b: OrgUnit) -> Student:
    return StudentFactory(school=school_b, name="王小红")


def father_id(student: Student) -> str:
    return str(student.guardians.get(relation="父亲").id_number)


# --- propose_categories -------------------------------------------------------------------


def test_proposes_from_student_and_guardian_records(
    district_officer: User, alice: Student, bob: Student
) -> None:
    version = dataset(
        "civil_affairs",
        CIVIL,
        [civil(alice.id_number or ""), civil(father_id(bob))],
        actor=district_officer,
    )

    counts = propose(district_officer)

    assert counts["created"] == 2
    (own,) = proposals(alice, 2)
    (kin,) = proposals(bob, 2)
    assert own.matched_via == "学生本人"
    assert kin.matched_via == "监护人：父亲"
    assert own.dataset_version == version == kin.dataset_version
    assert own.record.person_hash == alice.id_number_hash
    assert own.status == ProposalStatus.PROPOSED


def test_each_category_follows_its_own_dataset_and_criteria(
    district_officer: User, alice: Student, bob: Student, carol: Student
) -> None:
    dataset(
        "civil_affairs",
        CIVIL,
        [civil(alice.id_number or "", "特困供养"), civil(father_id(bob), "事实无人抚养儿童")],
        actor=district_officer,
    )
    dataset(
        "rural_revitalization",
        RURAL,
        [f"{carol.id_number},王小红,{fake_id(date(1980, 1, 1))},脱贫户,在册"],
        actor=district_officer,
    )
    dataset(
        "disability",
        DISABILITY,
        [f"{alice.id_number},张小花,肢体,三级,有效"],
        actor=district_officer,
    )
    dataset(
        "martyrs_children", MARTYRS, [f"{father_id(bob)},李大明,李烈士"], actor=district_officer
    )

    propose(district_officer)

    assert {p.category.number for p in proposals(alice)} == {3, 6}
    assert {p.category.number for p in proposals(bob)} == {4, 5}
    assert {p.category.number for p in proposals(carol)} == {1}


def test_exited_and_cancelled_records_are_not_proposed(
    district_officer: User, alice: Student, bob: Student
) -> None:
    dataset(
        "civil_affairs",
        CIVIL,
        [civil(alice.id_number or "", status="已退出"), civil(father_id(bob), category="低保边缘")],
        actor=district_officer,
    )
    dataset(
        "disability",
        DISABILITY,
        [f"{father_id(bob)},李大明,肢体,二级,注销"],
        actor=district_officer,
    )

    counts = propose(district_officer)

    assert counts["created"] == 0
    assert not CategoryProposal.objects.exists()


def test_students_not_in_school_are_not_proposed(
    district_officer: User, alice: Student, bob: Student
) -> None:
    Student.objects.filter(pk=alice.pk).update(status=StudentStatus.GRADUATED)
    Student.objects.filter(pk=bob.pk).update(status=StudentStatus.SUSPENDED)
    dataset(
        "civil_affairs",
        CIVIL,
        [civil(alice.id_number or ""), civil(father_id(bob))],
        actor=district_officer,
    )

    assert propose(district_officer)["created"] == 0


def test_running_twice_does_not_propose_twice(district_officer: User, alice: Student) -> None:
    dataset("civil_affairs", CIVIL, [civil(alice.id_number or "")], actor=district_officer)
    propose(district_officer)
    # A newer version of the same record is not a new match either.
    dataset("civil_affairs", CIVIL, [civil(alice.id_number or "")], actor=district_officer)

    counts = propose(district_officer)

    assert counts["created"] == 0
    assert counts["already"] == 1
    assert len(proposals(alice)) == 1


def test_a_dismissed_proposal_is_not_raised_again(
    district_officer: User, officer_a: User, alice: Student
) -> None:
    dataset("civil_affairs", CIVIL, [civil(alice.id_number or "")], actor=district_officer)
    propose(district_officer)
    svc.dismiss_proposal(proposals(alice)[0], actor=officer_a, note="经核实已不在低保名单")

    assert propose(district_officer)["created"] == 0


def test_only_the_latest_version_is_used(
    district_officer: User, alice: Student, bob: Student
) -> None:
    dataset("civil_affairs", CIVIL, [civil(alice.id_number or "")], actor=district_officer)
    dataset("civil_affairs", CIVIL, [civil(father_id(bob))], actor=district_officer)

    propose(district_officer)

    assert proposals(alice) == []
    assert len(proposals(bob)) == 1


def test_proposals_no_longer_backed_are_kept_and_flagged_stale(
    district_officer: User, alice: Student, bob: Student
) -> None:
    dataset(
        "civil_affairs",
        CIVIL,
        [civil(alice.id_number or ""), civil(father_id(bob))],
        actor=district_officer,
    )
    propose(district_officer)
    dataset(
        "civil_affairs",
        CIVIL,
        [civil(alice.id_number or "", status="已退出"), civil(father_id(bob))],
        actor=district_officer,
    )

    kept = list(CategoryProposal.objects.select_related("record", "dataset_version", "category"))

    assert len(kept) == 2
    assert svc.stale_proposal_ids(kept) == {proposals(alice)[0].pk}


def test_school_officer_proposes_for_own_school_only(
    district_officer: User, officer_a: User, alice: Student, carol: Student
) -> None:
    dataset(
        "civil_affairs",
        CIVIL,
        [civil(alice.id_number or ""), civil(carol.id_number or "")],
        actor=district_officer,
    )

    assert propose(officer_a)["created"] == 1
    assert proposals(carol) == []


def test_principal_cannot_run_the_match(principal_a: User) -> None:
    with pytest.raises(NotPermitted):
        propose(principal_a)


def test_matching_takes_a_fixed_number_of_queries(
    district_officer: User, school_a: OrgUnit
) -> None:
    def run(size: int) -> int:
        CategoryProposal.objects.all().delete()
        students = StudentFactory.create_batch(size, school=school_a)
        for student in students:
            GuardianFactory(student=student)
        rows = [civil(s.id_number or "") for s in students]
        rows += [civil(str(s.guardians.get().id_number)) for s in students]
        dataset("civil_affairs", CIVIL, rows, actor=district_officer)
        with CaptureQueriesContext(connection) as queries:
            propose(district_officer)
        return len(queries)

    assert run(2) == run(12)


def test_proposals_run_as_a_background_job(district_officer: User, alice: Student) -> None:
    dataset("civil_affairs", CIVIL, [civil(alice.id_number or "")], actor=district_officer)

    job = svc.start_category_proposals(actor=district_officer, school_year=current_year())

    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.message
    assert job.result["created"] == 1
    assert "category_proposals" in jobs.HANDLERS
    assert AuditEntry.objects.filter(action="identification.proposed").exists()


# --- confirming and dismissing ------------------------------------------------------------


@pytest.fixture
def alice_proposal(district_officer: User, alice: Student) -> CategoryProposal:
    dataset("civil_affairs", CIVIL, [civil(alice.id_number or "")], actor=district_officer)
    propose(district_officer)
    return proposals(alice, 2)[0]


def test_officer_confirms_a_proposal(officer_a: User, alice_proposal: CategoryProposal) -> None:
    confirmed = svc.confirm_proposal(alice_proposal, actor=officer_a, note="已核实低保证")

    assert confirmed.status == ProposalStatus.CONFIRMED
    assert confirmed.decided_by == officer_a
    entry = AuditEntry.objects.get(action="identification.proposal_confirmed")
    assert entry.after["record"] == alice_proposal.record_id


def test_uncertified_officer_cannot_confirm(
    uncertified_officer_a: User, alice_proposal: CategoryProposal
) -> None:
    with pytest.raises(NotCertified, match="持证上岗"):
        svc.confirm_proposal(alice_proposal, actor=uncertified_officer_a)


def test_officer_of_another_school_cannot_confirm(
    officer_b: User, alice_proposal: CategoryProposal
) -> None:
    with pytest.raises(OutOfReach):
        svc.confirm_proposal(alice_proposal, actor=officer_b)


def test_a_decided_proposal_cannot_be_decided_again(
    officer_a: User, district_officer: User, alice_proposal: CategoryProposal
) -> None:
    svc.confirm_proposal(alice_proposal, actor=officer_a)

    with pytest.raises(Conflict):
        svc.dismiss_proposal(alice_proposal, actor=district_officer, note="重复")


def test_dismissing_needs_a_note(officer_a: User, alice_proposal: CategoryProposal) -> None:
    with pytest.raises(DomainError, match="说明"):
        svc.dismiss_proposal(alice_proposal, actor=officer_a, note=" ")


def test_a_stale_proposal_cannot_be_confirmed(
    district_officer: User, officer_a: User, alice: Student, alice_proposal: CategoryProposal
) -> None:
    dataset(
        "civil_affairs",
        CIVIL,
        [civil(alice.id_number or "", status="已退出")],
        actor=district_officer,
    )

    with pytest.raises(DomainError, match="数据已更新"):
        svc.confirm_proposal(alice_proposal, actor=officer_a)


# --- identify_student ---------------------------------------------------------------------


def test_category_2_with_a_confirmed_proposal_is_identified(
    officer_a: User, alice: Student, alice_proposal: CategoryProposal
) -> None:
    svc.confirm_proposal(alice_proposal, actor=officer_a)

    identification = identify(alice, officer_a, 2)

    assert identification.proposal == alice_proposal
    assert identification.identified_on == timezone.localdate()
    assert identification.exception_reason == ""
    entry = AuditEntry.objects.get(action="identification.identified")
    assert entry.after["category"] == 2
    assert entry.after["tier"] == "特别困难"
    assert entry.after["reason"] == "家庭经济困难"
    assert entry.after["proposal"] == alice_proposal.pk


def test_category_2_without_a_confirmed_proposal_is_refused(
    officer_a: User, alice: Student, alice_proposal: CategoryProposal
) -> None:
    with pytest.raises(DomainError, match="比对依据"):
        identify(alice, officer_a, 2)
    assert not Identification.objects.exists()


def test_category_2_with_a_recorded_exception_is_allowed(officer_a: User, alice: Student) -> None:
    identification = identify(
        alice, officer_a, 2, exception_reason="民政低保证已办理，部门数据下月更新"
    )

    assert identification.proposal is None
    assert identification.exception_reason == "民政低保证已办理，部门数据下月更新"
    entry = AuditEntry.objects.get(action="identification.identified")
    assert entry.after["exception_reason"] == identification.exception_reason


def test_a_confirmed_proposal_of_another_category_does_not_count(
    officer_a: User, alice: Student, alice_proposal: CategoryProposal
) -> None:
    svc.confirm_proposal(alice_proposal, actor=officer_a)

    with pytest.raises(DomainError, match="比对依据"):
        identify(alice, officer_a, 3)


def test_category_7_without_visit_or_evaluation_is_refused(officer_a: User, alice: Student) -> None:
    with pytest.raises(DomainError, match="走访"):
        identify(alice, officer_a, 7)
    visit(alice, officer_a)
    with pytest.raises(DomainError, match="评议"):
        identify(alice, officer_a, 7)
    evaluate(alice, officer_a, agreed=False)
    with pytest.raises(DomainError, match="同意认定"):
        identify(alice, officer_a, 7)


def test_category_7_with_visit_and_agreeing_evaluation_is_identified(
    officer_a: User, alice: Student
) -> None:
    visit(alice, officer_a)
    evaluate(alice, officer_a)

    identification = identify(alice, officer_a, 7)

    assert identification.home_visit is not None
    assert identification.evaluation is not None
    assert identification.evaluation.agreed


def test_category_7_evidence_of_another_year_does_not_count(
    officer_a: User, alice: Student
) -> None:
    last_year = SchoolYear.objects.get(code="2025-2026")
    visit(alice, officer_a, last_year)
    evaluate(alice, officer_a)

    with pytest.raises(DomainError, match="走访"):
        identify(alice, officer_a, 7)


def test_uncertified_officer_cannot_identify(uncertified_officer_a: User, alice: Student) -> None:
    with pytest.raises(NotCertified, match="持证上岗"):
        identify(alice, uncertified_officer_a, 2, exception_reason="例外")


def test_student_not_in_school_cannot_be_identified(officer_a: User, alice: Student) -> None:
    Student.objects.filter(pk=alice.pk).update(status=StudentStatus.DROPPED_OUT)

    with pytest.raises(DomainError, match="在读"):
        identify(alice, officer_a, 2, exception_reason="例外")


def test_officer_of_another_school_cannot_identify(officer_b: User, alice: Student) -> None:
    with pytest.raises(OutOfReach):
        identify(alice, officer_b, 2, exception_reason="例外")


def test_principal_cannot_identify(principal_a: User, alice: Student) -> None:
    with pytest.raises(NotPermitted):
        identify(alice, principal_a, 2, exception_reason="例外")


def test_reidentifying_revokes_the_previous_identification(officer_a: User, alice: Student) -> None:
    first = identify(alice, officer_a, 2, exception_reason="数据未更新")
    visit(alice, officer_a)
    evaluate(alice, officer_a)

    second = identify(alice, officer_a, 7)

    first.refresh_from_db()
    assert first.revoked_at is not None
    assert second.revoked_at is None
    assert Identification.objects.filter(student=alice, revoked_at__isnull=True).get() == second
    revoked = AuditEntry.objects.get(action="identification.revoked")
    assert revoked.before["category"] == 2


# --- category 7 evidence ------------------------------------------------------------------


def test_visit_and_evaluation_are_audited(officer_a: User, alice: Student) -> None:
    visit(alice, officer_a)
    evaluate(alice, officer_a)

    assert AuditEntry.objects.filter(action="identification.visit_recorded").count() == 1
    assert AuditEntry.objects.filter(action="identification.evaluation_recorded").count() == 1


def test_a_visit_cannot_be_dated_in_the_future(officer_a: User, alice: Student) -> None:
    with pytest.raises(DomainError, match="走访日期"):
        svc.record_home_visit(
            alice,
            actor=officer_a,
            school_year=current_year(),
            kind="家访",
            visited_on=timezone.localdate() + timedelta(days=1),
            visitors="王老师",
            met_with="母亲",
            findings="略",
        )


def test_officer_of_another_school_cannot_record_a_visit(officer_b: User, alice: Student) -> None:
    with pytest.raises(OutOfReach):
        visit(alice, officer_b)


# --- work list ----------------------------------------------------------------------------


def test_work_list_counts_pending_proposals_within_reach(
    officer_a: User, officer_b: User, principal_a: User, alice_proposal: CategoryProposal
) -> None:
    titles = [item.title for item in work_items_for(officer_a)]

    assert "1 条类别比对建议待确认" in titles
    assert not any("类别比对" in item.title for item in work_items_for(officer_b))
    assert not any("类别比对" in item.title for item in work_items_for(principal_a))
