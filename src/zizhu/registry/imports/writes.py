"""Step (d): schools, students, the change record, the ledger and staff."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from django.utils import timezone

from zizhu.core.crypto import Sensitive, mask
from zizhu.core.models import OrgUnit, UnitKind
from zizhu.core.tabular import Row
from zizhu.registry.grades import grade_rank
from zizhu.registry.imports.common import (
    PLAIN_FIELDS,
    ROW_KEY,
    SENSITIVE_FIELDS,
    STAFF,
    STATUS_LABEL,
    STATUS_VALUE,
    Existing,
    GuardianView,
    Op,
    Plan,
    birth_of,
    chunks,
    hash_of,
    insert,
    jsonable,
)
from zizhu.registry.models import (
    CHANGE_RULES,
    ChangeKind,
    ChangeSource,
    RegisterChange,
    Staff,
    StatusChange,
    Student,
    StudentStatus,
)
from zizhu.registry.services import record_status_change


def _unit(plan: Plan, code: str) -> OrgUnit:
    unit = plan.schools[code].unit
    if unit is None:  # write_schools creates every school of the file first
        raise LookupError(f"school {code} was not written")
    return unit


def write_schools(plan: Plan) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for code, (row, town) in plan.school_rows.items():
        values = {
            "name": row["name"],
            "stage": row["stage"],
            "parent_id": town.pk,
            "boarding": row["boarding_school"],
        }
        school = plan.schools[code]
        if school.unit is None:
            school.unit = OrgUnit(kind=UnitKind.SCHOOL, code=code, **values)
            school.unit.full_clean()
            school.unit.save()
            plan.school_codes[school.unit.pk] = code
            counts["created"] += 1
        elif any(getattr(school.unit, name) != value for name, value in values.items()):
            for name, value in values.items():
                setattr(school.unit, name, value)
            school.unit.full_clean()
            school.unit.save(update_fields=["name", "stage", "parent", "boarding"])
            counts["updated"] += 1
        else:
            counts["unchanged"] += 1
    return {key: counts[key] for key in ("created", "updated", "unchanged")}


def _student_values(row: Row) -> dict[str, Any]:
    values = {name: row[ROW_KEY.get(name, name)] for name in (*PLAIN_FIELDS, *SENSITIVE_FIELDS)}
    values["status"] = STATUS_VALUE[row["status"]]
    return values


def _rank(plan: Plan, row: Row) -> int:
    return grade_rank(plan.schools[row["school_code"]].stage, row["grade"])


class NewStudent(NamedTuple):
    digest: str
    values: dict[str, Any]  # attname → value, as inserted


def create_students(plan: Plan, households: Mapping[str, int]) -> dict[int, NewStudent]:
    """New students, their status straight from the file (their ledger opens with it).
    Returns them by their new pk."""
    now = timezone.now()
    new: list[NewStudent] = []
    for number, row in plan.file_students.items():
        digest = plan.id_hash(number)
        if digest in plan.existing:
            continue
        values = _student_values(row)
        values["grade_rank"] = _rank(plan, row)
        for name, kind in SENSITIVE_FIELDS.items():
            values[f"{name}_hash"] = hash_of(values[name], kind)
        values.update(
            id_number=number,
            id_number_hash=digest,
            birth_date=birth_of(number),
            area_code=number[:6],
            school_id=_unit(plan, row["school_code"]).pk,
            household_id=households[digest],
            created_at=now,
            updated_at=now,
        )
        new.append(NewStudent(digest, values))
    insert(Student, [student.values for student in new])
    pks = _student_pks({student.digest for student in new})
    return {pks[student.digest]: student for student in new}


def _student_pks(digests: set[str]) -> dict[str, int]:
    if not digests:
        return {}
    rows = Student.objects.order_by().values_list("id_number_hash", "pk")
    return {digest: pk for digest, pk in rows if digest in digests}


def _diff(plan: Plan, existing: Existing, row: Row) -> dict[str, list[Any]]:
    """{field: [old, new]} for a registered student; old identifiers are filled in later."""
    changes: dict[str, list[Any]] = {}
    values = _student_values(row)
    for name in PLAIN_FIELDS:
        old = getattr(existing, name)
        if old != values[name]:
            changes[name] = [jsonable(old), jsonable(values[name])]
    for name, kind in SENSITIVE_FIELDS.items():
        if hash_of(values[name], kind) != getattr(existing, f"{name}_hash"):
            changes[name] = [None, mask(values[name], kind) or None]
    if existing.status != values["status"]:
        changes["status"] = [existing.status, values["status"]]
    old_code = plan.school_codes[existing.school_id]
    if old_code != row["school_code"]:
        changes["school"] = [old_code, row["school_code"]]
    return changes


def _fill_old_identifiers(changes: dict[int, dict[str, list[Any]]]) -> None:
    """Masked old values of changed identifiers: only these few rows are decrypted."""
    wanted = sorted(pk for pk, fields in changes.items() if set(fields) & set(SENSITIVE_FIELDS))
    for chunk in chunks(wanted):
        rows = Student.objects.filter(pk__in=chunk).order_by().values_list("pk", *SENSITIVE_FIELDS)
        for pk, *values in rows:
            for (name, kind), value in zip(SENSITIVE_FIELDS.items(), values, strict=True):
                if name in changes[pk]:
                    changes[pk][name][0] = mask(value, kind) or None


_UPDATED_FIELDS = [
    *PLAIN_FIELDS,
    "grade_rank",
    *SENSITIVE_FIELDS,
    *(f"{name}_hash" for name in SENSITIVE_FIELDS),
    "updated_at",
]


def update_students(plan: Plan) -> dict[int, dict[str, list[Any]]]:
    """Write the file's fields of changed registered students, except status and school,
    which the ledger writes. bulk_update skips `pre_save`, so the blind indexes are set here.
    Returns {student pk: {field: [old, new]}}."""
    changes: dict[int, dict[str, list[Any]]] = {}
    updates: list[Student] = []
    now = timezone.now()
    for number, row in plan.file_students.items():
        existing = plan.existing.get(plan.id_hash(number))
        diff = _diff(plan, existing, row) if existing is not None else None
        if existing is None or not diff:
            continue
        changes[existing.pk] = diff
        if set(diff) - {"status", "school"}:
            values = _student_values(row)
            del values["status"]
            values["grade_rank"] = _rank(plan, row)
            hashes = {f"{n}_hash": hash_of(values[n], k) for n, k in SENSITIVE_FIELDS.items()}
            updates.append(Student(pk=existing.pk, updated_at=now, **values, **hashes))
    _fill_old_identifiers(changes)  # before the update overwrites them
    Student.objects.bulk_update(updates, _UPDATED_FIELDS, batch_size=500)
    return changes


# The change record and the ledger -------------------------------------------------------------


_CREATED_FIELDS = (*PLAIN_FIELDS, "status")


def _created_fields(plan: Plan, values: Mapping[str, Any]) -> dict[str, list[Any]]:
    fields = {
        name: [None, jsonable(values[name])]
        for name in _CREATED_FIELDS
        if values[name] is not None and values[name] != ""
    }
    fields["school"] = [None, plan.school_codes[values["school_id"]]]
    for name, kind in SENSITIVE_FIELDS.items():
        if values[name]:
            fields[name] = [None, mask(values[name], kind)]
    return fields


def write_changes(
    plan: Plan,
    created: Mapping[int, NewStudent],
    updated: dict[int, dict[str, list[Any]]],
    guardians: dict[str, list[list[GuardianView]]],
    student_pks: Mapping[str, int],
) -> None:
    """One RegisterChange per created or changed student. `updated` gains the registered
    students whose only change is their guardians."""
    records = []
    for pk, student in created.items():
        fields = _created_fields(plan, student.values)
        views = guardians.pop(student.digest, None)
        if views is not None:
            fields["guardians"] = views
        records.append({"student_id": pk, "created": True, "fields": fields})
    for digest, views in guardians.items():
        updated.setdefault(student_pks[digest], {})["guardians"] = views
    records.extend(
        {"student_id": pk, "created": False, "fields": fields} for pk, fields in updated.items()
    )
    for record in records:
        record["register_import_id"] = plan.register_import.pk
    insert(RegisterChange, records)


def write_enrolments(plan: Plan, created: Mapping[int, NewStudent]) -> None:
    """A new student's ledger opens with 建档入学, leaving the file's status. It takes effect
    on the 入学日期 for a student who is 在读; for any other status the file does not say
    since when, so the import date, the earliest date known for it, is used."""
    now = timezone.now()
    records = []
    for pk, student in created.items():
        status = student.values["status"]
        records.append(
            {
                "student_id": pk,
                "kind": ChangeKind.ENROLMENT.value,
                "effective_on": (
                    student.values["enrolled_on"]
                    if status == StudentStatus.ENROLLED
                    else plan.today
                ),
                "reason": f"学籍导入：建档，学籍状态为{STATUS_LABEL[status]}",
                "from_school_id": student.values["school_id"],
                "status_before": "",
                "status_after": status,
                "source": ChangeSource.IMPORT.value,
                "register_import_id": plan.register_import.pk,
                "actor_id": plan.actor.pk,
                "recorded_at": now,
            }
        )
    insert(StatusChange, records)


def write_ledger(plan: Plan) -> Counter[str]:
    """Registered students' status and school changes, each through the ledger service."""
    counts: Counter[str] = Counter()
    by_pk = {plan.existing[digest].pk: ops for digest, ops in plan.ops.items()}
    students: dict[int, Student] = {}
    for chunk in chunks(sorted(by_pk)):
        students.update(Student.objects.select_related("school").in_bulk(chunk))
    for pk, ops in by_pk.items():
        student = students[pk]
        for op in ops:
            student = _record(plan, student, op)
            counts["transfers" if op.kind == ChangeKind.TRANSFER else "status_changes"] += 1
    return counts


def _record(plan: Plan, student: Student, op: Op) -> Student:
    to_school = _unit(plan, op.to_school) if op.to_school else None
    if to_school is not None:
        reason = f"学籍导入：学校由{student.school.name}变为{to_school.name}"
    else:
        after = CHANGE_RULES[op.kind][1] or student.status
        reason = f"学籍导入：状态由{STATUS_LABEL[student.status]}变为{STATUS_LABEL[after]}"
    entry = record_status_change(
        student,
        actor=plan.actor,
        kind=op.kind,
        effective_on=plan.today,
        reason=reason,
        to_school=to_school,
        source=ChangeSource.IMPORT,
        register_import=plan.register_import,
    )
    return entry.student


# Staff ---------------------------------------------------------------------------------------

_STAFF_FIELDS = ("name", "post", "hardship_staff", "phone_hash")


def _existing_staff(school_ids: Sequence[int]) -> dict[tuple[str, int], tuple[Any, ...]]:
    """(ID hash, school) → (pk, name, post, hardship_staff, phone_hash)."""
    found: dict[tuple[str, int], tuple[Any, ...]] = {}
    for chunk in chunks(school_ids):
        rows = (
            Staff.objects.filter(school_id__in=chunk)
            .order_by()
            .values_list("id_number_hash", "school_id", "pk", *_STAFF_FIELDS)
        )
        for digest, school_id, *values in rows:
            found[digest or "", school_id] = tuple(values)
    return found


def write_staff(plan: Plan) -> dict[str, int]:
    rows = plan.rows(STAFF)
    existing = _existing_staff(sorted({_unit(plan, row["school_code"]).pk for row in rows}))
    create, update, unchanged = [], [], 0
    for row in rows:
        school = _unit(plan, row["school_code"])
        staff = Staff(
            id_number=row["id_number"],
            name=row["name"],
            school=school,
            post=row["post"],
            hardship_staff=row["hardship_staff"],
            phone=row["phone"],
            phone_hash=hash_of(row["phone"], Sensitive.PHONE),
        )
        found = existing.get((plan.id_hash(row["id_number"]), school.pk))
        if found is None:
            create.append(staff)
        elif found[1:] == tuple(getattr(staff, name) for name in _STAFF_FIELDS):
            unchanged += 1
        else:
            staff.pk = found[0]
            update.append(staff)
    Staff.objects.bulk_create(create, batch_size=2000)
    Staff.objects.bulk_update(update, ["name", "post", "hardship_staff", "phone", "phone_hash"])
    return {"created": len(create), "updated": len(update), "unchanged": unchanged}
