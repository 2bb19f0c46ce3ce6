"""Application screens: who sees which application, entering, moving, printing, scans."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.aid.factories import (
    JPG_BYTES,
    PDF_BYTES,
    advance,
    draft,
    identified_student,
    signed_form,
    tier,
)
from tests.factories import StudentFactory
from zizhu.aid.models import Application, AppStatus
from zizhu.core.models import AuditEntry, OrgUnit, Role, User
from zizhu.core.worklist import work_items_for
from zizhu.registry.models import Student


@pytest.fixture
def reviewer_a(make_user: Callable[..., User], school_a: OrgUnit) -> User:
    return make_user("reviewer_a", Role.SCHOOL_OFFICER, school_a, certified=True)


@pytest.fixture
def people(
    officer_a: User, reviewer_a: User, principal_a: User, district_officer: User
) -> dict[str, User]:
    return {
        "officer": officer_a,
        "reviewer": reviewer_a,
        "principal": principal_a,
        "district": district_officer,
    }


@pytest.fixture
def login(client: Client) -> Callable[[User], Client]:
    def sign_in(user: User) -> Client:
        client.force_login(user)
        return client

    return sign_in


@pytest.fixture
def alice(school_a: OrgUnit, officer_a: User) -> Student:
    return identified_student(school_a, actor=officer_a, name="张小花")


@pytest.fixture
def app(alice: Student, officer_a: User) -> Application:
    return draft(alice, actor=officer_a)


def url(name: str, app: Application | None = None) -> str:
    return reverse(f"aid:{name}", args=[app.pk] if app else [])


def at(app: Application, status: str, people: dict[str, User]) -> Application:
    return advance(app, status, people)


# --- list -----------------------------------------------------------------------------------


def test_list_shows_only_applications_in_reach_with_counts(
    login: Callable[[User], Client],
    app: Application,
    school_b: OrgUnit,
    officer_b: User,
    officer_a: User,
) -> None:
    other = identified_student(school_b, actor=officer_b, name="李大山")
    draft(other, actor=officer_b)
    response = login(officer_a).get(url("application_list"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "张小花" in body and "李大山" not in body
    assert "草稿（1）" in body
    assert "录入申请" in body


def test_list_filters_by_status(
    login: Callable[[User], Client], app: Application, people: dict[str, User], school_a: OrgUnit
) -> None:
    second = draft(
        identified_student(school_a, actor=people["officer"], name="王二"), actor=people["officer"]
    )
    at(second, AppStatus.SUBMITTED, people)
    response = login(people["officer"]).get(url("application_list"), {"status": "submitted"})
    body = response.content.decode()
    assert "王二" in body and "张小花" not in body
    assert "已提交（1）" in body and "草稿（1）" in body


def test_principal_may_read_the_list_but_not_enter(
    login: Callable[[User], Client], app: Application, principal_a: User
) -> None:
    response = login(principal_a).get(url("application_list"))
    assert "张小花" in response.content.decode()
    assert "录入申请" not in response.content.decode()
    assert login(principal_a).get(url("application_create")).status_code == 403


def test_list_query_count_does_not_grow_with_rows(
    login: Callable[[User], Client], officer_a: User, school_a: OrgUnit
) -> None:
    client = login(officer_a)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url("application_list")).status_code == 200
        return len(captured)

    queries()  # the first request after signing in also writes the session
    draft(identified_student(school_a, actor=officer_a), actor=officer_a)
    few = queries()
    for _ in range(6):
        draft(identified_student(school_a, actor=officer_a), actor=officer_a)
    assert queries() == few


# --- entering -------------------------------------------------------------------------------


def test_picker_lists_identified_students_in_reach(
    login: Callable[[User], Client], alice: Student, officer_a: User, school_a: OrgUnit
) -> None:
    StudentFactory(school=school_a, name="未认定学生")
    body = login(officer_a).get(url("application_create")).content.decode()
    assert "张小花" in body and "未认定学生" not in body


def test_officer_enters_an_application(
    login: Callable[[User], Client], alice: Student, officer_a: User
) -> None:
    client = login(officer_a)
    form_page = client.get(url("application_create"), {"student": alice.pk})
    offered = {p.code for p in form_page.context["form"].fields["programme"].queryset}
    assert offered == {"COMPULSORY_LIVING"}
    programme_pk = form_page.context["form"].fields["programme"].queryset.get().pk
    response = client.post(
        url("application_create") + f"?student={alice.pk}",
        {
            "student": alice.pk,
            "programme": programme_pk,
            "tier": tier().pk,
            "family_statement": "父亲患病",
            "signed_form": signed_form(),
        },
    )
    created = Application.objects.get()
    assert response.status_code == 302
    assert response.url == url("application_detail", created)
    assert (created.status, created.family_statement) == (AppStatus.DRAFT, "父亲患病")
    assert created.signed_form


def test_refusal_comes_back_onto_the_form(
    login: Callable[[User], Client], app: Application, alice: Student, officer_a: User
) -> None:
    response = login(officer_a).post(
        url("application_create") + f"?student={alice.pk}",
        {"student": alice.pk, "programme": app.programme.pk, "tier": tier().pk},
    )
    assert response.status_code == 200
    assert "只能申请一次" in response.content.decode()


def test_officer_b_cannot_enter_for_school_a(
    login: Callable[[User], Client], alice: Student, officer_b: User
) -> None:
    assert login(officer_b).get(url("application_create"), {"student": alice.pk}).status_code == 404


# --- the application page ------------------------------------------------------------------------


def test_officer_b_gets_404_on_school_a_application(
    login: Callable[[User], Client], app: Application, officer_b: User
) -> None:
    client = login(officer_b)
    for name in ("application_detail", "application_pdf", "application_signed_form"):
        assert client.get(url(name, app)).status_code == 404
    assert client.post(url("application_decide", app), {"decision": "approve"}).status_code == 404


def test_detail_shows_facts_masked_id_and_the_chain(
    login: Callable[[User], Client], app: Application, people: dict[str, User]
) -> None:
    at(app, AppStatus.SCHOOL_REVIEWED, people)
    body = login(people["officer"]).get(url("application_detail", app)).content.decode()
    assert "张小花" in body and "家庭主要劳动力因病丧失劳动能力" in body
    assert app.student.id_number not in body
    assert "reviewer_a" in body  # who reviewed
    assert 'name="decision"' not in body  # the officer has no step here


def test_submitter_sees_why_they_cannot_review(
    login: Callable[[User], Client], app: Application, people: dict[str, User]
) -> None:
    at(app, AppStatus.SUBMITTED, people)
    body = login(people["officer"]).get(url("application_detail", app)).content.decode()
    assert "本人提交" in body and 'name="decision"' not in body
    body = login(people["reviewer"]).get(url("application_detail", app)).content.decode()
    assert 'name="decision"' in body


def test_submit_goes_through_a_confirmation(
    login: Callable[[User], Client], app: Application, officer_a: User
) -> None:
    client = login(officer_a)
    page = client.post(url("application_submit", app), {"step": "review"})
    assert page.status_code == 200 and "确认提交申请" in page.content.decode()
    assert Application.objects.get(pk=app.pk).status == AppStatus.DRAFT
    client.post(url("application_submit", app), {"step": "confirm"})
    assert Application.objects.get(pk=app.pk).status == AppStatus.SUBMITTED


def test_reviewer_approves_through_the_page(
    login: Callable[[User], Client], app: Application, people: dict[str, User]
) -> None:
    at(app, AppStatus.SUBMITTED, people)
    client = login(people["reviewer"])
    confirm = client.post(url("application_decide", app), {"decision": "approve", "note": "齐全"})
    assert "确认审核结果：同意" in confirm.content.decode()
    done = client.post(
        url("application_decide", app), {"decision": "approve", "note": "齐全", "step": "confirm"}
    )
    assert done.status_code == 302
    assert Application.objects.get(pk=app.pk).status == AppStatus.SCHOOL_REVIEWED


def test_return_without_a_reason_is_sent_back(
    login: Callable[[User], Client], app: Application, people: dict[str, User]
) -> None:
    at(app, AppStatus.SUBMITTED, people)
    client = login(people["reviewer"])
    response = client.post(url("application_decide", app), {"decision": "return"}, follow=True)
    assert "必须填写理由" in response.content.decode()
    assert Application.objects.get(pk=app.pk).status == AppStatus.SUBMITTED


def test_uncertified_reviewer_is_refused_and_audited(
    login: Callable[[User], Client],
    app: Application,
    people: dict[str, User],
    uncertified_officer_a: User,
) -> None:
    at(app, AppStatus.SUBMITTED, people)
    response = login(uncertified_officer_a).post(
        url("application_decide", app), {"decision": "approve", "step": "confirm"}
    )
    assert response.status_code == 403
    assert "上岗证" in response.content.decode()
    assert AuditEntry.objects.filter(action="access.denied", actor=uncertified_officer_a).exists()
    assert Application.objects.get(pk=app.pk).status == AppStatus.SUBMITTED


def test_principal_signs_officer_cannot(
    login: Callable[[User], Client], app: Application, people: dict[str, User]
) -> None:
    at(app, AppStatus.SCHOOL_REVIEWED, people)
    data = {"decision": "approve", "step": "confirm"}
    assert login(people["officer"]).post(url("application_decide", app), data).status_code == 403
    assert login(people["principal"]).post(url("application_decide", app), data).status_code == 302
    assert Application.objects.get(pk=app.pk).status == AppStatus.PRINCIPAL_SIGNED


def test_district_sees_quota_and_a_refusal_when_none_is_set(
    login: Callable[[User], Client], app: Application, people: dict[str, User]
) -> None:
    at(app, AppStatus.NOTICE_1, people)
    client = login(people["district"])
    assert "尚未下达名额" in client.get(url("application_detail", app)).content.decode()
    response = client.post(
        url("application_decide", app), {"decision": "approve", "step": "confirm"}, follow=True
    )
    assert "尚未下达名额" in response.content.decode()
    assert Application.objects.get(pk=app.pk).status == AppStatus.NOTICE_1


def test_edit_page_changes_the_tier(
    login: Callable[[User], Client], app: Application, officer_a: User
) -> None:
    client = login(officer_a)
    response = client.post(
        url("application_edit", app), {"tier": tier("general").pk, "family_statement": "改"}
    )
    assert response.status_code == 302
    assert Application.objects.get(pk=app.pk).tier.code == "general"


# --- documents ------------------------------------------------------------------------------------


def test_pdf_form_renders_with_the_students_name(
    login: Callable[[User], Client], app: Application, officer_a: User
) -> None:
    response = login(officer_a).get(url("application_pdf", app))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    pdf = response.content
    assert pdf.startswith(b"%PDF")
    assert AuditEntry.objects.filter(action="application.form_printed").exists()
    if shutil.which("pdftotext"):
        text = subprocess.run(
            ["pdftotext", "-", "-"],  # noqa: S607 -- poppler-utils, in the Makefile's list
            input=pdf,
            capture_output=True,
            check=True,
        ).stdout.decode()
        assert "张小花" in text
        assert "家庭经济困难学生资助申请表" in text
        assert app.student.id_number not in text


def test_signed_form_upload_and_logged_download(
    login: Callable[[User], Client], alice: Student, officer_a: User
) -> None:
    app = draft(alice, actor=officer_a, signed=False)
    client = login(officer_a)
    bad = client.post(
        url("application_signed_form_upload", app),
        {"signed_form": signed_form("x.pdf", b"GIF89a")},
        follow=True,
    )
    assert "不符" in bad.content.decode()
    client.post(
        url("application_signed_form_upload", app), {"signed_form": signed_form("s.jpg", JPG_BYTES)}
    )
    response = client.get(url("application_signed_form", app))
    assert response.status_code == 200
    assert response.getvalue() == JPG_BYTES
    assert AuditEntry.objects.filter(action="application.signed_form_downloaded").exists()


def test_principal_cannot_upload_a_signed_form(
    login: Callable[[User], Client], app: Application, principal_a: User
) -> None:
    response = login(principal_a).post(
        url("application_signed_form_upload", app), {"signed_form": signed_form("s.pdf", PDF_BYTES)}
    )
    assert response.status_code == 403


# --- work list and menu ---------------------------------------------------------------------------


def test_work_list_names_the_step_waiting_for_each_person(
    app: Application, people: dict[str, User], client: Client
) -> None:
    client.force_login(people["officer"])
    client.get(url("application_list"))  # loads the URLconf, which registers the source
    at(app, AppStatus.SUBMITTED, people)

    def titles(who: str) -> list[str]:
        return [item.title for item in work_items_for(people[who])]

    assert "1 份资助申请待学校初审" in titles("reviewer")
    assert not any("初审" in t for t in titles("officer"))  # their own submission
    at(app, AppStatus.SCHOOL_REVIEWED, people)
    assert "1 份资助申请待校长签批" in titles("principal")
    at(app, AppStatus.NOTICE_1, people)
    assert "1 份资助申请第一榜公示期满，待区级审核" in titles("district")


def test_work_list_waits_for_the_notice_to_end(
    app: Application, people: dict[str, User], client: Client
) -> None:
    client.force_login(people["officer"])
    client.get(url("application_list"))
    tomorrow = timezone.localdate() + timedelta(days=1)
    advance(app, AppStatus.NOTICE_1, people, notice_ends_on=tomorrow)
    assert not any("区级审核" in item.title for item in work_items_for(people["district"]))


def test_menu_offers_applications(login: Callable[[User], Client], officer_a: User) -> None:
    body = login(officer_a).get(url("application_list")).content.decode()
    assert f'href="{url("application_list")}"' in body
