"""The audit chain: every service writes one row in its own transaction (style.md, "Writes").

Each row stores the SHA-256 of the previous row and of its own content, so an edited, deleted
or re-ordered row is found by `verify_chain` (`zizhu audit verify`). Appends lock the single
`AuditHead` row, which serialises writers: two transactions can never chain onto the same tip.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import models, transaction
from django.utils import timezone

from zizhu.core.models import AuditEntry, AuditHead, OrgUnit, User

if TYPE_CHECKING:
    from collections.abc import Iterator

GENESIS = "0" * 64


@dataclass(frozen=True)
class RequestContext:
    """What the web layer knows about the request; set by RequestIdMiddleware on the user."""

    request_id: str = ""
    ip: str | None = None


def request_context(actor: User | None) -> RequestContext:
    return getattr(actor, "request_context", None) or RequestContext()


def jsonable(value: Any) -> Any:
    """Reduce before/after values to JSON that round-trips exactly through the database."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if isinstance(value, bool | int | str) or value is None:
        return value
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date | Decimal):
        return str(value)
    if isinstance(value, models.Model):
        return value.pk
    return str(value)


def _content_hash(entry: AuditEntry) -> str:
    at = entry.at.astimezone(UTC).isoformat(timespec="microseconds")
    payload = [
        entry.pk,
        at,
        entry.actor_id,
        entry.actor_label,
        entry.role,
        entry.org_unit_id,
        entry.action,
        entry.subject_type,
        entry.subject_id,
        entry.subject_label,
        entry.before,
        entry.after,
        entry.request_id,
        entry.ip,
        entry.prev_hash,
    ]
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _canonical_ip(ip: str | None) -> str | None:
    """PostgreSQL stores inet canonically; hash the same spelling it will read back."""
    if not ip:
        return None
    try:
        return ipaddress.ip_address(ip).compressed
    except ValueError:
        return None


def _subject_parts(subject: models.Model | None) -> tuple[str, str, str]:
    if subject is None:
        return "", "", ""
    return subject._meta.label_lower, str(subject.pk), str(subject)[:200]


@dataclass(frozen=True)
class Pending:
    """One row for `record_many`: the same fields `record` takes."""

    action: str
    subject: models.Model | None = None
    org_unit: OrgUnit | None = None
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None


def record(
    action: str,
    *,
    actor: User | None,
    subject: models.Model | None = None,
    org_unit: OrgUnit | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    actor_label: str = "",
) -> AuditEntry:
    """Append one row. Call it inside the service's transaction, after the write it records."""
    row = Pending(action, subject=subject, org_unit=org_unit, before=before, after=after)
    return record_many([row], actor=actor, actor_label=actor_label)[0]


@transaction.atomic
def record_many(
    rows: list[Pending], *, actor: User | None, actor_label: str = ""
) -> list[AuditEntry]:
    """Append rows by one actor under one lock of the head (`AuditHead`, which serialises
    writers): bulk operations (a cross-check run opening thousands of clues) pay one lock and
    one insert per 2,000 rows instead of one each."""
    from zizhu.core.reach import role_labels

    if not rows:
        return []
    head, _ = AuditHead.objects.select_for_update().get_or_create(pk=1)
    context = request_context(actor)
    authenticated = actor is not None and actor.is_authenticated
    label = actor_label or (str(actor) if authenticated else "系统")
    roles: dict[int | None, str] = {}
    entries: list[AuditEntry] = []
    last_id, last_hash = head.last_id, head.last_hash
    for row in rows:
        unit_id = row.org_unit.pk if row.org_unit is not None else None
        if unit_id not in roles:
            roles[unit_id] = role_labels(actor, row.org_unit) if authenticated and actor else ""
        subject_type, subject_id, subject_label = _subject_parts(row.subject)
        entry = AuditEntry(
            pk=last_id + 1,
            at=timezone.now(),
            actor=actor if authenticated else None,
            actor_label=label,
            role=roles[unit_id],
            org_unit=row.org_unit,
            action=row.action,
            subject_type=subject_type,
            subject_id=subject_id,
            subject_label=subject_label,
            before=jsonable(row.before),
            after=jsonable(row.after),
            request_id=context.request_id,
            ip=_canonical_ip(context.ip),
            prev_hash=last_hash,
        )
        entry.hash = _content_hash(entry)
        entries.append(entry)
        last_id, last_hash = entry.pk, entry.hash
    AuditEntry.objects.bulk_create(entries, batch_size=2000)
    AuditHead.objects.filter(pk=1).update(last_id=last_id, last_hash=last_hash)
    return entries


@dataclass(frozen=True)
class ChainReport:
    checked: int
    broken_at: int | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_at is None


def _rows(batch: int = 5000) -> Iterator[AuditEntry]:
    last = 0
    while True:
        chunk = list(AuditEntry.objects.filter(pk__gt=last).order_by("pk")[:batch])
        if not chunk:
            return
        yield from chunk
        last = chunk[-1].pk


def verify_chain() -> ChainReport:
    """Walk the chain from the first row; name the first row that does not fit."""
    expected_prev, expected_id, checked = GENESIS, 1, 0
    for entry in _rows():
        if entry.pk != expected_id:
            return ChainReport(checked, expected_id, f"第 {expected_id} 条记录缺失（被删除）。")
        if entry.prev_hash != expected_prev:
            return ChainReport(checked, entry.pk, "前一条记录的哈希不符：前一条被修改或删除。")
        if _content_hash(entry) != entry.hash:
            return ChainReport(checked, entry.pk, "记录内容与其哈希不符：该记录被修改。")
        expected_prev, expected_id, checked = entry.hash, entry.pk + 1, checked + 1
    head = AuditHead.objects.filter(pk=1).first()
    if head is not None and (head.last_id != expected_id - 1 or head.last_hash != expected_prev):
        return ChainReport(checked, expected_id, f"链尾应为第 {head.last_id} 条，末尾记录被删除。")
    return ChainReport(checked)
