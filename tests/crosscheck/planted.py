"""A small district with violations of every cross-check rule planted in it.

Four schools (two primary, two senior high), about fifty ordinary students with guardians,
staff and a few live awards of categories 1, 2 and 7 (through the migration import, the
real path), then `crosscheck.demo.plant_violations` on top. The ordinary students are the
background the rules must leave alone: their awards are backed by department data the
planter imports, and two of their guardians have no ID number, as in any register.

`planted_district` is module-scoped: planting and the snapshot are built once per test
module inside a transaction that is rolled back afterwards; each test still runs in its own
savepoint (pytest-django's `db`), so what a test writes is gone after it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from tests.aid.test_migration import award_row, awards_file
from tests.aid.test_notices import ensure_calendar_ahead
from tests.conftest import PASSWORD, certify
from tests.factories import (
    GuardianFactory,
    SchoolFactory,
    StaffFactory,
    StudentFactory,
    district,
    town,
)
from zizhu.aid.services.migration import import_awards
from zizhu.core import services
from zizhu.core.idnumbers import make_id_number
from zizhu.core.models import OrgUnit, Role, Stage, User
from zizhu.crosscheck import engine, snapshot
from zizhu.crosscheck.demo import ACTOR, Planted, plant_violations
from zizhu.registry.models import Post, Student

SEED = 7
BACKGROUND_PER_SCHOOL = 12
# Ordinary recipients whose guardian has no ID number on file (about one in twenty).
NO_ID_GUARDIANS = (4, 28)


@dataclass
class PlantedDistrict:
    officer: User
    schools: list[OrgUnit]
    background: list[Student]
    planted: Planted
    found: dict[str, set[int]]  # the engine's answer with the default parameters
    outcome: engine.Outcome
    snap: snapshot.Snapshot


def make_district_officer() -> User:
    """The district officer persona, named as the demo's (the demo command acts as it)."""
    user = services.create_user(ACTOR, actor=None, full_name="区资助中心", password=PASSWORD)
    services.assign_role(user, actor=None, role=Role.DISTRICT_OFFICER, org_unit=district())
    today = timezone.localdate()
    certify(user, issued_on=today - timedelta(days=30), expires_on=today + timedelta(days=700))
    return user


def make_schools() -> list[OrgUnit]:
    """The first is the demo school the planter prefers (邾城街中心小学)."""
    return [
        SchoolFactory(name="邾城街中心小学", code="4201170121", parent=town("邾城街道")),
        SchoolFactory(name="阳逻街中心小学", code="4201170221", parent=town("阳逻街道")),
        SchoolFactory(
            name="新洲区第一高级中学", code="4201170151", stage=Stage.SENIOR, boarding=True
        ),
        SchoolFactory(name="新洲区第二高级中学", code="4201170152", stage=Stage.SENIOR),
    ]


def _adult_id(n: int) -> str:
    return make_id_number("420117", date(1960, 1, 1) + timedelta(days=n), 7, male=n % 2 == 0)


def make_background(schools: list[OrgUnit]) -> list[Student]:
    """Ordinary students: a guardian each (two without an ID number), staff per school."""
    students: list[Student] = []
    for s, school in enumerate(schools):
        for post in (Post.PRINCIPAL, Post.AID_OFFICER, Post.TEACHER, Post.TEACHER):
            StaffFactory(school=school, post=post, phone=f"137{len(students):04d}{s:04d}")
        for i in range(BACKGROUND_PER_SCHOOL):
            n = s * BACKGROUND_PER_SCHOOL + i
            guardian_id = None if n in NO_ID_GUARDIANS else _adult_id(n)
            phone = f"138{n:08d}"
            student = StudentFactory(school=school, phone=phone, card_holder_id=guardian_id)
            if guardian_id is None:
                student.card_holder_id = student.id_number
                student.save(update_fields=["card_holder_id", "card_holder_id_hash"])
            GuardianFactory(student=student, id_number=guardian_id, phone=phone)
            students.append(student)
    return students


def award_background(students: list[Student], officer: User) -> None:
    """Live awards for every fourth ordinary student, categories 1, 2 and 7 in turn."""
    rows = []
    for n, student in enumerate(students[::4]):
        programme = "HS_STIPEND" if student.school.stage == Stage.SENIOR else "COMPULSORY_LIVING"
        rows.append(award_row(student, programme=programme, category=str((1, 2, 7)[n % 3])))
    import_awards(awards_file(rows), "background.csv", actor=officer)


def build_district(*, seed: int = SEED) -> tuple[User, list[OrgUnit], list[Student], Planted]:
    ensure_calendar_ahead()
    officer = make_district_officer()
    schools = make_schools()
    background = make_background(schools)
    award_background(background, officer)
    planted = plant_violations(seed=seed, actor=officer)
    return officer, schools, background, planted


@pytest.fixture(scope="module")
def planted_district(django_db_setup: Any, django_db_blocker: Any) -> Iterator[PlantedDistrict]:
    with django_db_blocker.unblock(), transaction.atomic():
        officer, schools, background, planted = build_district()
        snap = snapshot.take(timezone.localdate())
        outcome = engine.evaluate(snap)
        try:
            yield PlantedDistrict(
                officer=officer,
                schools=schools,
                background=background,
                planted=planted,
                found=engine.students_by_rule(outcome),
                outcome=outcome,
                snap=snap,
            )
        finally:
            snap.close()
            transaction.set_rollback(True)
