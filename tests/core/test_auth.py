"""Sign-in, home pages, navigation, lockout, denied attempts, password rule, idle timeout."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from tests.conftest import PASSWORD
from zizhu.core import services
from zizhu.core.errors import DomainError
from zizhu.core.models import AuditEntry, LoginAttempt, OrgUnit, Role, User
from zizhu.core.passwords import StrengthValidator

LOCKED = "账户已临时锁定"

PERSONAS = [
    ("district_officer", Role.DISTRICT_OFFICER),
    ("district_head", Role.DISTRICT_HEAD),
    ("officer_a", Role.SCHOOL_OFFICER),
    ("officer_b", Role.SCHOOL_OFFICER),
    ("uncertified_officer_a", Role.SCHOOL_OFFICER),
    ("principal_a", Role.PRINCIPAL),
    ("inspector_a", Role.SCHOOL_INSPECTOR),
    ("town_supervisor", Role.TOWN_SUPERVISOR),
    ("inspection_team", Role.INSPECTION_TEAM),
    ("auditor", Role.AUDITOR),
    ("sysadmin", Role.SYSADMIN),
]


def _login(client: Client, username: str, password: str = PASSWORD) -> Any:
    return client.post("/login/", {"username": username, "password": password})


def _menu_labels(client: Client) -> list[str]:
    response = client.get("/")
    return [label for label, _ in response.context["menu"]]


def _actions(action: str) -> int:
    return AuditEntry.objects.filter(action=action).count()


# --- the login page and home pages -----------------------------------------------------


@pytest.mark.django_db
def test_login_page_is_in_chinese(client: Client) -> None:
    response = client.get("/login/")
    content = response.content.decode()
    assert response.status_code == 200
    assert 'lang="zh-hans"' in content
    for text in ("登录", "用户名", "密码", "连续输错 5 次密码"):
        assert text in content


@pytest.mark.django_db
@pytest.mark.parametrize(("persona", "role"), PERSONAS)
def test_every_persona_signs_in_and_reaches_its_home_page(
    client: Client, request: pytest.FixtureRequest, persona: str, role: Role
) -> None:
    user: User = request.getfixturevalue(persona)

    response = _login(client, user.username)

    assert response.status_code == 302
    home = client.get("/")
    assert home.status_code == 200
    assert "工作台" in home.content.decode()
    assert role.label in home.content.decode()


def test_outsider_signs_in_and_is_told_they_have_no_post(client: Client, outsider: User) -> None:
    _login(client, outsider.username)

    home = client.get("/")

    assert home.status_code == 200
    assert "尚未分配岗位" in home.content.decode()
    assert _menu_labels(client) == ["工作台"]


def test_successful_sign_in_is_audited(client: Client, officer_a: User) -> None:
    _login(client, officer_a.username)

    assert AuditEntry.objects.filter(action="auth.login", actor=officer_a).exists()


def test_sign_in_honours_a_safe_next_and_ignores_an_external_one(
    client: Client, officer_a: User
) -> None:
    response = client.post(
        "/login/?next=/units/", {"username": officer_a.username, "password": PASSWORD}
    )
    assert response["Location"] == "/units/"

    client.logout()
    response = client.post(
        "/login/?next=https://evil.example/", {"username": officer_a.username, "password": PASSWORD}
    )
    assert response["Location"] == "/"


# --- navigation ------------------------------------------------------------------------


def test_sysadmin_menu_shows_user_management_and_calendar(client: Client, sysadmin: User) -> None:
    client.force_login(sysadmin)

    labels = _menu_labels(client)

    assert "用户管理" in labels
    assert "节假日日历" in labels
    assert "学生" not in labels


def test_school_officer_menu_shows_students_but_not_administration(
    client: Client, officer_a: User
) -> None:
    client.force_login(officer_a)

    labels = _menu_labels(client)

    assert {"工作台", "学校", "学生", "教职工", "上岗证"} <= set(labels)
    assert "用户管理" not in labels
    assert "节假日日历" not in labels


def test_anonymous_visitor_is_sent_to_the_login_page(client: Client, db: None) -> None:
    for path in ("/", "/units/", "/users/", "/certifications/"):
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"].startswith("/login/?next=")


# --- lockout ---------------------------------------------------------------------------


def _fail(client: Client, username: str, times: int) -> None:
    for _ in range(times):
        response = _login(client, username, "Wrong-Password-1")
        assert response.status_code == 200


def test_five_failures_lock_the_account_even_against_the_right_password(
    client: Client, officer_a: User
) -> None:
    _fail(client, officer_a.username, 5)

    response = _login(client, officer_a.username)

    assert response.status_code == 200
    assert LOCKED in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_four_failures_do_not_lock_the_account(client: Client, officer_a: User) -> None:
    _fail(client, officer_a.username, 4)

    response = _login(client, officer_a.username)

    assert response.status_code == 302


def test_the_lock_lifts_once_the_failures_leave_the_window(client: Client, officer_a: User) -> None:
    _fail(client, officer_a.username, 5)
    window = timedelta(seconds=settings.ZIZHU_LOCKOUT_WINDOW_SECONDS + 1)
    LoginAttempt.objects.filter(username=officer_a.username).update(at=timezone.now() - window)

    response = _login(client, officer_a.username)

    assert response.status_code == 302


def test_retrying_a_locked_account_does_not_extend_the_lock(
    client: Client, officer_a: User
) -> None:
    _fail(client, officer_a.username, 5)
    window = timedelta(seconds=settings.ZIZHU_LOCKOUT_WINDOW_SECONDS + 1)
    LoginAttempt.objects.filter(username=officer_a.username).update(at=timezone.now() - window)
    # Attempts made while locked would have been recorded here; none are counted.
    assert LoginAttempt.objects.filter(username=officer_a.username).count() == 5

    response = _login(client, officer_a.username)

    assert response.status_code == 302


def test_attempts_while_locked_are_audited_but_not_counted(client: Client, officer_a: User) -> None:
    _fail(client, officer_a.username, 8)

    assert LoginAttempt.objects.filter(username=officer_a.username).count() == 5
    assert _actions("auth.locked_out") == 4


def test_every_failure_and_the_lockout_are_audited(client: Client, officer_a: User) -> None:
    _fail(client, officer_a.username, 6)

    assert _actions("auth.login_failed") == 4
    assert _actions("auth.locked_out") == 2
    row = AuditEntry.objects.filter(action="auth.locked_out").first()
    assert row is not None
    assert row.subject_id == str(officer_a.pk)
    assert officer_a.username in row.actor_label


def test_failures_for_an_unknown_username_are_audited_too(client: Client, db: None) -> None:
    _fail(client, "nobody", 1)

    row = AuditEntry.objects.get(action="auth.login_failed")
    assert "nobody" in row.actor_label
    assert row.subject_id == ""


# --- denied attempts -------------------------------------------------------------------


def test_a_forbidden_page_is_refused_and_audited(client: Client, officer_a: User) -> None:
    client.force_login(officer_a)

    response = client.get("/users/")

    assert response.status_code == 403
    assert "没有此项操作权限" in response.content.decode()
    row = AuditEntry.objects.get(action="access.denied")
    assert row.actor_id == officer_a.pk
    assert row.after is not None
    assert row.after["path"] == "/users/"


def test_another_schools_unit_is_a_404_and_audited(
    client: Client, officer_a: User, school_b: OrgUnit
) -> None:
    client.force_login(officer_a)

    response = client.get(f"/units/{school_b.pk}/")

    assert response.status_code == 404
    row = AuditEntry.objects.get(action="access.denied")
    assert row.actor_id == officer_a.pk
    assert row.after is not None
    assert "OutOfReach" in row.after["reason"]


# --- password rule ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "password",
    ["Short-1a", "alllowercaseletters", "lowercase123456", "NOLOWER-CASE", "Ab1-Ab1-A"],
)
def test_weak_passwords_are_rejected_in_chinese(password: str) -> None:
    with pytest.raises(ValidationError) as caught:
        StrengthValidator().validate(password)

    assert "密码至少 10 位" in caught.value.messages[0]


@pytest.mark.parametrize(
    "password", ["Zizhu-Test-2026", "lowercase-1234", "UPPER_lower_x", "Abcdefghi1"]
)
def test_strong_passwords_are_accepted(password: str) -> None:
    StrengthValidator().validate(password)


def test_create_user_refuses_a_weak_password(db: None) -> None:
    with pytest.raises(DomainError) as caught:
        services.create_user("weak", actor=None, full_name="弱密码", password="abc123456")

    assert "至少三类" in caught.value.message
    assert not User.objects.filter(username="weak").exists()


def test_create_user_accepts_a_strong_password(db: None) -> None:
    user = services.create_user("strong", actor=None, full_name="强密码", password="Xinzhou#2026")

    assert user.check_password("Xinzhou#2026")


# --- idle timeout ----------------------------------------------------------------------


def test_sessions_expire_after_thirty_idle_minutes() -> None:
    assert settings.SESSION_COOKIE_AGE == 1800
    assert "zizhu.core.middleware.SlidingSessionMiddleware" in settings.MIDDLEWARE


def test_an_expired_session_is_sent_back_to_the_login_page(client: Client, officer_a: User) -> None:
    _login(client, officer_a.username)
    assert client.get("/").status_code == 200
    key = client.session.session_key
    Session.objects.filter(session_key=key).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )

    response = client.get("/")

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def _at(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    monkeypatch.setattr("zizhu.core.middleware.time.time", lambda: seconds)


@pytest.fixture
def refresh_each_minute(settings: Any) -> None:
    settings.ZIZHU_SESSION_REFRESH_SECONDS = 60


@pytest.mark.usefixtures("refresh_each_minute")
def test_a_request_a_minute_later_pushes_the_idle_expiry_forward(
    client: Client, officer_a: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    start = timezone.now().timestamp()
    _at(monkeypatch, start)
    _login(client, officer_a.username)
    client.get("/")
    key = client.session.session_key
    soon = timezone.now() + timedelta(minutes=5)
    Session.objects.filter(session_key=key).update(expire_date=soon)
    _at(monkeypatch, start + 61)

    client.get("/")

    session = Session.objects.get(session_key=key)
    assert session.expire_date > soon + timedelta(minutes=20)


@pytest.mark.usefixtures("refresh_each_minute")
def test_requests_within_a_minute_do_not_write_the_session(
    client: Client, officer_a: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    start = timezone.now().timestamp()
    _at(monkeypatch, start)
    _login(client, officer_a.username)
    client.get("/")
    key = client.session.session_key
    soon = timezone.now() + timedelta(minutes=5)
    Session.objects.filter(session_key=key).update(expire_date=soon)
    _at(monkeypatch, start + 59)

    client.get("/")

    assert Session.objects.get(session_key=key).expire_date == soon


def test_a_deactivated_account_cannot_sign_in(
    client: Client, sysadmin: User, make_user: Callable[..., User]
) -> None:
    user = make_user("leaver")
    services.set_user_active(user, actor=sysadmin, active=False)

    response = _login(client, user.username)

    assert response.status_code == 200
    assert "用户名或密码不正确" in response.content.decode()
