"""Named personas (style.md, "Tests"). Accounts, roles and certificates go through services."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, timedelta

import pytest
from django.utils import timezone

from tests.factories import SchoolFactory, district, town
from zizhu.core import services
from zizhu.core.models import OrgUnit, Role, User

PASSWORD = "Zizhu-Test-2026"


@pytest.fixture
def make_user(db: None) -> Callable[..., User]:
    """make_user("name", Role.SCHOOL_OFFICER, unit, certified=True)."""

    def make(
        username: str,
        role: str | None = None,
        unit: OrgUnit | None = None,
        *,
        certified: bool = False,
    ) -> User:
        user = services.create_user(username, actor=None, full_name=username, password=PASSWORD)
        if role is not None and unit is not None:
            services.assign_role(user, actor=None, role=role, org_unit=unit)
        if certified:
            today = timezone.localdate()
            certify(
                user, issued_on=today - timedelta(days=30), expires_on=today + timedelta(days=700)
            )
        return user

    return make


def certify(user: User, *, issued_on: date, expires_on: date) -> None:
    """Issue a certificate as a throwaway district head (the service needs a permitted actor)."""
    issuer = User.objects.filter(username="cert_issuer").first()
    if issuer is None:
        issuer = services.create_user(
            "cert_issuer", actor=None, full_name="发证人", password=PASSWORD
        )
        services.assign_role(issuer, actor=None, role=Role.DISTRICT_HEAD, org_unit=district())
    services.issue_certification(
        user,
        actor=issuer,
        number=f"ZZ-{user.username}-{issued_on:%Y%m%d}",
        issued_on=issued_on,
        expires_on=expires_on,
    )


@pytest.fixture
def school_a(db: None) -> OrgUnit:
    return SchoolFactory(name="邾城第一小学", code="4201170101", parent=town("邾城街道"))


@pytest.fixture
def school_b(db: None) -> OrgUnit:
    return SchoolFactory(name="阳逻第一小学", code="4201170201", parent=town("阳逻街道"))


@pytest.fixture
def district_officer(make_user: Callable[..., User]) -> User:
    return make_user("district_officer", Role.DISTRICT_OFFICER, district(), certified=True)


@pytest.fixture
def district_head(make_user: Callable[..., User]) -> User:
    return make_user("district_head", Role.DISTRICT_HEAD, district(), certified=True)


@pytest.fixture
def officer_a(make_user: Callable[..., User], school_a: OrgUnit) -> User:
    return make_user("officer_a", Role.SCHOOL_OFFICER, school_a, certified=True)


@pytest.fixture
def officer_b(make_user: Callable[..., User], school_b: OrgUnit) -> User:
    return make_user("officer_b", Role.SCHOOL_OFFICER, school_b, certified=True)


@pytest.fixture
def uncertified_officer_a(make_user: Callable[..., User], school_a: OrgUnit) -> User:
    return make_user("uncertified_a", Role.SCHOOL_OFFICER, school_a)


@pytest.fixture
def principal_a(make_user: Callable[..., User], school_a: OrgUnit) -> User:
    return make_user("principal_a", Role.PRINCIPAL, school_a)


@pytest.fixture
def inspector_a(make_user: Callable[..., User], school_a: OrgUnit) -> User:
    return make_user("inspector_a", Role.SCHOOL_INSPECTOR, school_a)


@pytest.fixture
def town_supervisor(make_user: Callable[..., User], school_a: OrgUnit) -> User:
    """Supervises 邾城街道, which holds school A but not school B."""
    return make_user("town_zhucheng", Role.TOWN_SUPERVISOR, town("邾城街道"))


@pytest.fixture
def inspection_team(make_user: Callable[..., User]) -> User:
    return make_user("inspection_team", Role.INSPECTION_TEAM, district())


@pytest.fixture
def auditor(make_user: Callable[..., User]) -> User:
    return make_user("auditor", Role.AUDITOR, district())


@pytest.fixture
def sysadmin(make_user: Callable[..., User]) -> User:
    return make_user("sysadmin", Role.SYSADMIN, district())


@pytest.fixture
def outsider(make_user: Callable[..., User]) -> User:
    """Signed in, but holds no role anywhere."""
    return make_user("outsider")


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    """Rate limits (public report, tracking, objections) live in Django's cache, which a test
    process keeps between tests; each test starts and ends with it empty."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
