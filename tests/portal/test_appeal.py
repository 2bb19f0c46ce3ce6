"""The tracking page after the decision: the public outcome, and the reporter's appeal
within ZIZHU_APPEAL_DAYS of closing, with the number and code checked again (issue 5)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.aid.test_notices import ensure_calendar_ahead
from zizhu.cases.models import Appeal, Clue, ClueStatus, FamilyAnswer, Opinion
from zizhu.cases.services import handling
from zizhu.cases.services.intake import (
    TRACK_FAILURES_PER_IP_HOUR,
    submit_public_report,
)
from zizhu.core.models import OrgUnit, User

pytestmark = pytest.mark.django_db

OUTCOME = "经核查，反映问题部分属实，已按规定调整该生资助。"


@pytest.fixture(autouse=True)
def empty_cache() -> Iterator[None]:
    cache.clear()
    ensure_calendar_ahead()
    yield
    cache.clear()


@pytest.fixture
def closed(school_a: OrgUnit, district_officer: User, officer_a: User) -> tuple[Clue, str, str]:
    clue, code = submit_public_report(
        allegation="该校某学生家里开了两家商店，却领取了生活补助。", school=school_a, ip="10.0.0.9"
    )
    clue = handling.assign_clue(clue, actor=district_officer, school=school_a)
    handling.submit_verification(
        clue,
        actor=officer_a,
        contacted_on=timezone.localdate(),
        contacted_person="学生父亲",
        contact_method="当面",
        answer=FamilyAnswer.CONFIRMED,
        conclusion="家长确认经营商店，收入稳定。",
        opinion=Opinion.CONTINUE,
    )
    handling.decide_clue(
        clue,
        actor=district_officer,
        opinion=Opinion.CONTINUE,
        reasoning="同意学校意见。",
        public_outcome=OUTCOME,
    )
    clue = handling.close_clue(clue, actor=district_officer)
    return clue, clue.number, code


def track(client: Client, number: str, code: str) -> str:
    return client.post(reverse("portal:track"), {"number": number, "code": code}).content.decode()


def appeal(client: Client, number: str, code: str, text: str = "处理结果与事实不符。") -> str:
    data = {"number": number, "code": code, "text": text}
    return client.post(reverse("portal:appeal"), data).content.decode()


def test_the_page_shows_the_public_outcome_and_an_appeal_form_in_the_period(
    client: Client, closed: tuple[Clue, str, str]
) -> None:
    _clue, number, code = closed
    body = track(client, number, code)

    assert OUTCOME in body
    assert "对处理结果申诉" in body
    assert f'action="{reverse("portal:appeal")}"' in body
    assert code not in reverse("portal:appeal")
    assert "csrfmiddlewaretoken" in body


def test_an_appeal_with_the_right_pair_reopens_the_clue_at_the_district(
    client: Client, closed: tuple[Clue, str, str]
) -> None:
    clue, number, code = closed
    body = appeal(client, number, code.lower())

    assert "已收到您的申诉" in body
    clue.refresh_from_db()
    assert clue.status == ClueStatus.APPEALED
    assert Appeal.objects.get(clue=clue).text == "处理结果与事实不符。"


def test_a_wrong_code_on_the_appeal_is_refused_like_a_wrong_lookup(
    client: Client, closed: tuple[Clue, str, str]
) -> None:
    clue, number, _ = closed
    body = appeal(client, number, "AAAAAAAA")

    assert "线索编号或查询码不正确" in body
    assert "已收到您的申诉" not in body
    assert not Appeal.objects.exists()
    assert Clue.objects.get(pk=clue.pk).status == ClueStatus.CLOSED


def test_appeals_share_the_tracking_failure_limit(
    client: Client, closed: tuple[Clue, str, str]
) -> None:
    _clue, number, code = closed
    for _ in range(TRACK_FAILURES_PER_IP_HOUR):
        appeal(client, number, "AAAAAAAA")

    body = appeal(client, number, code)

    assert "查询失败次数过多" in body
    assert not Appeal.objects.exists()


def test_an_empty_appeal_goes_back_to_the_form(
    client: Client, closed: tuple[Clue, str, str]
) -> None:
    clue, number, code = closed
    body = appeal(client, number, code, text="")

    assert "请填写申诉内容" in body
    assert "对处理结果申诉" in body
    assert Clue.objects.get(pk=clue.pk).status == ClueStatus.CLOSED


def test_after_the_period_the_page_says_so_and_an_appeal_is_refused(
    client: Client, closed: tuple[Clue, str, str], settings: object
) -> None:
    clue, number, code = closed
    days = settings.ZIZHU_APPEAL_DAYS  # type: ignore[attr-defined]
    # TEST-ONLY time travel: the clue closed longer ago than the appeal period.
    Clue.objects.filter(pk=clue.pk).update(closed_at=timezone.now() - timedelta(days=days + 1))

    body = track(client, number, code)
    assert "申诉期已于" in body
    assert "对处理结果申诉" not in body

    body = appeal(client, number, code)
    assert "现已超过申诉期" in body
    assert not Appeal.objects.exists()


def test_an_open_clue_has_no_appeal_form(client: Client, school_a: OrgUnit) -> None:
    clue, code = submit_public_report(
        allegation="该校某学生家里开了两家商店，却领取了生活补助。", school=school_a, ip=None
    )
    body = track(client, clue.number, code)

    assert "对处理结果申诉" not in body
    assert "申诉期" not in body
    body = appeal(client, clue.number, code)
    assert "线索尚未办结" in body
    assert not Appeal.objects.exists()


def test_the_appeal_is_csrf_protected(closed: tuple[Clue, str, str]) -> None:
    _, number, code = closed
    strict = Client(enforce_csrf_checks=True)
    response = strict.post(reverse("portal:appeal"), {"number": number, "code": code, "text": "x"})

    assert response.status_code == 403
    assert not Appeal.objects.exists()
