"""Writes for the register. Each checks its guard and appends its audit row in one transaction."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from zizhu.core import audit
from zizhu.core.models import AuditEntry, OrgUnit, User
from zizhu.core.permissions import ROLE_PERMISSIONS
from zizhu.core.reach import assignments_of, require_permission


def _home_unit(actor: User, perm: str) -> OrgUnit | None:
    """The one unit through which the actor holds `perm`, so the row shows up at that unit."""
    units = {a.org_unit for a in assignments_of(actor) if perm in ROLE_PERMISSIONS.get(a.role, ())}
    return units.pop() if len(units) == 1 else None


@transaction.atomic
def record_student_export(
    *, actor: User, filters: dict[str, Any], row_count: int, school: OrgUnit | None = None
) -> AuditEntry:
    """An export of personal data leaves a row saying who took which list, and how many."""
    require_permission(actor, "student:export")
    return audit.record(
        "student.exported",
        actor=actor,
        org_unit=school or _home_unit(actor, "student:export"),
        after={"filters": filters, "rows": row_count},
    )
