"""Guardians: each student in the guardians file ends up with exactly the file's guardians."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from zizhu.core.crypto import Sensitive, mask
from zizhu.core.tabular import Row
from zizhu.registry.imports.common import GuardianView, Plan, chunks, hash_of, insert
from zizhu.registry.models import Guardian


class GuardianState(NamedTuple):
    """A registered guardian as the comparison needs it: no clear identifiers."""

    pk: int
    student_id: int
    name: str
    id_number_hash: str | None
    relation: str
    employer: str
    phone_hash: str | None


@dataclass
class GuardianWork:
    create: list[tuple[str, Row]] = field(default_factory=list)  # (student ID hash, row)
    update: list[Guardian] = field(default_factory=list)
    delete: list[int] = field(default_factory=list)
    # student ID hash → (pks of the guardians before, the file's rows), where the set changed
    changed: dict[str, tuple[list[int], list[Row]]] = field(default_factory=dict)
    unchanged: int = 0


def _existing_guardians(student_pks: Sequence[int]) -> dict[int, list[GuardianState]]:
    found: dict[int, list[GuardianState]] = defaultdict(list)
    for chunk in chunks(student_pks):
        rows = (
            Guardian.objects.filter(student_id__in=chunk)
            .order_by("pk")
            .values_list(*GuardianState._fields)
        )
        for values in rows:
            state = GuardianState(*values)
            found[state.student_id].append(state)
    return found


def plan_guardians(plan: Plan) -> GuardianWork:
    """Each student in the guardians file ends up with exactly the file's guardians: those
    matching a registered one (by ID number, else by name) update it in place, the rest are
    created, and registered guardians the file no longer lists are removed."""
    work = GuardianWork()
    registered = {
        number: plan.existing[plan.id_hash(number)].pk
        for number in plan.guardian_groups
        if plan.id_hash(number) in plan.existing
    }
    old_sets = _existing_guardians(sorted(registered.values()))
    for number, rows in plan.guardian_groups.items():
        old = old_sets.get(registered[number], []) if number in registered else []
        _match_guardians(plan, work, plan.id_hash(number), old, rows)
    return work


def _match_guardians(
    plan: Plan, work: GuardianWork, digest: str, old: list[GuardianState], rows: list[Row]
) -> None:
    by_id = {state.id_number_hash: state for state in old if state.id_number_hash}
    by_name = {state.name: state for state in old}
    left = {state.pk: state for state in old}
    changed = False
    for row in rows:
        id_hash = plan.id_hash(row["id_number"]) if row["id_number"] else None
        match = by_id.get(id_hash or "")
        if match is None or match.pk not in left:
            match = by_name.get(row["name"])
        if match is None or match.pk not in left:
            work.create.append((digest, row))
            changed = True
            continue
        del left[match.pk]
        update = _guardian_update(match, row, id_hash)
        if update is None:
            work.unchanged += 1
        else:
            work.update.append(update)
            changed = True
    work.delete.extend(left)
    if changed or left:
        work.changed[digest] = ([state.pk for state in old], rows)


def _guardian_update(old: GuardianState, row: Row, id_hash: str | None) -> Guardian | None:
    phone_hash = hash_of(row["phone"], Sensitive.PHONE)
    new = (row["name"], id_hash, row["relation"], row["employer"], phone_hash)
    if new == (old.name, old.id_number_hash, old.relation, old.employer, old.phone_hash):
        return None
    return Guardian(
        pk=old.pk,
        student_id=old.student_id,
        name=row["name"],
        id_number=row["id_number"],
        id_number_hash=id_hash,
        relation=row["relation"],
        employer=row["employer"],
        phone=row["phone"],
        phone_hash=phone_hash,
    )


def _guardian_view(
    relation: str, name: str, id_number: str | None, employer: str, phone: str | None
) -> GuardianView:
    return {
        "relation": relation,
        "name": name,
        "id_number": mask(id_number, Sensitive.ID_NUMBER),
        "employer": employer,
        "phone": mask(phone, Sensitive.PHONE),
    }


def guardian_changes(work: GuardianWork) -> dict[str, list[list[GuardianView]]]:
    """{student ID hash: [guardians before, guardians after]}, identifiers masked. Read
    before the guardians are written; only changed students' guardians are decrypted."""
    old_pks = sorted(pk for pks, _ in work.changed.values() for pk in pks)
    before: dict[int, GuardianView] = {}
    for chunk in chunks(old_pks):
        rows = Guardian.objects.filter(pk__in=chunk).values_list(
            "pk", "relation", "name", "id_number", "employer", "phone"
        )
        for pk, relation, name, id_number, employer, phone in rows:
            before[pk] = _guardian_view(relation, name, id_number, employer, phone)
    return {
        digest: [
            [before[pk] for pk in pks],
            [
                _guardian_view(r["relation"], r["name"], r["id_number"], r["employer"], r["phone"])
                for r in rows
            ],
        ]
        for digest, (pks, rows) in work.changed.items()
    }


def write_guardians(
    plan: Plan, work: GuardianWork, student_pks: Mapping[str, int]
) -> dict[str, int]:
    for chunk in chunks(work.delete):
        Guardian.objects.filter(pk__in=chunk).delete()
    fields = ["name", "id_number", "id_number_hash", "relation", "employer", "phone", "phone_hash"]
    Guardian.objects.bulk_update(work.update, fields, batch_size=500)
    insert(
        Guardian,
        [
            {
                "student_id": student_pks[digest],
                "name": row["name"],
                "id_number": row["id_number"],
                "id_number_hash": plan.id_hash(row["id_number"]) if row["id_number"] else None,
                "relation": row["relation"],
                "employer": row["employer"],
                "phone": row["phone"],
                "phone_hash": hash_of(row["phone"], Sensitive.PHONE),
            }
            for digest, row in work.create
        ],
    )
    return {
        "created": len(work.create),
        "updated": len(work.update),
        "unchanged": work.unchanged,
        "removed": len(work.delete),
    }
