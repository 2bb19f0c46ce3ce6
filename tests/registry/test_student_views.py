"""Student screens: reach, search, masked identifiers, audited reveal, export."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date
from typing import Any

import openpyxl
import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.http import urlencode

from tests.factories import GuardianFactory, StudentFactory, fake_id
from zizhu.core import crypto
from zizhu.core.crypto import Sensitive
from zizhu.core.models import AuditEntry, OrgUnit, User
from zizhu.registry.models import Student, StudentStatus

LIST = reverse("registry:student_list")
EXPORT = reverse("registry:student_export")


def detail_url(student: Student) -> str:
    return reverse("registry:student_detail", args=[student.pk])


def reveal_url(student: Student) -> str:
    return reverse("registry:student_reveal", args=[student.pk])


@pytest.fixture
def login(client: Client) -> Callable[[User], Client]:
    def sign_in(user: User) -> Client:
        client.force_login(user)
        return client

    return sign_in


@pytest.fixture
def alice(school_a: OrgUnit) -> Student:
    return StudentFactory(
        school=school_a,
        name="张小花",
        id_number=fake_id(date(2013, 4, 5), male=False),
        phone="13912345678",
        bank_account="6217001234567890",
        card_holder_id=fake_id(date(1986, 7, 8)),
    )


@pytest.fixture
def bob(school_b: OrgUnit) -> Student:
    return StudentFactory(school=school_b, name="李小明", phone="13787654321")


def xlsx_rows(content: bytes) -> list[tuple[Any, ...]]:
    sheet = openpyxl.load_workbook(io.BytesIO(content), read_only=True).active
    return [tuple(row) for row in sheet.iter_rows(values_only=True)]


def denied_rows(user: User) -> int:
    return AuditEntry.objects.filter(action="access.denied", actor=user).count()


# --- reach -------------------------------------------------------------------------------


def test_school_officer_lists_own_students_only(
    login: Callable[[User], Client], officer_a: User, alice: Student, bob: Student
) -> None:
    response = login(officer_a).get(LIST)

    assert response.status_code == 200
    assert alice.name in response.content.decode()
    assert bob.name not in response.content.decode()


def test_school_officer_naming_another_school_gets_404(
    login: Callable[[User], Client], officer_a: User, school_b: OrgUnit, bob: Student
) -> None:
    client = login(officer_a)

    assert client.get(LIST, {"school": school_b.pk}).status_code == 404
    assert client.get(EXPORT, {"school": school_b.pk}).status_code == 404
    assert client.get(LIST, {"school": "not-a-number"}).status_code == 404
    assert denied_rows(officer_a) == 3


def test_school_officer_gets_404_for_another_schools_student(
    login: Callable[[User], Client], officer_a: User, bob: Student
) -> None:
    client = login(officer_a)

    assert client.get(detail_url(bob)).status_code == 404
    reveal = client.post(reveal_url(bob), {"field": "id_number", "reason": "核对"})
    assert reveal.status_code == 404
    assert bob.id_number not in reveal.content.decode()
    assert not AuditEntry.objects.filter(action="pii.revealed").exists()


def test_school_officer_export_holds_none_of_another_school(
    login: Callable[[User], Client], officer_a: User, alice: Student, bob: Student
) -> None:
    response = login(officer_a).get(EXPORT)

    assert response.status_code == 200
    names = [row[0] for row in xlsx_rows(response.content)[1:]]
    assert names == [alice.name]


def test_town_supervisor_sees_schools_of_the_town_only(
    login: Callable[[User], Client],
    town_supervisor: User,
    school_b: OrgUnit,
    alice: Student,
    bob: Student,
) -> None:
    client = login(town_supervisor)

    content = client.get(LIST).content.decode()
    assert alice.name in content
    assert bob.name not in content
    assert client.get(detail_url(alice)).status_code == 200
    assert client.get(detail_url(bob)).status_code == 404
    assert client.get(LIST, {"school": school_b.pk}).status_code == 404


def test_district_officer_sees_every_school(
    login: Callable[[User], Client],
    district_officer: User,
    school_b: OrgUnit,
    alice: Student,
    bob: Student,
) -> None:
    client = login(district_officer)

    content = client.get(LIST).content.decode()
    assert alice.name in content
    assert bob.name in content
    only_b = client.get(LIST, {"school": school_b.pk}).content.decode()
    assert bob.name in only_b
    assert alice.name not in only_b
    assert client.get(detail_url(bob)).status_code == 200


def test_outsider_sees_no_students(
    login: Callable[[User], Client], outsider: User, alice: Student
) -> None:
    client = login(outsider)

    assert alice.name not in client.get(LIST).content.decode()
    assert client.get(detail_url(alice)).status_code == 404


# --- search, sorting, pagination ----------------------------------------------------------


def idh_of(number: str | None) -> str:
    assert number is not None
    return crypto.blind_index(number, Sensitive.ID_NUMBER)


def test_exact_id_number_search_finds_the_one_student(
    login: Callable[[User], Client], district_officer: User, alice: Student, bob: Student
) -> None:
    others = StudentFactory.create_batch(3, school=alice.school)
    client = login(district_officer)

    posted = client.post(LIST, {"id_number": alice.id_number, "grade": alice.grade})

    assert posted.status_code == 302
    query = urlencode({"idh": idh_of(alice.id_number), "grade": alice.grade})
    assert posted["Location"] == f"{LIST}?{query}"
    response = client.get(posted["Location"])
    content = response.content.decode()
    assert [row["name"] for row in response.context["rows"]] == [alice.name]
    assert bob.name not in content
    assert all(other.name not in content for other in others)


def test_clear_id_number_never_appears_in_an_address_or_a_page(
    login: Callable[[User], Client], officer_a: User, alice: Student, school_a: OrgUnit
) -> None:
    StudentFactory.create_batch(2, school=school_a)
    number = str(alice.id_number)
    client = login(officer_a)

    posted = client.post(LIST, {"id_number": number.lower()})
    response = client.get(posted["Location"])

    content = response.content.decode()
    assert number not in posted["Location"]
    assert number not in content
    digest = idh_of(number)
    assert f"{EXPORT}?idh={digest}" in content
    assert response.context["query"] == f"idh={digest}"
    masked = f"{number[:6]}********{number[-4:]}"
    assert f'placeholder="{masked}"' in content
    assert f'name="idh" value="{digest}"' in content


def test_id_number_in_the_address_is_swapped_for_its_blind_index(
    login: Callable[[User], Client], officer_a: User, alice: Student
) -> None:
    response = login(officer_a).get(LIST, {"id_number": alice.id_number, "name": "张"})

    assert response.status_code == 302
    assert str(alice.id_number) not in response["Location"]
    assert f"idh={idh_of(alice.id_number)}" in response["Location"]


def test_searching_another_schools_id_number_finds_and_shows_nothing(
    login: Callable[[User], Client], officer_a: User, bob: Student
) -> None:
    response = login(officer_a).get(LIST, {"idh": idh_of(bob.id_number)})

    content = response.content.decode()
    assert response.context["rows"] == []
    assert bob.name not in content
    assert str(bob.id_number)[-4:] not in content
    assert "您的管辖范围内没有该身份证号的学生" in content


def test_a_malformed_blind_index_is_refused(
    login: Callable[[User], Client], officer_a: User, alice: Student
) -> None:
    response = login(officer_a).get(LIST, {"idh": "not-a-hash"})

    assert response.status_code == 200
    assert response.context["form"].errors["idh"]
    assert alice.name not in response.content.decode()


def test_a_new_id_number_search_keeps_the_other_filters(
    login: Callable[[User], Client], officer_a: User, alice: Student, school_a: OrgUnit
) -> None:
    client = login(officer_a)

    response = client.post(
        LIST, {"id_number": alice.id_number, "school": school_a.pk, "sort": "name"}, follow=True
    )

    assert [row["name"] for row in response.context["rows"]] == [alice.name]
    assert (
        response.context["query"] == f"idh={idh_of(alice.id_number)}&school={school_a.pk}&sort=name"
    )


def test_id_number_search_is_not_a_prefix_search(
    login: Callable[[User], Client], officer_a: User, alice: Student
) -> None:
    StudentFactory(school=alice.school, id_number=fake_id(date(2013, 4, 5)))
    number = alice.id_number
    assert number is not None

    response = login(officer_a).post(LIST, {"id_number": number[:15]}, follow=True)

    assert alice.name not in response.content.decode()


def test_id_number_search_accepts_lower_case_x(
    login: Callable[[User], Client], officer_a: User, school_a: OrgUnit
) -> None:
    student = StudentFactory(school=school_a, name="王小雨", id_number="42011720120901000X")

    response = login(officer_a).post(LIST, {"id_number": "42011720120901000x"}, follow=True)

    assert student.name in response.content.decode()


def test_malformed_id_number_shows_a_chinese_error_and_no_rows(
    login: Callable[[User], Client], officer_a: User, alice: Student
) -> None:
    number = alice.id_number
    assert number is not None
    mistyped = number[:17] + ("0" if number[17] != "0" else "1")

    response = login(officer_a).post(LIST, {"id_number": mistyped})

    content = response.content.decode()
    assert response.status_code == 200
    assert "校验位错误" in content
    assert alice.name not in content
    assert mistyped not in content
    assert "导出 Excel" not in content


def test_posting_a_school_out_of_reach_is_404(
    login: Callable[[User], Client], officer_a: User, school_b: OrgUnit
) -> None:
    response = login(officer_a).post(LIST, {"school": school_b.pk})

    assert response.status_code == 404


def test_search_by_name_grade_class_and_status(
    login: Callable[[User], Client], officer_a: User, school_a: OrgUnit
) -> None:
    StudentFactory(school=school_a, name="陈一", grade="三年级", class_name="2班")
    StudentFactory(school=school_a, name="陈二", grade="四年级", class_name="2班")
    StudentFactory(school=school_a, name="刘三", grade="三年级", class_name="1班")
    StudentFactory(
        school=school_a, name="陈四", grade="三年级", class_name="2班", status="suspended"
    )
    client = login(officer_a)

    def names(**query: str) -> set[str]:
        content = client.get(LIST, query).content.decode()
        return {n for n in ("陈一", "陈二", "刘三", "陈四") if n in content}

    assert names(name="陈") == {"陈一", "陈二", "陈四"}
    assert names(grade="三年级", class_name="2班") == {"陈一", "陈四"}
    assert names(grade="三年级", status=StudentStatus.ENROLLED) == {"陈一", "刘三"}
    assert names(status=StudentStatus.SUSPENDED) == {"陈四"}


def test_sorting_by_name_both_ways(
    login: Callable[[User], Client], officer_a: User, school_a: OrgUnit
) -> None:
    for name in ("乙同学", "甲同学", "丙同学"):
        StudentFactory(school=school_a, name=name)
    client = login(officer_a)

    def order(sort: str) -> list[str]:
        rows = client.get(LIST, {"sort": sort}).context["rows"]
        return [row["name"] for row in rows]

    ascending = order("name")
    assert ascending == sorted(ascending)
    assert order("-name") == list(reversed(ascending))


def test_grades_are_listed_in_school_year_order_not_by_their_characters(
    login: Callable[[User], Client], officer_a: User, school_a: OrgUnit
) -> None:
    # Lexically 三 (U+4E09) sorts before 二 (U+4E8C); the list must not.
    for rank, grade in ((3, "三年级"), (1, "一年级"), (2, "二年级")):
        StudentFactory(school=school_a, grade=grade, grade_rank=rank, name=f"学生{grade}")
    client = login(officer_a)

    rows = client.get(LIST).context["rows"]
    assert [row["grade"] for row in rows] == ["一年级", "二年级", "三年级"]
    rows = client.get(LIST, {"sort": "-grade"}).context["rows"]
    assert [row["grade"] for row in rows] == ["三年级", "二年级", "一年级"]


def test_sorting_outside_the_whitelist_is_refused(
    login: Callable[[User], Client], officer_a: User, alice: Student
) -> None:
    response = login(officer_a).get(LIST, {"sort": "id_number_hash"})

    assert response.status_code == 200
    assert response.context["form"].errors["sort"]


def test_list_is_paginated(
    login: Callable[[User], Client], officer_a: User, school_a: OrgUnit
) -> None:
    StudentFactory.create_batch(55, school=school_a)
    client = login(officer_a)

    first = client.get(LIST)
    second = client.get(LIST, {"page": 2})

    assert len(first.context["rows"]) == 50
    assert len(second.context["rows"]) == 5
    assert "第 2 / 2 页" in second.content.decode()


def test_list_query_count_does_not_grow_with_students(
    login: Callable[[User], Client],
    officer_a: User,
    school_a: OrgUnit,
    django_assert_max_num_queries: Any,
) -> None:
    client = login(officer_a)
    StudentFactory.create_batch(5, school=school_a)
    with CaptureQueriesContext(connection) as five:
        assert client.get(LIST).status_code == 200

    StudentFactory.create_batch(25, school=school_a)
    with django_assert_max_num_queries(len(five.captured_queries)):
        response = client.get(LIST)
    assert len(response.context["rows"]) == 30


# --- masked identifiers -------------------------------------------------------------------


def test_list_shows_identifiers_masked_never_clear(
    login: Callable[[User], Client], officer_a: User, alice: Student
) -> None:
    number = alice.id_number
    assert number is not None

    content = login(officer_a).get(LIST).content.decode()

    assert number not in content
    assert "13912345678" not in content
    assert f"{number[:6]}********{number[-4:]}" in content
    assert "139****5678" in content


def test_detail_shows_identifiers_masked_never_clear(
    login: Callable[[User], Client], officer_a: User, alice: Student
) -> None:
    guardian = GuardianFactory(student=alice, phone="13600001111")
    clear = [alice.id_number, alice.phone, alice.bank_account, alice.card_holder_id]
    clear += [guardian.id_number, guardian.phone]

    response = login(officer_a).get(detail_url(alice))

    content = response.content.decode()
    assert response.status_code == 200
    for value in clear:
        assert value
        assert value not in content
    assert "139****5678" in content
    assert "************7890" in content
    assert "136****1111" in content
    assert guardian.name in content
    assert f"guardian:{guardian.pk}:id_number" in content
    assert "查看完整信息" in content


def test_detail_offers_no_reveal_without_the_permission(
    login: Callable[[User], Client], principal_a: User, alice: Student
) -> None:
    content = login(principal_a).get(detail_url(alice)).content.decode()

    assert "139****5678" in content
    assert "查看完整信息</button>" not in content


# --- reveal -------------------------------------------------------------------------------


def test_reveal_without_reason_shows_a_chinese_error(
    login: Callable[[User], Client], officer_a: User, alice: Student
) -> None:
    response = login(officer_a).post(reveal_url(alice), {"field": "id_number", "reason": "  "})

    content = response.content.decode()
    assert "必须填写事由" in content
    assert str(alice.id_number) not in content
    assert not AuditEntry.objects.filter(action="pii.revealed").exists()


def test_reveal_by_school_officer_is_logged_with_reason_and_shows_the_value(
    login: Callable[[User], Client], officer_a: User, alice: Student
) -> None:
    response = login(officer_a).post(
        reveal_url(alice), {"field": "id_number", "reason": "核对资助申请材料"}
    )

    assert response.status_code == 200
    assert str(alice.id_number) in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    entry = AuditEntry.objects.get(action="pii.revealed")
    assert entry.actor == officer_a
    assert entry.subject_id == str(alice.pk)
    assert entry.org_unit == alice.school
    assert entry.after == {"field": "id_number", "reason": "核对资助申请材料"}


def test_reveal_answers_htmx_with_a_fragment(
    login: Callable[[User], Client], officer_a: User, alice: Student
) -> None:
    response = login(officer_a).post(
        reveal_url(alice),
        {"field": "bank_account", "reason": "发放核对"},
        headers={"HX-Request": "true"},
    )

    content = response.content.decode()
    assert "6217001234567890" in content
    assert "<html" not in content


def test_reveal_of_a_guardians_identifier(
    login: Callable[[User], Client], officer_a: User, alice: Student
) -> None:
    guardian = GuardianFactory(student=alice, phone="13600001111")

    response = login(officer_a).post(
        reveal_url(alice), {"field": f"guardian:{guardian.pk}:phone", "reason": "联系家长"}
    )

    assert "13600001111" in response.content.decode()
    entry = AuditEntry.objects.get(action="pii.revealed")
    assert entry.subject_type == "registry.guardian"
    assert entry.subject_id == str(guardian.pk)
    assert entry.org_unit == alice.school


def test_reveal_of_another_students_guardian_is_404(
    login: Callable[[User], Client], officer_a: User, alice: Student, school_a: OrgUnit
) -> None:
    stranger = GuardianFactory(student=StudentFactory(school=school_a))

    response = login(officer_a).post(
        reveal_url(alice), {"field": f"guardian:{stranger.pk}:id_number", "reason": "核对"}
    )

    assert response.status_code == 404
    assert not AuditEntry.objects.filter(action="pii.revealed").exists()


@pytest.mark.parametrize("field", ["name", "id_number_hash", "guardian:1:name", "password"])
def test_reveal_of_a_field_outside_the_whitelist_is_refused(
    login: Callable[[User], Client], officer_a: User, alice: Student, field: str
) -> None:
    response = login(officer_a).post(reveal_url(alice), {"field": field, "reason": "核对"})

    assert "无法识别要查看的信息项" in response.content.decode()
    assert not AuditEntry.objects.filter(action="pii.revealed").exists()


def test_principal_without_reveal_permission_is_refused_and_audited(
    login: Callable[[User], Client], principal_a: User, alice: Student
) -> None:
    response = login(principal_a).post(reveal_url(alice), {"field": "phone", "reason": "核对"})

    assert response.status_code == 403
    assert "13912345678" not in response.content.decode()
    assert not AuditEntry.objects.filter(action="pii.revealed").exists()
    assert denied_rows(principal_a) == 1


def test_reveal_accepts_post_only(
    login: Callable[[User], Client], officer_a: User, alice: Student
) -> None:
    response = login(officer_a).get(reveal_url(alice), {"field": "phone", "reason": "核对"})

    assert response.status_code == 405


# --- export -------------------------------------------------------------------------------


def test_export_masks_identifiers_and_is_audited_with_filters(
    login: Callable[[User], Client], officer_a: User, alice: Student, school_a: OrgUnit
) -> None:
    StudentFactory(school=school_a, grade="一年级")

    response = login(officer_a).get(
        EXPORT, {"grade": alice.grade, "idh": idh_of(alice.id_number), "sort": "name"}
    )

    rows = xlsx_rows(response.content)
    assert rows[0][:2] == ("姓名", "身份证号")
    assert len(rows) == 2
    number = str(alice.id_number)
    assert rows[1][1] == f"{number[:6]}********{number[-4:]}"
    assert rows[1][8] == "139****5678"
    assert number not in str(rows)
    entry = AuditEntry.objects.get(action="student.exported")
    assert entry.actor == officer_a
    assert entry.org_unit == school_a
    assert entry.after is not None
    assert entry.after["rows"] == 1
    assert entry.after["filters"]["grade"] == alice.grade
    assert entry.after["filters"]["id_number"] == rows[1][1]


def test_export_refuses_a_clear_id_number_in_its_address(
    login: Callable[[User], Client], officer_a: User, alice: Student
) -> None:
    response = login(officer_a).get(EXPORT, {"id_number": alice.id_number})

    assert response.status_code == 400
    assert "请在学生列表中按身份证号查询后再导出" in response.content.decode()
    assert not AuditEntry.objects.filter(action="student.exported").exists()


def test_export_without_the_permission_is_refused(
    login: Callable[[User], Client], town_supervisor: User, alice: Student
) -> None:
    response = login(town_supervisor).get(EXPORT)

    assert response.status_code == 403
    assert not AuditEntry.objects.filter(action="student.exported").exists()
    assert denied_rows(town_supervisor) == 1


def test_district_officer_exports_every_school(
    login: Callable[[User], Client], district_officer: User, alice: Student, bob: Student
) -> None:
    response = login(district_officer).get(EXPORT)

    names = {row[0] for row in xlsx_rows(response.content)[1:]}
    assert names == {alice.name, bob.name}
    assert AuditEntry.objects.get(action="student.exported").after == {
        "filters": {},
        "rows": 2,
    }
