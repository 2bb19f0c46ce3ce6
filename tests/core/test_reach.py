"""Reach: one door for lists, one for objects; "not yours" looks like "missing" (404)."""

from __future__ import annotations

import io
from collections.abc import Callable

import openpyxl
import pytest
from django.test import Client

from tests.factories import district, town
from zizhu.core import services
from zizhu.core.errors import NotPermitted, OutOfReach
from zizhu.core.models import Certification, OrgUnit, Role, User
from zizhu.core.reach import get_for, get_unit_for, require_permission, scope_for

DISTRICT_PERSONAS = ["district_officer", "district_head", "inspection_team", "auditor"]


def _school_names(client: Client) -> set[str]:
    response = client.get("/units/")
    assert response.status_code == 200
    return {school.name for school in response.context["page"].object_list}


def _exported_names(client: Client, query: str = "") -> set[str]:
    response = client.get(f"/units/export.xlsx{query}")
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    return {row[1] for row in sheet.iter_rows(min_row=2, values_only=True)}


def _certificate_of(user: User) -> Certification:
    return Certification.objects.get(holder=user)


# --- scope_for and visible_to ----------------------------------------------------------


def test_school_officer_reaches_only_their_school(officer_a: User, school_a: OrgUnit) -> None:
    scope = scope_for(officer_a, "orgunit:view")

    assert not scope.everything
    assert scope.unit_ids == {school_a.pk}


def test_town_supervisor_reaches_the_town_and_its_schools(
    town_supervisor: User, school_a: OrgUnit, school_b: OrgUnit
) -> None:
    scope = scope_for(town_supervisor, "orgunit:view")

    assert scope.covers(school_a.pk)
    assert scope.covers(town("邾城街道").pk)
    assert not scope.covers(school_b.pk)
    assert not scope.covers(town("阳逻街道").pk)


@pytest.mark.parametrize("persona", DISTRICT_PERSONAS)
def test_district_roles_reach_everything(request: pytest.FixtureRequest, persona: str) -> None:
    assert scope_for(request.getfixturevalue(persona), "orgunit:view").everything


def test_a_role_reaches_nothing_for_a_permission_it_lacks(officer_a: User) -> None:
    scope = scope_for(officer_a, "user:manage")

    assert not scope.everything
    assert scope.unit_ids == frozenset()
    with pytest.raises(NotPermitted):
        require_permission(officer_a, "user:manage")


def test_outsider_reaches_nothing(outsider: User, school_a: OrgUnit) -> None:
    assert not scope_for(outsider, "orgunit:view").covers(school_a.pk)
    assert not OrgUnit.objects.visible_to(outsider).exists()


def test_visible_to_lists_only_schools_within_reach(
    officer_a: User,
    town_supervisor: User,
    district_officer: User,
    school_a: OrgUnit,
    school_b: OrgUnit,
) -> None:
    assert list(OrgUnit.objects.visible_to(officer_a).schools()) == [school_a]
    assert list(OrgUnit.objects.visible_to(town_supervisor).schools()) == [school_a]
    assert set(OrgUnit.objects.visible_to(district_officer).schools()) == {school_a, school_b}


def test_a_deactivated_account_reaches_nothing(
    make_user: Callable[..., User], school_a: OrgUnit
) -> None:
    user = make_user("inactive_a", Role.SCHOOL_OFFICER, school_a)
    user.is_active = False

    assert not OrgUnit.objects.visible_to(user).exists()


# --- get_for ---------------------------------------------------------------------------


def test_get_for_returns_an_object_within_reach(officer_a: User, school_a: OrgUnit) -> None:
    assert get_unit_for(officer_a, school_a.pk) == school_a


def test_get_for_raises_out_of_reach_for_another_school(officer_a: User, school_b: OrgUnit) -> None:
    with pytest.raises(OutOfReach):
        get_unit_for(officer_a, school_b.pk)


def test_get_for_treats_missing_and_malformed_keys_like_out_of_reach(officer_a: User) -> None:
    with pytest.raises(OutOfReach):
        get_unit_for(officer_a, 999_999)
    with pytest.raises(OutOfReach):
        get_unit_for(officer_a, "not-a-number")


def test_get_for_follows_the_unit_path_of_the_model(
    officer_a: User, officer_b: User, district_officer: User
) -> None:
    certificates = Certification.objects.distinct()
    path = "holder__assignments__org_unit"
    mine, theirs = _certificate_of(officer_a), _certificate_of(officer_b)

    assert get_for(officer_a, certificates, path, perm="certification:view", pk=mine.pk) == mine
    with pytest.raises(OutOfReach):
        get_for(officer_a, certificates, path, perm="certification:view", pk=theirs.pk)
    assert get_for(district_officer, certificates, path, perm="certification:view", pk=theirs.pk)


# --- pages: school officer A against school B ------------------------------------------


def test_officer_a_gets_404_on_school_b(client: Client, officer_a: User, school_b: OrgUnit) -> None:
    client.force_login(officer_a)

    assert client.get(f"/units/{school_b.pk}/").status_code == 404


def test_officer_a_gets_404_on_school_b_certificates(
    client: Client, officer_a: User, officer_b: User
) -> None:
    client.force_login(officer_a)
    theirs = _certificate_of(officer_b)

    assert client.get(f"/certifications/{theirs.pk}/").status_code == 404
    assert client.get(f"/certifications/{_certificate_of(officer_a).pk}/").status_code == 200


def test_school_b_never_appears_in_officer_a_lists_or_exports(
    client: Client, officer_a: User, officer_b: User, school_a: OrgUnit, school_b: OrgUnit
) -> None:
    client.force_login(officer_a)

    assert _school_names(client) == {school_a.name}
    assert _exported_names(client) == {school_a.name}
    assert _exported_names(client, f"?q={school_b.code}") == set()
    certificates = client.get("/certifications/").context["page"].object_list
    assert [c.holder for c in certificates] == [officer_a]


def test_filtering_by_another_town_does_not_widen_reach(
    client: Client, officer_a: User, school_b: OrgUnit
) -> None:
    client.force_login(officer_a)

    response = client.get(f"/units/?town={school_b.parent_id}")

    assert school_b.name not in response.content.decode()


# --- pages: town supervisor, district, outsider -----------------------------------------


def test_town_supervisor_sees_only_its_schools(
    client: Client, town_supervisor: User, school_a: OrgUnit, school_b: OrgUnit
) -> None:
    client.force_login(town_supervisor)

    assert _school_names(client) == {school_a.name}
    assert _exported_names(client) == {school_a.name}
    assert client.get(f"/units/{school_a.pk}/").status_code == 200
    assert client.get(f"/units/{school_b.pk}/").status_code == 404


@pytest.mark.parametrize("persona", DISTRICT_PERSONAS)
def test_district_roles_see_both_schools(
    client: Client,
    request: pytest.FixtureRequest,
    persona: str,
    school_a: OrgUnit,
    school_b: OrgUnit,
) -> None:
    client.force_login(request.getfixturevalue(persona))

    assert _school_names(client) == {school_a.name, school_b.name}
    assert _exported_names(client) == {school_a.name, school_b.name}
    assert client.get(f"/units/{school_b.pk}/").status_code == 200


def test_outsider_sees_no_schools(
    client: Client, outsider: User, school_a: OrgUnit, school_b: OrgUnit
) -> None:
    client.force_login(outsider)

    for path in ("/units/", "/units/export.xlsx"):
        response = client.get(path)
        assert response.status_code == 403
        assert school_a.name not in response.content.decode()
    assert client.get(f"/units/{school_a.pk}/").status_code == 404


def test_district_unit_itself_is_out_of_a_school_officers_reach(
    client: Client, officer_a: User
) -> None:
    client.force_login(officer_a)

    assert client.get(f"/units/{district().pk}/").status_code == 404


def test_certification_list_follows_the_holders_unit(
    client: Client,
    town_supervisor: User,
    officer_a: User,
    officer_b: User,
    district_officer: User,
) -> None:
    client.force_login(town_supervisor)
    holders = {c.holder for c in client.get("/certifications/").context["page"].object_list}

    assert holders == {officer_a}


def test_a_certificate_of_a_holder_with_two_posts_in_reach_is_listed_once(
    client: Client, district_officer: User, officer_a: User, school_a: OrgUnit
) -> None:
    services.assign_role(officer_a, actor=None, role=Role.PRINCIPAL, org_unit=school_a)
    client.force_login(officer_a)

    certificates = client.get("/certifications/").context["page"].object_list
    assert [c.holder for c in certificates] == [officer_a]
    assert client.get(f"/certifications/{certificates[0].pk}/").status_code == 200
