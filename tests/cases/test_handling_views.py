"""The clue work page: who sees which actions, confirmation before deciding and closing, and
the scoped, audited download of investigation attachments."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

# The fixtures come from the service tests; pytest injects them by parameter name, which
# reads to ruff as redefining the import.
# ruff: noqa: F811
from tests.cases.test_handling import (  # noqa: F401
    alice,
    assigned,
    award,
    calendar_ahead,
    clue,
    investigate,
    submitted,
    verify,
)
from tests.factories import StudentFactory
from zizhu.aid.models import AwardStatus
from zizhu.aid.rules import next_month
from zizhu.cases.models import Channel, Clue, ClueStatus, FamilyAnswer, Opinion, ReplyMethod
from zizhu.cases.services import handling as svc
from zizhu.cases.services import workflow
from zizhu.cases.services.intake import register_clue, submit_public_report
from zizhu.core.errors import DomainError
from zizhu.core.models import AuditEntry, OrgUnit, User

pytestmark = pytest.mark.django_db


@pytest.fixture
def login(client: Client) -> Callable[[User], Client]:
    def log_in(user: User) -> Client:
        client.force_login(user)
        return client

    return log_in


def page(clue: Clue) -> str:
    return reverse("cases:handling_clue", args=[clue.pk])


def action(name: str, clue: Clue) -> str:
    return reverse(f"cases:handling_{name}", args=[clue.pk])


def verification_post(**overrides: Any) -> dict[str, Any]:
    data = {
        "contacted_on": timezone.localdate().isoformat(),
        "contacted_person": "张某（父亲）",
        "contact_method": "电话",
        "answer": FamilyAnswer.CONFIRMED,
        "conclusion": "家长确认情况属实。",
        "opinion": Opinion.CONTINUE,
    }
    data.update(overrides)
    return data


def test_the_school_officer_sees_the_verification_forms_only(
    login: Callable[[User], Client], assigned: Clue, officer_a: User
) -> None:
    response = login(officer_a).get(page(assigned))

    body = response.content.decode()
    assert response.status_code == 200
    assert "提交核实结论" in body and "登记调查" in body
    assert "作出处理决定" not in body and action("assign", assigned) not in body


def test_another_schools_officer_and_an_outsider_get_404(
    login: Callable[[User], Client], assigned: Clue, officer_b: User, outsider: User
) -> None:
    assert login(officer_b).get(page(assigned)).status_code == 404
    assert login(outsider).get(page(assigned)).status_code == 404
    assert login(officer_b).post(action("verify", assigned), verification_post()).status_code == 404


def test_the_district_assigns_from_the_page(
    login: Callable[[User], Client], clue: Clue, district_officer: User, school_a: OrgUnit
) -> None:
    client = login(district_officer)
    assert "分派" in client.get(page(clue)).content.decode()

    response = client.post(action("assign", clue), {"school": school_a.pk, "note": "请核查"})

    assert response.status_code == 302
    clue.refresh_from_db()
    assert clue.status == ClueStatus.ASSIGNED
    assert clue.school == school_a


def test_the_school_submits_its_verification(
    login: Callable[[User], Client], assigned: Clue, officer_a: User
) -> None:
    response = login(officer_a).post(action("verify", assigned), verification_post())

    assert response.status_code == 302
    assigned.refresh_from_db()
    assert assigned.status == ClueStatus.SUBMITTED


def test_a_dispute_without_investigation_is_sent_back_to_the_form(
    login: Callable[[User], Client], assigned: Clue, officer_a: User
) -> None:
    response = login(officer_a).post(
        action("verify", assigned), verification_post(answer=FamilyAnswer.DISPUTED)
    )

    assert response.status_code == 400
    assert "入户调查、邻里走访、信函索证、信息再次核对" in response.content.decode()


def test_uncertified_officer_is_refused_with_the_certification_message(
    login: Callable[[User], Client], assigned: Clue, uncertified_officer_a: User
) -> None:
    response = login(uncertified_officer_a).post(action("verify", assigned), verification_post())

    assert response.status_code == 403
    assert "持证上岗" in response.content.decode()


def test_the_decision_is_confirmed_first_and_shows_the_month_it_takes_effect(
    login: Callable[[User], Client],
    assigned: Clue,
    officer_a: User,
    district_officer: User,
    award: Any,
) -> None:
    verify(assigned, officer_a, opinion=Opinion.STOP, award=award)
    client = login(district_officer)
    effective = next_month(timezone.localdate())
    label = f"自 {effective.year}年{effective.month}月1日起执行"
    post = {"opinion": Opinion.STOP, "reasoning": "家庭已购房购车", "award": award.pk}

    confirm = client.post(action("decide", assigned), post)

    assert confirm.status_code == 200
    assert label in confirm.content.decode()
    assert Clue.objects.get(pk=assigned.pk).status == ClueStatus.SUBMITTED

    done = client.post(action("decide", assigned), {**post, "step": "confirm"})

    assert done.status_code == 302
    award.refresh_from_db()
    assert award.status == AwardStatus.STOPPED
    assert label in client.get(page(assigned)).content.decode()


def test_a_school_cannot_decide_through_the_page(
    login: Callable[[User], Client], submitted: Clue, officer_a: User
) -> None:
    post = {"opinion": Opinion.CONTINUE, "reasoning": "维持", "step": "confirm"}
    assert login(officer_a).post(action("decide", submitted), post).status_code == 403
    assert Clue.objects.get(pk=submitted.pk).status == ClueStatus.SUBMITTED


def test_closing_is_confirmed_and_refused_without_the_reply(
    login: Callable[[User], Client], submitted: Clue, district_officer: User
) -> None:
    client = login(district_officer)
    client.post(
        action("decide", submitted),
        {"opinion": Opinion.CONTINUE, "reasoning": "维持资助", "step": "confirm"},
    )

    assert "确认办结线索" in client.post(action("close", submitted)).content.decode()
    refused = client.post(action("close", submitted), {"step": "confirm"}, follow=True)
    assert "须先登记书面或口头答复" in refused.content.decode()

    client.post(
        action("reply", submitted),
        {
            "method": ReplyMethod.WRITTEN,
            "replied_on": timezone.localdate().isoformat(),
            "content": "经核实，情况不属实。",
        },
    )
    client.post(action("close", submitted), {"step": "confirm"})

    assert Clue.objects.get(pk=submitted.pk).status == ClueStatus.CLOSED


def test_attachments_download_within_reach_and_are_logged(
    login: Callable[[User], Client], assigned: Clue, officer_a: User, officer_b: User
) -> None:
    investigation = investigate(
        assigned, officer_a, attachment=SimpleUploadedFile("走访记录.pdf", b"%PDF-1.4 visit")
    )
    url = reverse("cases:handling_attachment", args=[investigation.pk])

    assert login(officer_b).get(url).status_code == 404
    response = login(officer_a).get(url)

    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"%PDF")  # type: ignore[attr-defined]
    entry = AuditEntry.objects.get(action="clue.attachment_downloaded")
    assert entry.actor == officer_a
    assert entry.after["filters"] == {"investigation": investigation.pk}


def test_the_investigation_form_refuses_a_file_that_is_not_what_it_claims(
    login: Callable[[User], Client], assigned: Clue, officer_a: User
) -> None:
    response = login(officer_a).post(
        action("investigate", assigned),
        {
            "kind": "home_visit",
            "done_on": timezone.localdate().isoformat(),
            "findings": "入户查看。",
            "attachment": SimpleUploadedFile("x.pdf", b"not a pdf"),
        },
    )

    assert response.status_code == 400
    assert not assigned.investigations.exists()


def test_the_school_finds_and_names_the_student_of_a_public_report(
    login: Callable[[User], Client],
    district_officer: User,
    officer_a: User,
    officer_b: User,
    principal_a: User,
    school_a: OrgUnit,
    award: Any,
) -> None:
    clue, _ = submit_public_report(
        allegation="邾城某小学张小花家里开了两家商店，却领取了生活补助。", school=school_a, ip=None
    )
    clue = svc.assign_clue(clue, actor=district_officer, school=school_a)
    student = award.student
    url = action("student", clue)

    assert login(officer_b).post(url, {"student": student.pk}).status_code == 404
    assert (
        login(principal_a).get(page(clue) + "?q=张小花").content.decode().count("列为涉及学生：")
        == 0
    )
    client = login(officer_a)
    body = client.get(page(clue) + "?q=张小花").content.decode()
    assert f"列为涉及学生：{student.name}" in body
    client.post(url, {"student": student.pk})

    assert list(clue.students.all()) == [student]
    assert AuditEntry.objects.filter(action="clue.student_named").count() == 1
    body = client.get(page(clue)).content.decode()
    assert f'<option value="{award.pk}">' in body


def test_a_student_of_another_school_cannot_be_named(
    district_officer: User, school_a: OrgUnit, school_b: OrgUnit
) -> None:
    clue, _ = submit_public_report(
        allegation="某小学学生家里开了两家商店。", school=school_a, ip=None
    )
    other = StudentFactory(school=school_b)

    with pytest.raises(DomainError, match="不是"):
        svc.add_clue_student(clue, actor=district_officer, student=other)
    assert not clue.students.exists()


def test_a_school_sees_only_its_own_students_on_a_clue_naming_two_schools(
    login: Callable[[User], Client],
    district_officer: User,
    officer_a: User,
    school_a: OrgUnit,
    school_b: OrgUnit,
    alice: Any,
) -> None:
    bob = StudentFactory(school=school_b, name="李小明")
    clue = register_clue(
        actor=district_officer,
        channel=Channel.HOTLINE,
        allegation="反映两校学生家庭均已购置商品房，不再困难。",
        students=[alice, bob],
    )
    # assign_clue refuses a clue naming two schools' students; the page must still not leak
    # if one gets there (data from before that rule), so the state is set with the primitive.
    clue = workflow.move_clue(clue, ClueStatus.ASSIGNED, actor=district_officer, school=school_a)
    detail = reverse("cases:intake_detail", args=[clue.pk])

    body = login(officer_a).get(detail).content.decode()

    assert alice.name in body
    assert bob.name not in body and school_b.name not in body
    assert bob.name in login(district_officer).get(detail).content.decode()
