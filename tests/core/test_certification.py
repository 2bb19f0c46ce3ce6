"""持证上岗: the require_certified gate, and issuing and revoking certificates on the web."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from tests.conftest import certify
from zizhu.core import services
from zizhu.core.errors import DomainError, NotCertified, NotPermitted
from zizhu.core.models import AuditEntry, Certification, OrgUnit, Role, User


def _today() -> date:
    return timezone.localdate()


def _form(holder: User, number: str = "XZ-2026-001", **dates: date) -> dict[str, object]:
    return {
        "holder": holder.pk,
        "number": number,
        "issued_on": dates.get("issued_on", _today()),
        "expires_on": dates.get("expires_on", _today() + timedelta(days=730)),
    }


# --- require_certified -----------------------------------------------------------------


def test_an_officer_without_a_certificate_is_refused(uncertified_officer_a: User) -> None:
    with pytest.raises(NotCertified) as caught:
        services.require_certified(uncertified_officer_a)

    assert "尚未取得学生资助工作上岗证" in caught.value.message
    assert caught.value.status == 403


def test_an_officer_with_an_expired_certificate_is_told_the_date(
    uncertified_officer_a: User,
) -> None:
    lapsed = _today() - timedelta(days=3)
    certify(uncertified_officer_a, issued_on=lapsed - timedelta(days=730), expires_on=lapsed)

    with pytest.raises(NotCertified) as caught:
        services.require_certified(uncertified_officer_a)

    assert f"{lapsed:%Y年%m月%d日}" in caught.value.message
    assert "过期" in caught.value.message


def test_an_officer_with_a_revoked_certificate_is_refused(
    officer_a: User, district_officer: User
) -> None:
    certificate = officer_a.certifications.get()
    services.revoke_certification(certificate, actor=district_officer, reason="违规操作")

    with pytest.raises(NotCertified) as caught:
        services.require_certified(officer_a)

    assert "已被吊销" in caught.value.message
    assert certificate.number in caught.value.message


def test_a_certificate_not_yet_valid_is_refused(uncertified_officer_a: User) -> None:
    starts = _today() + timedelta(days=10)
    certify(uncertified_officer_a, issued_on=starts, expires_on=starts + timedelta(days=700))

    with pytest.raises(NotCertified) as caught:
        services.require_certified(uncertified_officer_a)

    assert "才生效" in caught.value.message


def test_a_live_certificate_passes(officer_a: User) -> None:
    assert services.require_certified(officer_a) == officer_a.certifications.get()


def test_a_live_certificate_passes_beside_an_old_expired_one(
    uncertified_officer_a: User,
) -> None:
    today = _today()
    certify(uncertified_officer_a, issued_on=date(2020, 1, 1), expires_on=date(2022, 1, 1))
    certify(uncertified_officer_a, issued_on=today, expires_on=today + timedelta(days=1))

    assert services.require_certified(uncertified_officer_a).expires_on > today


# --- issuing ---------------------------------------------------------------------------


def test_district_officer_issues_a_certificate_on_the_web(
    client: Client, district_officer: User, uncertified_officer_a: User
) -> None:
    client.force_login(district_officer)

    response = client.post("/certifications/new/", _form(uncertified_officer_a))

    certificate = Certification.objects.get(number="XZ-2026-001")
    assert response.status_code == 302
    assert response["Location"] == f"/certifications/{certificate.pk}/"
    assert certificate.holder == uncertified_officer_a
    assert certificate.issued_by == district_officer
    assert services.require_certified(uncertified_officer_a) == certificate


def test_issuing_is_audited(
    client: Client, district_officer: User, uncertified_officer_a: User
) -> None:
    client.force_login(district_officer)

    client.post("/certifications/new/", _form(uncertified_officer_a))

    row = AuditEntry.objects.get(action="certification.issued", actor=district_officer)
    assert row.subject_label == "XZ-2026-001"
    assert row.after is not None
    assert row.after["holder"] == uncertified_officer_a.username


def test_issuing_refuses_a_duplicate_number_in_chinese(
    client: Client, district_officer: User, officer_a: User, uncertified_officer_a: User
) -> None:
    client.force_login(district_officer)
    taken = officer_a.certifications.get().number

    response = client.post("/certifications/new/", _form(uncertified_officer_a, taken))

    assert response.status_code == 200
    assert "已存在" in response.content.decode()
    assert not uncertified_officer_a.certifications.exists()


def test_issuing_refuses_an_expiry_before_the_issue_date(
    client: Client, district_officer: User, uncertified_officer_a: User
) -> None:
    client.force_login(district_officer)
    form = _form(uncertified_officer_a, expires_on=_today() - timedelta(days=1))

    response = client.post("/certifications/new/", form)

    assert "有效期至必须晚于发证日期" in response.content.decode()
    assert not Certification.objects.filter(number="XZ-2026-001").exists()


def test_the_form_preselects_a_holder_from_the_school_page(
    client: Client, district_officer: User, uncertified_officer_a: User
) -> None:
    client.force_login(district_officer)

    response = client.get(f"/certifications/new/?holder={uncertified_officer_a.pk}")

    assert response.context["form"]["holder"].value() == str(uncertified_officer_a.pk)


def test_district_head_may_issue_too(
    client: Client, district_head: User, uncertified_officer_a: User
) -> None:
    client.force_login(district_head)

    assert client.post("/certifications/new/", _form(uncertified_officer_a)).status_code == 302


@pytest.mark.parametrize("persona", ["officer_a", "principal_a", "town_supervisor", "auditor"])
def test_roles_without_certification_manage_cannot_issue(
    client: Client, request: pytest.FixtureRequest, persona: str, uncertified_officer_a: User
) -> None:
    client.force_login(request.getfixturevalue(persona))

    assert client.get("/certifications/new/").status_code == 403
    assert client.post("/certifications/new/", _form(uncertified_officer_a)).status_code == 403
    assert not uncertified_officer_a.certifications.exists()


def test_the_service_refuses_an_actor_without_certification_manage(
    officer_a: User, uncertified_officer_a: User
) -> None:
    with pytest.raises(NotPermitted):
        services.issue_certification(
            uncertified_officer_a,
            actor=officer_a,
            number="XZ-1",
            issued_on=_today(),
            expires_on=_today() + timedelta(days=1),
        )


# --- revoking --------------------------------------------------------------------------


def _revoke(client: Client, certificate: Certification, **data: str) -> Any:
    return client.post(f"/certifications/{certificate.pk}/revoke/", data)


def test_district_officer_revokes_with_a_reason_and_confirmation(
    client: Client, district_officer: User, officer_a: User
) -> None:
    certificate = officer_a.certifications.get()
    client.force_login(district_officer)
    assert "确认吊销" in client.get(f"/certifications/{certificate.pk}/revoke/").content.decode()

    response = _revoke(client, certificate, reason="违规代填申请", confirm="on")

    certificate.refresh_from_db()
    assert response.status_code == 302
    assert certificate.revoked_at is not None
    assert certificate.revoked_reason == "违规代填申请"
    row = AuditEntry.objects.get(action="certification.revoked")
    assert row.actor == district_officer
    assert row.after == {"reason": "违规代填申请"}
    with pytest.raises(NotCertified):
        services.require_certified(officer_a)


@pytest.mark.parametrize(
    ("data", "message"),
    [({"confirm": "on"}, "请填写吊销原因"), ({"reason": "   ", "confirm": "on"}, "请填写吊销原因")],
)
def test_revoking_needs_a_reason(
    client: Client, district_officer: User, officer_a: User, data: dict[str, str], message: str
) -> None:
    certificate = officer_a.certifications.get()
    client.force_login(district_officer)

    response = _revoke(client, certificate, **data)

    assert message in response.content.decode()
    certificate.refresh_from_db()
    assert certificate.revoked_at is None


def test_revoking_needs_the_confirmation_tick(
    client: Client, district_officer: User, officer_a: User
) -> None:
    certificate = officer_a.certifications.get()
    client.force_login(district_officer)

    response = _revoke(client, certificate, reason="违规")

    assert "请勾选确认" in response.content.decode()
    certificate.refresh_from_db()
    assert certificate.revoked_at is None


def test_the_service_refuses_a_blank_reason(district_officer: User, officer_a: User) -> None:
    with pytest.raises(DomainError, match="必须填写原因"):
        services.revoke_certification(
            officer_a.certifications.get(), actor=district_officer, reason=" "
        )


def test_a_revoked_certificate_cannot_be_revoked_again(
    client: Client, district_officer: User, officer_a: User
) -> None:
    certificate = officer_a.certifications.get()
    services.revoke_certification(certificate, actor=district_officer, reason="违规")
    client.force_login(district_officer)

    response = _revoke(client, certificate, reason="再次", confirm="on")

    assert "已被吊销" in response.content.decode()
    assert "吊销上岗证…" not in client.get(f"/certifications/{certificate.pk}/").content.decode()


def test_school_officer_cannot_revoke(client: Client, officer_a: User) -> None:
    certificate = officer_a.certifications.get()
    client.force_login(officer_a)

    response = _revoke(client, certificate, reason="自己吊销", confirm="on")

    assert response.status_code == 403
    certificate.refresh_from_db()
    assert certificate.revoked_at is None
    assert AuditEntry.objects.filter(action="access.denied", actor=officer_a).exists()


# --- the list --------------------------------------------------------------------------


@pytest.fixture
def four_kinds(
    make_user: Callable[..., User], school_a: OrgUnit, district_officer: User
) -> dict[str, User]:
    today = _today()
    people = {
        kind: make_user(f"cert_{kind}", Role.SCHOOL_OFFICER, school_a)
        for kind in ("valid", "expiring", "expired", "revoked")
    }
    certify(people["valid"], issued_on=today, expires_on=today + timedelta(days=365))
    certify(people["expiring"], issued_on=today, expires_on=today + timedelta(days=30))
    certify(people["expired"], issued_on=date(2020, 1, 1), expires_on=today - timedelta(days=1))
    certify(people["revoked"], issued_on=today, expires_on=today + timedelta(days=365))
    services.revoke_certification(
        people["revoked"].certifications.get(), actor=district_officer, reason="违规"
    )
    return people


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("valid", {"valid", "expiring"}),
        ("expiring", {"expiring"}),
        ("expired", {"expired"}),
        ("revoked", {"revoked"}),
    ],
)
def test_list_filters_by_state(
    client: Client,
    district_officer: User,
    four_kinds: dict[str, User],
    state: str,
    expected: set[str],
) -> None:
    client.force_login(district_officer)

    page = client.get(f"/certifications/?state={state}").context["page"]

    holders = {c.holder.username for c in page.object_list}
    assert holders - {"district_officer"} == {f"cert_{kind}" for kind in expected}


def test_list_searches_by_name_and_number(
    client: Client, district_officer: User, four_kinds: dict[str, User]
) -> None:
    client.force_login(district_officer)
    number = four_kinds["expired"].certifications.get().number

    by_number = client.get(f"/certifications/?q={number}").context["page"].object_list
    by_name = client.get("/certifications/?q=cert_revoked").context["page"].object_list

    assert [c.number for c in by_number] == [number]
    assert [c.holder for c in by_name] == [four_kinds["revoked"]]


def test_list_shows_states_in_chinese(
    client: Client, district_officer: User, four_kinds: dict[str, User]
) -> None:
    client.force_login(district_officer)

    content = client.get("/certifications/").content.decode()

    for label in ("有效", "即将到期", "已过期", "已吊销"):
        assert label in content


def test_list_is_refused_to_roles_without_certification_view(
    client: Client, sysadmin: User
) -> None:
    client.force_login(sysadmin)

    assert client.get("/certifications/").status_code == 403


def test_the_service_refuses_a_holder_outside_the_actors_reach(
    make_user: Callable[..., User],
    officer_a: User,
    officer_b: User,
    school_a: OrgUnit,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Only district roles manage certificates today; were a town role to, it stays in reach."""
    from zizhu.core.permissions import ROLE_PERMISSIONS

    granted = ROLE_PERMISSIONS[Role.TOWN_SUPERVISOR] | {"certification:manage"}
    monkeypatch.setitem(ROLE_PERMISSIONS, Role.TOWN_SUPERVISOR, granted)
    manager = make_user("town_manager", Role.TOWN_SUPERVISOR, school_a.parent)
    dates = {"issued_on": date(2026, 1, 1), "expires_on": date(2028, 1, 1)}

    services.issue_certification(officer_a, actor=manager, number="ZZ-IN-REACH", **dates)
    with pytest.raises(NotPermitted, match="不在您的管辖范围内"):
        services.issue_certification(officer_b, actor=manager, number="ZZ-OUT", **dates)
