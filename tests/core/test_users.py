"""Account management by the system administrator."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from pytest_django import DjangoAssertNumQueries

from tests.factories import SchoolFactory, district, town
from zizhu.core import services
from zizhu.core.errors import DomainError, NotPermitted
from zizhu.core.models import AuditEntry, OrgUnit, Role, RoleAssignment, User

NEW_PASSWORD = "Xinzhou#2026a"


def _new_user(**extra: object) -> dict[str, object]:
    return {
        "username": "zhang_san",
        "full_name": "张三",
        "phone": "13800000000",
        "password": NEW_PASSWORD,
        "confirm": NEW_PASSWORD,
        **extra,
    }


def _act(client: Client, user: User, action: str, **data: object) -> Any:
    return client.post(f"/users/{user.pk}/", {"action": action, **data})


# --- creating ----------------------------------------------------------------------------


def test_sysadmin_creates_a_user_with_a_first_role(
    client: Client, sysadmin: User, school_a: OrgUnit
) -> None:
    client.force_login(sysadmin)

    response = client.post("/users/new/", _new_user(role=Role.SCHOOL_OFFICER, org_unit=school_a.pk))

    user = User.objects.get(username="zhang_san")
    assert response.status_code == 302
    assert response["Location"] == f"/users/{user.pk}/"
    assert user.check_password(NEW_PASSWORD)
    assert [(a.role, a.org_unit) for a in user.assignments.all()] == [
        (Role.SCHOOL_OFFICER, school_a)
    ]
    actions = set(AuditEntry.objects.filter(actor=sysadmin).values_list("action", flat=True))
    assert {"user.created", "role.assigned"} <= actions


def test_sysadmin_creates_a_user_without_a_role(client: Client, sysadmin: User) -> None:
    client.force_login(sysadmin)

    client.post("/users/new/", _new_user())

    assert not User.objects.get(username="zhang_san").assignments.exists()


def test_a_school_role_at_the_district_is_refused_in_chinese(
    client: Client, sysadmin: User
) -> None:
    client.force_login(sysadmin)

    response = client.post(
        "/users/new/", _new_user(role=Role.SCHOOL_OFFICER, org_unit=district().pk)
    )

    assert response.status_code == 200
    assert "只能授予在学校一级" in response.content.decode()
    # The account and its role are one step: a refused role leaves no account behind.
    assert not User.objects.filter(username="zhang_san").exists()


def test_a_weak_password_is_refused_in_chinese(client: Client, sysadmin: User) -> None:
    client.force_login(sysadmin)

    response = client.post("/users/new/", _new_user(password="short1", confirm="short1"))

    assert "密码至少 10 位" in response.content.decode()
    assert not User.objects.filter(username="zhang_san").exists()


def test_mismatched_passwords_are_refused(client: Client, sysadmin: User) -> None:
    client.force_login(sysadmin)

    response = client.post("/users/new/", _new_user(confirm="Other#Pass2026"))

    assert "两次输入的密码不一致" in response.content.decode()


def test_a_role_without_a_unit_is_refused(client: Client, sysadmin: User) -> None:
    client.force_login(sysadmin)

    response = client.post("/users/new/", _new_user(role=Role.PRINCIPAL))

    assert "须同时选择" in response.content.decode()
    assert not User.objects.filter(username="zhang_san").exists()


def test_a_taken_username_is_refused(client: Client, sysadmin: User, officer_a: User) -> None:
    client.force_login(sysadmin)

    response = client.post("/users/new/", _new_user(username="officer_a"))

    assert "已被使用" in response.content.decode()


# --- the detail page ---------------------------------------------------------------------


def test_sysadmin_adds_a_role(
    client: Client, sysadmin: User, officer_a: User, school_b: OrgUnit
) -> None:
    client.force_login(sysadmin)

    response = _act(client, officer_a, "add_assignment", role=Role.PRINCIPAL, org_unit=school_b.pk)

    assert response.status_code == 302
    assert officer_a.assignments.filter(role=Role.PRINCIPAL, org_unit=school_b).exists()


def test_a_town_role_at_a_school_is_refused(
    client: Client, sysadmin: User, officer_a: User, school_a: OrgUnit
) -> None:
    client.force_login(sysadmin)

    response = _act(
        client, officer_a, "add_assignment", role=Role.TOWN_SUPERVISOR, org_unit=school_a.pk
    )

    assert "只能授予在街镇一级" in response.content.decode()
    assert not officer_a.assignments.filter(role=Role.TOWN_SUPERVISOR).exists()


def test_removing_a_role_asks_for_confirmation_first(
    client: Client, sysadmin: User, officer_a: User
) -> None:
    assignment = officer_a.assignments.get()
    client.force_login(sysadmin)

    asked = _act(client, officer_a, "remove_assignment", assignment=assignment.pk)

    assert "请确认" in asked.content.decode()
    assert RoleAssignment.objects.filter(pk=assignment.pk).exists()

    done = _act(client, officer_a, "remove_assignment", assignment=assignment.pk, confirm="yes")

    assert done.status_code == 302
    assert not RoleAssignment.objects.filter(pk=assignment.pk).exists()
    assert AuditEntry.objects.filter(action="role.revoked", actor=sysadmin).exists()


def test_a_role_of_another_user_cannot_be_removed_through_this_page(
    client: Client, sysadmin: User, officer_a: User, officer_b: User
) -> None:
    client.force_login(sysadmin)
    theirs = officer_b.assignments.get()

    response = _act(client, officer_a, "remove_assignment", assignment=theirs.pk, confirm="yes")

    assert response.status_code == 404
    assert RoleAssignment.objects.filter(pk=theirs.pk).exists()
    malformed = _act(client, officer_a, "remove_assignment", assignment="x", confirm="yes")
    assert malformed.status_code == 404


def test_sysadmin_resets_a_password(client: Client, sysadmin: User, officer_a: User) -> None:
    client.force_login(sysadmin)

    response = _act(
        client, officer_a, "reset_password", password=NEW_PASSWORD, confirm=NEW_PASSWORD
    )

    officer_a.refresh_from_db()
    assert response.status_code == 302
    assert officer_a.check_password(NEW_PASSWORD)
    assert AuditEntry.objects.filter(action="user.password_changed", actor=sysadmin).exists()


def test_a_weak_reset_password_is_refused(client: Client, sysadmin: User, officer_a: User) -> None:
    client.force_login(sysadmin)

    response = _act(client, officer_a, "reset_password", password="abcdefgh", confirm="abcdefgh")

    assert "密码至少 10 位" in response.content.decode()
    officer_a.refresh_from_db()
    assert not officer_a.check_password("abcdefgh")


def test_deactivating_asks_for_confirmation_then_blocks_sign_in(
    client: Client, sysadmin: User, officer_a: User
) -> None:
    client.force_login(sysadmin)

    asked = _act(client, officer_a, "set_active", active="0")
    officer_a.refresh_from_db()
    assert "请确认" in asked.content.decode()
    assert officer_a.is_active

    _act(client, officer_a, "set_active", active="0", confirm="yes")
    officer_a.refresh_from_db()
    assert not officer_a.is_active
    assert AuditEntry.objects.filter(action="user.deactivated", actor=sysadmin).exists()

    _act(client, officer_a, "set_active", active="1")
    officer_a.refresh_from_db()
    assert officer_a.is_active
    assert AuditEntry.objects.filter(action="user.activated", actor=sysadmin).exists()


def test_a_deactivated_users_open_session_ends(
    client: Client, sysadmin: User, officer_a: User
) -> None:
    client.force_login(officer_a)
    services.set_user_active(officer_a, actor=sysadmin, active=False)

    assert client.get("/").status_code == 302


def test_set_user_active_refuses_self_deactivation_and_repeats(sysadmin: User) -> None:
    with pytest.raises(DomainError, match="不能停用自己"):
        services.set_user_active(sysadmin, actor=sysadmin, active=False)
    with pytest.raises(DomainError, match="已是启用状态"):
        services.set_user_active(sysadmin, actor=sysadmin, active=True)


def test_set_user_active_needs_user_manage(officer_a: User, officer_b: User) -> None:
    with pytest.raises(NotPermitted):
        services.set_user_active(officer_b, actor=officer_a, active=False)


# --- who may ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "persona", ["officer_a", "district_officer", "district_head", "auditor", "outsider"]
)
def test_only_the_sysadmin_manages_users(
    client: Client, request: pytest.FixtureRequest, persona: str, sysadmin: User
) -> None:
    client.force_login(request.getfixturevalue(persona))

    assert client.get("/users/").status_code == 403
    assert client.get("/users/new/").status_code == 403
    assert client.post("/users/new/", _new_user()).status_code == 403
    assert client.get(f"/users/{sysadmin.pk}/").status_code == 403
    assert _act(client, sysadmin, "set_active", active="0", confirm="yes").status_code == 403
    sysadmin.refresh_from_db()
    assert sysadmin.is_active
    assert not User.objects.filter(username="zhang_san").exists()


# --- the list ----------------------------------------------------------------------------


def test_list_shows_roles_and_searches(
    client: Client, sysadmin: User, officer_a: User, principal_a: User
) -> None:
    client.force_login(sysadmin)

    content = client.get("/users/").content.decode()
    found = client.get("/users/?q=principal").context["page"].object_list
    by_role = client.get(f"/users/?role={Role.SCHOOL_OFFICER}").context["page"].object_list

    assert Role.SCHOOL_OFFICER.label in content
    assert "邾城第一小学" in content
    assert list(found) == [principal_a]
    assert list(by_role) == [officer_a]


def test_list_query_count_is_constant(
    client: Client,
    sysadmin: User,
    make_user: Callable[..., User],
    django_assert_max_num_queries: DjangoAssertNumQueries,
) -> None:
    for n in range(30):
        school = SchoolFactory(parent=town())
        make_user(f"user{n:02d}", Role.SCHOOL_OFFICER, school)
    client.force_login(sysadmin)

    # Session and actor (3), count, page, assignments, their units, session save (3).
    with django_assert_max_num_queries(10):
        response = client.get("/users/")

    assert len(response.context["page"].object_list) == 31


def test_a_narrower_user_manager_stays_within_reach(
    make_user: Callable[..., User],
    school_a: OrgUnit,
    school_b: OrgUnit,
    officer_a: User,
    officer_b: User,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Only the district's system administrator manages users today; were a town role to,
    it would see and change only accounts of its own schools."""
    from zizhu.core.permissions import ROLE_PERMISSIONS

    granted = ROLE_PERMISSIONS[Role.TOWN_SUPERVISOR] | {"user:manage"}
    monkeypatch.setitem(ROLE_PERMISSIONS, Role.TOWN_SUPERVISOR, granted)
    manager = make_user("town_users", Role.TOWN_SUPERVISOR, school_a.parent)

    visible = set(User.objects.visible_to(manager))
    assert officer_a in visible and officer_b not in visible
    services.assign_role(officer_a, actor=manager, role=Role.PRINCIPAL, org_unit=school_a)
    with pytest.raises(NotPermitted, match="不在您的管辖范围内"):
        services.assign_role(officer_b, actor=manager, role=Role.PRINCIPAL, org_unit=school_b)
