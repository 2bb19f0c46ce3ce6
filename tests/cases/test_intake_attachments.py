"""A clue's attachments: one row each, written with the clue, stored under random names,
listed on the clue page and downloaded through a scoped, audited door (issue 5)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from tests.aid.test_notices import ensure_calendar_ahead
from zizhu.cases.models import Channel, Clue, ClueAttachment
from zizhu.cases.services.handling import clues_due
from zizhu.cases.services.intake import ATTACHMENT_MAX_BYTES, register_clue
from zizhu.core import worklist
from zizhu.core.errors import DomainError
from zizhu.core.models import AuditEntry, OrgUnit, User

pytestmark = pytest.mark.django_db

ALLEGATION = "来信反映该校某学生家庭新购小汽车，仍享受生活补助。"


@pytest.fixture(autouse=True)
def media(settings: object, tmp_path: object) -> None:
    settings.MEDIA_ROOT = str(tmp_path)  # type: ignore[attr-defined]
    ensure_calendar_ahead()


@pytest.fixture
def login(client: Client) -> Callable[[User], Client]:
    def sign_in(user: User) -> Client:
        client.force_login(user)
        return client

    return sign_in


def pdf(name: str = "张小明来信.pdf", body: bytes = b"%PDF-1.4 letter") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, body, content_type="application/pdf")


def letter(actor: User, school: OrgUnit | None, *files: SimpleUploadedFile) -> Clue:
    return register_clue(
        actor=actor,
        channel=Channel.LETTER,
        allegation=ALLEGATION,
        school=school,
        attachments=list(files),
    )


def test_each_attachment_is_a_row_of_the_clue_under_a_random_name(
    district_officer: User, school_a: OrgUnit
) -> None:
    clue = letter(district_officer, school_a, pdf(), pdf("照片.png", b"\x89PNG\r\n\x1a\nimg"))

    first, second = clue.attachments.order_by("pk")
    assert [first.label, second.label] == ["附件1.pdf", "附件2.png"]
    assert "张小明" not in first.file.name
    assert first.file.name.startswith("clues/")
    assert {first.uploaded_by, second.uploaded_by} == {district_officer}
    entry = AuditEntry.objects.get(action="clue.registered")
    assert entry.after["attachments"] == 2


def test_six_attachments_or_one_too_big_write_nothing(
    district_officer: User, school_a: OrgUnit
) -> None:
    with pytest.raises(DomainError, match="最多 5 个"):
        letter(district_officer, school_a, *[pdf(f"{i}.pdf") for i in range(6)])
    big = pdf("big.pdf", b"%PDF-" + b"0" * ATTACHMENT_MAX_BYTES)
    with pytest.raises(DomainError, match="10 MB"):
        letter(district_officer, school_a, pdf(), big)

    assert not Clue.objects.exists()
    assert not ClueAttachment.objects.exists()


def test_the_clue_page_links_each_attachment_and_the_download_is_logged(
    login: Callable[[User], Client], district_officer: User, officer_a: User, school_a: OrgUnit
) -> None:
    clue = letter(district_officer, school_a, pdf())
    attachment = clue.attachments.get()
    url = reverse("cases:intake_attachment", args=[clue.pk, attachment.pk])

    client = login(officer_a)
    assert url in client.get(reverse("cases:intake_detail", args=[clue.pk])).content.decode()
    response = client.get(url)

    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"%PDF")  # type: ignore[attr-defined]
    assert "attachment" in response["Content-Disposition"]
    entry = AuditEntry.objects.get(action="clue.attachment_downloaded")
    assert entry.actor == officer_a
    assert entry.after["filters"] == {"attachment": attachment.pk}
    assert entry.org_unit == school_a


def test_another_schools_officer_cannot_download_and_nothing_is_logged(
    login: Callable[[User], Client], district_officer: User, officer_b: User, school_a: OrgUnit
) -> None:
    clue = letter(district_officer, school_a, pdf())
    url = reverse("cases:intake_attachment", args=[clue.pk, clue.attachments.get().pk])

    assert login(officer_b).get(url).status_code == 404
    assert not AuditEntry.objects.filter(action="clue.attachment_downloaded").exists()


def test_an_attachment_is_reached_only_through_its_own_clue(
    login: Callable[[User], Client],
    district_officer: User,
    officer_a: User,
    school_a: OrgUnit,
    school_b: OrgUnit,
) -> None:
    mine = letter(district_officer, school_a)
    theirs = letter(district_officer, school_b, pdf())
    url = reverse("cases:intake_attachment", args=[mine.pk, theirs.attachments.get().pk])

    assert login(officer_a).get(url).status_code == 404


def test_the_clue_page_offers_handling_to_those_who_may_act(
    login: Callable[[User], Client], district_officer: User, principal_a: User, school_a: OrgUnit
) -> None:
    clue = letter(district_officer, school_a)
    handling = reverse("cases:handling_clue", args=[clue.pk])
    detail = reverse("cases:intake_detail", args=[clue.pk])

    body = login(district_officer).get(detail).content.decode()
    assert f'<a class="button" href="{handling}">办理</a>' in body
    body = login(principal_a).get(detail).content.decode()
    assert f'<a href="{handling}">办理情况</a>' in body
    assert ">办理</a>" not in body


def test_the_work_list_source_is_registered_at_start_up() -> None:
    assert clues_due in worklist.SOURCES


def test_clue_urls_share_one_shape(school_a: OrgUnit) -> None:
    assert reverse("cases:intake_detail", args=[7]) == "/cases/7/"
    assert reverse("cases:handling_clue", args=[7]) == "/cases/7/handling/"
    assert reverse("cases:handling_decide", args=[7]) == "/cases/7/handling/decide/"
