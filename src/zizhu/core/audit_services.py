"""Writes about the audit log itself: an export of audit rows is an audited act too."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from zizhu.core import audit
from zizhu.core.models import AuditEntry, OrgUnit, User
from zizhu.core.permissions import ROLE_PERMISSIONS
from zizhu.core.reach import assignments_of, require_permission

EXPORT_PERM = "audit:export"


def _home_unit(actor: User) -> OrgUnit | None:
    """The unit of the actor's first role that grants export: whose log they are reading."""
    for assignment in assignments_of(actor):
        if EXPORT_PERM in ROLE_PERMISSIONS.get(assignment.role, frozenset()):
            return assignment.org_unit
    return None


@transaction.atomic
def record_audit_export(
    *, actor: User, filters: dict[str, Any], rows: int, org_unit: OrgUnit | None = None
) -> AuditEntry:
    """Log who exported which slice of the audit log, before the file leaves the server.

    The row is filed under the filtered unit, else the exporter's own unit, so inspectors of
    that unit see that their log was exported.
    """
    require_permission(actor, EXPORT_PERM)
    return audit.record(
        "audit.exported",
        actor=actor,
        org_unit=org_unit or _home_unit(actor),
        after={"filters": filters, "rows": rows},
    )
