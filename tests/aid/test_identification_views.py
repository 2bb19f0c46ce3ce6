"""Identification screens: reach, the proposal work list, the student's evidence page, the
category-7 forms, the national-system export, and constant query counts on the lists."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date
from typing import Any

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.aid.test_identification import (
    CIVIL,
    category,
    civil,
    current_year,
    dataset,
    evaluate,
    identify,
    proposals,
    propose,
    tier,
    visit,
)
from tests.factories import GuardianFactory, StudentFactory, fake_id
from zizhu.aid.models import CategoryProposal, HomeVisit, Identification, ProposalStatus
from zizhu.core.models import AuditEntry, OrgUnit, User
from zizhu.registry.models import Student

LIST = reverse("aid:identification_list")
EXPORT = reverse("aid:identification_export")
PROPOSALS = reverse("aid:identification_proposals")
PDF = b"%PDF-1.4\n% visit record\n"


def student_url(student: Student) -> str:
    return reverse("aid:identification_student", args=[student.pk])


def decide_url(proposal: CategoryProposal) -> str:
    return reverse("aid:identification_proposal_decide", args=[proposal.pk])


def page_queries(queries: CaptureQueriesContext) -> int:
    """Queries a page makes, leaving out the session refresh (once a minute per person) and
    the savepoint around it."""
    return sum(
        "django_session" not in q["sql"] and "SAVEPOINT" not in q["sql"]
        for q in queries.captured_queries
    )


@pytest.fixture
def login(client: Client) -> Callable[[User], Client]:
    def sign_in(user: User) -> Client:
        client.force_login(user)
        return client

    return sign_in


@pytest.fixture
def alice(school_a: OrgUnit) -> Student:
    return StudentFactory(school=school_a, name="张小花", id_number=fake_id(date(2014, 5, 1)))


@pytest.fixture
def carol(school_b: OrgUnit) -> Student:
    return StudentFactory(school=school_b, name="王小红")


@pytest.fixture
def alice_proposal(district_officer: User, alice: Student) -> CategoryProposal:
    dataset("civil_affairs", CIVIL, [civil(alice.id_number or "")], actor=district_officer)
    propose(district_officer)
    return proposals(alice, 2)[0]


# --- identification list ------------------------------------------------------------------


def test_officer_lists_own_school_identifications_only(
    login: Callable[[User], Client],
    officer_a: User,
    officer_b: User,
    alice: Student,
    carol: Student,
) -> None:
    identify(alice, officer_a, 2, exception_reason="数据未更新")
    identify(carol, officer_b, 2, exception_reason="数据未更新")

    page = login(officer_a).get(LIST).content.decode()

    assert "张小花" in page
    assert "王小红" not in page
    assert alice.id_number not in page  # masked


def test_outsider_cannot_open_the_list(login: Callable[[User], Client], outsider: User) -> None:
    assert login(outsider).get(LIST).status_code == 403


def test_list_filters_by_category(
    login: Callable[[User], Client], officer_a: User, alice: Student, school_a: OrgUnit
) -> None:
    other = StudentFactory(school=school_a, name="赵小刚")
    identify(alice, officer_a, 2, exception_reason="例外")
    visit(other, officer_a)
    evaluate(other, officer_a)
    identify(other, officer_a, 7)

    page = login(officer_a).get(LIST, {"category": category(7).pk}).content.decode()

    assert "赵小刚" in page
    assert "张小花" not in page


def test_list_query_count_does_not_grow_with_rows(
    login: Callable[[User], Client], officer_a: User, school_a: OrgUnit
) -> None:
    client = login(officer_a)

    def count(extra: int) -> int:
        for _ in range(extra):
            identify(StudentFactory(school=school_a), officer_a, 2, exception_reason="例外")
        with CaptureQueriesContext(connection) as queries:
            assert client.get(LIST).status_code == 200
        return page_queries(queries)

    assert count(2) == count(8)


# --- export for the national system -------------------------------------------------------


def xlsx_rows(content: bytes) -> list[tuple[Any, ...]]:
    sheet = openpyxl.load_workbook(io.BytesIO(content), read_only=True).active
    return [tuple(row) for row in sheet.iter_rows(values_only=True)]


def test_district_exports_the_triple_with_clear_ids(
    login: Callable[[User], Client], district_officer: User, officer_a: User, alice: Student
) -> None:
    identify(alice, officer_a, 2, exception_reason="数据未更新")

    response = login(district_officer).get(EXPORT)

    rows = xlsx_rows(response.content)
    assert rows[0][:2] == ("身份证号", "姓名")
    today = timezone.localdate()
    assert rows[1][0] == alice.id_number
    assert rows[1][8:] == ("特别困难", f"{today:%Y%m%d}", "家庭经济困难")
    entry = AuditEntry.objects.get(action="identification.exported")
    assert entry.after["rows"] == 1


def test_school_officer_cannot_export_clear_ids(
    login: Callable[[User], Client], officer_a: User
) -> None:
    assert login(officer_a).get(EXPORT).status_code == 403
    assert not AuditEntry.objects.filter(action="identification.exported").exists()


# --- proposal work list -------------------------------------------------------------------


def test_officer_confirms_from_the_work_list(
    login: Callable[[User], Client], officer_a: User, alice_proposal: CategoryProposal
) -> None:
    client = login(officer_a)
    page = client.get(PROPOSALS).content.decode()

    response = client.post(decide_url(alice_proposal), {"decision": "confirm", "note": "已核"})

    assert "张小花" in page
    assert "学生本人" in page
    assert response.status_code == 302
    alice_proposal.refresh_from_db()
    assert alice_proposal.status == ProposalStatus.CONFIRMED


def test_dismissing_without_a_note_is_refused_with_a_message(
    login: Callable[[User], Client], officer_a: User, alice_proposal: CategoryProposal
) -> None:
    client = login(officer_a)

    response = client.post(decide_url(alice_proposal), {"decision": "dismiss"}, follow=True)

    assert "不予认定须填写说明" in response.content.decode()
    alice_proposal.refresh_from_db()
    assert alice_proposal.status == ProposalStatus.PROPOSED


def test_uncertified_officer_is_refused_with_the_certificate_message(
    login: Callable[[User], Client], uncertified_officer_a: User, alice_proposal: CategoryProposal
) -> None:
    response = login(uncertified_officer_a).post(
        decide_url(alice_proposal), {"decision": "confirm"}
    )

    assert response.status_code == 403
    assert "持证上岗" in response.content.decode()
    assert AuditEntry.objects.filter(action="access.denied", actor=uncertified_officer_a).exists()


def test_officer_of_another_school_gets_404(
    login: Callable[[User], Client],
    officer_b: User,
    alice: Student,
    alice_proposal: CategoryProposal,
) -> None:
    client = login(officer_b)

    assert client.post(decide_url(alice_proposal), {"decision": "confirm"}).status_code == 404
    assert client.get(student_url(alice)).status_code == 404
    assert "张小花" not in client.get(PROPOSALS).content.decode()


def test_stale_proposals_are_flagged_and_cannot_be_confirmed_there(
    login: Callable[[User], Client],
    district_officer: User,
    officer_a: User,
    alice: Student,
    alice_proposal: CategoryProposal,
) -> None:
    dataset(
        "civil_affairs",
        CIVIL,
        [civil(alice.id_number or "", status="已退出")],
        actor=district_officer,
    )

    page = login(officer_a).get(PROPOSALS).content.decode()

    assert "数据已更新" in page
    assert 'value="confirm"' not in page


def test_proposal_list_query_count_does_not_grow_with_rows(
    login: Callable[[User], Client], district_officer: User, officer_a: User, school_a: OrgUnit
) -> None:
    client = login(officer_a)

    def count(size: int) -> int:
        students = StudentFactory.create_batch(size, school=school_a)
        for student in students:
            GuardianFactory(student=student)
        rows = [civil(s.id_number or "") for s in students]
        rows += [civil(str(s.guardians.get().id_number)) for s in students]
        dataset("civil_affairs", CIVIL, rows, actor=district_officer)
        propose(district_officer)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(PROPOSALS).status_code == 200
        return page_queries(queries)

    assert count(2) == count(8)


def test_run_button_starts_the_match(
    login: Callable[[User], Client], district_officer: User, alice: Student
) -> None:
    dataset("civil_affairs", CIVIL, [civil(alice.id_number or "")], actor=district_officer)

    response = login(district_officer).post(
        reverse("aid:identification_run"), {"year": current_year().pk}
    )

    assert response.status_code == 302
    assert "/jobs/" in response["Location"]
    assert len(proposals(alice)) == 1


def test_principal_cannot_start_the_match(
    login: Callable[[User], Client], principal_a: User
) -> None:
    response = login(principal_a).post(
        reverse("aid:identification_run"), {"year": current_year().pk}
    )

    assert response.status_code == 403


def test_home_page_shows_pending_proposals(
    login: Callable[[User], Client], officer_a: User, alice_proposal: CategoryProposal
) -> None:
    page = login(officer_a).get(reverse("core:home")).content.decode()

    assert "1 条类别比对建议待确认" in page


# --- student page -------------------------------------------------------------------------


def test_student_page_shows_the_evidence_of_each_proposal(
    login: Callable[[User], Client],
    officer_a: User,
    alice: Student,
    alice_proposal: CategoryProposal,
) -> None:
    page = login(officer_a).get(student_url(alice)).content.decode()

    version = alice_proposal.dataset_version
    assert "民政救助对象 第1版" in page
    assert f"数据截至 {version.as_of:%Y-%m-%d}" in page
    assert alice_proposal.record.person_masked in page
    assert "救助类别：低保" in page
    assert "状态：在册" in page
    assert alice.id_number not in page


def test_identifying_category_2_without_evidence_shows_the_rule(
    login: Callable[[User], Client], officer_a: User, alice: Student
) -> None:
    response = login(officer_a).post(
        student_url(alice),
        {"category": category(2).pk, "tier": tier().pk, "reason": "低保家庭"},
    )

    assert response.status_code == 200
    assert "比对依据" in response.content.decode()
    assert not Identification.objects.exists()


def test_identifying_with_a_confirmed_proposal_succeeds(
    login: Callable[[User], Client],
    officer_a: User,
    alice: Student,
    alice_proposal: CategoryProposal,
) -> None:
    client = login(officer_a)
    client.post(decide_url(alice_proposal), {"decision": "confirm"})

    response = client.post(
        student_url(alice), {"category": category(2).pk, "tier": tier().pk, "reason": "低保家庭"}
    )

    assert response.status_code == 302
    identification = Identification.objects.get(student=alice)
    assert identification.proposal == alice_proposal


def test_category_7_through_the_forms(
    login: Callable[[User], Client], officer_a: User, alice: Student
) -> None:
    client = login(officer_a)
    today = timezone.localdate().isoformat()
    year = f"?year={current_year().pk}"

    client.post(
        reverse("aid:identification_visit_create", args=[alice.pk]) + year,
        {
            "kind": "家访",
            "visited_on": today,
            "visitors": "王老师、李老师",
            "met_with": "学生母亲",
            "findings": "父亲重病，家庭无稳定收入。",
            "attachment": SimpleUploadedFile("走访记录.pdf", PDF, content_type="application/pdf"),
        },
    )
    client.post(
        reverse("aid:identification_evaluation_create", args=[alice.pk]) + year,
        {"held_on": today, "members": "校长、专干、班主任", "agreed": "yes", "opinion": "同意"},
    )
    response = client.post(
        student_url(alice) + year,
        {"category": category(7).pk, "tier": tier().pk, "reason": "因病致困"},
    )

    assert response.status_code == 302
    identification = Identification.objects.get(student=alice)
    assert identification.home_visit is not None
    assert identification.home_visit.attachment.name.endswith(".pdf")
    assert "走访记录" not in identification.home_visit.attachment.name  # stored under a random name


def test_visit_attachment_download_is_logged_and_scoped(
    login: Callable[[User], Client], officer_a: User, officer_b: User, alice: Student
) -> None:
    visit(alice, officer_a)
    home_visit = HomeVisit.objects.get()
    home_visit.attachment.save("scan.pdf", SimpleUploadedFile("scan.pdf", PDF))
    url = reverse("aid:identification_visit_attachment", args=[home_visit.pk])

    response = login(officer_a).get(url)
    other = login(officer_b).get(url)

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF  # type: ignore[attr-defined]
    assert AuditEntry.objects.filter(action="identification.visit_attachment_downloaded").exists()
    assert other.status_code == 404


def test_visit_form_refuses_files_that_are_not_pdf_or_images(
    login: Callable[[User], Client], officer_a: User, alice: Student
) -> None:
    response = login(officer_a).post(
        reverse("aid:identification_visit_create", args=[alice.pk]),
        {
            "kind": "家访",
            "visited_on": timezone.localdate().isoformat(),
            "visitors": "王老师",
            "met_with": "母亲",
            "findings": "略",
            "attachment": SimpleUploadedFile("x.pdf", b"MZ not a pdf"),
        },
    )

    assert "文件内容与扩展名不符" in response.content.decode()
    assert not HomeVisit.objects.exists()


def test_principal_sees_the_page_but_not_the_forms(
    login: Callable[[User], Client], principal_a: User, alice: Student
) -> None:
    client = login(principal_a)

    page = client.get(student_url(alice)).content.decode()
    refused = client.get(reverse("aid:identification_visit_create", args=[alice.pk]))

    assert "张小花" in page
    assert "录入走访记录" not in page
    assert refused.status_code == 403


@pytest.mark.parametrize("target", ["/\\evil.example/", "https://evil.example/", "//evil.example"])
def test_decide_never_redirects_off_site(
    login: Callable[[User], Client],
    officer_a: User,
    alice: Student,
    alice_proposal: CategoryProposal,
    target: str,
) -> None:
    response = login(officer_a).post(
        decide_url(alice_proposal), {"decision": "confirm", "note": "已核", "next": target}
    )

    assert response.status_code == 302
    assert response["Location"] == student_url(alice)


def test_decide_returns_to_a_page_on_this_site(
    login: Callable[[User], Client], officer_a: User, alice_proposal: CategoryProposal
) -> None:
    response = login(officer_a).post(
        decide_url(alice_proposal), {"decision": "confirm", "note": "已核", "next": PROPOSALS}
    )

    assert response["Location"] == PROPOSALS
