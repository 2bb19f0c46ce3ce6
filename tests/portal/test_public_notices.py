"""The public portal's notices: no login, only live notices, only six fields, objections
with a honeypot and a per-address limit."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.aid.test_notices import (
    Crew,
    end,
    ensure_calendar_ahead,
    fresh,
    make_exposed_app,
    publish,
    secrets_of,
    signed_apps,
    to_round3,
)
from zizhu.aid.models import Notice, Objection
from zizhu.aid.services.notices import entry_key, notice_token
from zizhu.core.models import AuditEntry, OrgUnit, Role, User


@pytest.fixture(autouse=True)
def calendar_ahead(db: None) -> None:
    ensure_calendar_ahead()


@pytest.fixture
def crew_a(
    make_user: Callable[..., User],
    school_a: OrgUnit,
    officer_a: User,
    principal_a: User,
    district_officer: User,
) -> Crew:
    reviewer = make_user("reviewer_a", Role.SCHOOL_OFFICER, school_a, certified=True)
    return Crew(officer_a, reviewer, principal_a, district_officer)


@pytest.fixture(autouse=True)
def empty_cache() -> Iterator[None]:
    """The per-address limit lives in the cache, which outlives a test."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def live_round1(crew_a: Crew, school_a: OrgUnit) -> Notice:
    return publish(1, signed_apps(school_a, crew_a, 2), actor=crew_a.officer)


def detail_url(notice: Notice) -> str:
    return reverse("portal:notice_detail", args=[notice_token(notice)])


def objection_url(notice: Notice) -> str:
    return reverse("portal:objection_create", args=[notice_token(notice)])


def test_the_portal_needs_no_login(client: Client, db: None) -> None:
    for name in ("portal:home", "portal:notice_list"):
        response = client.get(reverse(name))
        assert response.status_code == 200
        assert "027-00000000（示例）" in response.content.decode()


def test_the_notice_list_shows_live_round_three_only(
    client: Client,
    crew_a: Crew,
    school_a: OrgUnit,
) -> None:
    round3 = to_round3(signed_apps(school_a, crew_a, 1), crew_a)
    ended3 = end(to_round3(signed_apps(school_a, crew_a, 1), crew_a))
    round1 = publish(1, signed_apps(school_a, crew_a, 1), actor=crew_a.officer)

    body = client.get(reverse("portal:notice_list")).content.decode()
    assert detail_url(round3) in body
    assert detail_url(ended3) not in body
    assert detail_url(round1) not in body
    assert detail_url(round3) in client.get(reverse("portal:home")).content.decode()


def test_a_live_notice_shows_the_six_fields_and_nothing_private(
    client: Client, crew_a: Crew, school_a: OrgUnit
) -> None:
    exposed_app = make_exposed_app(school_a, crew_a)
    notice = publish(1, [exposed_app], actor=crew_a.officer)
    response = client.get(detail_url(notice))
    body = response.content.decode()
    assert response.status_code == 200
    student = exposed_app.student
    for shown in (
        notice.title,
        student.name,
        student.school.name,
        student.grade,
        student.class_name,
        "义务教育家庭经济困难学生生活补助",
        "特别困难",
    ):
        assert shown in body
    for secret in secrets_of(exposed_app):
        assert secret and secret not in body, secret
    assert f'value="{exposed_app.pk}"' not in body


def test_an_ended_notice_is_taken_down(client: Client, live_round1: Notice) -> None:
    end(live_round1)
    response = client.get(detail_url(live_round1))
    assert response.status_code == 404
    body = response.content.decode()
    assert "已结束" in body
    for app in live_round1.applications.select_related("student"):
        assert app.student.name not in body
    assert client.get(objection_url(live_round1)).status_code == 404


def test_a_notice_is_not_shown_before_it_starts(
    client: Client,
    crew_a: Crew,
    school_a: OrgUnit,
) -> None:
    later = timezone.localdate() + timedelta(days=3)
    notice = publish(1, signed_apps(school_a, crew_a, 1), actor=crew_a.officer, starts_on=later)
    assert client.get(detail_url(notice)).status_code == 404
    assert client.get(objection_url(notice)).status_code == 404


@pytest.mark.parametrize("token", ["1", "1.forged", "abc", "999999.x"])
def test_a_forged_token_is_a_404(client: Client, live_round1: Notice, token: str) -> None:
    response = client.get(reverse("portal:notice_detail", args=[f"{live_round1.pk}.forged"]))
    assert response.status_code == 404
    assert client.get(reverse("portal:notice_detail", args=[token])).status_code == 404


def test_an_anonymous_objection_is_stored_with_the_notice(
    client: Client, live_round1: Notice
) -> None:
    app = live_round1.applications.order_by("pk").first()
    assert app is not None
    form = client.get(objection_url(live_round1))
    assert form.status_code == 200
    assert app.student.name in form.content.decode()

    response = client.post(
        objection_url(live_round1),
        {
            "text": "该生父亲在镇政府工作。",
            "student": entry_key(live_round1, app.pk),
            "website": "",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "portal:objection_thanks", args=[notice_token(live_round1)]
    )
    objection = Objection.objects.get()
    assert objection.notice == live_round1
    assert objection.application == app
    assert not objection.contact  # none left: stored as NULL
    assert AuditEntry.objects.get(action="objection.raised").actor_label == "公众"
    assert client.get(response["Location"]).status_code == 200


def test_an_objection_may_leave_a_contact_and_name_nobody(
    client: Client, live_round1: Notice
) -> None:
    client.post(objection_url(live_round1), {"text": "名单有问题", "contact": "13800001111"})
    objection = Objection.objects.get()
    assert objection.application is None
    assert objection.contact == "13800001111"


def test_an_objection_needs_its_text(client: Client, live_round1: Notice) -> None:
    response = client.post(objection_url(live_round1), {"text": " "})
    assert response.status_code == 200
    assert "请填写异议内容" in response.content.decode()
    assert not Objection.objects.exists()


def test_a_filled_honeypot_is_thanked_and_dropped(client: Client, live_round1: Notice) -> None:
    response = client.post(
        objection_url(live_round1), {"text": "buy cheap pills", "website": "http://spam.example"}
    )
    assert response.status_code == 302
    assert not Objection.objects.exists()


def test_five_objections_an_hour_per_address(client: Client, live_round1: Notice) -> None:
    for i in range(5):
        response = client.post(objection_url(live_round1), {"text": f"异议{i}"})
        assert response.status_code == 302
    response = client.post(objection_url(live_round1), {"text": "第六条"})
    assert response.status_code == 200
    assert "一小时内最多提交 5 条异议" in response.content.decode()
    assert Objection.objects.count() == 5

    other = Client(REMOTE_ADDR="10.0.0.9")
    assert other.post(objection_url(live_round1), {"text": "另一地址"}).status_code == 302
    assert Objection.objects.count() == 6


def test_the_objection_form_is_protected_against_cross_site_posts(
    live_round1: Notice,
) -> None:
    strict = Client(enforce_csrf_checks=True)
    response = strict.post(objection_url(live_round1), {"text": "有异议"})
    assert response.status_code == 403
    assert not Objection.objects.exists()


def test_a_student_key_from_another_notice_is_refused(
    client: Client,
    live_round1: Notice,
    crew_a: Crew,
    school_a: OrgUnit,
) -> None:
    other = publish(1, signed_apps(school_a, crew_a, 1), actor=crew_a.officer)
    stranger = fresh(list(other.applications.all()))[0]
    response = client.post(
        objection_url(live_round1), {"text": "有异议", "student": entry_key(other, stranger.pk)}
    )
    assert response.status_code == 200
    assert not Objection.objects.exists()


def test_a_round_three_notice_on_the_phone_sized_page(
    client: Client,
    crew_a: Crew,
    school_a: OrgUnit,
) -> None:
    notice = to_round3(signed_apps(school_a, crew_a, 1), crew_a)
    body = client.get(detail_url(notice)).content.decode()
    assert 'name="viewport"' in body
    assert "我有异议" in body
