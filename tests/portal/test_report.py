"""The public report form and the tracking lookup: anonymous by default, a number and a
code shown once, progress without personal data, and protection against floods."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from zizhu.cases.models import Channel, Clue, ClueReporter, ClueStatus, Reply, ReplyMethod
from zizhu.cases.services import intake
from zizhu.cases.services.intake import lookup_hash, submit_public_report
from zizhu.cases.services.workflow import move_clue
from zizhu.core.errors import DomainError
from zizhu.core.models import AuditEntry, OrgUnit, User

ALLEGATION = "邾城第一小学六年级某学生家里开了两家商店，却领取了生活补助。"
PHONE = "13512345678"


@pytest.fixture(autouse=True)
def empty_cache() -> Iterator[None]:
    """The per-address limits live in the cache, which outlives a test."""
    cache.clear()
    yield
    cache.clear()


def post_report(client: Client, **fields: str) -> Client:
    data = {"allegation": ALLEGATION, "who": "", "school": "", "name": "", "contact": ""}
    data.update(fields)
    client.post(reverse("portal:report"), data)
    return client


def receipt_of(client: Client) -> tuple[str, str]:
    body = client.get(reverse("portal:report_receipt")).content.decode()
    number = re.search(r'data-testid="number">([A-Z0-9]+)<', body)
    code = re.search(r'data-testid="code">([A-Z0-9]+)<', body)
    assert number and code, body
    return number.group(1), code.group(1)


def track(client: Client, number: str, code: str) -> str:
    return client.post(reverse("portal:track"), {"number": number, "code": code}).content.decode()


def test_an_anonymous_report_gives_a_number_and_a_code_shown_once(client: Client, db: None) -> None:
    response = client.post(
        reverse("portal:report"), {"allegation": ALLEGATION, "who": "六年级2班 王某"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:report_receipt")

    number, code = receipt_of(client)
    clue = Clue.objects.get()
    assert clue.number == number
    assert clue.channel == Channel.ONLINE
    assert clue.status == ClueStatus.RECEIVED
    assert "六年级2班 王某" in clue.allegation
    assert clue.lookup_code_hash == lookup_hash(code)
    assert code not in clue.lookup_code_hash
    reporter = ClueReporter.objects.get(clue=clue)
    assert reporter.anonymous is True
    assert (reporter.name, reporter.contact) == (None, None)
    entry = AuditEntry.objects.get(action="clue.registered")
    assert entry.actor is None and entry.actor_label == "公众"
    assert entry.ip is None
    # The receipt is shown once; coming back gives no code.
    again = client.get(reverse("portal:report_receipt")).content.decode()
    assert code not in again and number not in again


def test_a_report_with_a_name_and_school_is_not_anonymous(
    client: Client, school_a: OrgUnit
) -> None:
    post_report(client, school=str(school_a.pk), name="陈先生", contact=PHONE)
    clue = Clue.objects.get()
    assert clue.school == school_a
    reporter = ClueReporter.objects.get(clue=clue)
    assert (reporter.anonymous, reporter.name, reporter.contact) == (False, "陈先生", PHONE)
    assert PHONE not in str(AuditEntry.objects.get(action="clue.registered").after)


def test_an_inactive_school_cannot_be_chosen(client: Client, school_a: OrgUnit) -> None:
    OrgUnit.objects.filter(pk=school_a.pk).update(active=False)
    post_report(client, school=str(school_a.pk))
    assert not Clue.objects.exists()


@pytest.mark.parametrize(
    ("allegation", "message"),
    [("", "请填写反映的问题"), ("太短了", "请至少写 10 个字"), ("长" * 2001, "不能超过 2000 个字")],
)
def test_the_form_explains_what_is_wrong(
    client: Client, db: None, allegation: str, message: str
) -> None:
    body = client.post(reverse("portal:report"), {"allegation": allegation}).content.decode()
    assert message in body
    assert not Clue.objects.exists()


def test_the_service_refuses_a_short_allegation(db: None) -> None:
    with pytest.raises(DomainError, match="至少 10 个字"):
        submit_public_report(allegation="太短", ip="10.0.0.1")


def test_the_form_is_csrf_protected(db: None) -> None:
    strict = Client(enforce_csrf_checks=True)
    response = strict.post(reverse("portal:report"), {"allegation": ALLEGATION})
    assert response.status_code == 403
    assert not Clue.objects.exists()


def test_a_filled_honeypot_is_thanked_and_nothing_is_kept(client: Client, db: None) -> None:
    response = client.post(
        reverse("portal:report"), {"allegation": ALLEGATION, "website": "http://spam.example"}
    )
    assert response.status_code == 302
    assert not Clue.objects.exists()
    assert "感谢您的反映" in client.get(reverse("portal:report_receipt")).content.decode()


def test_one_address_may_report_five_times_an_hour(client: Client, db: None) -> None:
    for _ in range(intake.REPORTS_PER_IP_HOUR):
        post_report(client)
    response = client.post(reverse("portal:report"), {"allegation": ALLEGATION})
    assert "一小时内最多提交 5 条" in response.content.decode()
    assert Clue.objects.count() == intake.REPORTS_PER_IP_HOUR
    other = Client(REMOTE_ADDR="10.9.9.9")
    post_report(other)
    assert Clue.objects.count() == intake.REPORTS_PER_IP_HOUR + 1


def test_a_global_cap_stops_a_flood_from_many_addresses(
    db: None, settings: object, client_factory: Callable[[str], Client]
) -> None:
    settings.ZIZHU_PORTAL_REPORTS_PER_HOUR = 3  # type: ignore[attr-defined]
    for n in range(3):
        post_report(client_factory(f"10.0.0.{n}"))
    body = client_factory("10.0.1.1").post(reverse("portal:report"), {"allegation": ALLEGATION})
    assert "提交人数过多" in body.content.decode()
    assert Clue.objects.count() == 3


@pytest.fixture
def client_factory() -> Callable[[str], Client]:
    return lambda ip: Client(REMOTE_ADDR=ip)


# --- tracking -------------------------------------------------------------------------------


def test_tracking_shows_the_stage_and_no_personal_data(
    client: Client, school_a: OrgUnit, district_officer: User
) -> None:
    post_report(client, school=str(school_a.pk), name="陈先生", contact=PHONE)
    number, code = receipt_of(client)

    body = track(client, number, code.lower())
    assert "受理" in body
    assert f"{timezone.localdate():%Y年%-m月%-d日}" in body
    for private in ("陈先生", PHONE, school_a.name, ALLEGATION):
        assert private not in body, private

    clue = Clue.objects.get()
    move_clue(clue, ClueStatus.ASSIGNED, actor=district_officer, note="请学校内部核查：先找班主任")
    body = track(client, number, code)
    assert "核查中" in body
    assert "班主任" not in body
    assert "尚未答复" in body


def test_tracking_shows_the_reply_once_replied(
    client: Client, db: None, district_officer: User
) -> None:
    post_report(client)
    number, code = receipt_of(client)
    clue = Clue.objects.get()
    Reply.objects.create(
        clue=clue,
        method=ReplyMethod.WRITTEN,
        replied_on=timezone.localdate(),
        content="经核查，反映情况属实，已停止该生资助。",
        replied_by=district_officer,
    )
    body = track(client, number, code)
    assert "经核查，反映情况属实，已停止该生资助。" in body
    assert "书面答复" in body
    assert district_officer.full_name not in body


def test_a_wrong_pair_gets_one_generic_message(client: Client, db: None) -> None:
    post_report(client)
    number, code = receipt_of(client)
    post_report(Client(REMOTE_ADDR="10.1.1.1"))
    other_number = Clue.objects.exclude(number=number).get().number

    wrong_code = track(client, number, "ABCDEFGH")
    wrong_number = track(client, "XZ1999000001", code)
    other_clue = track(client, other_number, code)
    for body in (wrong_code, wrong_number, other_clue):
        assert intake.TRACK_FAILED in body
        assert "受理日期" not in body


def test_staff_clues_without_a_code_cannot_be_tracked(
    client: Client, district_officer: User
) -> None:
    from zizhu.cases.services.intake import register_clue

    clue = register_clue(actor=district_officer, channel=Channel.HOTLINE, allegation=ALLEGATION)
    assert intake.TRACK_FAILED in track(client, clue.number, "ABCDEFGH")
    with pytest.raises(DomainError, match="查询码不正确"):
        intake.track_clue(clue.number, "", ip="10.0.0.2")


def test_wrong_pairs_are_rate_limited(client: Client, db: None) -> None:
    post_report(client)
    number, code = receipt_of(client)
    for _ in range(intake.TRACK_FAILURES_PER_IP_HOUR):
        track(client, number, "WRONGWRG")
    body = track(client, number, code)
    assert "查询失败次数过多" in body
    assert "受理日期" not in body
    assert "受理日期" in track(Client(REMOTE_ADDR="10.7.7.7"), number, code)


def test_the_home_page_links_report_and_tracking(client: Client, db: None) -> None:
    body = client.get(reverse("portal:home")).content.decode()
    assert reverse("portal:report") in body
    assert reverse("portal:track") in body
