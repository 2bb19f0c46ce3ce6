"""The portal's policy pages: shipped by the data migration, edited by the district centre
(audited), shown as escaped plain text, and gone when unpublished."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse

from zizhu.cases.models import PortalPage
from zizhu.cases.services.portal_pages import save_portal_page
from zizhu.core.errors import DomainError, NotPermitted
from zizhu.core.models import AuditEntry, User

DEFAULT_SLUGS = {"programmes", "how-to-apply", "rights", "hotline"}


@pytest.fixture
def login(client: Client) -> Callable[[User], Client]:
    def sign_in(user: User) -> Client:
        client.force_login(user)
        return client

    return sign_in


def page(slug: str) -> PortalPage:
    return PortalPage.objects.get(slug=slug)


def test_the_default_pages_are_published_with_the_standards_and_hotline(
    client: Client, db: None
) -> None:
    assert set(PortalPage.objects.values_list("slug", flat=True)) >= DEFAULT_SLUGS
    home = client.get(reverse("portal:home")).content.decode()
    for slug in DEFAULT_SLUGS:
        assert reverse("portal:page", args=[slug]) in home
    programmes = client.get(reverse("portal:page", args=["programmes"])).content.decode()
    assert "1250" in programmes and "1500" in programmes and "2000" in programmes
    hotline = client.get(reverse("portal:page", args=["hotline"])).content.decode()
    assert "027-00000000（示例）" in hotline


def test_district_head_edits_a_page_and_it_is_audited(district_head: User) -> None:
    target = page("rights")
    old_title = target.title
    saved = save_portal_page(
        target, actor=district_head, title="权利与投诉", body="第一段。\n\n第二段。", published=True
    )
    assert saved.title == "权利与投诉"
    assert saved.updated_by == district_head
    entry = AuditEntry.objects.get(action="portal_page.saved")
    assert entry.actor == district_head
    assert entry.before == {"title": old_title, "published": True}
    assert entry.after == {"title": "权利与投诉", "published": True, "body_changed": True}


def test_school_roles_cannot_edit_pages(officer_a: User, principal_a: User) -> None:
    for actor in (officer_a, principal_a):
        with pytest.raises(NotPermitted):
            save_portal_page(page("rights"), actor=actor, title="改", body="改", published=True)
    assert not AuditEntry.objects.filter(action="portal_page.saved").exists()


def test_an_empty_body_is_refused(district_officer: User) -> None:
    with pytest.raises(DomainError, match="请填写正文"):
        save_portal_page(
            page("rights"), actor=district_officer, title="t", body="  ", published=True
        )


def test_the_body_is_escaped_and_split_into_paragraphs(
    client: Client, district_officer: User
) -> None:
    save_portal_page(
        page("rights"),
        actor=district_officer,
        title="权利",
        body="<script>alert(1)</script>\n\n第二段",
        published=True,
    )
    body = client.get(reverse("portal:page", args=["rights"])).content.decode()
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;" in body
    assert "<p>第二段</p>" in body


def test_an_unpublished_page_is_404_and_off_the_home_page(
    client: Client, district_officer: User
) -> None:
    save_portal_page(
        page("rights"), actor=district_officer, title="权利", body="正文", published=False
    )
    assert client.get(reverse("portal:page", args=["rights"])).status_code == 404
    assert (
        reverse("portal:page", args=["rights"])
        not in client.get(reverse("portal:home")).content.decode()
    )
    assert client.get(reverse("portal:page", args=["no-such-page"])).status_code == 404


def test_the_edit_screen_saves_for_portal_editors_only(
    login: Callable[[User], Client], district_officer: User, officer_a: User
) -> None:
    target = page("how-to-apply")
    url = reverse("cases:intake_page_edit", args=[target.pk])
    assert login(officer_a).get(url).status_code == 403
    assert login(officer_a).get(reverse("cases:intake_pages")).status_code == 403

    client = login(district_officer)
    listing = client.get(reverse("cases:intake_pages")).content.decode()
    assert url in listing
    response = client.post(url, {"title": "如何申请", "body": "新的正文", "published": "on"})
    assert response.status_code == 302
    assert page("how-to-apply").body == "新的正文"
    assert AuditEntry.objects.filter(action="portal_page.saved", actor=district_officer).exists()
