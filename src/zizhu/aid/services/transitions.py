"""The one primitive that moves an application along the diagram (`APP_TRANSITIONS`).

Every workflow (school review, sign-off, the notices, district review) checks its own
guards and then calls `move_application`, which enforces the diagram, wins or loses the
compare-and-set, and writes the decision-chain event and the audit row in one transaction.
It does not check permissions: the caller's guard does.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from zizhu.aid.models import APP_TRANSITIONS, Application, ApplicationEvent, AppStatus
from zizhu.core import audit
from zizhu.core.errors import Conflict, InvalidTransition
from zizhu.core.models import User


def can_move(from_status: str, to_status: str) -> bool:
    return to_status in APP_TRANSITIONS.get(from_status, frozenset())


@transaction.atomic
def move_application(app: Application, to: str, *, actor: User, note: str = "") -> Application:
    """Move `app` from the status it was read with to `to`.

    Raises InvalidTransition when the diagram has no such arrow, and Conflict when the
    row's status changed since `app` was read (someone else acted first).
    """
    old = app.status
    if not can_move(old, to):
        raise InvalidTransition(
            f"申请当前为“{AppStatus(old).label}”，不能变为“{AppStatus(to).label}”。"
        )
    now = timezone.now()
    updated = Application.objects.filter(pk=app.pk, status=old).update(status=to, updated_at=now)
    if updated != 1:
        raise Conflict("该申请已被他人处理，状态已变化。请刷新页面后再操作。")
    app.status = to
    app.updated_at = now
    ApplicationEvent.objects.create(
        application=app, from_status=old, to_status=to, actor=actor, note=note[:500], at=now
    )
    audit.record(
        f"application.{to}",
        actor=actor,
        subject=app,
        org_unit=app.school,
        before={"status": old},
        after={"status": to, "note": note[:500]} if note else {"status": to},
    )
    return app
