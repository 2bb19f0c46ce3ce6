"""Writes for the register: the status-change ledger (学籍异动, seed 二(二)1).

The ledger is the single source later steps read to end or adjust aid. A student's `status`
column is derived from it and written only here, in the same transaction as the entry.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from django.core.files.base import File
from django.db import transaction
from django.utils import timezone

from zizhu.core import audit
from zizhu.core.errors import DomainError, InvalidTransition
from zizhu.core.models import OrgUnit, UnitKind, User
from zizhu.core.reach import require_permission, scope_for
from zizhu.registry.models import (
    CHANGE_RULES,
    ChangeKind,
    ChangeSource,
    RegisterImport,
    StatusChange,
    Student,
    StudentStatus,
)

# Higher apps react to ledger entries inside the same transaction (aid ends or moves awards
# from the next month). The register cannot import them, so they register here at start-up.
StatusChangeHook = Callable[[StatusChange, User], None]
STATUS_CHANGE_HOOKS: list[StatusChangeHook] = []


def on_status_change(hook: StatusChangeHook) -> StatusChangeHook:
    STATUS_CHANGE_HOOKS.append(hook)
    return hook


# Which ledger entry a changed 学籍状态 in a re-imported file stands for.
_KIND_FOR_NEW_STATUS: dict[str, str] = {
    StudentStatus.SUSPENDED: ChangeKind.SUSPENSION,
    StudentStatus.TRANSFERRED_OUT: ChangeKind.TRANSFER_OUT,
    StudentStatus.DROPPED_OUT: ChangeKind.DROPOUT,
    StudentStatus.GRADUATED: ChangeKind.GRADUATION,
    StudentStatus.DECEASED: ChangeKind.DEATH,
}


def kind_for_status(old: str, new: str) -> str:
    """The ledger kind for a status that changed from `old` to `new` (a re-import)."""
    if new == StudentStatus.ENROLLED:
        return ChangeKind.RESUMPTION if old == StudentStatus.SUSPENDED else ChangeKind.ENROLMENT
    return _KIND_FOR_NEW_STATUS[new]


def _check_change(student: Student, kind: str, to_school: OrgUnit | None) -> str:
    """The guard: the change must fit the current status. Returns the status it leaves."""
    allowed_from, status_after = CHANGE_RULES[kind]
    if student.status not in allowed_from:
        raise InvalidTransition(
            f"{student.name}当前学籍状态为“{student.get_status_display()}”，"
            f"不能登记“{ChangeKind(kind).label}”。"
        )
    if kind == ChangeKind.TRANSFER:
        if to_school is None or to_school.kind != UnitKind.SCHOOL or not to_school.active:
            raise DomainError("区内转学须选择一所在用的转入学校。")
        if to_school.pk == student.school_id:
            raise DomainError("转入学校与当前学校相同，请重新选择。")
    return status_after or student.status


@transaction.atomic
def record_status_change(
    student: Student,
    *,
    actor: User,
    kind: str,
    effective_on: date,
    reason: str,
    evidence: File[bytes] | None = None,
    to_school: OrgUnit | None = None,
    source: str = ChangeSource.SCREEN,
    register_import: RegisterImport | None = None,
) -> StatusChange:
    """Append one ledger entry and move the student's derived status (and school).

    A transfer within the district moves the student to `to_school`; the ledger, guardians
    and later awards and clues stay attached to the student, so the history moves too.
    """
    require_permission(actor, "student:change_status")
    if not reason.strip():
        raise DomainError("请填写异动原因。")
    if effective_on > timezone.localdate():
        raise DomainError("生效日期不能晚于今天：异动须在发生后登记。")
    # Reach is checked on the locked row: a concurrent transfer may have moved the student.
    locked = Student.objects.select_for_update().select_related("school").get(pk=student.pk)
    if not scope_for(actor, "student:change_status").covers(locked.school_id):
        raise DomainError("该学生不在您的管辖范围内，不能登记学籍异动。")
    status_after = _check_change(locked, kind, to_school)
    entry = StatusChange(
        student=locked,
        kind=kind,
        effective_on=effective_on,
        reason=reason.strip(),
        from_school_id=locked.school_id,
        to_school=to_school if kind == ChangeKind.TRANSFER else None,
        status_before=locked.status,
        status_after=status_after,
        source=source,
        register_import=register_import,
        actor=actor,
    )
    if evidence is not None:
        entry.evidence.save(evidence.name or "evidence", evidence, save=False)
    entry.save()
    from_school = locked.school
    before = {"status": locked.status, "school": from_school.code}
    Student.objects.filter(pk=locked.pk).update(
        status=status_after,
        school=to_school if kind == ChangeKind.TRANSFER else locked.school,
        updated_at=timezone.now(),
    )
    locked.refresh_from_db()
    after = {
        "status": status_after,
        "school": locked.school.code,
        "effective_on": effective_on,
        "reason": entry.reason,
        "source": source,
    }
    # Filed under the school the student left, so its principal and inspector see the
    # change; a transfer is also filed under the receiving school.
    audit.record(
        f"student.{kind}",
        actor=actor,
        subject=locked,
        org_unit=from_school,
        before=before,
        after=after,
    )
    if kind == ChangeKind.TRANSFER:
        audit.record(
            "student.transfer_in", actor=actor, subject=locked, org_unit=locked.school, after=after
        )
    for hook in STATUS_CHANGE_HOOKS:
        hook(entry, actor)
    return entry
