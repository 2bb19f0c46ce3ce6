"""Households: students who share a guardian's ID number."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from zizhu.registry.imports.common import Plan, insert
from zizhu.registry.models import Guardian, Household, Student


class _Groups:
    """Union-find over student ID hashes."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, item: str) -> str:
        parent = self.parent.setdefault(item, item)
        while parent != item:
            grand = self.parent[parent]
            self.parent[item] = grand  # path halving keeps the trees flat
            item, parent = grand, self.parent[grand]
        return item

    def union(self, a: str, b: str) -> None:
        root_a, root_b = self.find(a), self.find(b)
        if root_a != root_b:
            self.parent[root_b] = root_a


def _household_links(plan: Plan) -> Iterator[tuple[str, str]]:
    """(student ID hash, guardian ID hash) of the register as it will be after the import."""
    replaced = {plan.id_hash(number) for number in plan.guardian_groups}
    registered = (
        Guardian.objects.filter(id_number_hash__isnull=False)
        .order_by()
        .values_list("student__id_number_hash", "id_number_hash")
    )
    for student, guardian in registered.iterator(chunk_size=10_000):
        if student and guardian and student not in replaced:
            yield student, guardian
    for number, rows in plan.guardian_groups.items():
        for row in rows:
            if row["id_number"]:
                yield plan.id_hash(number), plan.id_hash(row["id_number"])


@dataclass
class Households:
    for_new: dict[str, int]  # household id by new student's ID hash
    moved: dict[int, int]  # new household id by registered student's pk, where it changes
    created: int


def plan_households(plan: Plan) -> Households:
    """Students who share a guardian's ID number form one household, keyed by the smallest
    guardian ID hash in the group, else by the student's own ID hash. It is worked out over
    the whole register, so siblings imported at different times and schools meet. A
    household left without students stays, as an empty row: later steps may refer to it."""
    registered: dict[str, tuple[int, int | None]] = {
        digest: (pk, household)
        for digest, pk, household in Student.objects.order_by().values_list(
            "id_number_hash", "pk", "household_id"
        )
        if digest
    }
    groups = _Groups()
    first_student: dict[str, str] = {}
    for student, guardian in _household_links(plan):
        groups.union(first_student.setdefault(guardian, student), student)
    smallest: dict[str, str] = {}
    for guardian, student in first_student.items():
        root = groups.find(student)
        if root not in smallest or guardian < smallest[root]:
            smallest[root] = guardian
    students = set(registered) | {plan.id_hash(number) for number in plan.file_students}
    keys = {student: smallest.get(groups.find(student), student) for student in students}
    known = set(Household.objects.values_list("key_hash", flat=True))
    missing = sorted(set(keys.values()) - known)
    insert(Household, [{"key_hash": key} for key in missing])
    ids = dict(Household.objects.values_list("key_hash", "pk"))
    known_ids = {s: ids[key] for s, key in keys.items()}
    return Households(
        for_new={s: known_ids[s] for s in students if s not in registered},
        moved={pk: known_ids[s] for s, (pk, old) in registered.items() if old != known_ids[s]},
        created=len(missing),
    )
