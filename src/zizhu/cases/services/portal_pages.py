"""The portal's policy pages (seed 二(一)1: policy publicity, the hotline and addresses),
edited by the district centre. The body is plain text: the portal escapes it and turns blank
lines into paragraphs, so an edit can never put markup or script on a public page.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from zizhu.cases.models import PortalPage
from zizhu.core import audit
from zizhu.core.errors import Conflict, DomainError
from zizhu.core.models import User
from zizhu.core.reach import home_unit, require_permission

TITLE_MAX = 100
BODY_MAX = 20_000


def published_pages() -> QuerySet[PortalPage]:
    return PortalPage.objects.filter(published=True).only("slug", "title", "order")


def published_page(slug: str) -> PortalPage | None:
    return PortalPage.objects.filter(slug=slug, published=True).first()


def _clean(value: str, *, label: str, limit: int) -> str:
    value = (value or "").strip()
    if not value:
        raise DomainError(f"请填写{label}。")
    if len(value) > limit:
        raise DomainError(f"{label}不能超过 {limit} 个字（现有 {len(value)} 个字）。")
    return value


@transaction.atomic
def save_portal_page(
    page: PortalPage, *, actor: User, title: str, body: str, published: bool
) -> PortalPage:
    """Change a policy page's title, text or publication; the log keeps the old and new
    title and publication, and whether the text changed."""
    require_permission(actor, "portal:edit")
    title = _clean(title, label="标题", limit=TITLE_MAX)
    body = _clean(body.replace("\r\n", "\n"), label="正文", limit=BODY_MAX)
    locked = PortalPage.objects.select_for_update().filter(pk=page.pk).first()
    if locked is None:
        raise Conflict("该页面已被删除，请刷新页面。")
    before = {"title": locked.title, "published": locked.published}
    body_changed = locked.body != body
    locked.title, locked.body, locked.published = title, body, published
    locked.updated_by, locked.updated_at = actor, timezone.now()
    try:
        locked.full_clean()
    except ValidationError as error:
        raise DomainError("；".join(error.messages)) from None
    locked.save()
    audit.record(
        "portal_page.saved",
        actor=actor,
        subject=locked,
        org_unit=home_unit(actor, "portal:edit"),
        before=before,
        after={"title": title, "published": published, "body_changed": body_changed},
    )
    return locked
