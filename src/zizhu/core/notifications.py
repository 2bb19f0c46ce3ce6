"""In-app notifications: who is told, and the home page's list of what they have not read.

A notification is written in the transaction of the change it reports (an award ended by a
ledger entry), so a change that rolls back leaves no message about itself behind. That is
why it is a row written here rather than a side effect scheduled with `on_commit`.
"""

from __future__ import annotations

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from zizhu.core.errors import Conflict, OutOfReach
from zizhu.core.models import Notification, OrgUnit, RoleAssignment, User
from zizhu.core.permissions import ROLE_PERMISSIONS
from zizhu.core.worklist import WorkItem, register

# The home page lists this many unread notifications one by one, then one line for the rest.
WORKLIST_LIMIT = 10


def _roles_granting(perm: str) -> list[str]:
    return [role for role, granted in ROLE_PERMISSIONS.items() if perm in granted]


@transaction.atomic
def notify_unit(unit: OrgUnit, *, perm: str, title: str, body: str = "", url: str = "") -> int:
    """One notification per active user holding, at `unit` itself, a role that grants `perm`.

    Roles held at a town or the district are not fanned out to: a school's matter goes to
    the school's officers; the district sees it in its own lists. Returns how many were sent.
    """
    recipients = (
        RoleAssignment.objects.filter(
            org_unit=unit, role__in=_roles_granting(perm), user__is_active=True
        )
        .values_list("user_id", flat=True)
        .distinct()
    )
    notifications = [
        Notification(recipient_id=user_id, title=title[:200], body=body, url=url[:300])
        for user_id in sorted(set(recipients))
    ]
    Notification.objects.bulk_create(notifications)
    return len(notifications)


def get_notification_for(actor: User, pk: int) -> Notification:
    """The actor's own notification; anyone else's answers 404 like a missing one."""
    try:
        return Notification.objects.get(pk=pk, recipient=actor)
    except Notification.DoesNotExist:
        raise OutOfReach() from None


@transaction.atomic
def mark_read(notification: Notification, *, actor: User) -> Notification:
    """Mark the actor's own notification read.

    Not audited: whether someone has read a message is their inbox's state, not a decision
    about a student; the change the message reports has its own audit row.
    """
    if notification.recipient_id != actor.pk:
        raise OutOfReach()
    now = timezone.now()
    updated = Notification.objects.filter(
        pk=notification.pk, recipient=actor, read_at__isnull=True
    ).update(read_at=now)
    if updated != 1:
        raise Conflict("该消息已标为已读。")
    notification.read_at = now
    return notification


@register
def unread_notifications(actor: User) -> list[WorkItem]:
    """The actor's unread notifications, newest first, as work items."""
    unread = Notification.objects.filter(recipient=actor).unread().order_by("-created_at", "-id")
    shown = list(unread.only("pk", "title")[: WORKLIST_LIMIT + 1])
    items = [
        WorkItem(title=f"消息：{n.title}", url=reverse("aid:review_notification", args=[n.pk]))
        for n in shown[:WORKLIST_LIMIT]
    ]
    if len(shown) > WORKLIST_LIMIT:
        rest = unread.count() - WORKLIST_LIMIT
        items.append(
            WorkItem(title=f"另有 {rest} 条未读消息", url=reverse("aid:review_notifications"))
        )
    return items
