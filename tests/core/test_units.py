"""The school list, its filters and export, and one school's page."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import timedelta

import openpyxl
import pytest
from django.test import Client
from django.utils import timezone
from pytest_django import DjangoAssertNumQueries

from tests.conftest import certify
from tests.factories import SchoolFactory, StaffFactory, StudentFactory, town
from zizhu.core import services
from zizhu.core.models import OrgUnit, Role, Stage, User


def _names(client: Client, query: str = "") -> list[str]:
    response = client.get(f"/units/{query}")
    assert response.status_code == 200
    return [school.name for school in response.context["page"].object_list]


# --- the list --------------------------------------------------------------------------


def test_list_searches_by_name_and_code(
    client: Client, district_officer: User, school_a: OrgUnit, school_b: OrgUnit
) -> None:
    client.force_login(district_officer)

    assert _names(client, "?q=阳逻") == [school_b.name]
    assert _names(client, f"?q={school_a.code}") == [school_a.name]
    assert "没有符合筛选条件的学校" in client.get("/units/?q=不存在的学校").content.decode()


def test_list_filters_by_town_and_stage(
    client: Client, district_officer: User, school_a: OrgUnit, school_b: OrgUnit
) -> None:
    kindergarten = SchoolFactory(name="邾城幼儿园", parent=town("邾城街道"), stage=Stage.PRESCHOOL)
    client.force_login(district_officer)

    zhucheng = town("邾城街道").pk
    assert set(_names(client, f"?town={zhucheng}")) == {school_a.name, kindergarten.name}
    assert _names(client, f"?town={zhucheng}&stage=幼儿园") == [kindergarten.name]
    assert _names(client, "?stage=小学") == [school_a.name, school_b.name]


def test_town_filter_offers_only_towns_with_visible_schools(
    client: Client, town_supervisor: User, school_a: OrgUnit, school_b: OrgUnit
) -> None:
    client.force_login(town_supervisor)

    towns = client.get("/units/").context["form"].fields["town"].queryset

    assert list(towns) == [town("邾城街道")]


def test_list_shows_student_counts(
    client: Client, district_officer: User, school_a: OrgUnit, school_b: OrgUnit
) -> None:
    StudentFactory.create_batch(3, school=school_a)
    client.force_login(district_officer)

    response = client.get("/units/")

    counts = {s.name: s.student_count for s in response.context["page"].object_list}
    assert counts == {school_a.name: 3, school_b.name: 0}


def test_list_paginates(client: Client, district_officer: User) -> None:
    SchoolFactory.create_batch(55)
    client.force_login(district_officer)

    first = client.get("/units/")
    second = client.get("/units/?page=2")

    assert len(first.context["page"].object_list) == 50
    assert len(second.context["page"].object_list) == 5
    assert "下一页" in first.content.decode()


def test_list_query_count_does_not_grow_with_schools(
    client: Client,
    district_officer: User,
    django_assert_max_num_queries: DjangoAssertNumQueries,
) -> None:
    for school in SchoolFactory.create_batch(30):
        StudentFactory(school=school)
    client.force_login(district_officer)

    # Session and actor (3), count, town choices, the page with its counts, session save (3).
    with django_assert_max_num_queries(9):
        client.get("/units/")


def test_sysadmin_may_list_schools(client: Client, sysadmin: User, school_a: OrgUnit) -> None:
    client.force_login(sysadmin)

    assert _names(client) == [school_a.name]


# --- the export ------------------------------------------------------------------------


def test_export_follows_the_filters(
    client: Client, principal_a: User, district_officer: User, school_a: OrgUnit, school_b: OrgUnit
) -> None:
    StudentFactory.create_batch(2, school=school_b)
    client.force_login(district_officer)

    response = client.get("/units/export.xlsx?q=阳逻")

    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("学校代码", "学校名称", "所属街镇", "学段", "寄宿制", "学生数")
    assert rows[1:] == [(school_b.code, school_b.name, "阳逻街道", "小学", "否", "2")]


def test_any_role_with_orgunit_view_may_export(
    client: Client, principal_a: User, school_a: OrgUnit
) -> None:
    client.force_login(principal_a)

    assert client.get("/units/export.xlsx").status_code == 200


# --- one school ------------------------------------------------------------------------


def test_detail_shows_facts_counts_and_accounts_with_certificate_status(
    client: Client,
    district_officer: User,
    officer_a: User,
    uncertified_officer_a: User,
    principal_a: User,
    school_a: OrgUnit,
) -> None:
    StudentFactory.create_batch(2, school=school_a)
    StaffFactory(school=school_a)
    client.force_login(district_officer)

    response = client.get(f"/units/{school_a.pk}/")

    content = response.content.decode()
    assert response.status_code == 200
    assert school_a.code in content
    assert "邾城街道" in content
    assert response.context["counts"] == {"students": 2, "staff": 1, "accounts": 3}
    standing = {a.user: a.standing.label for a in response.context["accounts"]}
    assert standing == {officer_a: "有效", uncertified_officer_a: "无证", principal_a: "无证"}
    assert Role.PRINCIPAL.label in content
    assert "登记上岗证" in content


def test_detail_prefers_a_live_certificate_and_flags_expiring_or_revoked_ones(
    client: Client,
    district_officer: User,
    make_user: Callable[..., User],
    school_a: OrgUnit,
) -> None:
    today = timezone.localdate()
    expiring = make_user("expiring", Role.SCHOOL_OFFICER, school_a)
    certify(expiring, issued_on=today - timedelta(days=700), expires_on=today - timedelta(days=5))
    certify(expiring, issued_on=today - timedelta(days=1), expires_on=today + timedelta(days=30))
    revoked = make_user("revoked", Role.PRINCIPAL, school_a, certified=True)
    services.revoke_certification(
        revoked.certifications.get(), actor=district_officer, reason="违规代填申请"
    )
    client.force_login(district_officer)

    accounts = client.get(f"/units/{school_a.pk}/").context["accounts"]

    standing = {a.user: a.standing.label for a in accounts}
    assert standing == {expiring: "即将到期", revoked: "已吊销"}


def test_detail_hides_certificates_from_roles_without_certification_view(
    client: Client, sysadmin: User, officer_a: User, school_a: OrgUnit
) -> None:
    client.force_login(sysadmin)

    response = client.get(f"/units/{school_a.pk}/")

    assert response.status_code == 200
    assert "上岗证" not in response.content.decode().split("<main")[1]
    assert response.context["accounts"][0].standing is None


def test_detail_of_a_school_without_accounts_says_so(
    client: Client, district_officer: User, school_b: OrgUnit
) -> None:
    client.force_login(district_officer)

    assert "该单位还没有平台账户" in client.get(f"/units/{school_b.pk}/").content.decode()


@pytest.mark.parametrize("persona", ["officer_a", "principal_a", "inspector_a", "town_supervisor"])
def test_school_a_people_open_school_a(
    client: Client, request: pytest.FixtureRequest, persona: str, school_a: OrgUnit
) -> None:
    client.force_login(request.getfixturevalue(persona))

    assert client.get(f"/units/{school_a.pk}/").status_code == 200
